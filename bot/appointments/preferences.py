"""Whether a person accepted messages they did not ask for (reminders, check-ins).

``stop_messages`` is the person's word, not a preference to guess: when it is set, nothing
proactive goes, and a reminder due meanwhile is skipped, not kept for later.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appointments.models import ContactPreference
from bot.db import utcnow


def stopped(session: Session, user_id: str) -> bool:
    """True when the person asked for no more proactive messages."""
    return bool(
        session.scalar(
            select(ContactPreference.stop_messages).where(ContactPreference.user_id == user_id)
        )
    )


def set_stopped(session: Session, user_id: str, stop: bool) -> None:
    """Record the person's choice (``stop_messages`` or its undoing)."""
    row = session.get(ContactPreference, user_id)
    if row is None:
        session.add(ContactPreference(user_id=user_id, stop_messages=stop, updated_at=utcnow()))
    else:
        row.stop_messages = stop
    session.flush()
