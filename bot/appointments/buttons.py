"""The young person's appointment buttons, answered in one place (for the gateway).

``owns(payload)`` tells the gateway which payloads are these; ``answer(...)`` changes the
appointment in the caller's transaction and returns what to show the person and what to
tell the référent once committed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.appointments import preferences, service, texts
from bot.appointments.payloads import Action, parse
from bot.appointments.planning import DEFAULT_CONFIG, PARIS, ReminderConfig
from bot.appointments.service import AppointmentError, ReferentNotice
from bot.db import utcnow
from bot.i18n import format_when
from bot.messages import OutboundMessage
from bot.privacy import consents
from bot.privacy.models import Purpose

logger = logging.getLogger(__name__)

# The version of "appointment-confirmed" (it promises reminders): change it with the words.
REMINDERS_WORDING = "appointment-2026-12-02"


@dataclass(slots=True)
class ButtonReply:
    messages: list[OutboundMessage] = field(default_factory=list)
    notices: list[ReferentNotice] = field(default_factory=list)


def owns(payload: str | None) -> bool:
    return parse(payload) is not None


def answer(
    session: Session,
    user_id: str,
    locale: str,
    payload: str,
    now: dt.datetime | None = None,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> ButtonReply:
    """Act on one appointment button of ``user_id`` (never on someone else's appointment)."""
    parsed = parse(payload)
    if parsed is None:
        raise ValueError("not an appointment payload")
    now = now or utcnow()
    target = parsed.target or ""
    try:
        if parsed.action is Action.CHECK_IN_FINE:
            return ButtonReply([texts.say("checkin-fine", locale)])
        if parsed.action is Action.PICK:
            pick = service.pick_option(session, target, user_id, now, tz, config)
            key = "appointment-option-picked" if pick.changed else "appointment-option-taken"
            when = format_when(pick.option.starts_at, locale, tz)
            return ButtonReply([texts.say(key, locale, when=when)], pick.notices)
        if parsed.action is Action.CONFIRM:
            change = service.confirm(session, target, user_id, now, tz, config)
            if preferences.stopped(session, user_id):
                # They said "stop": no reminder will come, so none is promised.
                return ButtonReply(
                    [texts.say("appointment-confirmed-no-reminder", locale)], change.notices
                )
            # "C'est noté" answers a message that says reminders come with it: recorded
            # as the person's consent to them, revocable with "stop".
            consents.record(session, user_id, Purpose.REMINDERS, True, REMINDERS_WORDING)
            return ButtonReply([texts.say("appointment-confirmed", locale)], change.notices)
        if parsed.action in (Action.DECLINE, Action.RESCHEDULE):
            change = service.decline(
                session, target, user_id, now, reschedule=parsed.action is Action.RESCHEDULE
            )
            return ButtonReply([texts.say("appointment-declined", locale)], change.notices)
        if parsed.action is Action.ATTENDED:
            change = service.mark_done(session, target, now, by_user_id=user_id)
            return ButtonReply([texts.say("appointment-attended", locale)], change.notices)
        change = service.mark_missed(session, target, now, by_user_id=user_id)
        return ButtonReply([texts.missed(target, locale)], change.notices)
    except AppointmentError:
        logger.info("appointment button %s refused for %s", parsed.action.value, target)
        return ButtonReply([texts.say("appointment-unavailable", locale)])
