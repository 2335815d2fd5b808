"""What the gateway does with the dialogue's instructions: keeping or deleting the
self-assessment (with its consents), and the requests it answers itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.appointments import preferences
from bot.config import Settings
from bot.db import session_scope
from bot.privacy import consents
from bot.privacy.models import Purpose
from bot.self_assessment import store
from bot.web.app import create_app
from tests.utils.chat import ChatClient
from tests.utils.fakes import FakeEngine, gateway_with, user_id_of

ANSWERS = {
    "situation": "lycee",
    "age_band": "15",
    "confidence": "1",
    "barriers": ["famille", "sante", "not-a-choice"],
    "place": "99110",
}


def save_instruction(share: bool, role: str = "young") -> dict[str, Any]:
    return {
        "self_assessment": {
            "save": {
                "role": role,
                "answers": ANSWERS,
                "flags": {"low_confidence": True, "several_barriers": True, "under_16": True},
                "share": share,
                "consent_version": "sa-test",
            }
        }
    }


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.custom_for = {
        "/keep_shared": save_instruction(True),
        "/keep_private": save_instruction(False),
        "/keep_parent": save_instruction(True, role="parent"),
        "/delete": {"self_assessment": {"delete": True}},
        "/stop_messages": {"gateway": {"intent": "stop_messages", "entities": {}}},
        "/not_a_service": {"gateway": {"intent": "not_a_service", "entities": {}}},
    }
    return engine


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test")
    gateway = gateway_with(settings, engine)
    with TestClient(create_app(settings, gateway)) as test_client:
        test_client.gateway = gateway  # type: ignore[attr-defined]
        yield test_client


def test_a_kept_and_shared_assessment_is_stored_with_both_consents(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send(payload="/keep_shared")
    user_id = user_id_of(client, person)
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        row = store.kept(session, user_id)
        assert row is not None
        assert row.shared is True
        assert row.answers["barriers"] == ["famille", "sante"], "unknown choices are dropped"
        assert row.flags == {
            "several_barriers": True,
            "low_confidence": True,
            "wants_to_talk": False,
            "under_16": True,
        }
        assert consents.granted(session, user_id, Purpose.KEEP_SELF_ASSESSMENT)
        assert consents.granted(session, user_id, Purpose.SHARE_SELF_ASSESSMENT)
        view = store.shared_view(session, user_id)
        assert view is not None
        assert view["Situation"] == "Au lycée"
        assert view["Freins possibles"] == "Famille, Santé"
        assert "moins de 16 ans" in view["Points d'attention"]


def test_a_private_one_is_never_shown_to_a_referent(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send(payload="/keep_private")
    user_id = user_id_of(client, person)
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        assert store.kept(session, user_id) is not None
        assert store.shared_view(session, user_id) is None
        assert not consents.granted(session, user_id, Purpose.SHARE_SELF_ASSESSMENT)


def test_a_parents_answers_never_keep_the_sensitive_questions(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send(payload="/keep_parent")
    user_id = user_id_of(client, person)
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        row = store.kept(session, user_id)
        assert row is not None
        assert "confidence" not in row.answers
        assert "barriers" not in row.answers
        assert row.flags == {"under_16": True}


def test_delete_removes_it_and_records_the_withdrawal(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send(payload="/keep_shared")
    person.send(payload="/delete")
    user_id = user_id_of(client, person)
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        assert store.kept(session, user_id) is None
        assert not consents.granted(session, user_id, Purpose.KEEP_SELF_ASSESSMENT)
        history = [(c.purpose.value, c.granted) for c in consents.history(session, user_id)]
        assert history[-2:] == [
            ("keep_self_assessment", False),
            ("share_self_assessment", False),
        ]


def test_stop_messages_is_recorded_and_said_plainly(client: TestClient) -> None:
    person = ChatClient(http=client)
    reply = person.send(payload="/stop_messages")
    assert "je ne t'enverrai plus aucun message" in reply["messages"][0]["text"]
    again = person.send(payload="/stop_messages")
    assert "déjà fait" in again["messages"][0]["text"]
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        assert preferences.stopped(session, user_id_of(client, person))


def test_a_request_without_its_service_yet_is_answered_plainly(client: TestClient) -> None:
    person = ChatClient(http=client)
    reply = person.send(payload="/not_a_service")
    assert reply["messages"][0]["text"].startswith("Je ne sais pas encore faire ça ici")
