"""Appointments in the conversation, through the real web chat API and database with a
stand-in engine: the person's buttons and questions, what the référent hears, the
follow-up check-in, and the reminder scheduler started by the gateway."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.appointments import service, texts
from bot.appointments.models import AppointmentStatus, Mode, Reminder, ReminderKind
from bot.config import Settings
from bot.db import session_scope, utcnow
from bot.privacy import consents
from bot.privacy.models import Purpose
from bot.web.app import create_app
from handoff.desk import CONSOLE
from tests.utils.chat import ChatClient
from tests.utils.fakes import FakeEngine, gateway_with, user_id_of


def asks(intent: str) -> dict[str, Any]:
    return {"gateway": {"intent": intent, "entities": {}}}


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.custom_for = {
        f"/{intent}": asks(intent)
        for intent in (
            "appointment_query",
            "appointment_reschedule",
            "appointment_cancel",
            "appointment_missed",
            "stop_messages",
        )
    }
    return engine


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test")
    gateway = gateway_with(settings, engine)
    with TestClient(create_app(settings, gateway)) as test_client:
        test_client.gateway = gateway  # type: ignore[attr-defined]
        yield test_client


def new_appointment(client: TestClient, person: ChatClient, in_days: float = 3) -> str:
    """As the console does: create it, then push the proposal to the person."""
    person.send("bonjour")
    user_id = user_id_of(client, person)
    gateway = client.gateway  # type: ignore[attr-defined]
    with session_scope(gateway.sessions) as session:
        appointment = service.create(
            session,
            user_id=user_id,
            starts_at=utcnow() + dt.timedelta(days=in_days),
            mode=Mode.IN_PERSON,
            place="Mission locale de Val-de-Relais",
            tz=gateway.settings.tz,
        )
        message = texts.proposed(appointment, "fr", gateway.settings.tz)
        appointment_id = appointment.id
    client.portal.call(gateway.router.push, user_id, message)  # type: ignore[attr-defined]
    return appointment_id


def status_of(client: TestClient, appointment_id: str) -> AppointmentStatus:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        appointment = service.get(session, appointment_id)
        assert appointment is not None
        return appointment.status


def console_events(client: TestClient) -> list[dict[str, Any]]:
    """Start listening to the console bus (what open consoles hear)."""
    heard: list[dict[str, Any]] = []
    bus = client.gateway.desk.bus  # type: ignore[attr-defined]
    queue = bus.subscribe(CONSOLE)

    def drain() -> list[dict[str, Any]]:
        while not queue.empty():
            heard.append(queue.get_nowait())
        return heard

    client.drain = drain  # type: ignore[attr-defined]
    return heard


def test_the_proposal_buttons_confirm_once_and_tell_the_referent(client: TestClient) -> None:
    person = ChatClient(http=client)
    appointment_id = new_appointment(client, person)
    console_events(client)
    proposal = person.events_until("Mission locale de Val-de-Relais")[-1]
    confirm = proposal["buttons"][0]["payload"]
    reply = person.send(payload=confirm)
    assert reply["messages"][0]["text"].startswith("C'est noté")
    assert status_of(client, appointment_id) is AppointmentStatus.CONFIRMED
    heard = client.drain()  # type: ignore[attr-defined]
    assert {"type": "appointment", "appointment_id": appointment_id, "kind": "confirmed"} in heard
    again = person.send(payload=confirm)  # the same button twice
    assert again["messages"], "answered, not an error"
    assert [e for e in client.drain() if e.get("kind") == "confirmed"] == heard[-1:]  # type: ignore[attr-defined]


def test_when_is_my_appointment(client: TestClient) -> None:
    person = ChatClient(http=client)
    nothing = person.send(payload="/appointment_query")
    assert "pas de rendez-vous prévu" in nothing["messages"][0]["text"]
    new_appointment(client, person)
    reply = person.send(payload="/appointment_query")
    assert reply["messages"][0]["text"].startswith("📅 Ton prochain rendez-vous")
    assert len(reply["messages"][0]["buttons"]) == 2


def test_asking_another_time_reaches_the_referent(client: TestClient) -> None:
    person = ChatClient(http=client)
    appointment_id = new_appointment(client, person)
    console_events(client)
    reply = person.send(payload="/appointment_reschedule")
    assert "va te proposer un autre moment" in reply["messages"][0]["text"]
    kinds = [e["kind"] for e in client.drain() if e.get("type") == "appointment"]  # type: ignore[attr-defined]
    assert kinds == ["reschedule_requested"]
    assert status_of(client, appointment_id) is not AppointmentStatus.CONFIRMED


def test_cancel_in_words_cancels_nothing_until_a_button_is_pressed(client: TestClient) -> None:
    person = ChatClient(http=client)
    appointment_id = new_appointment(client, person)
    reply = person.send(payload="/appointment_cancel")
    titles = [b["title"] for b in reply["messages"][0]["buttons"]]
    assert len(titles) == 3
    assert status_of(client, appointment_id) is AppointmentStatus.PROPOSED


def test_a_missed_appointment_is_noted_and_a_new_one_offered(client: TestClient) -> None:
    person = ChatClient(http=client)
    nothing = person.send(payload="/appointment_missed")
    assert "Je ne vois pas de rendez-vous récent" in nothing["messages"][0]["text"]
    appointment_id = new_appointment(client, person, in_days=1)
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        appointment = service.get(session, appointment_id)
        assert appointment is not None
        appointment.starts_at = utcnow() - dt.timedelta(hours=2)  # it was this morning
    console_events(client)
    reply = person.send(payload="/appointment_missed")
    assert reply["messages"][0]["text"].startswith("Pas de souci, ça arrive")
    assert status_of(client, appointment_id) is AppointmentStatus.MISSED
    kinds = [e["kind"] for e in client.drain() if e.get("type") == "appointment"]  # type: ignore[attr-defined]
    assert kinds == ["missed"]


def test_writing_cancels_a_pending_check_in(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send("bonjour")
    user_id = user_id_of(client, person)
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        check_in = service.schedule_check_in(session, user_id, utcnow() - dt.timedelta(days=1))
        check_in_id = check_in.id
    person.send("me revoilà")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        row = session.get(Reminder, check_in_id)
        assert row is not None
        assert row.kind is ReminderKind.FOLLOW_UP_CHECK_IN
        assert row.status.value == "cancelled"


def test_the_gateway_runs_the_reminder_scheduler(client: TestClient) -> None:
    gateway = client.gateway  # type: ignore[attr-defined]

    async def leader_soon() -> bool:
        for _ in range(50):
            if gateway.reminders.is_leader:
                return True
            await asyncio.sleep(0.1)
        return False

    assert client.portal.call(leader_soon)  # type: ignore[attr-defined]


def test_confirming_records_consent_to_reminders_and_after_stop_promises_none(
    client: TestClient,
) -> None:
    person = ChatClient(http=client)
    first = new_appointment(client, person)
    confirm = person.events_until("Mission locale de Val-de-Relais")[-1]["buttons"][0]
    assert "petit rappel" in person.send(payload=confirm["payload"])["messages"][0]["text"]
    user_id = user_id_of(client, person)
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        (row,) = consents.history(session, user_id)
        assert (row.purpose, row.granted, row.wording_version) == (
            Purpose.REMINDERS,
            True,
            "appointment-2026-12-02",
        )
    person.send(payload="/stop_messages")
    new_appointment(client, person, in_days=5)
    second = person.events_until("Mission locale de Val-de-Relais")[-1]["buttons"][0]
    assert second["payload"] != confirm["payload"]
    said = person.send(payload=second["payload"])["messages"][0]["text"]
    assert "Tu as arrêté les rappels" in said, "no reminder is promised after stop"
    assert status_of(client, first) is AppointmentStatus.CONFIRMED
