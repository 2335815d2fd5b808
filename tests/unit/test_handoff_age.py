"""Before a non-urgent request enters the queue: the age band when the dialogue does not
know it, and under 15 a parent's agreement too (loi Informatique et Libertés, art. 45).
Urgent help is never held back by these questions. Real router, desk, queue, consents and
database; a stand-in engine asks for a person as the real dialogue does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.config import Settings
from bot.db import session_scope
from bot.privacy.models import Consent
from handoff.models import Handoff, HandoffStatus
from tests.utils.chat import ChatClient, payloads_of
from tests.utils.console import PASSWORD, create_referent
from tests.utils.fakes import FakeEngine, served

ALWAYS_OPEN = {"mon-sun": "00:00-23:59"}
AGE_BUTTONS = [
    "/handoff_age_under_15",
    "/handoff_age_15",
    "/handoff_age_16_17",
    "/handoff_age_18_plus",
    "/handoff_age_undisclosed",
]


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.handoff_age = None  # the dialogue does not know the age
    engine.silent_handoff = True
    return engine


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test", working_hours=ALWAYS_OPEN)
    with served(settings, engine) as test_client:
        yield test_client


def texts(reply: dict[str, Any]) -> str:
    return "\n".join(m["text"] or "" for m in reply["messages"])


def waiting_for(client: TestClient, email: str, **kwargs: Any) -> list[dict[str, Any]]:
    """What a référent sees waiting in their console queue."""
    create_referent(client.database_url, email, **kwargs)  # type: ignore[attr-defined]
    console = TestClient(client.app)
    login = {"email": email, "password": PASSWORD}
    assert console.post("/console/api/login", json=login).status_code == 200
    waiting: list[dict[str, Any]] = console.get("/console/api/queue").json()["waiting"]
    return waiting


def consents_of(client: TestClient) -> list[tuple[str, bool, str]]:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        rows = session.scalars(select(Consent).order_by(Consent.id)).all()
        return [(row.purpose.value, row.granted, row.wording_version) for row in rows]


def only_handoff(client: TestClient) -> Handoff:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        handoff = session.scalars(select(Handoff)).one()
        session.expunge(handoff)
        return handoff


def test_the_age_is_asked_first_and_consent_is_recorded_with_its_wording(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    asked = person.send(payload="/request_human")
    assert "quel âge" in texts(asked)
    assert payloads_of(asked) == AGE_BUTTONS
    early = person.send(payload="/handoff_share_yes")  # an older consent button
    assert "quel âge" in texts(early), "the age question comes first"
    assert early["handoff"] is None
    consent = person.send(payload="/handoff_age_18_plus")
    assert "montrer cette conversation" in texts(consent)
    queued = person.send(payload="/handoff_share_yes")
    assert "Position dans la file : 1" in texts(queued)
    assert only_handoff(client).age_band == "18_plus"
    assert consents_of(client) == [
        ("share_with_referent", True, "handoff-2026-12-02"),
        ("share_history", True, "handoff-2026-12-02"),
    ]
    assert len(waiting_for(client, "adult@example.org")) == 1


def test_a_second_press_of_an_age_button_changes_nothing(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send(payload="/request_human")
    person.send(payload="/handoff_age_16_17")
    again = person.send(payload="/handoff_age_under_15")
    assert "montrer cette conversation" in texts(again)
    assert only_handoff(client).age_band == "16_17"


def test_under_15_without_a_parents_agreement_nothing_is_passed_on_kindly(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    person.send(payload="/request_human")
    question = person.send(payload="/handoff_age_under_15")
    assert "moins de 15 ans" in texts(question)
    assert "accord d'un de tes parents" in texts(question)
    assert payloads_of(question) == ["/handoff_parent_ok", "/handoff_parent_not_yet"]
    early = person.send(payload="/handoff_share_yes")
    assert "accord d'un de tes parents" in texts(early), "no sharing before the agreement"
    answer = person.send(payload="/handoff_parent_not_yet")
    words = texts(answer)
    assert "rien n'est transmis" in words
    assert "0 800 235 236" in words, "a free, anonymous line to talk to meanwhile"
    assert "119" in words, "danger never waits for anyone's agreement"
    assert answer["handoff"] is None
    assert only_handoff(client).status is HandoffStatus.CLOSED
    assert consents_of(client) == [("parent_agreement", False, "handoff-2026-12-02")]
    assert waiting_for(client, "cio@example.org", serves_under_16=True) == []


def test_under_15_with_a_parents_agreement_goes_to_those_who_serve_under_16s(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    person.send(payload="/request_human")
    person.send(payload="/handoff_age_under_15")
    consent = person.send(payload="/handoff_parent_ok")
    assert "montrer cette conversation" in texts(consent)
    queued = person.send(payload="/handoff_share_no")
    assert queued["handoff"]["status"] == "waiting"
    handoff = only_handoff(client)
    assert (handoff.age_band, handoff.parent_agreed, handoff.under_16) == ("under_15", True, True)
    assert [purpose for purpose, _, _ in consents_of(client)] == [
        "parent_agreement",
        "share_with_referent",
        "share_history",
    ]
    assert waiting_for(client, "ml@example.org") == [], "not for référents of over-16s"
    assert len(waiting_for(client, "cio@example.org", serves_under_16=True)) == 1


def test_urgent_help_is_never_held_back_by_the_age_question(client: TestClient) -> None:
    person = ChatClient(http=client)
    reply = person.send(payload="/urgent_violence")
    assert "quel âge" not in texts(reply)
    assert reply["handoff"]["status"] == "waiting"
    assert reply["handoff"]["priority"] == "urgent"


def test_a_danger_during_the_age_question_is_queued_at_once(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send(payload="/request_human")
    reply = person.send(payload="/urgent_violence")
    assert reply["handoff"]["priority"] == "urgent"
    assert reply["handoff"]["status"] == "waiting"


@pytest.mark.parametrize(
    ("age", "role", "first_buttons"),
    [
        ("14", "young", ["/handoff_parent_ok", "/handoff_parent_not_yet"]),  # parent question
        ("17", "young", ["/handoff_share_yes", "/handoff_share_no"]),
        (None, "parent", ["/handoff_share_yes", "/handoff_share_no"]),  # asks for themselves
    ],
)
def test_an_age_the_dialogue_knows_or_a_parent_is_not_asked_an_age(
    client: TestClient, engine: FakeEngine, age: str | None, role: str, first_buttons: list[str]
) -> None:
    engine.handoff_age, engine.handoff_role = age, role
    person = ChatClient(http=client)
    assert payloads_of(person.send(payload="/request_human"))[:2] == first_buttons
