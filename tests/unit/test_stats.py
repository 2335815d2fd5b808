"""Supervision figures and the CSV export, on SQLite and (``-m postgres``) PostgreSQL.

The data goes through the queue service like in production; only the timestamps are set
by hand afterwards, so that every duration is known.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations import store
from bot.conversations.models import Channel, Conversation, new_id
from bot.db import session_scope
from handoff import queue
from handoff.models import Handoff, HandoffStatus, Outcome, Priority, Referent, Role
from handoff.queue import ClaimResult
from handoff.stats import CSV_COLUMNS, handoffs_csv, normalise_unanswered, supervision

SINCE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
UNTIL = SINCE + dt.timedelta(days=30)
HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)


@dataclass
class Made:
    """What the data fixture created, to check the export against it."""

    claimed: list[int] = field(default_factory=list)  # in the window, waits 10..100 s
    telegram: int = 0
    secrets: list[str] = field(default_factory=list)  # must never appear in the CSV


def conversation(s: Session, channel: Channel = Channel.WEB) -> Conversation:
    user = store.get_or_create_user(s, channel, new_id())
    return store.current_conversation(s, user)


def handoff(
    s: Session,
    holder: Referent,
    requested_at: dt.datetime,
    *,
    priority: Priority = Priority.NORMAL,
    reason: str = "request_human",
    channel: Channel = Channel.WEB,
    consent: bool = True,
    wait: float | None = None,
    handling: float | None = None,
    outcome: Outcome = Outcome.INFORMATION_GIVEN,
) -> Handoff:
    """A handoff requested at a known time; queued 5 s later, claimed after ``wait``
    seconds in the queue, closed ``handling`` seconds after the claim."""
    conv = conversation(s, channel)
    made, _ = queue.request(s, queue.Request(conv.id, conv.user_id, priority, reason, "a"))
    if consent and made.status is HandoffStatus.REQUESTED:
        queue.answer_consent(s, made, share_history=True)
    made.requested_at = requested_at
    if made.queued_at is not None:
        made.queued_at = requested_at + 5 * SECOND
    s.flush()
    if wait is not None:
        assert made.queued_at is not None
        assert queue.claim(s, made.id, holder) is ClaimResult.CLAIMED
        made.claimed_at = made.queued_at + wait * SECOND
        if handling is not None:
            queue.close(s, made, holder, outcome)
            made.closed_at = made.claimed_at + handling * SECOND
    s.flush()
    return made


def not_understood(
    s: Session,
    text: str,
    at: dt.datetime,
    *,
    flagged: bool = True,
    conv: Conversation | None = None,
) -> None:
    message = store.record_inbound(s, conv or conversation(s), text=text, payload=None)
    message.not_understood = flagged
    message.created_at = at


@pytest.fixture
def made(sessions: sessionmaker[Session]) -> Made:
    out = Made()
    with session_scope(sessions) as s:
        holder = Referent(
            email="camille@example.org",
            display_name="Camille",
            password_hash="not-a-real-hash",
            role=Role.SUPERVISOR,
            capacity=1000,
        )
        s.add(holder)
        s.flush()
        out.secrets.append(holder.id)
        # Ten claims in the window, waits 10, 20, ... 100 s; three closed after 100, 200,
        # 300 s of handling; the first came from Telegram.
        for i in range(10):
            h = handoff(
                s,
                holder,
                SINCE + i * HOUR,
                priority=Priority.NORMAL if i < 6 else Priority.HIGH,
                channel=Channel.TELEGRAM if i == 0 else Channel.WEB,
                wait=10 * (i + 1),
                handling=100 * (i + 1) if i < 3 else None,
                outcome=Outcome.APPOINTMENT_SET if i == 2 else Outcome.INFORMATION_GIVEN,
            )
            out.claimed.append(h.id)
            out.secrets += [h.user_id, h.conversation_id]
        out.telegram = out.claimed[0]
        # Urgent, still waiting, escalated in the window.
        urgent = handoff(s, holder, SINCE + 2 * HOUR, priority=Priority.URGENT, reason="urgent")
        urgent.escalated_at = SINCE + 3 * HOUR
        # Said no at the consent question; cancelled while waiting; no consent answer yet.
        declined = handoff(s, holder, SINCE + HOUR, reason="nlu_fallback", consent=False)
        queue.decline(s, declined)
        declined.closed_at = SINCE + HOUR + 30 * SECOND
        cancelled = handoff(s, holder, SINCE + HOUR, reason="nlu_fallback")
        queue.cancel(s, cancelled)
        cancelled.closed_at = SINCE + 2 * HOUR
        handoff(s, holder, SINCE + 4 * HOUR, consent=False)
        # Requested and claimed before the window, closed in it after 400 s of handling:
        # counts for handling and outcomes, not for volumes nor waiting.
        before = SINCE - 2 * dt.timedelta(days=1)
        wait = (SINCE - before).total_seconds() - 105
        handoff(s, holder, before, wait=wait, handling=400, outcome=Outcome.NO_ANSWER)
        # After the window: counted nowhere.
        late = handoff(s, holder, UNTIL, wait=1, handling=1)
        late.escalated_at = UNTIL + HOUR

        inside = SINCE + 5 * HOUR
        for text in ("Mon numéro c'est 06 12 34 56 78", "mon numéro  c'est 07 98 76 54 32 "):
            not_understood(s, text, inside)
            out.secrets.append(text)
        for text in ("  C'est quoi un CAP ?", "c'est quoi un cap ?", "C'EST QUOI UN CAP ?"):
            not_understood(s, text, inside)
        not_understood(s, "J'habite au 75011", inside)
        not_understood(s, "c'est quoi un cap ?", SINCE - SECOND)  # before the window
        not_understood(s, "c'est quoi un cap ?", UNTIL)  # after it
        not_understood(s, "c'est quoi un cap ?", inside, flagged=False)  # understood
        not_understood(s, "x" * 300, inside)
        out.secrets += ["06 12 34 56 78", "75011"]
    return out


def test_supervision_figures(sessions: sessionmaker[Session], made: Made) -> None:
    with session_scope(sessions) as s:
        stats = supervision(s, SINCE, UNTIL)
    assert json.loads(json.dumps(stats)) == stats  # the JSON of GET /stats as it is
    assert set(stats) == {
        "since",
        "until",
        "volumes",
        "waiting",
        "handling",
        "outcomes",
        "escalated",
        "unanswered",
    }
    assert stats["since"] == "2026-03-01T00:00:00+00:00"
    assert stats["until"] == "2026-03-31T00:00:00+00:00"
    assert stats["volumes"] == {
        "total": 14,
        "by_priority": {"urgent": 1, "high": 4, "normal": 9},
        "by_status": {"requested": 1, "waiting": 1, "assigned": 7, "closed": 5},
        "by_reason": {"request_human": 11, "nlu_fallback": 2, "urgent": 1},
    }
    # Nearest-rank p90 of 10 values is the 9th: a wait that really happened.
    assert stats["waiting"] == {"median_seconds": 55.0, "p90_seconds": 90.0, "count": 10}
    assert stats["handling"] == {"median_seconds": 250.0, "p90_seconds": 400.0, "count": 4}
    assert stats["outcomes"] == {o.value: 0 for o in Outcome} | {
        "information_given": 2,
        "appointment_set": 1,
        "no_answer": 1,
        "declined": 1,
        "cancelled_by_user": 1,
    }
    assert stats["escalated"] == 1
    assert stats["unanswered"] == [
        {"text": "c'est quoi un cap ?", "count": 3},
        {"text": "mon numéro c'est ## ## ## ## ##", "count": 2},
        {"text": "j'habite au #####", "count": 1},
        {"text": "x" * 200, "count": 1},
    ]


def test_empty_window_has_no_figures(sessions: sessionmaker[Session], made: Made) -> None:
    with session_scope(sessions) as s:
        stats = supervision(s, UNTIL + 2 * HOUR, UNTIL + 3 * HOUR)
    assert stats["volumes"]["total"] == 0
    assert set(stats["volumes"]["by_priority"].values()) == {0}
    assert stats["volumes"]["by_reason"] == {}
    for timing in ("waiting", "handling"):
        assert stats[timing] == {"median_seconds": None, "p90_seconds": None, "count": 0}
    assert stats["escalated"] == 0
    assert stats["unanswered"] == []


def test_unanswered_keeps_the_20_most_frequent(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        conv = conversation(s)
        for rank in range(25):
            for _ in range(30 - rank):
                text = f"question {chr(ord('a') + rank)} {rank}"
                not_understood(s, text, SINCE + HOUR, conv=conv)
    with session_scope(sessions) as s:
        unanswered = supervision(s, SINCE, UNTIL)["unanswered"]
    assert len(unanswered) == 20
    assert [u["count"] for u in unanswered] == list(range(30, 10, -1))
    assert unanswered[0]["text"] == "question a #"
    assert unanswered[19]["text"] == "question t ##"


def test_normalise_unanswered() -> None:
    assert normalise_unanswered("  Appelle-moi au 06.12.34.56.78\n STP ") == (
        "appelle-moi au ##.##.##.##.## stp"
    )
    assert normalise_unanswered("   ") == ""
    assert len(normalise_unanswered("a" * 500)) == 200


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s, pytest.raises(ValueError, match="timezone"):
        supervision(s, SINCE.replace(tzinfo=None), UNTIL)


def test_csv_one_row_per_handoff_requested_in_the_window(
    sessions: sessionmaker[Session], made: Made
) -> None:
    with session_scope(sessions) as s:
        text = handoffs_csv(s, SINCE, UNTIL)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert next(csv.reader(io.StringIO(text))) == list(CSV_COLUMNS)
    assert len(rows) == 14
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    first = next(r for r in rows if int(r["id"]) == made.telegram)
    assert first == {
        "id": str(made.telegram),
        "requested_at": "2026-03-01T00:00:00+00:00",
        "priority": "normal",
        "reason": "request_human",
        "territory": "a",
        "under_16": "false",
        "channel": "telegram",
        "status": "closed",
        "outcome": "information_given",
        "wait_seconds": "10.0",
        "handling_seconds": "100.0",
        "escalated": "false",
    }
    by_id = {int(r["id"]): r for r in rows}
    assert [by_id[i]["wait_seconds"] for i in made.claimed] == [f"{10.0 * n}" for n in range(1, 11)]
    assert [by_id[i]["handling_seconds"] for i in made.claimed[3:]] == [""] * 7
    assert sum(r["escalated"] == "true" for r in rows) == 1
    assert sum(r["channel"] == "web" for r in rows) == 13
    # No message text, no user or conversation id, no référent id.
    for secret in made.secrets:
        assert secret not in text
