"""The gateway's answers to requests the dialogue passes on (``action_ask_gateway``).

Each service owns nothing itself: it calls the module that owns the records (contact
preferences, appointments, personal data) and words the reply in the person's locale.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.appointments import preferences
from bot.i18n import gettext
from bot.messages import OutboundMessage
from bot.router import ConversationRouter, UserRef


def stop_messages(
    session: Session, ref: UserRef, entities: dict[str, str]
) -> list[OutboundMessage]:
    """ "Stop": no proactive message of any kind from now on (reminders, check-ins)."""
    if preferences.stopped(session, ref.user_id):
        return [OutboundMessage(text=gettext(ref.locale, "stop-messages-already"))]
    preferences.set_stopped(session, ref.user_id, True)
    return [OutboundMessage(text=gettext(ref.locale, "stop-messages-done"))]


def register(router: ConversationRouter) -> None:
    router.register_service("stop_messages", stop_messages)
