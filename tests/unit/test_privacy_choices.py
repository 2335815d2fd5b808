"""Consents are revocable in the conversation: the person's choices follow the data
summary, each with a button that changes it, records it (``consents``) and says so. Real
router, database, desk and console API; the engine a stand-in that passes the intents to
the gateway as the dialogue's ``action_ask_gateway`` does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.appointments import preferences
from bot.config import Settings
from bot.conversations.models import User
from bot.db import session_scope
from bot.privacy.choices import (
    ASSESSMENT_DELETE,
    ASSESSMENT_UNSHARE,
    REMINDERS_OFF,
    REMINDERS_ON,
)
from bot.privacy.models import Consent
from bot.self_assessment import store as self_assessment_store
from tests.unit.test_privacy_conversation import keep_assessment
from tests.utils.chat import ChatClient, payloads_of
from tests.utils.console import PASSWORD, create_referent
from tests.utils.fakes import FakeEngine, served


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    engine = FakeEngine()
    engine.custom_for = {
        "/data_access_request": {"gateway": {"intent": "data_access_request", "entities": {}}},
        "/stop_messages": {"gateway": {"intent": "stop_messages", "entities": {}}},
        "/keep_assessment": keep_assessment("99110"),
    }
    settings = Settings(
        database_url=database_url,
        environment="test",
        working_hours={"mon-sun": "00:00-23:59"},
        public_url="https://relais.example.org",
    )
    with served(settings, engine) as test_client:
        yield test_client


def said(reply: dict[str, Any]) -> str:
    return "\n".join(m["text"] or "" for m in reply["messages"])


def user_of(client: TestClient, person: ChatClient) -> str:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        return str(session.scalar(select(User.id).where(User.external_id == person.session_id)))


def consents_of(client: TestClient, user_id: str) -> list[tuple[str, bool]]:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        rows = session.scalars(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.id)
        )
        return [(row.purpose.value, row.granted) for row in rows]


def test_reminders_stop_and_start_again_from_the_choices_and_from_stop(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    user = user_of(client, person)
    choices = person.send(payload="/data_access_request")["messages"][-1]
    assert "Rappels de rendez-vous et nouvelles : activés" in choices["text"]
    assert REMINDERS_OFF in [b["payload"] for b in choices["buttons"]]

    stopped = person.send(payload=REMINDERS_OFF)
    assert "je ne t'enverrai plus aucun message" in said(stopped)
    assert "rien n'a changé" in said(person.send(payload=REMINDERS_OFF)), "pressed twice"
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        assert preferences.stopped(session, user)

    again = person.send(payload="/data_access_request")["messages"][-1]
    assert "arrêtés" in again["text"]
    restarted = person.send(payload=REMINDERS_ON)
    assert "de nouveau tes rappels" in said(restarted)

    stop = person.send(payload="/stop_messages")
    assert payloads_of(stop) == [REMINDERS_ON], "the undo is one tap away"
    assert consents_of(client, user) == [
        ("reminders", False),
        ("reminders", True),
        ("reminders", False),
    ]


def test_a_shared_assessment_can_be_unshared_then_deleted(client: TestClient) -> None:
    person = ChatClient(http=client)
    user = user_of(client, person)
    person.send(payload="/keep_assessment")
    choices = person.send(payload="/data_access_request")["messages"][-1]
    assert "gardé et partagé" in choices["text"]
    assert [b["payload"] for b in choices["buttons"]][1:] == [ASSESSMENT_UNSHARE, ASSESSMENT_DELETE]

    assert "n'est plus montré" in said(person.send(payload=ASSESSMENT_UNSHARE))
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        assert self_assessment_store.shared_view(session, user) is None, "référents see nothing"
        assert self_assessment_store.kept(session, user) is not None, "still kept for them"
    assert (
        "gardé, pour toi seul·e"
        in person.send(payload="/data_access_request")["messages"][-1]["text"]
    )
    assert "supprimé" in said(person.send(payload=ASSESSMENT_DELETE))
    assert "rien n'a changé" in said(person.send(payload=ASSESSMENT_DELETE))
    assert consents_of(client, user)[-3:] == [
        ("share_self_assessment", False),
        ("keep_self_assessment", False),
        ("share_self_assessment", False),
    ]


def test_the_history_shown_to_a_referent_can_be_taken_back_while_waiting(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    user = user_of(client, person)
    person.send("avant la demande : un détail personnel")
    person.send(payload="/request_human")
    queued = person.send(payload="/handoff_share_yes")
    assert payloads_of(queued) == ["/handoff_cancel", "/handoff_share_no"]

    assert "c'est noté" in said(person.send(payload="/handoff_share_no"))
    person.send("après : la suite")

    create_referent(client.database_url, "sup@example.org", role="supervisor")  # type: ignore[attr-defined]
    console = TestClient(client.app)
    login = {"email": "sup@example.org", "password": PASSWORD}
    assert console.post("/console/api/login", json=login).status_code == 200
    (item,) = console.get("/console/api/queue").json()["waiting"]
    assert item["share_history"] is False
    seen = [
        m["text"] for m in console.get(f"/console/api/handoffs/{item['id']}").json()["messages"]
    ]
    assert "après : la suite" in seen
    assert "avant la demande : un détail personnel" not in seen
    assert consents_of(client, user)[-2:] == [
        ("share_with_referent", True),
        ("share_history", False),
    ]


def test_rights_are_answered_even_while_a_person_is_awaited(client: TestClient) -> None:
    """A request for a person puts the bot on hold, never the person's rights: "stop" and
    "mes données" written while waiting are answered at once (the référent reads them)."""
    person = ChatClient(http=client)
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    assert person.send("je patiente")["messages"] == [], "held for the référent"
    stopped = person.send(payload="/stop_messages")
    assert "je ne t'enverrai plus aucun message" in said(stopped)
    assert stopped["handoff"]["status"] == "waiting", "the request goes on"
    access = person.send(payload="/data_access_request")
    assert said(access).startswith("Voici ce que Relais garde sur toi")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        assert preferences.stopped(session, user_of(client, person))


def test_typed_to_a_referent_only_erasure_and_access_are_taken_as_rights(
    client: TestClient,
) -> None:
    """Typed while a person is awaited, "stop" may mean anything to them: it goes to the
    référent, and only the button stops reminders; erasure is asked (then confirmed)."""
    engine: FakeEngine = client.gateway.engine  # type: ignore[attr-defined]
    engine.parsed_as = {
        "stop, on arrête de parler de ça": "stop_messages",
        "effacez tout ce que j'ai écrit": "data_deletion_request",
    }
    person = ChatClient(http=client)
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    assert person.send("stop, on arrête de parler de ça")["messages"] == []
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        assert not preferences.stopped(session, user_of(client, person))
    asked = person.send("effacez tout ce que j'ai écrit")
    assert "/privacy_erase_confirm" in payloads_of(asked)


def test_the_advertised_words_always_work_whatever_the_nlu_reads(client: TestClient) -> None:
    """The notice says: type « mes données » or « supprime mes données ». Those words are
    handled as their buttons, even when the NLU would read two words as something else."""
    engine: FakeEngine = client.gateway.engine  # type: ignore[attr-defined]
    engine.parsed_as = {"Mes données": "privacy_question"}
    person = ChatClient(http=client)
    person.send("« Supprime mes données »")
    assert engine.received[-1][1] == "/data_deletion_request"
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    access = person.send("Mes données")
    assert said(access).startswith("Voici ce que Relais garde sur toi"), "even while held"
