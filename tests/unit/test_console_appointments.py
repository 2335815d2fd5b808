"""Appointments from the référent console, through the real console and web chat APIs with
a stand-in engine: who may set and change them, what the person receives, and the person's
pick among new times (handoff/console/API.md, "Appointments")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.appointments.models import Appointment
from bot.appointments.payloads import Action, make
from bot.config import Settings
from bot.conversations.models import Message
from bot.db import session_scope, utcnow
from bot.web.app import create_app
from handoff.console import appointments_api
from handoff.desk import CONSOLE
from tests.utils.chat import ChatClient
from tests.utils.console import PASSWORD, create_referent
from tests.utils.fakes import FakeEngine, gateway_with

ALWAYS_OPEN = {"mon-sun": "00:00-23:59"}
PARIS = dt.timezone(dt.timedelta(hours=1))  # only to write times; the gateway's zone decides
STOPPED = "La personne a demandé à ne plus recevoir de messages : dites-lui de vive voix."


def with_appointments(app: FastAPI) -> FastAPI:
    """The console's appointment routes, if the application does not include them yet."""
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/console/api/handoffs/{handoff_id}/appointments" not in paths:
        app.include_router(appointments_api.router)
    return app


class Console:
    """A référent logged in to the console (its own cookie jar)."""

    def __init__(self, client: TestClient, email: str, role: str = "referent") -> None:
        create_referent(client.database_url, email, role=role)  # type: ignore[attr-defined]
        self.client = TestClient(client.app)
        response = self.client.post(
            "/console/api/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.csrf = {"X-CSRF-Token": response.json()["me"]["csrf_token"]}

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/console/api{path}", json=body or {}, headers=self.csrf)

    def get(self, path: str) -> Any:
        return self.client.get(f"/console/api{path}")


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.custom_for["/stop_messages"] = {"gateway": {"intent": "stop_messages", "entities": {}}}
    return engine


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test", working_hours=ALWAYS_OPEN)
    gateway = gateway_with(settings, engine)
    with TestClient(with_appointments(create_app(settings, gateway))) as test_client:
        test_client.gateway = gateway  # type: ignore[attr-defined]
        test_client.database_url = database_url  # type: ignore[attr-defined]
        yield test_client


def held_by(client: TestClient, console: Console) -> tuple[ChatClient, int]:
    """A young person who asked for a person, shared the history, and is held by ``console``."""
    person = ChatClient(http=client)
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    (item,) = console.get("/queue").json()["waiting"]
    assert console.post(f"/handoffs/{item['id']}/claim").status_code == 200
    return person, item["id"]


def pushed(client: TestClient) -> list[Message]:
    """What was pushed to people outside replies, oldest first."""
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        return list(
            session.scalars(
                select(Message)
                .where(Message.reply_to_id.is_(None), Message.direction == "outbound")
                .order_by(Message.id)
            )
        )


def appointments_count(client: TestClient) -> int:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(Appointment)) or 0)


def in_days(days: int, hour: int = 14, minute: int = 30) -> str:
    """A local time (no offset: the gateway's zone) ``days`` from now."""
    day = (utcnow() + dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat()


def new_appointment(console: Console, handoff_id: int, **changes: Any) -> Any:
    body = {
        "starts_at": in_days(3),
        "duration_minutes": 45,
        "mode": "in_person",
        "place": "Mission locale, 3 rue des Lilas",
        "bring": "ta pièce d'identité",
        **changes,
    }
    return console.post(f"/handoffs/{handoff_id}/appointments", body)


def test_the_holder_sets_an_appointment_and_the_person_gets_it_with_two_buttons(
    client: TestClient,
) -> None:
    alice = Console(client, "alice@example.org")
    person, handoff_id = held_by(client, alice)
    heard = client.gateway.desk.bus.subscribe(CONSOLE)  # type: ignore[attr-defined]

    created = new_appointment(alice, handoff_id)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "proposed"
    assert body["delivered"] is True
    assert body["why"] is None
    assert body["referent"] == "Alice"
    assert body["starts_at"].startswith(in_days(3))  # read in the gateway's zone
    assert body["starts_at"][-6:] in ("+01:00", "+02:00")
    assert body["starts_label"].endswith("à 14 h 30")

    proposal = pushed(client)[-1]
    assert "Mission locale, 3 rue des Lilas" in (proposal.text or "")
    assert "ta pièce d'identité" in (proposal.text or "")
    assert [b["payload"] for b in proposal.buttons or []] == [
        make(Action.CONFIRM, body["id"]),
        make(Action.DECLINE, body["id"]),
    ]
    assert [b["title"] for b in proposal.buttons or []] == ["C'est noté", "Je ne peux pas"]
    events = [heard.get_nowait() for _ in range(heard.qsize())]
    assert {"type": "appointment", "appointment_id": body["id"], "kind": "updated"} in events
    shown = [e["message"]["text"] for e in events if e["type"] == "message"]
    assert shown == [proposal.text], "the open conversation shows the proposal"

    listed = alice.get(f"/handoffs/{handoff_id}/appointments").json()
    assert [a["id"] for a in listed["appointments"]] == [body["id"]]
    assert listed["stopped_messages"] is False
    assert listed["may_create"] is True
    assert listed["may_change"] is True
    confirmed = person.send(payload=make(Action.CONFIRM, body["id"]))
    assert confirmed["messages"][0]["text"].startswith("C'est noté")
    listed = alice.get(f"/handoffs/{handoff_id}/appointments").json()
    assert listed["appointments"][0]["status"] == "confirmed"


def test_who_does_not_hold_the_conversation_sets_nothing(client: TestClient) -> None:
    alice = Console(client, "alice@example.org")
    bob = Console(client, "bob@example.org")
    _, held = held_by(client, alice)
    refused = new_appointment(bob, held)
    assert refused.status_code == 404
    assert refused.json()["error"] == "Conversation introuvable."
    assert bob.get(f"/handoffs/{held}/appointments").status_code == 404

    waiting_person = ChatClient(http=client)
    waiting_person.send(payload="/request_human")
    waiting_person.send(payload="/handoff_share_yes")
    (waiting,) = bob.get("/queue").json()["waiting"]
    not_yet = new_appointment(bob, waiting["id"])
    assert not_yet.status_code == 409
    assert "Prenez" in not_yet.json()["error"]
    assert bob.get(f"/handoffs/{waiting['id']}/appointments").json()["may_create"] is False

    no_token = alice.client.post(
        f"/console/api/handoffs/{held}/appointments",
        json={"starts_at": in_days(3), "mode": "phone"},
    )
    assert no_token.status_code == 403
    assert appointments_count(client) == 0

    made = new_appointment(alice, held).json()
    assert bob.post(f"/appointments/{made['id']}/cancel").status_code == 404
    boss = Console(client, "boss@example.org", role="supervisor")
    assert boss.post(f"/appointments/{made['id']}/cancel").json()["status"] == "cancelled"


def test_bad_input_is_refused_in_plain_words(client: TestClient) -> None:
    alice = Console(client, "alice@example.org")
    _, handoff_id = held_by(client, alice)
    yesterday = (utcnow() - dt.timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"starts_at": yesterday}, "futur"),
        ({"starts_at": "mardi"}, "date et l'heure"),
        ({"duration_minutes": 2}, "entre 5 minutes et 8 heures"),
        ({"duration_minutes": 600}, "entre 5 minutes et 8 heures"),
        ({"mode": "pigeon"}, "sur place"),
        ({"place": "x" * 501}, "500 caractères"),
    ]
    for change, words in cases:
        response = new_appointment(alice, handoff_id, **change)
        assert response.status_code == 422, change
        assert words in response.json()["error"]
    assert appointments_count(client) == 0
    sent_before = len(pushed(client))
    with_offset = dt.datetime.fromisoformat(in_days(4, 9, 0)).replace(tzinfo=dt.UTC).isoformat()
    phone = new_appointment(alice, handoff_id, mode="phone", place=None, starts_at=with_offset)
    assert phone.status_code == 201
    assert phone.json()["starts_at"][11:16] in ("10:00", "11:00")  # 9:00 UTC in Paris
    assert "téléphone" in (pushed(client)[-1].text or "")
    assert len(pushed(client)) == sent_before + 1


def test_moving_sends_the_new_time_and_cancelling_tells_the_person(client: TestClient) -> None:
    alice = Console(client, "alice@example.org")
    _, handoff_id = held_by(client, alice)
    made = new_appointment(alice, handoff_id).json()

    moved = alice.post(f"/appointments/{made['id']}/move", {"starts_at": in_days(5, 10, 0)})
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_label"].endswith("à 10 h")
    assert moved.json()["status"] == "proposed"
    resent = pushed(client)[-1]
    assert moved.json()["starts_label"] in (resent.text or "")
    assert len(resent.buttons or []) == 2
    past = alice.post(f"/appointments/{made['id']}/move", {"starts_at": "2020-01-01T10:00"})
    assert past.status_code == 422

    cancelled = alice.post(f"/appointments/{made['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    told = pushed(client)[-1]
    assert "annulé" in (told.text or "")
    assert moved.json()["starts_label"] in (told.text or "")
    again = alice.post(f"/appointments/{made['id']}/move", {"starts_at": in_days(6)})
    assert again.status_code == 409
    assert "plus d'actualité" in again.json()["error"]
    assert alice.post(f"/appointments/{made['id']}/options", {"starts_at": []}).status_code == 422


def test_new_times_are_picked_by_the_person_and_the_appointment_moves(
    client: TestClient,
) -> None:
    alice = Console(client, "alice@example.org")
    person, handoff_id = held_by(client, alice)
    made = new_appointment(alice, handoff_id).json()
    declined = person.send(payload=make(Action.DECLINE, made["id"]))
    assert declined["messages"]
    listed = alice.get(f"/handoffs/{handoff_id}/appointments").json()["appointments"]
    assert listed[0]["reschedule_wanted"] is True

    times = [in_days(6, 9, 0), in_days(7, 16, 15)]
    proposed = alice.post(f"/appointments/{made['id']}/options", {"starts_at": times})
    assert proposed.status_code == 200, proposed.text
    options = proposed.json()["options"]
    assert [o["starts_at"][:16] for o in options] == [t[:16] for t in times]
    offer = pushed(client)[-1]
    buttons = offer.buttons or []
    assert [b["title"] for b in buttons] == [o["starts_label"] for o in options]
    assert [b["payload"] for b in buttons] == [make(Action.PICK, o["id"]) for o in options]

    # The gateway routes the person's button (bot/services.py), as on their phone.
    picked = person.send(payload=buttons[1]["payload"])
    assert options[1]["starts_label"] in picked["messages"][0]["text"]
    (now,) = alice.get(f"/handoffs/{handoff_id}/appointments").json()["appointments"]
    assert now["starts_at"] == options[1]["starts_at"]
    assert now["status"] == "confirmed"
    assert now["options"] == []
    assert now["reschedule_wanted"] is False
    one = alice.get(f"/appointments/{made['id']}").json()
    assert one["handoff_id"] == handoff_id

    three_same = alice.post(f"/appointments/{made['id']}/options", {"starts_at": [times[0]] * 3})
    assert three_same.status_code == 422


def test_done_says_nothing_missed_offers_another_time(client: TestClient) -> None:
    alice = Console(client, "alice@example.org")
    _, handoff_id = held_by(client, alice)
    first = new_appointment(alice, handoff_id).json()
    second = new_appointment(alice, handoff_id, starts_at=in_days(8)).json()
    sent = len(pushed(client))
    assert alice.post(f"/appointments/{first['id']}/done").json()["status"] == "done"
    assert len(pushed(client)) == sent
    missed = alice.post(f"/appointments/{second['id']}/missed").json()
    assert missed["status"] == "missed"
    offer = pushed(client)[-1]
    assert [b["payload"] for b in offer.buttons or []] == [make(Action.RESCHEDULE, second["id"])]


def test_after_stop_only_a_live_conversation_carries_appointment_news(
    client: TestClient,
) -> None:
    alice = Console(client, "alice@example.org")
    person, handoff_id = held_by(client, alice)
    made = new_appointment(alice, handoff_id).json()
    alice.post(f"/handoffs/{handoff_id}/close", {"outcome": "appointment_set"})
    person.send(payload="/stop_messages")
    assert alice.get(f"/handoffs/{handoff_id}/appointments").json()["stopped_messages"] is True

    sent = len(pushed(client))
    moved = alice.post(f"/appointments/{made['id']}/move", {"starts_at": in_days(9)})
    assert moved.status_code == 200, "the last holder still follows the person"
    assert moved.json()["delivered"] is False
    assert moved.json()["why"] == STOPPED
    assert len(pushed(client)) == sent, "nothing proactive after stop"
    assert alice.get(f"/handoffs/{handoff_id}/appointments").json()["may_create"] is False

    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    (again,) = alice.get("/queue").json()["waiting"]
    alice.post(f"/handoffs/{again['id']}/claim")
    live = new_appointment(alice, again["id"], starts_at=in_days(10))
    assert live.json()["delivered"] is True, "an answer in a conversation they asked for"
    assert live.json()["stopped_messages"] is True
    assert len(pushed(client)) > sent
