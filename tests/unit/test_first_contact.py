"""The first-contact notice: who runs the service, what is kept and for how long, who sees
it, how to delete; said once, before anything else, except after the emergency numbers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.config import Settings
from tests.utils.chat import ChatClient
from tests.utils.fakes import FakeEngine, served


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test")
    with served(settings, engine, first_contact_notice=True) as test_client:
        yield test_client


def test_the_notice_comes_first_once_and_says_what_is_kept_and_how_to_delete(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    first = person.send(payload="/greet")
    notice, *rest = first["messages"]
    assert notice["text"].startswith("🔒")
    for words in ("géré par", "12 mois", "Personne d'autre", "supprime mes données"):
        assert words in notice["text"]
    assert notice["buttons"] == [
        {"title": "Qui voit mes messages ?", "payload": "/privacy_question"}
    ]
    assert rest[0]["text"] == "echo: /greet", "then the greeting"
    assert len(notice["text"]) <= 600, "a phone screen"
    again = person.send("bonjour")
    assert all("🔒" not in (m["text"] or "") for m in again["messages"]), "said once"


def test_english_and_the_operators_name_and_period_from_the_settings(
    database_url: str, engine: FakeEngine
) -> None:
    settings = Settings(
        database_url=database_url,
        environment="test",
        service_operator="Mission locale de Démoville",
        retention_conversation_months=6,
    )
    with served(settings, engine, first_contact_notice=True) as client:
        person = ChatClient(http=client, locale="en")
        notice = person.send(payload="/greet")["messages"][0]["text"]
    assert "run by Mission locale de Démoville" in notice
    assert "for 6 months" in notice


def test_a_first_message_about_a_danger_gets_the_numbers_before_the_notice(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    reply = person.send(payload="/urgent_violence")
    assert reply["messages"][0]["text"] == "answer to urgent_violence"
    # Then the notice, before any question about sharing the conversation.
    assert reply["messages"][1]["text"].startswith("🔒")
    assert "/handoff_share_yes" in [b["payload"] for b in reply["messages"][-1]["buttons"]]


def test_with_the_engine_down_the_notice_still_comes_with_the_plain_apology(
    client: TestClient, engine: FakeEngine
) -> None:
    engine.up = False
    person = ChatClient(http=client)
    notice, unavailable = person.send(payload="/greet")["messages"]
    assert notice["text"].startswith("🔒")
    assert "indisponible" in unavailable["text"]
