"""The human handoff through the real web chat and console APIs, with a stand-in engine.

The engine answers "/request_human" (and the like) by asking for a person, as the real
dialogue's ``action_request_handoff`` does; everything else is real: router, desk, queue,
accounts, database (SQLite, and PostgreSQL with ``make postgres-tests``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.config import Settings
from bot.conversations.models import Delivery, Message, Sender
from bot.db import session_scope
from handoff.models import Handoff, HandoffEvent
from tests.utils.chat import ChatClient
from tests.utils.console import PASSWORD, create_referent
from tests.utils.fakes import HANDOFF_TEXTS, FakeEngine, served

ALWAYS_OPEN = {"mon-sun": "00:00-23:59"}
HANDOFF_TEXTS["/request_human_demo"] = ("normal", "request_human")


def Person(client: TestClient) -> ChatClient:
    """A young person on the web chat."""
    return ChatClient(http=client)


class Referent:
    """A référent logged in to the console (its own cookie jar)."""

    def __init__(self, app: Any, email: str) -> None:
        self.client = TestClient(app)
        response = self.client.post(
            "/console/api/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.csrf = {"X-CSRF-Token": response.json()["me"]["csrf_token"]}

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/console/api{path}", json=body or {}, headers=self.csrf)

    def queue(self) -> dict[str, Any]:
        result: dict[str, Any] = self.client.get("/console/api/queue").json()
        return result


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test", working_hours=ALWAYS_OPEN)
    with served(settings, engine) as test_client:
        yield test_client


def referent(client: TestClient, email: str, **kwargs: Any) -> Referent:
    create_referent(client.database_url, email, **kwargs)  # type: ignore[attr-defined]
    return Referent(client.app, email)


def texts(reply: dict[str, Any]) -> str:
    return "\n".join(m["text"] or "" for m in reply["messages"])


def pushed_to(client: TestClient, person: ChatClient) -> list[Message]:
    """What was pushed to the person outside replies (référent, system notices)."""
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        rows = session.scalars(
            select(Message).where(Message.reply_to_id.is_(None), Message.direction == "outbound")
        ).all()
        return list(rows)


def test_request_asks_consent_before_anything_is_queued(
    client: TestClient, engine: FakeEngine
) -> None:
    person = Person(client)
    alice = referent(client, "alice@example.org")
    engine.silent_handoff = True  # as the real action: the instruction alone, no text
    reply = person.send(payload="/request_human")
    assert len(reply["messages"]) == 1, "only the consent question, no 'could not answer'"
    assert "montrer cette conversation" in texts(reply)
    payloads = [b["payload"] for b in reply["messages"][-1]["buttons"]]
    assert payloads == ["/handoff_share_yes", "/handoff_share_no", "/handoff_decline"]
    assert reply["handoff"] is None
    assert alice.queue()["waiting"] == []


def test_consent_queues_with_position_then_the_bot_stays_silent(
    client: TestClient, engine: FakeEngine
) -> None:
    first, second = Person(client), Person(client)
    for person in (first, second):
        person.send(payload="/request_human")
    first.send(payload="/handoff_share_yes")
    reply = second.send(payload="/handoff_share_yes")
    assert "Position dans la file : 2" in texts(reply)
    assert reply["handoff"] == {"status": "waiting", "priority": "normal", "position": 2}
    assert reply["messages"][0]["buttons"][0]["payload"] == "/handoff_cancel"

    seen = len(engine.received)
    held = second.send("vous êtes là ?")
    assert held["messages"] == []
    assert held["handoff"]["status"] == "waiting"
    assert len(engine.received) == seen, "the bot must not answer while a person is awaited"
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        # Message texts are encrypted: looked for in Python, not in SQL.
        kept = next(
            (m for m in session.scalars(select(Message)) if m.text == "vous êtes là ?"), None
        )
        assert kept is not None
        assert kept.delivery is Delivery.HELD_FOR_HUMAN


def test_urgent_is_queued_at_once_ahead_of_the_others_and_asks_consent_after(
    client: TestClient,
) -> None:
    calm, urgent = Person(client), Person(client)
    alice = referent(client, "alice@example.org")
    calm.send(payload="/request_human")
    calm.send(payload="/handoff_share_yes")
    reply = urgent.send(payload="/urgent_violence")
    assert reply["messages"][0]["text"] == "answer to urgent_violence", "the numbers come first"
    assert "tout de suite" in texts(reply)
    assert [b["payload"] for b in reply["messages"][-1]["buttons"]] == [
        "/handoff_share_yes",
        "/handoff_share_no",
    ]
    assert reply["handoff"] == {"status": "waiting", "priority": "urgent", "position": 1}
    waiting = alice.queue()["waiting"]
    assert [w["priority"] for w in waiting] == ["urgent", "normal"]


def test_claim_relay_both_ways_close_and_the_bot_resumes(
    client: TestClient, engine: FakeEngine
) -> None:
    person = Person(client)
    person.send("bonjour, je m'appelle Sam")
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    alice = referent(client, "alice@example.org")
    (item,) = alice.queue()["waiting"]

    assert alice.post(f"/handoffs/{item['id']}/claim").status_code == 200
    joined = pushed_to(client, person)[-1]
    assert "a rejoint la conversation" in (joined.text or "")

    sent = alice.post(f"/handoffs/{item['id']}/messages", {"text": "Bonjour Sam, je suis là."})
    assert sent.status_code == 201
    last = pushed_to(client, person)[-1]
    assert (last.sender, last.text) == (Sender.REFERENT, "Bonjour Sam, je suis là.")

    assert person.send("merci !")["handoff"]["status"] == "assigned"
    view = alice.client.get(f"/console/api/handoffs/{item['id']}").json()
    transcript = [m["text"] for m in view["messages"]]
    assert "bonjour, je m'appelle Sam" in transcript, "the history was shared"
    assert transcript[-1] == "merci !"

    closed = alice.post(f"/handoffs/{item['id']}/close", {"outcome": "information_given"})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert engine.triggered[-1][1:] == ("handoff_ended", {"outcome": "information_given"})
    assert pushed_to(client, person)[-1].text == "back: handoff_ended"
    after = person.send("et pour le cfa ?")
    assert after["handoff"] is None
    assert after["messages"][0]["text"] == "echo: et pour le cfa ?"


def test_a_conversation_claimed_twice_has_one_holder_and_the_other_is_told(
    client: TestClient,
) -> None:
    person = Person(client)
    person.send(payload="/urgent_violence")
    alice = referent(client, "alice@example.org")
    bob = referent(client, "bob@example.org")
    (item,) = alice.queue()["waiting"]
    assert alice.post(f"/handoffs/{item['id']}/claim").status_code == 200
    late = bob.post(f"/handoffs/{item['id']}/claim")
    assert late.status_code == 409
    assert "déjà pris" in late.json()["error"]
    assert bob.post(f"/handoffs/{item['id']}/messages", {"text": "x"}).status_code == 409


def test_history_not_shared_shows_only_what_follows_the_request(client: TestClient) -> None:
    person = Person(client)
    person.send("un secret d'avant")
    person.send(payload="/request_human")
    reply = person.send(payload="/handoff_share_no")
    assert "à partir de maintenant" in texts(reply)
    person.send("la suite")
    alice = referent(client, "alice@example.org")
    (item,) = alice.queue()["waiting"]
    transcript = [
        m["text"]
        for m in alice.client.get(f"/console/api/handoffs/{item['id']}").json()["messages"]
    ]
    assert "un secret d'avant" not in transcript
    assert "la suite" in transcript


def test_declining_or_cancelling_leaves_nobody_called(client: TestClient) -> None:
    alice = referent(client, "alice@example.org")
    decliner, canceller = Person(client), Person(client)
    decliner.send(payload="/request_human")
    assert "personne n'est prévenu" in texts(decliner.send(payload="/handoff_decline"))
    canceller.send(payload="/request_human")
    canceller.send(payload="/handoff_share_yes")
    assert "annulé" in texts(canceller.send(payload="/handoff_cancel"))
    assert alice.queue()["waiting"] == []
    again = canceller.send(payload="/handoff_cancel")
    assert "plus en cours" in texts(again), "a button pressed twice is answered plainly"


def test_release_puts_it_back_and_the_person_is_told(client: TestClient) -> None:
    person = Person(client)
    person.send(payload="/urgent_violence")
    alice = referent(client, "alice@example.org")
    (item,) = alice.queue()["waiting"]
    alice.post(f"/handoffs/{item['id']}/claim")
    assert alice.post(f"/handoffs/{item['id']}/release").status_code == 200
    assert "de nouveau dans la file" in (pushed_to(client, person)[-1].text or "")
    assert [w["id"] for w in alice.queue()["waiting"]] == [item["id"]]


def test_console_refuses_changes_without_the_csrf_token(client: TestClient) -> None:
    person = Person(client)
    person.send(payload="/urgent_violence")
    alice = referent(client, "alice@example.org")
    (item,) = alice.queue()["waiting"]
    response = alice.client.post(f"/console/api/handoffs/{item['id']}/claim")
    assert response.status_code == 403
    assert alice.queue()["waiting"][0]["id"] == item["id"], "nothing changed"


def test_another_territory_cannot_open_the_conversation(
    client: TestClient, engine: FakeEngine
) -> None:
    person = Person(client)
    person.send(payload="/urgent_violence")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        session.execute(Handoff.__table__.update().values(territory_id="demo"))
    outsider = referent(client, "out@example.org", territories=["elsewhere"])
    insider = referent(client, "in@example.org", territories=["demo"])
    assert outsider.queue()["waiting"] == []
    (item,) = insider.queue()["waiting"]
    path = f"/handoffs/{item['id']}"
    assert outsider.client.get(f"/console/api{path}").status_code == 404
    assert outsider.post(f"{path}/claim").status_code == 404
    assert outsider.post(f"{path}/messages", {"text": "bonjour"}).status_code == 404
    assert outsider.post(f"{path}/notes", {"text": "note"}).status_code == 404

    # Nor once a référent of its territory holds it.
    assert insider.post(f"{path}/claim").status_code == 200
    assert outsider.client.get(f"/console/api{path}").status_code == 404
    assert outsider.post(f"{path}/messages", {"text": "bonjour"}).status_code == 404
    assert outsider.queue() == {"waiting": [], "mine": [], "others": []}
    assert "bonjour" not in [m.text for m in pushed_to(client, person)]
    assert insider.client.get(f"/console/api{path}").status_code == 200
    insider_id = insider.client.get("/console/api/me").json()["id"]
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        opened = select(HandoffEvent.referent_id).where(HandoffEvent.kind == "opened")
        assert list(session.scalars(opened)) == [insider_id], "refused: not written as read"


def test_wrong_passwords_lock_the_account_with_the_same_words_for_unknown_emails(
    client: TestClient,
) -> None:
    create_referent(client.database_url, "alice@example.org")  # type: ignore[attr-defined]
    unknown = client.post("/console/api/login", json={"email": "x@y.org", "password": "nope"})
    wrong = client.post(
        "/console/api/login", json={"email": "alice@example.org", "password": "nope"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    for _ in range(4):
        last = client.post(
            "/console/api/login", json={"email": "alice@example.org", "password": "nope"}
        )
    assert last.status_code == 429
    assert last.json()["retry_after"] > 0
    locked = client.post(
        "/console/api/login", json={"email": "alice@example.org", "password": PASSWORD}
    )
    assert locked.status_code == 429, "even the right password waits for the lock to end"


def test_outside_working_hours_the_person_is_told_when_and_urgent_gets_numbers_again(
    client: TestClient,
) -> None:
    desk = client.gateway.desk  # type: ignore[attr-defined]
    desk._default_hours = desk.hours_of("nowhere").parse({"mon-fri": "09:00-17:30"})
    # Saturday 22:00 in Paris: next opening Monday 9:00.
    desk.clock = lambda: dt.datetime(2026, 11, 21, 21, 0, tzinfo=dt.UTC)
    person, urgent = Person(client), Person(client)
    person.send(payload="/request_human")
    reply = person.send(payload="/handoff_share_yes")
    assert "lundi 23 novembre à 9 h" in texts(reply)
    urgent_reply = urgent.send(payload="/urgent_violence")
    assert "lundi 23 novembre à 9 h" in texts(urgent_reply)
    assert "112" in texts(urgent_reply)


async def test_long_waits_are_escalated_once(client: TestClient) -> None:
    person = Person(client)
    person.send(payload="/urgent_violence")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
        session.execute(Handoff.__table__.update().values(queued_at=past))
    desk = client.gateway.desk  # type: ignore[attr-defined]
    assert await desk.escalate() == 1
    assert await desk.escalate() == 0
    alice = referent(client, "alice@example.org")
    assert alice.queue()["waiting"][0]["escalated"] is True


def test_supervision_lists_what_was_not_understood_and_exports_csv(client: TestClient) -> None:
    person = Person(client)
    person.send("zorglub 06 12 34 56 78")
    person.send(payload="/urgent_violence")
    boss = referent(client, "chef@example.org", role="supervisor")
    worker = referent(client, "alice@example.org")
    (item,) = boss.queue()["waiting"]
    boss.post(f"/handoffs/{item['id']}/claim")
    boss.post(f"/handoffs/{item['id']}/close", {"outcome": "urgent_service_contacted"})

    figures = boss.client.get("/console/api/stats?days=7").json()
    assert figures["volumes"]["total"] == 1
    assert figures["outcomes"]["urgent_service_contacted"] == 1
    assert figures["unanswered"] == [{"text": "zorglub ## ## ## ## ##", "count": 1}]
    csv = boss.client.get("/console/api/stats.csv?days=7")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "urgent_violence" in csv.text
    assert "zorglub" not in csv.text, "no message text in the export"
    assert worker.client.get("/console/api/stats").status_code == 403


def test_a_danger_written_while_waiting_gets_the_numbers_and_becomes_urgent(
    client: TestClient, engine: FakeEngine
) -> None:
    person = Person(client)
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    assert person.send("ça va, j'attends")["messages"] == []
    reply = person.send("en fait je veux mourir")
    assert reply["messages"][0]["text"] == "📞 3114", "the numbers at once, even while waiting"
    assert reply["handoff"]["priority"] == "urgent"
    assert engine.triggered[-1][1] == "urgent_suicidal_thoughts"
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        # Message texts are encrypted: looked for in Python, not in SQL.
        kept = next(
            (m for m in session.scalars(select(Message)) if m.text == "en fait je veux mourir"),
            None,
        )
        assert kept is not None
        assert kept.delivery is Delivery.HELD_FOR_HUMAN, "the référent still reads it"
    alice = referent(client, "alice@example.org")
    assert alice.queue()["waiting"][0]["priority"] == "urgent"


def test_a_referent_reads_only_what_is_theirs_to_read(client: TestClient) -> None:
    person = Person(client)
    person.send(payload="/request_human")
    alice = referent(client, "alice@example.org")
    bob = referent(client, "bob@example.org")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        handoff_id = session.scalar(select(Handoff.id))
    path = f"/console/api/handoffs/{handoff_id}"
    assert alice.client.get(path).status_code == 404, "not before the person agreed"

    person.send("ce que le bot entend avant la réponse")
    person.send(payload="/handoff_share_no")
    person.send("pour la personne")
    seen = [m["text"] for m in alice.client.get(path).json()["messages"]]
    assert "ce que le bot entend avant la réponse" not in seen, "not shared: from the answer on"
    assert "pour la personne" in seen

    alice.post(f"/handoffs/{handoff_id}/claim")
    assert bob.client.get(path).status_code == 404, "held by a colleague"
    alice.post(f"/handoffs/{handoff_id}/close", {"outcome": "information_given"})
    person.send("plus tard, au bot")
    later = [m["text"] for m in alice.client.get(path).json()["messages"]]
    assert "plus tard, au bot" not in later, "what follows the close is not the référent's"
    assert bob.client.get(path).status_code == 404


def test_a_declined_request_is_never_shown(client: TestClient) -> None:
    person = Person(client)
    person.send("un secret")
    person.send(payload="/request_human")
    person.send(payload="/handoff_decline")
    boss = referent(client, "chef@example.org", role="supervisor")
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        handoff_id = session.scalar(select(Handoff.id))
    assert boss.client.get(f"/console/api/handoffs/{handoff_id}").status_code == 404


def test_a_deactivated_referent_is_logged_out_and_their_conversations_go_back(
    client: TestClient,
) -> None:
    person = Person(client)
    person.send(payload="/urgent_violence")
    boss = referent(client, "chef@example.org", role="supervisor")
    alice = referent(client, "alice@example.org")
    (item,) = alice.queue()["waiting"]
    alice.post(f"/handoffs/{item['id']}/claim")
    alice_id = alice.client.get("/console/api/me").json()["id"]
    changed = boss.client.patch(
        f"/console/api/referents/{alice_id}", json={"active": False}, headers=boss.csrf
    )
    assert changed.status_code == 200
    assert changed.json()["active_count"] == 0
    assert alice.client.get("/console/api/me").status_code == 401
    assert [w["id"] for w in boss.queue()["waiting"]] == [item["id"]]
    assert "de nouveau dans la file" in (pushed_to(client, person)[-1].text or "")


def test_claiming_a_cancelled_request_says_it_no_longer_waits(client: TestClient) -> None:
    person = Person(client)
    urgent = person.send(payload="/urgent_violence")
    cancel = [b["payload"] for m in urgent["messages"] for b in m["buttons"]]
    assert "/handoff_cancel" in cancel, "an urgent request can be cancelled too"
    alice = referent(client, "alice@example.org")
    (item,) = alice.queue()["waiting"]
    person.send(payload="/handoff_cancel")
    late = alice.post(f"/handoffs/{item['id']}/claim")
    assert late.status_code == 409
    assert "n'attend plus" in late.json()["error"]


def test_people_waiting_see_their_position_move_without_a_message(client: TestClient) -> None:
    first, second = Person(client), Person(client)
    for person in (first, second):
        person.send(payload="/request_human")
        person.send(payload="/handoff_share_yes")
    gateway = client.gateway  # type: ignore[attr-defined]
    with session_scope(gateway.sessions) as session:
        second_user = session.scalar(select(Handoff.user_id).order_by(Handoff.id.desc()).limit(1))
    stream = gateway.bus.subscribe(second_user)
    before = len(pushed_to(client, second))
    first.send(payload="/handoff_cancel")
    assert stream.get_nowait() == {
        "handoff": {"status": "waiting", "priority": "normal", "position": 1}
    }
    assert len(pushed_to(client, second)) == before, "a status, not a chat message"


def test_engine_down_a_danger_still_gets_its_numbers_and_a_person(
    client: TestClient, engine: FakeEngine
) -> None:
    person = Person(client)
    alice = referent(client, "alice@example.org")
    engine.up = False
    reply = person.send("je dors dehors ce soir, mes parents m'ont mis à la porte")
    first = reply["messages"][0]
    assert first["text"].startswith("📞"), "numbers first"
    assert "115" in first["text"][:80]
    assert "souci technique" in reply["messages"][1]["text"]
    assert [b["payload"] for b in reply["messages"][-1]["buttons"]] == [
        "/handoff_share_yes",
        "/handoff_share_no",
    ]
    assert reply["handoff"]["priority"] == "urgent"
    assert [w["priority"] for w in alice.queue()["waiting"]] == ["urgent"]
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        kept = next(m for m in session.scalars(select(Message)) if m.text.startswith("je dors"))
        assert kept.delivery is Delivery.ENGINE_UNAVAILABLE, "kept, and said the engine missed it"


@pytest.mark.parametrize(
    "text",
    [
        "je me tape 2h de transport pour aller au CFA",  # an ordinary question
        "j'ai faim",  # a weaker sign: counts only beside the classifier
    ],
)
def test_engine_down_without_a_plain_danger_the_message_is_kept_and_nobody_is_called(
    client: TestClient, engine: FakeEngine, text: str
) -> None:
    alice = referent(client, "alice@example.org")
    engine.up = False
    reply = Person(client).send(text)
    assert "indisponible" in texts(reply)
    assert reply["handoff"] is None
    assert alice.queue()["waiting"] == []


def test_engine_down_while_waiting_a_danger_still_becomes_urgent(
    client: TestClient, engine: FakeEngine
) -> None:
    person = Person(client)
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")
    engine.up = False
    reply = person.send("en fait j'ai envie de mourir")
    assert "3114" in reply["messages"][0]["text"][:60]
    assert reply["handoff"]["priority"] == "urgent"


def test_engine_down_and_the_queue_failing_the_numbers_are_still_given(
    client: TestClient, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr(client.gateway.desk, "request", broken)  # type: ignore[attr-defined]
    engine.up = False
    reply = Person(client).send("j'ai plus envie de vivre")
    assert "3114" in reply["messages"][0]["text"][:80], "the numbers, whatever fails after"
