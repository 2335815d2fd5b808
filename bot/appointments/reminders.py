"""Reminder rows, planning side: written with their appointment, in the same transaction
(``service`` calls this module), plus follow-up check-ins. ``sending`` is the other half:
the scheduler's claims. Together they are the only code that writes reminders.

**Never lost.** Rows are written when the appointment is, in the référent's transaction;
the scheduler only reads them. Whatever happens to the scheduler's memory or job store, a
row due and pending is found by the next sweep, sent if still useful, skipped with a log
line (ids only) otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from bot.appointments.models import Appointment, Reminder, ReminderKind, ReminderStatus
from bot.appointments.planning import (
    DEFAULT_CONFIG,
    PARIS,
    ReminderConfig,
    plan_appointment,
    plan_check_in,
)


def create_for(
    session: Session,
    appointment: Appointment,
    now: dt.datetime,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> list[Reminder]:
    """The reminders of the appointment's current version; past ones are stored skipped,
    so that what was planned and why it did not go stays visible."""
    rows = [
        Reminder(
            appointment_id=appointment.id,
            user_id=appointment.user_id,
            kind=planned.kind,
            version=appointment.version,
            due_at=planned.due_at,
            useful_until=planned.useful_until,
            status=ReminderStatus.SKIPPED if planned.skip_reason else ReminderStatus.PENDING,
            skip_reason=planned.skip_reason,
            created_at=now,
        )
        for planned in plan_appointment(
            appointment.starts_at,
            dt.timedelta(minutes=appointment.duration_minutes),
            now,
            tz,
            config,
        )
    ]
    session.add_all(rows)
    session.flush()
    return rows


def close_pending(
    session: Session,
    appointment_id: str,
    status: ReminderStatus,
    reason: str,
    kinds: Collection[ReminderKind] | None = None,
) -> int:
    """Cancel (or skip) the appointment's pending reminders; sent ones stay sent."""
    conditions = [
        Reminder.appointment_id == appointment_id,
        Reminder.status == ReminderStatus.PENDING,
    ]
    if kinds is not None:
        conditions.append(Reminder.kind.in_(list(kinds)))
    result = session.execute(
        update(Reminder)
        .where(*conditions)
        .values(status=status, skip_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


def schedule_check_in(
    session: Session,
    user_id: str,
    closed_at: dt.datetime,
    weeks: int = 6,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> Reminder:
    """One gentle check-in ``weeks`` after a handoff closed with a follow-up outcome. A
    person has at most one pending check-in: a new close replaces the earlier one."""
    session.execute(
        update(Reminder)
        .where(
            Reminder.user_id == user_id,
            Reminder.kind == ReminderKind.FOLLOW_UP_CHECK_IN,
            Reminder.status == ReminderStatus.PENDING,
        )
        .values(status=ReminderStatus.CANCELLED, skip_reason="replaced")
        .execution_options(synchronize_session=False)
    )
    planned = plan_check_in(closed_at, dt.timedelta(weeks=weeks), tz, config)
    row = Reminder(
        appointment_id=None,
        user_id=user_id,
        kind=planned.kind,
        version=1,
        due_at=planned.due_at,
        useful_until=planned.useful_until,
        created_at=closed_at,
    )
    session.add(row)
    session.flush()
    return row


def note_user_activity(session: Session, user_id: str, at: dt.datetime) -> int:
    """The person wrote: they are not silent, so their pending check-in is cancelled (one
    planned before ``at``; the router calls this on every inbound message)."""
    result = session.execute(
        update(Reminder)
        .where(
            Reminder.user_id == user_id,
            Reminder.kind == ReminderKind.FOLLOW_UP_CHECK_IN,
            Reminder.status == ReminderStatus.PENDING,
            Reminder.created_at <= at,
        )
        .values(status=ReminderStatus.CANCELLED, skip_reason="user_wrote")
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount
