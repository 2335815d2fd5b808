"""What the young person reads about appointments: Babel catalogs, dates in their locale.

Short, warm, one next step (the buttons). Times read the way people say them: "mardi 3
décembre à 14 h 30", "Tuesday 3 December at 2:30 PM", and "aujourd'hui" / "demain" when
the appointment is that close (decided at sending time, not at planning time, so a late
reminder never says "demain" on the day itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from babel.dates import format_time as babel_format_time

from bot.appointments.models import Appointment, AppointmentOption, Mode, Reminder, ReminderKind
from bot.appointments.payloads import REQUEST_HUMAN, Action, make
from bot.appointments.sending import Render
from bot.i18n import format_when, gettext, normalise_locale
from bot.messages import Button, OutboundMessage


def format_time(moment: dt.datetime, locale: str, tz: dt.tzinfo) -> str:
    """ "14 h 30" / "14 h" in French, "2:30 PM" in English."""
    local = moment.astimezone(tz)
    if normalise_locale(locale) == "fr":
        return f"{local.hour} h {local.minute:02d}" if local.minute else f"{local.hour} h"
    return babel_format_time(local, "h:mm a", locale="en")


def format_duration(minutes: int, locale: str) -> str:
    if minutes % 60 == 0:
        return gettext(locale, "duration-hours", n=minutes // 60)
    return gettext(locale, "duration-minutes", n=minutes)


def where(appointment: Appointment, locale: str) -> str:
    """ "📍 Mission locale, 3 rue ..." / "📞 Par téléphone : 06 ..." / "💻 En visio." ("" for
    an in-person appointment with no place given)."""
    place = appointment.place
    if appointment.mode is Mode.IN_PERSON:
        return gettext(locale, "appointment-where-place", place=place) if place else ""
    key = "appointment-where-phone" if appointment.mode is Mode.PHONE else "appointment-where-video"
    return gettext(locale, f"{key}-detail", place=place) if place else gettext(locale, key)


def _compose(locale: str, appointment: Appointment, headline: str, *tail: str) -> str:
    """Headline, place, what to bring, then any closing line: one sentence each."""
    bring = (
        gettext(locale, "appointment-bring", bring=appointment.bring) if appointment.bring else ""
    )
    return " ".join(part for part in (headline, where(appointment, locale), bring, *tail) if part)


def answer_buttons(appointment_id: str, locale: str) -> tuple[Button, ...]:
    return (
        Button(gettext(locale, "appointment-button-confirm"), make(Action.CONFIRM, appointment_id)),
        Button(gettext(locale, "appointment-button-decline"), make(Action.DECLINE, appointment_id)),
    )


def proposed(
    appointment: Appointment, locale: str, tz: dt.tzinfo, moved: bool = False
) -> OutboundMessage:
    """A new (or moved) appointment, with "C'est noté" / "Je ne peux pas"."""
    headline = gettext(
        locale,
        "appointment-moved" if moved else "appointment-new",
        when=format_when(appointment.starts_at, locale, tz),
        duration=format_duration(appointment.duration_minutes, locale),
    )
    text = _compose(locale, appointment, headline, gettext(locale, "appointment-question"))
    return OutboundMessage(text, answer_buttons(appointment.id, locale))


def reminder(
    appointment: Appointment, locale: str, tz: dt.tzinfo, now: dt.datetime
) -> OutboundMessage:
    """A reminder before the appointment, worded by how far it is from ``now``."""
    days = (appointment.starts_at.astimezone(tz).date() - now.astimezone(tz).date()).days
    key = {0: "reminder-today", 1: "reminder-tomorrow"}.get(days, "reminder-later")
    headline = gettext(
        locale,
        key,
        when=format_when(appointment.starts_at, locale, tz),
        time=format_time(appointment.starts_at, locale, tz),
    )
    text = _compose(locale, appointment, headline)
    return OutboundMessage(text, answer_buttons(appointment.id, locale))


def after_check(appointment: Appointment, locale: str, tz: dt.tzinfo) -> OutboundMessage:
    """ "Ton rendez-vous ... a bien eu lieu ?" with Oui / Non."""
    return OutboundMessage(
        gettext(
            locale, "appointment-after-check", when=format_when(appointment.starts_at, locale, tz)
        ),
        (
            Button(
                gettext(locale, "appointment-button-yes"), make(Action.ATTENDED, appointment.id)
            ),
            Button(gettext(locale, "appointment-button-no"), make(Action.MISSED, appointment.id)),
        ),
    )


def check_in(locale: str) -> OutboundMessage:
    return OutboundMessage(
        gettext(locale, "checkin-message"),
        (
            Button(gettext(locale, "checkin-button-fine"), make(Action.CHECK_IN_FINE)),
            Button(gettext(locale, "checkin-button-talk"), REQUEST_HUMAN),
        ),
    )


def render(tz: dt.tzinfo) -> Render:
    """The ``Render`` the scheduler passes to ``claim_and_record``, for one timezone."""

    def _render(
        row: Reminder, appointment: Appointment | None, locale: str, now: dt.datetime
    ) -> OutboundMessage:
        if row.kind is ReminderKind.FOLLOW_UP_CHECK_IN or appointment is None:
            return check_in(locale)
        if row.kind is ReminderKind.AFTER_CHECK:
            return after_check(appointment, locale, tz)
        return reminder(appointment, locale, tz, now)

    return _render


def cancelled(appointment: Appointment, locale: str, tz: dt.tzinfo) -> OutboundMessage:
    return OutboundMessage(
        gettext(
            locale, "appointment-cancelled", when=format_when(appointment.starts_at, locale, tz)
        )
    )


def options(
    appointment_options: Sequence[AppointmentOption], locale: str, tz: dt.tzinfo
) -> OutboundMessage:
    """The times a référent proposes, one button each."""
    return OutboundMessage(
        gettext(locale, "appointment-options"),
        tuple(
            Button(format_when(option.starts_at, locale, tz), make(Action.PICK, option.id))
            for option in appointment_options
        ),
    )


def missed(appointment_id: str, locale: str) -> OutboundMessage:
    """It did not happen: no blame, and a new appointment one tap away."""
    return OutboundMessage(
        gettext(locale, "appointment-missed"),
        (
            Button(
                gettext(locale, "appointment-button-another"),
                make(Action.RESCHEDULE, appointment_id),
            ),
        ),
    )


def upcoming(appointments: Sequence[Appointment], locale: str, tz: dt.tzinfo) -> OutboundMessage:
    """The answer to "c'est quand mon rendez-vous ?" (the next one)."""
    if not appointments:
        return OutboundMessage(gettext(locale, "appointment-none-upcoming"))
    first = appointments[0]
    headline = gettext(locale, "appointment-next", when=format_when(first.starts_at, locale, tz))
    return OutboundMessage(_compose(locale, first, headline), answer_buttons(first.id, locale))


def say(key: str, locale: str, **params: object) -> OutboundMessage:
    """A one-line answer from the catalog (confirmations, acknowledgements)."""
    return OutboundMessage(gettext(locale, key, **params))
