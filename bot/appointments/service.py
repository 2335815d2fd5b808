"""Appointments: the only code that writes them (reminder rows through ``reminders``).

The console (and its API) creates, moves, cancels and closes appointments; the young
person's buttons and the dialogue confirm, decline, pick a new time or say whether it
happened. Every change that moves the time or ends the appointment changes its reminders
in the same transaction. What the référent must hear comes back as ``ReferentNotice``
values, for the caller to publish once the transaction is committed.

**Moving** makes a new *version* of the appointment: the pending reminders of the old time
are cancelled (``moved``), reminders already sent stay sent (they were true when they
went, and the messages table keeps them), and a fresh set is planned for the new time,
pending again. Each version has its own rows (``UNIQUE(appointment_id, kind, version)``).

Functions take a session opened at the edge and ``now`` (the caller's clock), and raise
``AppointmentError`` in words a person understands when the state does not allow a change.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.appointments import reminders
from bot.appointments.models import (
    BEFORE_KINDS,
    LIVE_STATUSES,
    Appointment,
    AppointmentOption,
    AppointmentStatus,
    Mode,
    ReminderStatus,
)
from bot.appointments.planning import DEFAULT_CONFIG, PARIS, ReminderConfig
from bot.appointments.preferences import set_stopped, stopped
from bot.appointments.reminders import note_user_activity, schedule_check_in
from bot.appointments.sending import claim_and_record, due_reminders
from bot.db import get_for_update, utcnow

MAX_OPTIONS = 3
MAX_DURATION_MINUTES = 8 * 60

__all__ = [
    "AppointmentError",
    "Change",
    "NoticeKind",
    "Pick",
    "ReferentNotice",
    "cancel",
    "claim_and_record",
    "confirm",
    "create",
    "decline",
    "due_reminders",
    "list_upcoming",
    "mark_done",
    "mark_missed",
    "move",
    "note_user_activity",
    "pick_option",
    "propose_options",
    "schedule_check_in",
    "set_stopped",
    "stopped",
]


class AppointmentError(Exception):
    """The appointment's state does not allow this; the message is for a person."""


class NoticeKind(enum.StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"  # "Je ne peux pas": propose other times
    RESCHEDULE_REQUESTED = "reschedule_requested"
    CANCELLED_BY_USER = "cancelled_by_user"
    OPTION_PICKED = "option_picked"
    ATTENDED = "attended"  # the young person said it happened
    MISSED = "missed"  # offer a new one


@dataclass(frozen=True, slots=True)
class ReferentNotice:
    """Something the référent of an appointment must hear (ids only: the console shows
    the rest to those allowed to see it)."""

    kind: NoticeKind
    appointment_id: str
    referent_id: str | None


@dataclass(slots=True)
class Change:
    appointment: Appointment
    changed: bool = True  # False when the same answer came twice (a double tap)
    notices: list[ReferentNotice] = field(default_factory=list)


@dataclass(slots=True)
class Pick:
    appointment: Appointment
    option: AppointmentOption  # the option now in force (the first one picked)
    changed: bool
    notices: list[ReferentNotice] = field(default_factory=list)


def _notice(appointment: Appointment, kind: NoticeKind) -> ReferentNotice:
    return ReferentNotice(kind, appointment.id, appointment.referent_id)


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise AppointmentError("L'heure du rendez-vous doit préciser son fuseau horaire.")
    return moment.astimezone(dt.UTC)


def _locked(session: Session, appointment_id: str, user_id: str | None = None) -> Appointment:
    """The appointment, read for a change (concurrent changes happen one after the other);
    with ``user_id``, only if it is that person's (a payload is never trusted alone)."""
    appointment = get_for_update(session, Appointment, appointment_id, Appointment.version)
    if appointment is None or (user_id is not None and appointment.user_id != user_id):
        raise AppointmentError("Ce rendez-vous est introuvable.")
    return appointment


def _require_live(appointment: Appointment) -> None:
    if appointment.status not in LIVE_STATUSES:
        raise AppointmentError("Ce rendez-vous n'est plus d'actualité (annulé ou terminé).")


def create(
    session: Session,
    *,
    user_id: str,
    starts_at: dt.datetime,
    mode: Mode,
    referent_id: str | None = None,
    duration_minutes: int = 30,
    place: str | None = None,
    bring: str | None = None,
    now: dt.datetime | None = None,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> Appointment:
    """A référent sets an appointment; its reminders are planned in the same transaction.
    The caller then pushes ``texts.proposed(...)`` to the person."""
    now = now or utcnow()
    starts_at = _aware(starts_at)
    if starts_at <= now:
        raise AppointmentError("Le rendez-vous doit être dans le futur.")
    if not 5 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise AppointmentError("La durée doit être comprise entre 5 minutes et 8 heures.")
    appointment = Appointment(
        user_id=user_id,
        referent_id=referent_id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        mode=mode,
        place=(place or "").strip() or None,
        bring=(bring or "").strip() or None,
        status=AppointmentStatus.PROPOSED,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(appointment)
    session.flush()
    reminders.create_for(session, appointment, now, tz, config)
    return appointment


def get(session: Session, appointment_id: str) -> Appointment | None:
    return session.get(Appointment, appointment_id)


def confirm(
    session: Session,
    appointment_id: str,
    user_id: str,
    now: dt.datetime | None = None,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> Change:
    """ "C'est noté". After an earlier "Je ne peux pas", it plans the reminders again."""
    now = now or utcnow()
    appointment = _locked(session, appointment_id, user_id)
    _require_live(appointment)
    if appointment.status is AppointmentStatus.CONFIRMED and appointment.declined_at is None:
        return Change(appointment, changed=False)
    appointment.status = AppointmentStatus.CONFIRMED
    appointment.updated_at = now
    if appointment.declined_at is not None:
        appointment.declined_at = None
        _new_version(session, appointment, now, tz, config)
    return Change(appointment, notices=[_notice(appointment, NoticeKind.CONFIRMED)])


def decline(
    session: Session,
    appointment_id: str,
    user_id: str,
    now: dt.datetime | None = None,
    reschedule: bool = False,
) -> Change:
    """ "Je ne peux pas" (or, with ``reschedule``, "another time please", also after a
    missed appointment): the reminders stop and the référent is told to propose other
    times. Said twice, it is told once."""
    now = now or utcnow()
    appointment = _locked(session, appointment_id, user_id)
    if not (reschedule and appointment.status is AppointmentStatus.MISSED):
        _require_live(appointment)
    if appointment.declined_at is not None:
        return Change(appointment, changed=False)
    appointment.declined_at = now
    appointment.updated_at = now
    reminders.close_pending(
        session, appointment.id, ReminderStatus.CANCELLED, "declined", kinds=BEFORE_KINDS
    )
    kind = NoticeKind.RESCHEDULE_REQUESTED if reschedule else NoticeKind.DECLINED
    return Change(appointment, notices=[_notice(appointment, kind)])


def cancel(
    session: Session,
    appointment_id: str,
    now: dt.datetime | None = None,
    by_user_id: str | None = None,
) -> Change:
    """Cancel (by the référent, or by the person when ``by_user_id`` is theirs): every
    pending reminder is cancelled with it."""
    now = now or utcnow()
    appointment = _locked(session, appointment_id, by_user_id)
    if appointment.status is AppointmentStatus.CANCELLED:
        return Change(appointment, changed=False)
    _require_live(appointment)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.updated_at = now
    reminders.close_pending(session, appointment.id, ReminderStatus.CANCELLED, "cancelled")
    notices = [_notice(appointment, NoticeKind.CANCELLED_BY_USER)] if by_user_id else []
    return Change(appointment, notices=notices)


def _new_version(
    session: Session,
    appointment: Appointment,
    now: dt.datetime,
    tz: dt.tzinfo,
    config: ReminderConfig,
) -> None:
    reminders.close_pending(session, appointment.id, ReminderStatus.CANCELLED, "moved")
    appointment.version += 1
    session.flush()
    reminders.create_for(session, appointment, now, tz, config)


def move(
    session: Session,
    appointment_id: str,
    starts_at: dt.datetime,
    now: dt.datetime | None = None,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
    confirmed: bool = False,
) -> Change:
    """A new time (see the module's note on versions). A time set by the référent is
    proposed to the person again; one the person picked is ``confirmed``."""
    now = now or utcnow()
    starts_at = _aware(starts_at)
    if starts_at <= now:
        raise AppointmentError("Le rendez-vous doit être dans le futur.")
    appointment = _locked(session, appointment_id)
    _require_live(appointment)
    appointment.starts_at = starts_at
    appointment.status = AppointmentStatus.CONFIRMED if confirmed else AppointmentStatus.PROPOSED
    appointment.declined_at = None
    appointment.updated_at = now
    _new_version(session, appointment, now, tz, config)
    return Change(appointment)


def _settle(
    session: Session,
    appointment_id: str,
    status: AppointmentStatus,
    now: dt.datetime | None,
    by_user_id: str | None,
) -> Change:
    """Done or missed: its pending reminders (the after-check) are skipped. A second
    answer changes nothing (``changed=False``); the caller adds the notices."""
    now = now or utcnow()
    appointment = _locked(session, appointment_id, by_user_id)
    if appointment.status is status:
        return Change(appointment, changed=False)
    if appointment.status is AppointmentStatus.CANCELLED:
        raise AppointmentError("Ce rendez-vous a été annulé.")
    appointment.status = status
    appointment.updated_at = now
    reminders.close_pending(session, appointment.id, ReminderStatus.SKIPPED, status.value)
    return Change(appointment)


def mark_done(
    session: Session,
    appointment_id: str,
    now: dt.datetime | None = None,
    by_user_id: str | None = None,
) -> Change:
    """It happened (the référent says so, or the person answers "Oui" to the after-check):
    the after-check, if still pending, is skipped."""
    change = _settle(session, appointment_id, AppointmentStatus.DONE, now, by_user_id)
    if change.changed and by_user_id:
        change.notices.append(_notice(change.appointment, NoticeKind.ATTENDED))
    return change


def mark_missed(
    session: Session,
    appointment_id: str,
    now: dt.datetime | None = None,
    by_user_id: str | None = None,
) -> Change:
    """It did not happen. The référent is told (to propose a new time) and the caller
    offers the person a new one (``texts.missed``)."""
    change = _settle(session, appointment_id, AppointmentStatus.MISSED, now, by_user_id)
    if change.changed:
        change.notices.append(_notice(change.appointment, NoticeKind.MISSED))
    return change


def propose_options(
    session: Session,
    appointment_id: str,
    times: Sequence[dt.datetime],
    now: dt.datetime | None = None,
) -> list[AppointmentOption]:
    """A référent proposes 1 to 3 new times; the caller sends ``texts.options(...)``. A new
    proposal replaces the earlier one's unchosen times. A missed appointment can be given
    new times too (it becomes live again when one is picked)."""
    now = now or utcnow()
    moments = sorted({_aware(t) for t in times})
    if not 1 <= len(moments) <= MAX_OPTIONS:
        raise AppointmentError("Proposez entre 1 et 3 créneaux.")
    if moments[0] <= now:
        raise AppointmentError("Les créneaux proposés doivent être dans le futur.")
    appointment = _locked(session, appointment_id)
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.DONE):
        raise AppointmentError("Ce rendez-vous n'est plus d'actualité (annulé ou terminé).")
    for old in session.scalars(
        select(AppointmentOption).where(AppointmentOption.appointment_id == appointment.id)
    ):
        session.delete(old)
    rows = [
        AppointmentOption(appointment_id=appointment.id, starts_at=moment, created_at=now)
        for moment in moments
    ]
    session.add_all(rows)
    appointment.updated_at = now
    session.flush()
    return rows


def pick_option(
    session: Session,
    option_id: str,
    user_id: str,
    now: dt.datetime | None = None,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> Pick:
    """The person picks a proposed time: the appointment moves there, confirmed. Picking
    again (a double tap, or another button of the same message) changes nothing and
    answers with the time already chosen."""
    now = now or utcnow()
    option = session.get(AppointmentOption, option_id)
    if option is None:
        raise AppointmentError("Ce créneau n'est plus proposé.")
    appointment = _locked(session, option.appointment_id, user_id)
    chosen = session.scalar(
        select(AppointmentOption).where(
            AppointmentOption.appointment_id == appointment.id,
            AppointmentOption.chosen_at.is_not(None),
        )
    )
    if chosen is not None:
        return Pick(appointment, chosen, changed=False)
    if option.starts_at <= now:
        raise AppointmentError("Ce créneau est déjà passé.")
    if appointment.status is AppointmentStatus.MISSED:
        appointment.status = AppointmentStatus.PROPOSED  # live again, at the new time
    move(session, appointment.id, option.starts_at, now, tz, config, confirmed=True)
    session.execute(
        update(AppointmentOption).where(AppointmentOption.id == option.id).values(chosen_at=now)
    )
    session.refresh(option)
    return Pick(
        appointment, option, changed=True, notices=[_notice(appointment, NoticeKind.OPTION_PICKED)]
    )


def list_upcoming(
    session: Session, user_id: str, now: dt.datetime | None = None
) -> list[Appointment]:
    """The person's appointments not yet over, soonest first."""
    now = now or utcnow()
    candidates = session.scalars(
        select(Appointment)
        .where(
            Appointment.user_id == user_id,
            Appointment.status.in_(list(LIVE_STATUSES)),
            # Those that started within the last 8 hours may still be going on.
            Appointment.starts_at > now - dt.timedelta(minutes=MAX_DURATION_MINUTES),
        )
        .order_by(Appointment.starts_at)
    )
    return [a for a in candidates if a.ends_at > now]


def latest_started(
    session: Session, user_id: str, now: dt.datetime | None = None, within_days: int = 14
) -> Appointment | None:
    """The person's most recent appointment that has started and is not settled yet (what
    "j'ai raté mon rendez-vous" is about)."""
    now = now or utcnow()
    return session.scalar(
        select(Appointment)
        .where(
            Appointment.user_id == user_id,
            Appointment.status.in_(list(LIVE_STATUSES)),
            Appointment.starts_at <= now,
            Appointment.starts_at > now - dt.timedelta(days=within_days),
        )
        .order_by(Appointment.starts_at.desc())
        .limit(1)
    )
