"""The access log for supervisors (``GET /console/api/audit``, ``GET /console/api/audit.csv``):
read only.

Every action a référent takes on a request is a row of ``handoff_events`` carrying their id
(``handoff.queue`` writes them): opening its conversation, claiming, releasing,
transferring, reassigning, closing or handing back to the assistant. This module lists
those rows, newest first. Events no référent made (the request itself, the person's
consent answer or cancel, an automatic escalation) are the request's history, not an
access: they are left out.

A row says when, who, what, and which request (its number and territory). Never a message
or note text, the person's id or channel id, nor why they asked (a reason can say
"violence"): the event's ``detail`` is read for two known keys only (``to``, ``outcome``).

Reading this log is not itself written down: it holds nothing of what a young person
wrote, only request numbers, territories and référents' names, and only supervisors may
read it. ``handoff_events`` needs a request to hang a row on; recording who read the log
would need a table of its own (a migration) for little gain.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dialogues.directory.partners import load_directory
from handoff.models import Handoff, HandoffEvent, Outcome, Referent

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ACTIONS = {
    "opened": "Ouverture de la conversation",
    "claimed": "Prise en charge",
    "released": "Remise dans la file",
    "transferred": "Transfert",
    "reassigned": "Attribution",
    "closed": "Clôture",
}
RETURNED_TO_BOT = "Rendue à l’assistant"
CSV_COLUMNS = (
    "id",
    "at",
    "referent_id",
    "referent",
    "kind",
    "action",
    "handoff_id",
    "territory",
    "to_referent_id",
    "to_referent",
    "outcome",
)
UNKNOWN_NAME = "—"
# A cell starting with one of these is a formula for a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to list: all of it by default. ``since`` inclusive, ``until`` exclusive, both
    timezone-aware."""

    referent_id: str | None = None
    handoff_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def action_label(kind: str, outcome: str | None = None) -> str:
    """What the référent did, in the words supervisors read."""
    if kind == "closed" and outcome == Outcome.RETURNED_TO_BOT.value:
        return RETURNED_TO_BOT
    return ACTIONS.get(kind, kind)


def _query(filters: AuditFilter) -> Select[tuple[HandoffEvent, str | None]]:
    query = (
        select(HandoffEvent, Handoff.territory_id)
        .join(Handoff, Handoff.id == HandoffEvent.handoff_id)
        .where(HandoffEvent.referent_id.is_not(None))
    )
    if filters.referent_id is not None:
        query = query.where(HandoffEvent.referent_id == filters.referent_id)
    if filters.handoff_id is not None:
        query = query.where(HandoffEvent.handoff_id == filters.handoff_id)
    if filters.since is not None:
        query = query.where(HandoffEvent.at >= filters.since.astimezone(dt.UTC))
    if filters.until is not None:
        query = query.where(HandoffEvent.at < filters.until.astimezone(dt.UTC))
    # Newest first; ids grow with time, and they are what ``before`` pages on.
    return query.order_by(HandoffEvent.id.desc())


class _Names:
    """Référents' display names and territories' names, read once per answer."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Referent.id, Referent.display_name)).tuples()
        self.referents: dict[str, str] = dict(rows.all())
        self.territories = {t.id: t.name for t in load_directory()}

    def referent(self, referent_id: Any) -> dict[str, str] | None:
        if not isinstance(referent_id, str):
            return None
        return {"id": referent_id, "display_name": self.referents.get(referent_id, UNKNOWN_NAME)}


def _view(event: HandoffEvent, territory_id: str | None, names: _Names) -> dict[str, Any]:
    detail = event.detail or {}
    outcome = detail.get("outcome") if event.kind == "closed" else None
    to = detail.get("to") if event.kind in ("transferred", "reassigned") else None
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "action": action_label(event.kind, outcome if isinstance(outcome, str) else None),
        "referent": names.referent(event.referent_id),
        "handoff_id": event.handoff_id,
        "territory": territory_id,
        "territory_name": names.territories.get(territory_id or ""),
        "to": names.referent(to),
        "outcome": outcome if isinstance(outcome, str) else None,
    }


def page(
    session: Session,
    filters: AuditFilter,
    *,
    before: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``limit`` rows older than the row ``before`` (newest first), and the
    ``before`` of the next page (None when there is no more)."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = _query(filters)
    if before is not None:
        query = query.where(HandoffEvent.id < before)
    rows = session.execute(query.limit(limit + 1)).all()
    names = _Names(session)
    views = [_view(event, territory, names) for event, territory in rows[:limit]]
    return views, (views[-1]["id"] if len(rows) > limit else None)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_rows(session: Session, filters: AuditFilter) -> Iterator[list[str]]:
    names = _Names(session)
    for event, territory in session.execute(_query(filters).execution_options(yield_per=500)):
        view = _view(event, territory, names)
        who, to = view["referent"] or {}, view["to"] or {}
        yield [
            _cell(value)
            for value in (
                view["id"],
                view["at"],
                who.get("id"),
                who.get("display_name"),
                view["kind"],
                view["action"],
                view["handoff_id"],
                view["territory"],
                to.get("id"),
                to.get("display_name"),
                view["outcome"],
            )
        ]


def audit_csv(session: Session, filters: AuditFilter) -> str:
    """``GET /audit.csv``: every row ``filters`` selects, newest first, the columns of the
    JSON rows (no text, no person's id), names guarded against spreadsheet formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_rows(session, filters))
    return out.getvalue()
