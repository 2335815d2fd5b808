"""Reminder rows, sending side: what the scheduler reads and claims.

**Never twice.** A reminder is sent when a conditional ``UPDATE reminders SET status='sent'
WHERE id=:id AND status='pending'`` changes one row, in the transaction that renders the
message; of two processes (or a job and a sweep) racing for it, one changes the row and the
other changes nothing. When a scheduler instance is given, the same statement also requires
that instance to hold the leader lease (a fencing check): a leader that lost its lease
without noticing cannot send.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, exists, select, update
from sqlalchemy.orm import Session

from bot.appointments.models import (
    BEFORE_KINDS,
    LIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    ContactPreference,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SchedulerLease,
)
from bot.appointments.planning import DEFAULT_CONFIG, PARIS, ReminderConfig, when_to_send
from bot.conversations.models import User
from bot.messages import OutboundMessage

logger = logging.getLogger(__name__)

# Renders the message of a claimed reminder: (reminder, its appointment or None, the
# person's locale, now) -> what they read.
Render = Callable[[Reminder, Appointment | None, str, dt.datetime], OutboundMessage]


@dataclass(frozen=True, slots=True)
class LeaseRef:
    """The leader lease a sender must hold for its claim to count."""

    name: str
    holder: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A reminder now marked sent: push ``message`` to ``user_id``."""

    reminder_id: str
    user_id: str
    kind: ReminderKind
    message: OutboundMessage
    sent_at: dt.datetime


def due_reminders(session: Session, now: dt.datetime, limit: int = 500) -> list[str]:
    """Ids of pending reminders due at ``now``, oldest first."""
    return [reminder_id for reminder_id, _ in due_batch(session, now, limit)]


def due_batch(
    session: Session,
    now: dt.datetime,
    limit: int = 500,
    after: tuple[dt.datetime, str] | None = None,
) -> list[tuple[str, dt.datetime]]:
    """(id, due time) of pending reminders due at ``now`` in (due time, id) order, after
    the ``after`` cursor: a run walks through them once, even those it could not send."""
    query = (
        select(Reminder.id, Reminder.due_at)
        .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if after is not None:
        due_at, reminder_id = after
        query = query.where(
            (Reminder.due_at > due_at) | ((Reminder.due_at == due_at) & (Reminder.id > reminder_id))
        )
    return [(row.id, row.due_at) for row in session.execute(query)]


def next_due_at(session: Session) -> dt.datetime | None:
    """When the next pending reminder is due."""
    return session.scalar(
        select(Reminder.due_at)
        .where(Reminder.status == ReminderStatus.PENDING)
        .order_by(Reminder.due_at)
        .limit(1)
    )


def _pending(
    reminder_id: str, now: dt.datetime, lease: LeaseRef | None
) -> list[ColumnElement[bool]]:
    conditions = [Reminder.id == reminder_id, Reminder.status == ReminderStatus.PENDING]
    if lease is not None:
        conditions.append(
            exists().where(
                SchedulerLease.name == lease.name,
                SchedulerLease.holder == lease.holder,
                SchedulerLease.expires_at > now,
            )
        )
    return conditions


def _change(session: Session, conditions: Sequence[ColumnElement[bool]], **values: Any) -> bool:
    result = session.execute(
        update(Reminder)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def _reason_to_skip(
    session: Session, reminder: Reminder, appointment: Appointment | None, now: dt.datetime
) -> str | None:
    if reminder.appointment_id is not None:
        if appointment is None:
            return "appointment_gone"
        if appointment.version != reminder.version:
            return "moved"
        if reminder.kind in BEFORE_KINDS:
            if appointment.status not in LIVE_STATUSES:
                return f"appointment_{appointment.status.value}"
            if appointment.declined_at is not None:
                return "declined"
            if _superseded(session, reminder, now):
                return "superseded"
        elif appointment.status in (
            AppointmentStatus.DONE,
            AppointmentStatus.CANCELLED,
            AppointmentStatus.MISSED,
        ):
            return f"appointment_{appointment.status.value}"
    return None


def _superseded(session: Session, reminder: Reminder, now: dt.datetime) -> bool:
    """A later reminder of the same appointment is due too (the process was down for the
    first): the person gets the later, closer one only."""
    return bool(
        session.scalar(
            select(Reminder.id)
            .where(
                Reminder.appointment_id == reminder.appointment_id,
                Reminder.version == reminder.version,
                Reminder.kind.in_(list(BEFORE_KINDS)),
                Reminder.status == ReminderStatus.PENDING,
                Reminder.due_at > reminder.due_at,
                Reminder.due_at <= now,
            )
            .limit(1)
        )
    )


def claim_and_record(
    session: Session,
    reminder_id: str,
    now: dt.datetime,
    render: Render,
    *,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
    lease: LeaseRef | None = None,
) -> Claim | None:
    """In the caller's one transaction: decide the reminder's fate and, if it is to go,
    mark it sent (conditionally) and render its message. None when nothing is to be sent
    now: already sent or cancelled, not due yet, skipped, or moved out of quiet hours."""
    # One read for everything the decision needs: the row, its appointment, the person's
    # locale and their stop_messages choice.
    found = session.execute(
        select(Reminder, Appointment, User.locale, ContactPreference.stop_messages)
        .join(User, User.id == Reminder.user_id)
        .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
        .outerjoin(ContactPreference, ContactPreference.user_id == Reminder.user_id)
        .where(Reminder.id == reminder_id)
    ).first()
    if found is None:
        return None
    reminder, appointment, locale, stop = found
    if reminder.status is not ReminderStatus.PENDING or reminder.due_at > now:
        return None
    guard = _pending(reminder_id, now, lease)
    reason = "stop_messages" if stop else _reason_to_skip(session, reminder, appointment, now)
    if reason is None:
        when = when_to_send(now, reminder.useful_until, tz, config)
        if when is None:
            reason = "too_late"
        elif when > now:
            if _change(session, guard, due_at=when):
                logger.info("reminder %s moved out of quiet hours", reminder_id)
            return None
    if reason is not None:
        if _change(session, guard, status=ReminderStatus.SKIPPED, skip_reason=reason):
            logger.info("reminder %s skipped: %s", reminder_id, reason)
        return None
    if not _change(session, guard, status=ReminderStatus.SENT, sent_at=now):
        return None  # someone else claimed it first, or this instance lost the lease
    message = render(reminder, appointment, locale or "fr", now)
    return Claim(reminder.id, reminder.user_id, reminder.kind, message, now)


def mark_delivered(session: Session, reminder_ids: Collection[str], at: dt.datetime) -> None:
    """The sink took these messages."""
    if reminder_ids:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(list(reminder_ids)), Reminder.status == ReminderStatus.SENT)
            .values(delivered_at=at)
            .execution_options(synchronize_session=False)
        )


def release_claim(session: Session, claim: Claim) -> bool:
    """The sink raised before taking the message: the reminder is pending again (it was
    not delivered, so sending it later is not sending it twice)."""
    return _change(
        session,
        [
            Reminder.id == claim.reminder_id,
            Reminder.status == ReminderStatus.SENT,
            Reminder.sent_at == claim.sent_at,
            Reminder.delivered_at.is_(None),
        ],
        status=ReminderStatus.PENDING,
        sent_at=None,
    )


def unconfirmed(session: Session, since: dt.datetime, before: dt.datetime) -> list[str]:
    """Reminders claimed between ``since`` and ``before`` whose delivery was never
    confirmed: a process died between the claim and the sink. Reported, never resent (at
    most once)."""
    return list(
        session.scalars(
            select(Reminder.id).where(
                Reminder.status == ReminderStatus.SENT,
                Reminder.delivered_at.is_(None),
                Reminder.sent_at >= since,
                Reminder.sent_at <= before,
            )
        )
    )


def to_wake(
    session: Session, now: dt.datetime, horizon: dt.timedelta, limit: int = 1000
) -> list[tuple[str, dt.datetime]]:
    """Pending reminders due within ``horizon`` that have no scheduler job for their due
    time (new, moved, or deferred out of quiet hours)."""
    rows = session.execute(
        select(Reminder.id, Reminder.due_at)
        .where(
            Reminder.status == ReminderStatus.PENDING,
            Reminder.due_at > now,
            Reminder.due_at <= now + horizon,
            (Reminder.wake_at.is_(None)) | (Reminder.wake_at != Reminder.due_at),
        )
        .order_by(Reminder.due_at)
        .limit(limit)
    )
    return [(row.id, row.due_at) for row in rows]


def set_woken(session: Session, woken: Sequence[tuple[str, dt.datetime]]) -> None:
    """Record that a job now exists for each (reminder, due time)."""
    for reminder_id, due_at in woken:
        session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.due_at == due_at)
            .values(wake_at=due_at)
            .execution_options(synchronize_session=False)
        )
