"""Supervision figures for the console (``GET /stats``, ``GET /stats.csv``): read only.

Each figure is counted on the moment it is about: volumes on when a handoff was requested,
waiting times on when it was claimed, handling times, outcomes and escalations on when
they happened. The window is ``since <= t < until``, so consecutive windows never count
anything twice. Medians and percentiles are computed in Python rather than in SQL
(``percentile_cont`` does not exist on SQLite), so both backends give the same numbers.

Nothing here shows a person: no message text but the grouped "not understood" phrases
(with every digit masked), and no user id.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from bot.conversations.models import Direction, Message, User
from handoff.models import Handoff, HandoffStatus, Outcome, Priority

TOP_UNANSWERED = 20
MAX_UNANSWERED_TEXT = 200
CSV_COLUMNS = (
    "id",
    "requested_at",
    "priority",
    "reason",
    "territory",
    "under_16",
    "channel",
    "status",
    "outcome",
    "wait_seconds",
    "handling_seconds",
    "escalated",
)
_DIGIT = re.compile(r"\d")


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 1)


def _p90(values: Sequence[float]) -> float:
    """Nearest-rank 90th percentile: a value that really occurred, no interpolation."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _durations(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"median_seconds": None, "p90_seconds": None, "count": 0}
    return {
        "median_seconds": round(statistics.median(values), 1),
        "p90_seconds": _p90(values),
        "count": len(values),
    }


def normalise_unanswered(text: str) -> str:
    """The grouping key of a not-understood message: case and spacing do not matter, and
    digits become "#" so that phone numbers, postcodes or dates never reach the screen."""
    return _DIGIT.sub("#", " ".join(text.lower().split()))[:MAX_UNANSWERED_TEXT]


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    return moment.astimezone(dt.UTC)


def _window(since: dt.datetime, until: dt.datetime) -> Callable[[Any], ColumnElement[bool]]:
    """``since <= column < until``, with the bounds checked and put in UTC."""
    since, until = _utc(since), _utc(until)
    return lambda column: and_(column >= since, column < until)


def supervision(session: Session, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """The figures of ``GET /stats`` for the window ``[since, until)``."""
    within = _window(since, until)
    requested = session.execute(
        select(Handoff.priority, Handoff.status, Handoff.reason).where(within(Handoff.requested_at))
    ).all()
    # Every priority and status is listed, even at 0, so the page's table keeps its shape.
    by_priority = {p.value: 0 for p in Priority}
    by_status = {s.value: 0 for s in HandoffStatus}
    by_reason: Counter[str] = Counter()
    for priority, status, reason in requested:
        by_priority[priority.value] += 1
        by_status[status.value] += 1
        by_reason[reason] += 1

    # claimed_at is the latest claim (a release clears it): the wait the person last had.
    waits = [
        seconds
        for queued, claimed in session.execute(
            select(Handoff.queued_at, Handoff.claimed_at).where(within(Handoff.claimed_at))
        )
        if (seconds := _seconds(queued, claimed)) is not None
    ]

    closed = session.execute(
        select(Handoff.claimed_at, Handoff.closed_at, Handoff.outcome).where(
            within(Handoff.closed_at)
        )
    ).all()
    # Closed while held, i.e. by a référent (cancels and refusals never had claimed_at).
    handling = [s for c, e, _ in closed if (s := _seconds(c, e)) is not None]
    outcomes = {o.value: 0 for o in Outcome}
    for _, _, outcome in closed:
        if outcome is not None:
            outcomes[outcome.value] += 1

    escalated = session.scalar(select(func.count()).where(within(Handoff.escalated_at))) or 0

    # Grouped in Python: the same normalisation on both backends, and digits never leave
    # this function unmasked. Streamed, so a long window does not load every text at once.
    unanswered: Counter[str] = Counter()
    for (text,) in session.execute(
        select(Message.text)
        .where(
            Message.direction == Direction.INBOUND,
            Message.not_understood.is_(True),
            Message.text.is_not(None),
            within(Message.created_at),
        )
        .execution_options(yield_per=500)
    ):
        if key := normalise_unanswered(text):
            unanswered[key] += 1
    top = sorted(unanswered.items(), key=lambda item: (-item[1], item[0]))[:TOP_UNANSWERED]

    return {
        "since": _utc(since).isoformat(),
        "until": _utc(until).isoformat(),
        "volumes": {
            "total": len(requested),
            "by_priority": by_priority,
            "by_status": by_status,
            "by_reason": dict(by_reason.most_common()),
        },
        "waiting": _durations(waits),
        "handling": _durations(handling),
        "outcomes": outcomes,
        "escalated": escalated,
        "unanswered": [{"text": text, "count": count} for text, count in top],
    }


def handoffs_csv(session: Session, since: dt.datetime, until: dt.datetime) -> str:
    """``GET /stats.csv``: one row per handoff requested in ``[since, until)``.

    Only the handoff's own facts and the channel: no message text, no user id, so the file
    can leave the console (spreadsheets, reports) without exposing anyone.
    """
    within = _window(since, until)
    rows = session.execute(
        select(Handoff, User.channel)
        .join(User, User.id == Handoff.user_id)
        .where(within(Handoff.requested_at))
        .order_by(Handoff.id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for handoff, channel in rows:
        writer.writerow(
            [
                handoff.id,
                handoff.requested_at.isoformat(),
                handoff.priority.value,
                handoff.reason,
                handoff.territory_id or "",
                "true" if handoff.under_16 else "false",
                channel.value,
                handoff.status.value,
                handoff.outcome.value if handoff.outcome else "",
                _blank(_seconds(handoff.queued_at, handoff.claimed_at)),
                _blank(_seconds(handoff.claimed_at, handoff.closed_at)),
                "true" if handoff.escalated_at is not None else "false",
            ]
        )
    return out.getvalue()


def _blank(value: float | None) -> str:
    return "" if value is None else str(value)
