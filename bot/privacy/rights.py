"""The person's rights over their data (RGPD articles 15 and 17): see it, take it, erase it.

Pure database functions; the gateway calls them in a turn of the conversation (after the
confirmation, for an erasure) and words the answer. ``export`` reads through every table
that holds something about the person; ``erase`` deletes all of it, child rows first, so
that no row mentions the person afterwards whatever the foreign keys do; ``erase_tracker``
does the same in Rasa's tracker store (another database, Rasa's schema).

Decisions (docs/privacy.md explains them):
- the export holds the person's own channel id (it is their data; the console never shows
  it);
- référents' internal notes are in the export: notes about a person are personal data and
  accessible to them. The author is given as a role, never a name or an id, and the audit
  trail is given as what happened and when, not which colleague did it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from babel.dates import format_date
from sqlalchemy import delete, inspect, or_, select, text
from sqlalchemy.orm import Session

from bot.appointments.models import (
    Appointment,
    AppointmentOption,
    ContactPreference,
    Reminder,
    apscheduler_jobs,
)
from bot.conversations.models import Conversation, Message, User
from bot.db import utcnow
from bot.i18n import gettext, normalise_locale
from bot.privacy.links import ExportLink
from bot.privacy.models import Consent
from bot.self_assessment.models import SelfAssessment
from bot.tracker_crypto import EVENTS_TABLE, tracker_engine
from bot.web.sessions import WebChatSession
from handoff.models import Handoff, HandoffEvent, HandoffNote

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "relais-export/1"
# Audit details the person may read: what changed, never which référent did it.
SHAREABLE_EVENT_DETAILS = ("priority", "reason", "share_history", "outcome", "old")


class UnknownPersonError(LookupError):
    """No person with this id (already erased, or never here)."""


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def export(session: Session, user_id: str) -> dict[str, Any]:
    """Everything held about the person, as plain JSON values (times in ISO 8601, UTC)."""
    user = session.get(User, user_id)
    if user is None:
        raise UnknownPersonError(user_id)
    conversations = list(
        session.scalars(
            select(Conversation).where(Conversation.user_id == user_id).order_by(Conversation.id)
        )
    )
    handoffs = list(
        session.scalars(select(Handoff).where(Handoff.user_id == user_id).order_by(Handoff.id))
    )
    appointments = list(
        session.scalars(
            select(Appointment)
            .where(Appointment.user_id == user_id)
            .order_by(Appointment.starts_at)
        )
    )
    reminders = list(
        session.scalars(select(Reminder).where(Reminder.user_id == user_id).order_by(Reminder.id))
    )
    assessment = session.get(SelfAssessment, user_id)
    preference = session.get(ContactPreference, user_id)
    web_sessions = session.scalars(
        select(WebChatSession.created_at)
        .where(WebChatSession.user_id == user_id)
        .order_by(WebChatSession.created_at)
    )
    consents = session.scalars(
        select(Consent).where(Consent.user_id == user_id).order_by(Consent.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "generated_at": _iso(utcnow()),
        "profile": {
            "id": user.id,
            "channel": user.channel.value,
            "channel_id": user.external_id,
            "locale": user.locale,
            "created_at": _iso(user.created_at),
            "last_seen_at": _iso(user.last_seen_at),
        },
        "web_chat_sessions": [{"created_at": _iso(at)} for at in web_sessions],
        "conversations": [_conversation(c) for c in conversations],
        "handoffs": [_handoff(session, h) for h in handoffs],
        "self_assessment": _assessment(assessment) if assessment is not None else None,
        "consents": [
            {
                "purpose": c.purpose.value,
                "granted": c.granted,
                "wording_version": c.wording_version,
                "at": _iso(c.at),
            }
            for c in consents
        ],
        "appointments": [_appointment(session, a) for a in appointments],
        "reminders": [_reminder(r) for r in reminders],
        "contact_preference": (
            {"stop_messages": preference.stop_messages, "updated_at": _iso(preference.updated_at)}
            if preference is not None
            else None
        ),
    }


def _conversation(conversation: Conversation) -> dict[str, Any]:
    return {
        "opened_at": _iso(conversation.opened_at),
        "last_activity_at": _iso(conversation.last_activity_at),
        "messages": [
            {
                "at": _iso(m.created_at),
                "from": m.sender.value,
                **({"text": m.text} if m.text is not None else {}),
                **({"button": m.payload} if m.payload is not None else {}),
            }
            for m in conversation.messages
        ],
    }


def _handoff(session: Session, handoff: Handoff) -> dict[str, Any]:
    notes = session.scalars(
        select(HandoffNote).where(HandoffNote.handoff_id == handoff.id).order_by(HandoffNote.id)
    )
    events = session.scalars(
        select(HandoffEvent).where(HandoffEvent.handoff_id == handoff.id).order_by(HandoffEvent.id)
    )
    return {
        "status": handoff.status.value,
        "priority": handoff.priority.value,
        "reason": handoff.reason,
        "territory": handoff.territory_id,
        "share_history": handoff.share_history,
        "requested_at": _iso(handoff.requested_at),
        "queued_at": _iso(handoff.queued_at),
        "claimed_at": _iso(handoff.claimed_at),
        "closed_at": _iso(handoff.closed_at),
        "outcome": handoff.outcome.value if handoff.outcome is not None else None,
        "referent_notes": [
            {"at": _iso(n.created_at), "author": "referent", "text": n.text} for n in notes
        ],
        "history": [
            {
                "at": _iso(e.at),
                "what": e.kind,
                **{k: v for k, v in (e.detail or {}).items() if k in SHAREABLE_EVENT_DETAILS},
            }
            for e in events
        ],
    }


def _assessment(row: SelfAssessment) -> dict[str, Any]:
    return {
        "role": row.role,
        "answers": row.answers,
        "flags": row.flags,
        "shared_with_referents": row.shared,
        "completed_at": _iso(row.completed_at),
    }


def _appointment(session: Session, appointment: Appointment) -> dict[str, Any]:
    options = session.scalars(
        select(AppointmentOption)
        .where(AppointmentOption.appointment_id == appointment.id)
        .order_by(AppointmentOption.starts_at)
    )
    return {
        "id": appointment.id,
        "starts_at": _iso(appointment.starts_at),
        "duration_minutes": appointment.duration_minutes,
        "mode": appointment.mode.value,
        "place": appointment.place,
        "bring": appointment.bring,
        "status": appointment.status.value,
        "declined_at": _iso(appointment.declined_at),
        "created_at": _iso(appointment.created_at),
        "proposed_times": [
            {"starts_at": _iso(o.starts_at), "chosen_at": _iso(o.chosen_at)} for o in options
        ],
    }


def _reminder(reminder: Reminder) -> dict[str, Any]:
    return {
        "appointment_id": reminder.appointment_id,
        "kind": reminder.kind.value,
        "due_at": _iso(reminder.due_at),
        "status": reminder.status.value,
        "sent_at": _iso(reminder.sent_at),
    }


# --- the readable summary -----------------------------------------------------------

# "-one" / "-many" ids in the catalogs: French singular is 0 and 1.


def _words(locale: str, key: str, **params: object) -> str:
    return gettext(locale, key, **params)


def _counted(locale: str, key: str, n: int, **params: object) -> str:
    one = n <= 1 if locale == "fr" else n == 1
    return _words(locale, f"{key}-{'one' if one else 'many'}", n=n, **params)


def readable_summary(data: dict[str, Any], locale: str) -> str:
    """A few lines for a phone screen: which kinds of data are held, and how many."""
    locale = normalise_locale(locale)
    channel = _words(locale, f"channel-{data['profile']['channel']}")
    lines = [_words(locale, "privacy-summary-profile", channel=channel)]
    messages = [m for c in data["conversations"] for m in c["messages"]]
    if messages:
        since = format_date(dt.datetime.fromisoformat(messages[0]["at"]), "long", locale=locale)
        said = _counted(locale, "privacy-summary-messages", len(messages), since=since)
        lines.append(
            _counted(
                locale, "privacy-summary-conversations", len(data["conversations"]), messages=said
            )
        )
    if data["handoffs"]:
        lines.append(_counted(locale, "privacy-summary-handoffs", len(data["handoffs"])))
        notes = sum(len(h["referent_notes"]) for h in data["handoffs"])
        if notes:
            lines.append(_counted(locale, "privacy-summary-notes", notes))
    if data["self_assessment"] is not None:
        lines.append(_words(locale, "privacy-summary-assessment"))
    if data["appointments"]:
        lines.append(_counted(locale, "privacy-summary-appointments", len(data["appointments"])))
    if data["consents"]:
        lines.append(_counted(locale, "privacy-summary-consents", len(data["consents"])))
    if (data["contact_preference"] or {}).get("stop_messages"):
        lines.append(_words(locale, "privacy-summary-stopped"))
    return "\n".join([_words(locale, "privacy-summary-title"), *(f"• {line}" for line in lines)])


# --- erasure ------------------------------------------------------------------------


def _ids(session: Session, query: Any) -> list[Any]:
    return list(session.scalars(query))


def _delete(session: Session, model: Any, *where: Any) -> int:
    result = session.execute(
        delete(model).where(*where).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def erase(session: Session, user_id: str) -> dict[str, int]:
    """Delete the person from every table of the application database; rows per table.

    Explicit, children first: the result does not depend on the database enforcing
    ``ON DELETE CASCADE`` (SQLite only does with ``PRAGMA foreign_keys``). A table added
    later that mentions a person must be added here (a test checks every table).
    """
    conversation_ids = _ids(session, select(Conversation.id).where(Conversation.user_id == user_id))
    handoff_ids = _ids(
        session,
        select(Handoff.id).where(
            or_(Handoff.user_id == user_id, Handoff.conversation_id.in_(conversation_ids))
        ),
    )
    appointment_ids = _ids(session, select(Appointment.id).where(Appointment.user_id == user_id))
    reminder_ids = _ids(
        session,
        select(Reminder.id).where(
            or_(Reminder.user_id == user_id, Reminder.appointment_id.in_(appointment_ids))
        ),
    )
    counts = {
        "handoff_notes": _delete(session, HandoffNote, HandoffNote.handoff_id.in_(handoff_ids)),
        "handoff_events": _delete(session, HandoffEvent, HandoffEvent.handoff_id.in_(handoff_ids)),
        "handoffs": _delete(session, Handoff, Handoff.id.in_(handoff_ids)),
        # The scheduler's wake-up jobs of these reminders (ids as the scheduler makes them).
        "apscheduler_jobs": _delete(
            session,
            apscheduler_jobs,
            apscheduler_jobs.c.id.in_([f"reminder:{rid}" for rid in reminder_ids]),
        ),
        "reminders": _delete(session, Reminder, Reminder.id.in_(reminder_ids)),
        "appointment_options": _delete(
            session, AppointmentOption, AppointmentOption.appointment_id.in_(appointment_ids)
        ),
        "appointments": _delete(session, Appointment, Appointment.id.in_(appointment_ids)),
        "contact_preferences": _delete(
            session, ContactPreference, ContactPreference.user_id == user_id
        ),
        "consents": _delete(session, Consent, Consent.user_id == user_id),
        "self_assessments": _delete(session, SelfAssessment, SelfAssessment.user_id == user_id),
        "export_links": _delete(session, ExportLink, ExportLink.user_id == user_id),
        "web_chat_sessions": _delete(session, WebChatSession, WebChatSession.user_id == user_id),
        "messages": _delete(session, Message, Message.conversation_id.in_(conversation_ids)),
        "conversations": _delete(session, Conversation, Conversation.id.in_(conversation_ids)),
        "users": _delete(session, User, User.id == user_id),
    }
    session.expire_all()
    logger.info("erasure: %s", {table: n for table, n in counts.items() if n})
    return counts


def erase_tracker(tracker_store_url: str, sender_id: str) -> int:
    """Delete the Rasa tracker events of one sender (the person's internal id); the count.

    Call it once the turn that asked for the erasure is over: Rasa saves a turn's events
    before it answers, so nothing of the person is written after this.
    """
    engine = tracker_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table(EVENTS_TABLE):
            return 0
        with engine.begin() as connection:
            result = connection.execute(
                text(f"DELETE FROM {EVENTS_TABLE} WHERE sender_id = :sender_id"),  # noqa: S608
                {"sender_id": sender_id},
            )
            deleted = int(result.rowcount or 0)
    finally:
        engine.dispose()
    logger.info("erasure: %s tracker events", deleted)
    return deleted
