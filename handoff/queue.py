"""The handoff queue: the only code that writes handoffs, their notes and their events.

Order: priority (urgent > high > normal), then time in the queue. Routing: a référent sees
the handoffs of their territories (and those with no known territory) and, when they serve
under-16s (school / CIO), the under-16s; supervisors see everything. Claims are atomic: a
conditional ``UPDATE ... WHERE status = 'waiting'``, so of two référents pressing "Prendre"
at once exactly one gets the conversation.
"""

from __future__ import annotations

import datetime as dt
import enum
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, false, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.conversations.models import Message
from bot.db import get_for_update, utcnow
from handoff.models import (
    OPEN_STATUSES,
    Handoff,
    HandoffEvent,
    HandoffNote,
    HandoffStatus,
    Outcome,
    Priority,
    Referent,
)

URGENT_ESCALATION = dt.timedelta(minutes=5)
NORMAL_ESCALATION = dt.timedelta(hours=24)
WAIT_SAMPLE = 20  # recent claims the waiting estimate is computed from
MAX_NOTE = 4000


class ClaimResult(enum.StrEnum):
    CLAIMED = "claimed"
    ALREADY_TAKEN = "already_taken"  # someone else was faster
    NO_LONGER_WAITING = "no_longer_waiting"  # cancelled or closed meanwhile
    NOT_VISIBLE = "not_visible"  # another territory or age group
    AT_CAPACITY = "at_capacity"
    NOT_FOUND = "not_found"


class QueueError(Exception):
    """A référent asked for something the handoff's state does not allow; the message is
    in the words the console shows them."""


@dataclass(frozen=True, slots=True)
class Request:
    conversation_id: str
    user_id: str
    priority: Priority
    reason: str
    territory_id: str | None = None
    under_16: bool = False


def _event(
    session: Session,
    handoff: Handoff,
    kind: str,
    referent_id: str | None = None,
    **detail: Any,
) -> None:
    session.add(
        HandoffEvent(
            handoff_id=handoff.id, kind=kind, referent_id=referent_id, detail=detail or None
        )
    )


def open_handoff(session: Session, conversation_id: str, *, lock: bool = False) -> Handoff | None:
    """The conversation's open handoff; ``lock`` before changing it (see ``lock``)."""
    handoff = session.scalar(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATUSES)
        )
    )
    return get_locked(session, handoff.id) if lock and handoff is not None else handoff


def get_locked(session: Session, handoff_id: int) -> Handoff | None:
    """A handoff read for a change: a cancel and a claim, a release and a close happen one
    after the other."""
    return get_for_update(session, Handoff, handoff_id, Handoff.priority_rank)


def _last_message_id(session: Session, conversation_id: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(Message.id), 0)).where(
                Message.conversation_id == conversation_id
            )
        )
        or 0
    )


def request(session: Session, req: Request) -> tuple[Handoff, bool]:
    """Open a handoff, or raise the priority of the open one; (handoff, created).

    Urgent requests are queued at once (the numbers were given first; consent is asked
    right after). Others wait for the person's consent answer before entering the queue.
    """
    existing = open_handoff(session, req.conversation_id, lock=True)
    if existing is not None:
        return _raise(session, existing, req), False
    handoff = Handoff(
        conversation_id=req.conversation_id,
        user_id=req.user_id,
        status=HandoffStatus.REQUESTED,
        priority=req.priority,
        priority_rank=req.priority.rank,
        reason=req.reason[:64],
        territory_id=req.territory_id,
        under_16=req.under_16,
        # The référent reads from the request on, unless the person shares the history.
        first_message_id=_last_message_id(session, req.conversation_id),
        requested_at=utcnow(),
    )
    if req.priority is Priority.URGENT:
        _enqueue(handoff)
    try:
        # One open handoff per conversation is a unique index: of two concurrent requests
        # (a double tap), the second finds the first instead of failing.
        with session.begin_nested():
            session.add(handoff)
            session.flush()
    except IntegrityError:
        existing = open_handoff(session, req.conversation_id, lock=True)
        if existing is None:
            raise
        return _raise(session, existing, req), False
    _event(session, handoff, "requested", priority=req.priority.value, reason=handoff.reason)
    if handoff.status is HandoffStatus.WAITING:
        _event(session, handoff, "queued")
    return handoff, True


def _raise(session: Session, existing: Handoff, req: Request) -> Handoff:
    """A new request on an open handoff: a higher priority, more routing details."""
    if req.priority.rank < existing.priority_rank:
        _event(session, existing, "priority_raised", old=existing.priority.value)
        existing.priority = req.priority
        existing.priority_rank = req.priority.rank
        existing.reason = req.reason[:64]
        # Escalation deadlines start again at the new priority (urgent: 5 minutes).
        existing.escalated_at = None
        if req.priority is Priority.URGENT and existing.status is HandoffStatus.REQUESTED:
            _enqueue(existing)
            _event(session, existing, "queued")
    if existing.status is HandoffStatus.REQUESTED:
        # Asked again before answering: what the bot heard meanwhile stays unshared.
        existing.first_message_id = _last_message_id(session, existing.conversation_id)
    if req.territory_id and not existing.territory_id:
        existing.territory_id = req.territory_id
    existing.under_16 = existing.under_16 or req.under_16
    return existing


def _enqueue(handoff: Handoff) -> None:
    handoff.status = HandoffStatus.WAITING
    handoff.queued_at = utcnow()


def answer_consent(session: Session, handoff: Handoff, share_history: bool) -> None:
    """Record the person's answer about sharing; a requested handoff enters the queue."""
    handoff.share_history = share_history
    if not share_history:
        # "Only what is written from now on": the référent reads from this answer.
        handoff.first_message_id = _last_message_id(session, handoff.conversation_id)
    _event(session, handoff, "consent", share_history=share_history)
    if handoff.status is HandoffStatus.REQUESTED:
        _enqueue(handoff)
        _event(session, handoff, "queued")


def set_age_band(session: Session, handoff: Handoff, band: str, under_16: bool) -> None:
    """The age band the person gave before their request enters the queue (routing)."""
    handoff.age_band = band
    handoff.under_16 = handoff.under_16 or under_16
    _event(session, handoff, "age_band", band=band)


def answer_parent_agreement(session: Session, handoff: Handoff, agreed: bool) -> None:
    """Under 15: whether a parent agrees to sharing; without it nothing enters the queue."""
    handoff.parent_agreed = agreed
    _event(session, handoff, "parent_agreement", agreed=agreed)
    if not agreed and handoff.status is HandoffStatus.REQUESTED:
        _close(session, handoff, Outcome.DECLINED, None)


def _close(session: Session, handoff: Handoff, outcome: Outcome, referent_id: str | None) -> None:
    # What the person writes after the close (to the bot) is not the référent's to read.
    handoff.last_message_id = _last_message_id(session, handoff.conversation_id)
    handoff.status = HandoffStatus.CLOSED
    handoff.outcome = outcome
    handoff.closed_at = utcnow()
    _event(session, handoff, "closed", referent_id, outcome=outcome.value)


def decline(session: Session, handoff: Handoff) -> None:
    """The person said no at the consent question: nothing is shared, nobody is called."""
    if handoff.status is not HandoffStatus.REQUESTED:
        raise QueueError("Cette demande n'attend plus de réponse.")
    _close(session, handoff, Outcome.DECLINED, None)


def cancel(session: Session, handoff: Handoff) -> None:
    """The person no longer wants to wait."""
    if handoff.status not in (HandoffStatus.REQUESTED, HandoffStatus.WAITING):
        raise QueueError("Cette demande n'est plus en attente.")
    _close(session, handoff, Outcome.CANCELLED_BY_USER, None)


# --- routing and order ----------------------------------------------------------------
def visible_to(referent: Referent) -> ColumnElement[bool]:
    """The handoffs a référent may see and claim."""
    if referent.is_supervisor:
        return true()
    territories = list(referent.territories or [])
    in_territory = or_(
        Handoff.territory_id.is_(None),
        Handoff.territory_id.in_(territories) if territories else false(),
    )
    age = true() if referent.serves_under_16 else Handoff.under_16.is_(False)
    return and_(in_territory, age)


def can_see(referent: Referent, handoff: Handoff) -> bool:
    if referent.is_supervisor:
        return True
    territory_ok = handoff.territory_id is None or handoff.territory_id in (
        referent.territories or []
    )
    return territory_ok and (referent.serves_under_16 or not handoff.under_16)


def may_open(referent: Referent, handoff: Handoff) -> bool:
    """Whether a référent may read this handoff's conversation: never before the person
    agreed (or after they declined); a waiting one when it is routed to them (to decide to
    take it); a held or closed one only by its (last) holder, and supervisors."""
    if handoff.status is HandoffStatus.REQUESTED or handoff.outcome is Outcome.DECLINED:
        return False
    if not can_see(referent, handoff):
        return False
    if referent.is_supervisor or handoff.status is HandoffStatus.WAITING:
        return True
    return handoff.referent_id == referent.id


def _queue_order() -> tuple[Any, ...]:
    return (Handoff.priority_rank, Handoff.queued_at, Handoff.id)


def waiting(session: Session, referent: Referent | None = None) -> list[Handoff]:
    query = select(Handoff).where(Handoff.status == HandoffStatus.WAITING)
    if referent is not None:
        query = query.where(visible_to(referent))
    return list(session.scalars(query.order_by(*_queue_order())))


def assigned_to(session: Session, referent_id: str) -> list[Handoff]:
    return list(
        session.scalars(
            select(Handoff)
            .where(Handoff.status == HandoffStatus.ASSIGNED, Handoff.referent_id == referent_id)
            .order_by(*_queue_order())
        )
    )


def position(session: Session, handoff: Handoff) -> int | None:
    """1 for the next one served among the handoffs routed like this one."""
    if handoff.status is not HandoffStatus.WAITING or handoff.queued_at is None:
        return None
    same_pool = and_(
        Handoff.status == HandoffStatus.WAITING,
        Handoff.under_16.is_(handoff.under_16),
        Handoff.territory_id.is_(None)
        if handoff.territory_id is None
        else Handoff.territory_id == handoff.territory_id,
    )
    ahead = or_(
        Handoff.priority_rank < handoff.priority_rank,
        and_(
            Handoff.priority_rank == handoff.priority_rank,
            or_(
                Handoff.queued_at < handoff.queued_at,
                and_(Handoff.queued_at == handoff.queued_at, Handoff.id < handoff.id),
            ),
        ),
    )
    count = session.scalar(select(func.count()).where(same_pool, ahead)) or 0
    return count + 1


def positions(session: Session) -> dict[str, tuple[Priority, int]]:
    """Every waiting person's (priority, position), from one ordered read: the same order
    and pools (territory, age group) as ``position``."""
    counts: dict[tuple[str | None, bool], int] = {}
    result: dict[str, tuple[Priority, int]] = {}
    for handoff in waiting(session):
        pool = (handoff.territory_id, handoff.under_16)
        counts[pool] = counts.get(pool, 0) + 1
        result[handoff.user_id] = (handoff.priority, counts[pool])
    return result


def typical_wait(session: Session, priority: Priority) -> dt.timedelta | None:
    """Median wait of the latest claims at this priority; None before there are any."""
    rows = session.execute(
        select(Handoff.queued_at, Handoff.claimed_at)
        .where(Handoff.priority == priority, Handoff.claimed_at.is_not(None))
        .order_by(Handoff.claimed_at.desc())
        .limit(WAIT_SAMPLE)
    ).all()
    waits = [(c - q).total_seconds() for q, c in rows if q is not None and c is not None]
    return dt.timedelta(seconds=statistics.median(waits)) if waits else None


# --- référent actions -----------------------------------------------------------------
def active_count(session: Session, referent_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Handoff.status == HandoffStatus.ASSIGNED, Handoff.referent_id == referent_id
            )
        )
        or 0
    )


def _lock_referent(session: Session, referent_id: str) -> Referent | None:
    """Serialise one référent's claims and transfers to them, so capacity holds."""
    return get_for_update(session, Referent, referent_id, Referent.capacity)


def claim(session: Session, handoff_id: int, referent: Referent) -> ClaimResult:
    """Give a waiting handoff to a référent; exactly one of concurrent claims wins."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        return ClaimResult.NOT_FOUND
    if not can_see(referent, handoff):
        return ClaimResult.NOT_VISIBLE
    if handoff.status is HandoffStatus.ASSIGNED:
        return ClaimResult.ALREADY_TAKEN
    if handoff.status is not HandoffStatus.WAITING:
        return ClaimResult.NO_LONGER_WAITING
    locked = _lock_referent(session, referent.id)
    capacity = locked.capacity if locked is not None else referent.capacity
    if active_count(session, referent.id) >= capacity:
        return ClaimResult.AT_CAPACITY
    now = utcnow()
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.WAITING)
        .values(status=HandoffStatus.ASSIGNED, referent_id=referent.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
        session.refresh(handoff)
        if handoff.status is HandoffStatus.ASSIGNED:
            return ClaimResult.ALREADY_TAKEN
        return ClaimResult.NO_LONGER_WAITING
    session.refresh(handoff)
    _event(session, handoff, "claimed", referent.id)
    return ClaimResult.CLAIMED


def _require_holder(handoff: Handoff, referent: Referent) -> None:
    if handoff.status is not HandoffStatus.ASSIGNED:
        raise QueueError("Cette conversation n'est plus prise en charge.")
    if handoff.referent_id != referent.id and not referent.is_supervisor:
        raise QueueError("Une ou un collègue tient cette conversation.")


def release(session: Session, handoff: Handoff, referent: Referent) -> None:
    """Back to the queue, at its original place (time queued is kept)."""
    _require_holder(handoff, referent)
    _event(session, handoff, "released", referent.id, previous=handoff.referent_id)
    handoff.status = HandoffStatus.WAITING
    handoff.referent_id = None
    handoff.claimed_at = None
    handoff.escalated_at = None  # waiting again: its escalation deadline starts again


def _check_room(session: Session, handoff: Handoff, colleague: Referent) -> None:
    """The colleague may see this handoff and has room (their claims are serialised)."""
    if not colleague.active or not can_see(colleague, handoff):
        raise QueueError(
            "Ce ou cette collègue ne peut pas prendre cette conversation (territoire ou âge)."
        )
    _lock_referent(session, colleague.id)
    if active_count(session, colleague.id) >= colleague.capacity:
        raise QueueError("Ce ou cette collègue a déjà le maximum de conversations.")


def transfer(session: Session, handoff: Handoff, referent: Referent, colleague: Referent) -> None:
    """Hand a held conversation to a colleague who may see it and has room."""
    _require_holder(handoff, referent)
    _check_room(session, handoff, colleague)
    _event(session, handoff, "transferred", referent.id, to=colleague.id)
    handoff.referent_id = colleague.id


def assign(session: Session, handoff: Handoff, supervisor: Referent, colleague: Referent) -> None:
    """A supervisor gives a waiting or held conversation to a référent."""
    if not supervisor.is_supervisor:
        raise QueueError("Seul un superviseur peut réattribuer une conversation.")
    if handoff.status not in (HandoffStatus.WAITING, HandoffStatus.ASSIGNED):
        raise QueueError("Cette conversation n'est plus dans la file.")
    _check_room(session, handoff, colleague)
    _event(session, handoff, "reassigned", supervisor.id, to=colleague.id)
    handoff.status = HandoffStatus.ASSIGNED
    handoff.referent_id = colleague.id
    handoff.claimed_at = handoff.claimed_at or utcnow()


def close(session: Session, handoff: Handoff, referent: Referent, outcome: Outcome) -> None:
    _require_holder(handoff, referent)
    _close(session, handoff, outcome, referent.id)


def add_note(session: Session, handoff: Handoff, referent: Referent, text: str) -> HandoffNote:
    note = HandoffNote(handoff_id=handoff.id, referent_id=referent.id, text=text[:MAX_NOTE])
    session.add(note)
    session.flush()
    return note


def notes(session: Session, handoff_id: int) -> Sequence[HandoffNote]:
    return session.scalars(
        select(HandoffNote).where(HandoffNote.handoff_id == handoff_id).order_by(HandoffNote.id)
    ).all()


def record_access(session: Session, handoff: Handoff, referent: Referent) -> None:
    """Every opening of a conversation by a référent is written down (audit)."""
    _event(session, handoff, "opened", referent.id)


def visible_messages(session: Session, handoff: Handoff) -> list[Message]:
    """The transcript a référent may read: all of it only when the person shared it."""
    query = select(Message).where(Message.conversation_id == handoff.conversation_id)
    if not handoff.share_history:
        query = query.where(Message.id > (handoff.first_message_id or 0))
    if handoff.last_message_id is not None:
        query = query.where(Message.id <= handoff.last_message_id)
    return list(session.scalars(query.order_by(Message.id)))


def due_for_escalation(session: Session, now: dt.datetime | None = None) -> list[Handoff]:
    """Waiting too long (urgent over 5 minutes, others over 24 hours), not yet escalated;
    marks them escalated so each is escalated once."""
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(Handoff).where(
                Handoff.status == HandoffStatus.WAITING,
                Handoff.escalated_at.is_(None),
                or_(
                    and_(
                        Handoff.priority == Priority.URGENT,
                        Handoff.queued_at <= now - URGENT_ESCALATION,
                    ),
                    and_(
                        Handoff.priority != Priority.URGENT,
                        Handoff.queued_at <= now - NORMAL_ESCALATION,
                    ),
                ),
            )
        )
    )
    for handoff in rows:
        handoff.escalated_at = now
        _event(session, handoff, "escalated")
    return rows
