"""The access log supervisors read (``GET /console/api/audit``, ``/audit.csv``), through the
real web chat and console APIs with a stand-in engine, on SQLite and (``-m postgres``)
PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bot.config import Settings
from bot.conversations.models import User
from bot.db import session_scope
from bot.web.app import create_app
from handoff import queue
from handoff.console.audit import CSV_COLUMNS, MAX_LIMIT
from handoff.models import Handoff, HandoffEvent, Referent
from tests.utils.chat import ChatClient
from tests.utils.console import PASSWORD, create_referent
from tests.utils.fakes import FakeEngine, gateway_with

ALWAYS_OPEN = {"mon-sun": "00:00-23:59"}
SECRET = "mon beau-père me frappe, je m'appelle Inès Martin"


class Console:
    """A référent logged in to the console (its own cookie jar)."""

    def __init__(self, client: TestClient, email: str, **kwargs: Any) -> None:
        self.id = create_referent(client.database_url, email, **kwargs)  # type: ignore[attr-defined]
        self.client = TestClient(client.app)
        response = self.client.post(
            "/console/api/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.csrf = {"X-CSRF-Token": response.json()["me"]["csrf_token"]}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/console/api{path}", params=params)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/console/api{path}", json=body or {}, headers=self.csrf)

    def audit(self, **params: Any) -> dict[str, Any]:
        response = self.get("/audit", **params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test", working_hours=ALWAYS_OPEN)
    gateway = gateway_with(settings, FakeEngine())
    with TestClient(create_app(settings, gateway)) as test_client:
        test_client.gateway = gateway  # type: ignore[attr-defined]
        test_client.database_url = database_url  # type: ignore[attr-defined]
        yield test_client


def urgent_request(client: TestClient) -> tuple[ChatClient, int]:
    """A young person's urgent request (queued at once), and its handoff id."""
    person = ChatClient(http=client)
    person.send(payload="/urgent_violence")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        handoff_id = session.scalar(select(Handoff.id).order_by(Handoff.id.desc()).limit(1))
    assert handoff_id is not None
    return person, handoff_id


def add_openings(client: TestClient, handoff_id: int, referent_id: str, count: int) -> None:
    """``count`` openings written as the console writes them, without ``count`` requests."""
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        handoff = session.get(Handoff, handoff_id)
        referent = session.get(Referent, referent_id)
        assert handoff is not None
        assert referent is not None
        for _ in range(count):
            queue.record_access(session, handoff, referent)


def test_an_opening_shows_in_the_log_with_the_referents_name_and_the_time(
    client: TestClient,
) -> None:
    _person, handoff_id = urgent_request(client)
    alice = Console(client, "alice.durand@example.org")
    boss = Console(client, "chef@example.org", role="supervisor")
    before = dt.datetime.now(dt.UTC)
    assert alice.get(f"/handoffs/{handoff_id}").status_code == 200
    after = dt.datetime.now(dt.UTC)

    (row,) = boss.audit()["events"]
    assert row["kind"] == "opened"
    assert row["action"] == "Ouverture de la conversation"
    assert row["referent"] == {"id": alice.id, "display_name": "Alice Durand"}
    assert row["handoff_id"] == handoff_id
    assert before - dt.timedelta(seconds=1) <= dt.datetime.fromisoformat(row["at"]) <= after

    # What follows is listed newest first, with whom a transfer went to and the outcome.
    bob = Console(client, "bob@example.org")
    assert alice.post(f"/handoffs/{handoff_id}/claim").status_code == 200
    assert (
        alice.post(f"/handoffs/{handoff_id}/transfer", {"referent_id": bob.id}).status_code == 200
    )
    assert bob.get(f"/handoffs/{handoff_id}").status_code == 200
    closing = {"outcome": "urgent_service_contacted"}
    assert bob.post(f"/handoffs/{handoff_id}/close", closing).status_code == 200
    rows = boss.audit()["events"]
    assert [(r["kind"], r["referent"]["display_name"]) for r in rows] == [
        ("closed", "Bob"),
        ("opened", "Bob"),
        ("transferred", "Alice Durand"),
        ("claimed", "Alice Durand"),
        ("opened", "Alice Durand"),
    ]
    assert rows[0]["outcome"] == "urgent_service_contacted"
    assert rows[2]["to"] == {"id": bob.id, "display_name": "Bob"}
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)


def test_a_referent_is_refused_the_log_in_plain_words(client: TestClient) -> None:
    _person, handoff_id = urgent_request(client)
    alice = Console(client, "alice@example.org")
    alice.get(f"/handoffs/{handoff_id}")
    for path in ("/audit", "/audit.csv"):
        refused = alice.get(path)
        assert refused.status_code == 403
        assert refused.json() == {"error": "Réservé aux superviseurs."}
        assert client.get(f"/console/api{path}").status_code == 401, "not logged in"


def test_neither_the_json_nor_the_csv_holds_a_text_or_the_persons_ids(
    client: TestClient,
) -> None:
    person, handoff_id = urgent_request(client)
    person.send(SECRET)  # held for the référent
    person.send("il rentre à 18 h au 12 rue des Lilas")
    alice = Console(client, "alice@example.org")
    boss = Console(client, "chef@example.org", role="supervisor")
    path = f"/handoffs/{handoff_id}"
    assert alice.post(f"{path}/claim").status_code == 200
    assert SECRET in [m["text"] for m in alice.get(path).json()["messages"]]
    assert alice.post(f"{path}/messages", {"text": "Je t'appelle, Inès ?"}).status_code == 201
    assert alice.post(f"{path}/notes", {"text": "Voir la CPE du collège Jaurès"}).status_code == 201
    assert alice.post(f"{path}/close", {"outcome": "follow_up"}).status_code == 200
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        user = session.scalars(select(User)).one()
        ids = [user.id, user.external_id, person.session_id]

    listed = boss.get("/audit")
    exported = boss.get("/audit.csv")
    assert listed.status_code == exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert {r["kind"] for r in listed.json()["events"]} == {"opened", "claimed", "closed"}
    for body in (listed.text, exported.text):
        for secret in ("Inès", "Lilas", "frappe", "Jaurès", "urgent_violence", *ids):
            assert secret not in body

    rows = list(csv.reader(io.StringIO(exported.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + len(listed.json()["events"])
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert (first["kind"], first["action"], first["outcome"]) == ("closed", "Clôture", "follow_up")
    assert (first["referent"], first["handoff_id"]) == ("Alice", str(handoff_id))


def test_pages_go_back_in_time_without_gaps_and_the_limit_is_capped(
    client: TestClient,
) -> None:
    _person, handoff_id = urgent_request(client)
    alice = Console(client, "alice@example.org")
    boss = Console(client, "chef@example.org", role="supervisor")
    add_openings(client, handoff_id, alice.id, 7)

    seen: list[int] = []
    page = boss.audit(limit=3)
    sizes = []
    while True:
        sizes.append(len(page["events"]))
        seen += [r["id"] for r in page["events"]]
        if page["next_before"] is None:
            break
        assert page["next_before"] == seen[-1]
        page = boss.audit(limit=3, before=page["next_before"])
    assert sizes == [3, 3, 1]
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 7
    assert seen == [r["id"] for r in boss.audit()["events"]]

    add_openings(client, handoff_id, alice.id, MAX_LIMIT)
    capped = boss.audit(limit=10_000)
    assert len(capped["events"]) == MAX_LIMIT
    assert capped["next_before"] is not None
    assert boss.get("/audit", limit=0).status_code == 422


def test_filters_by_referent_request_and_days(client: TestClient) -> None:
    _first, first_id = urgent_request(client)
    _second, second_id = urgent_request(client)
    alice = Console(client, "alice@example.org")
    bob = Console(client, "bob@example.org")
    boss = Console(client, "chef@example.org", role="supervisor")
    alice.get(f"/handoffs/{first_id}")
    bob.get(f"/handoffs/{second_id}")
    bob.get(f"/handoffs/{first_id}")
    # Bob's first opening was ten days ago at 23:30 UTC: the next day in Paris, the
    # gateway's zone, where the days of the filter are counted.
    tz = client.gateway.settings.tz  # type: ignore[attr-defined]
    utc_day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).date()
    paris_day = (utc_day + dt.timedelta(days=1)).isoformat()
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        first_of_bob = session.scalar(
            select(HandoffEvent.id)
            .where(HandoffEvent.referent_id == bob.id)
            .order_by(HandoffEvent.id)
            .limit(1)
        )
        late = dt.datetime.combine(utc_day, dt.time(23, 30), dt.UTC)
        session.execute(update(HandoffEvent).where(HandoffEvent.id == first_of_bob).values(at=late))

    def who(**params: Any) -> list[tuple[str, int]]:
        return [
            (r["referent"]["display_name"], r["handoff_id"]) for r in boss.audit(**params)["events"]
        ]

    assert who(referent=bob.id) == [("Bob", first_id), ("Bob", second_id)]
    assert who(handoff=first_id) == [("Bob", first_id), ("Alice", first_id)]
    today = dt.datetime.now(tz).date().isoformat()
    assert who(since=today) == [("Bob", first_id), ("Alice", first_id)]
    assert who(until=paris_day) == [("Bob", second_id)]
    assert who(since=paris_day, until=paris_day) == [("Bob", second_id)]
    assert who(since=utc_day.isoformat(), until=utc_day.isoformat()) == []
    assert who(referent=alice.id, handoff=second_id) == []

    exported = boss.get("/audit.csv", referent=alice.id).text
    assert len(exported.strip().splitlines()) == 2

    backwards = boss.get("/audit", since=today, until=paris_day)
    assert backwards.status_code == 422
    assert backwards.json()["error"] == "La date de début est après la date de fin."
    assert "AAAA-MM-JJ" in boss.get("/audit", since="hier").json()["error"]


def test_names_that_a_spreadsheet_would_run_are_defused_in_the_csv(client: TestClient) -> None:
    _person, handoff_id = urgent_request(client)
    mallory = Console(client, "mallory@example.org")
    boss = Console(client, "chef@example.org", role="supervisor")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        session.execute(
            update(Referent)
            .where(Referent.id == mallory.id)
            .values(display_name='=HYPERLINK("http://x.test","clic")')
        )
    mallory.get(f"/handoffs/{handoff_id}")
    rows = list(csv.DictReader(io.StringIO(boss.get("/audit.csv").text)))
    assert rows[0]["referent"] == '\'=HYPERLINK("http://x.test","clic")'
    # The JSON gives the name as it is: the page shows it as text.
    assert boss.audit()["events"][0]["referent"]["display_name"].startswith("=HYPERLINK")
