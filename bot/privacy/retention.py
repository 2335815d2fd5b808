"""Retention: what is past its period is deleted by a scheduled purge (docs/privacy.md).

Periods are in calendar months (``Settings.retention_*``); a row exactly at its limit is
kept, one second older goes. What goes, and when:

- the messages of a conversation whose last activity (the latest of the person's last
  message and any message in it) is past ``conversation_months``, unless a handoff of it
  is still open; the conversation row itself goes with them unless a handoff kept for its
  own period still refers to it (it goes with that handoff's purge, later);
- closed handoffs ``closed_handoff_months`` after their close, with notes and events;
- kept self-assessments ``self_assessment_months`` after completion;
- appointments ``appointment_months`` after their start, with proposed times, reminders
  and the scheduler's wake-up jobs; check-in reminders of no appointment after their due
  time, on the same period;
- export links once used or expired;
- a person last seen more than ``conversation_months`` ago who has nothing left above:
  their row, with their consents, contact preference and web chat sessions.

``purge_tracker`` does the same for Rasa's tracker events (its own database).

One log line gives the counts per table; never an id or a text.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, inspect, or_, select, text
from sqlalchemy.orm import Session

from bot.appointments.models import (
    Appointment,
    AppointmentOption,
    ContactPreference,
    Reminder,
    apscheduler_jobs,
)
from bot.config import Settings
from bot.conversations.models import Conversation, Message, User
from bot.privacy.links import ExportLink
from bot.privacy.models import Consent
from bot.self_assessment.models import SelfAssessment
from bot.tracker_crypto import EVENTS_TABLE, tracker_engine
from bot.web.sessions import WebChatSession
from handoff.models import OPEN_STATUSES, Handoff, HandoffEvent, HandoffNote, HandoffStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    """How long each kind of record is kept, in calendar months."""

    conversation_months: int = 12
    closed_handoff_months: int = 24
    self_assessment_months: int = 24
    appointment_months: int = 24

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPeriods:
        return cls(
            conversation_months=settings.retention_conversation_months,
            closed_handoff_months=settings.retention_closed_handoff_months,
            self_assessment_months=settings.retention_self_assessment_months,
            appointment_months=settings.retention_appointment_months,
        )


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same time ``months`` calendar months earlier (31 March - 1 month = 28/29 Feb)."""
    years, month_index = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, month_index + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _delete(session: Session, model: Any, *where: Any) -> int:
    result = session.execute(
        delete(model).where(*where).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _ids(session: Session, query: Any) -> list[Any]:
    return list(session.scalars(query))


def purge(session: Session, now: dt.datetime, periods: RetentionPeriods) -> dict[str, int]:
    """Delete everything past its period; rows deleted per table."""
    counts: dict[str, int] = {}
    counts |= _purge_handoffs(session, months_before(now, periods.closed_handoff_months))
    counts |= _purge_conversations(session, months_before(now, periods.conversation_months))
    counts["self_assessments"] = _delete(
        session,
        SelfAssessment,
        SelfAssessment.completed_at < months_before(now, periods.self_assessment_months),
    )
    counts |= _purge_appointments(session, months_before(now, periods.appointment_months))
    counts["export_links"] = _delete(
        session, ExportLink, or_(ExportLink.used_at.is_not(None), ExportLink.expires_at <= now)
    )
    for table, deleted in _purge_people(
        session, months_before(now, periods.conversation_months)
    ).items():
        counts[table] = counts.get(table, 0) + deleted
    session.expire_all()
    logger.info("retention purge: %s", counts)
    return counts


def _purge_handoffs(session: Session, cutoff: dt.datetime) -> dict[str, int]:
    ids = _ids(
        session,
        select(Handoff.id).where(
            Handoff.status == HandoffStatus.CLOSED, Handoff.closed_at < cutoff
        ),
    )
    return {
        "handoff_notes": _delete(session, HandoffNote, HandoffNote.handoff_id.in_(ids)),
        "handoff_events": _delete(session, HandoffEvent, HandoffEvent.handoff_id.in_(ids)),
        "handoffs": _delete(session, Handoff, Handoff.id.in_(ids)),
    }


def _purge_conversations(session: Session, cutoff: dt.datetime) -> dict[str, int]:
    recent_message = exists().where(
        Message.conversation_id == Conversation.id, Message.created_at >= cutoff
    )
    open_handoff = exists().where(
        Handoff.conversation_id == Conversation.id, Handoff.status.in_(OPEN_STATUSES)
    )
    stale = _ids(
        session,
        select(Conversation.id).where(
            Conversation.last_activity_at < cutoff, ~recent_message, ~open_handoff
        ),
    )
    any_handoff = exists().where(Handoff.conversation_id == Conversation.id)
    return {
        "messages": _delete(session, Message, Message.conversation_id.in_(stale)),
        "conversations": _delete(session, Conversation, Conversation.id.in_(stale), ~any_handoff),
    }


def _purge_appointments(session: Session, cutoff: dt.datetime) -> dict[str, int]:
    appointment_ids = _ids(session, select(Appointment.id).where(Appointment.starts_at < cutoff))
    reminder_ids = _ids(
        session,
        select(Reminder.id).where(
            or_(
                Reminder.appointment_id.in_(appointment_ids),
                and_(Reminder.appointment_id.is_(None), Reminder.due_at < cutoff),
            )
        ),
    )
    jobs = [f"reminder:{reminder_id}" for reminder_id in reminder_ids]
    return {
        "apscheduler_jobs": _delete(session, apscheduler_jobs, apscheduler_jobs.c.id.in_(jobs)),
        "reminders": _delete(session, Reminder, Reminder.id.in_(reminder_ids)),
        "appointment_options": _delete(
            session, AppointmentOption, AppointmentOption.appointment_id.in_(appointment_ids)
        ),
        "appointments": _delete(session, Appointment, Appointment.id.in_(appointment_ids)),
    }


def _purge_people(session: Session, cutoff: dt.datetime) -> dict[str, int]:
    """People long gone with nothing left: their row and what only describes them."""
    holds_something = or_(
        *(
            exists().where(column == User.id)
            for column in (
                Conversation.user_id,
                Handoff.user_id,
                Appointment.user_id,
                Reminder.user_id,
                SelfAssessment.user_id,
            )
        )
    )
    ids = _ids(session, select(User.id).where(User.last_seen_at < cutoff, ~holds_something))
    return {
        "consents": _delete(session, Consent, Consent.user_id.in_(ids)),
        "contact_preferences": _delete(
            session, ContactPreference, ContactPreference.user_id.in_(ids)
        ),
        "web_chat_sessions": _delete(session, WebChatSession, WebChatSession.user_id.in_(ids)),
        "export_links": _delete(session, ExportLink, ExportLink.user_id.in_(ids)),
        "users": _delete(session, User, User.id.in_(ids)),
    }


# Events of a tracker before its latest session start are never read again by Rasa (it
# loads a tracker from its last ``session_started``; slots carried over are set again
# after it): the old ones can go without changing a conversation in progress.
TRACKER_PURGE = text(
    """
    DELETE FROM events
    WHERE timestamp < :cutoff
      AND (
        NOT EXISTS (
          SELECT 1 FROM events AS later
          WHERE later.sender_id = events.sender_id AND later.timestamp >= :cutoff
        )
        OR id < (
          SELECT MAX(started.id) FROM events AS started
          WHERE started.sender_id = events.sender_id AND started.type_name = 'session_started'
        )
      )
    """
)


def purge_tracker(tracker_store_url: str, cutoff: dt.datetime) -> int:
    """Delete Rasa tracker events older than ``cutoff`` that no conversation still needs."""
    engine = tracker_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table(EVENTS_TABLE):
            return 0
        with engine.begin() as connection:
            result = connection.execute(TRACKER_PURGE, {"cutoff": cutoff.timestamp()})
            deleted = int(result.rowcount or 0)
    finally:
        engine.dispose()
    logger.info("retention purge: %s tracker events", deleted)
    return deleted


def run(settings: Settings, session: Session, now: dt.datetime) -> dict[str, int]:
    """The scheduled job's body: the application database, then Rasa's tracker events."""
    periods = RetentionPeriods.from_settings(settings)
    counts = purge(session, now, periods)
    counts["tracker_events"] = purge_tracker(
        settings.tracker_store_url, months_before(now, periods.conversation_months)
    )
    return counts
