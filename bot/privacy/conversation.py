"""The person's rights in the conversation: see what is held, take it, erase it.

The dialogue passes ``data_access_request`` and ``data_deletion_request`` to the gateway
(``action_ask_gateway``); the router calls the services below in the person's transaction.

- Access: a readable summary (``rights.readable_summary``) and a one-time link to the whole
  export as JSON, ``{public base}/privacy/export#t=<token>``: the token sits in the fragment,
  which browsers never send, so it reaches neither logs nor ``Referer``
  (``bot.web.privacy_api`` serves the page and the download). The link is shown, never
  kept: the conversation records the message with the link replaced by a note, so that
  nobody who later reads the conversation (a référent it is shared with, a database
  backup) finds a working link to the person's whole export.
- Erasure: a question first, with two gateway-owned buttons. On "yes" the reply is
  recorded and committed, then the router runs ``after``: Rasa's events go first, then
  every row of the application database (the reply just recorded included), each in its
  own transaction. A failure stops there, loud, with the person still known: pressing
  "yes" again finishes the job. An open request for a person is erased too; the question
  says so (the référent will no longer see the conversation).

A "yes" is honoured only from a person who was asked. A second press after the erasure
comes from someone the database no longer knows (the router recreates a person for the
same channel id): they were never asked, and there is nothing of theirs to erase.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.conversations.models import Conversation, Direction, Message
from bot.db import session_scope, utcnow
from bot.i18n import gettext
from bot.messages import Button, DeskReply, OutboundMessage
from bot.privacy import choices, links, rights
from bot.router import ButtonAnswer, ConversationRouter, UserRef
from handoff.models import OPEN_STATUSES, Handoff

logger = logging.getLogger(__name__)

PAYLOAD_ERASE_CONFIRM = "/privacy_erase_confirm"
PAYLOAD_ERASE_CANCEL = "/privacy_erase_cancel"
PAYLOADS = (PAYLOAD_ERASE_CONFIRM, PAYLOAD_ERASE_CANCEL)
EXPORT_PAGE_PATH = "/privacy/export"


def public_base(settings: Settings) -> str:
    """The address people reach the gateway at (``PUBLIC_URL``, else host and port)."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def export_url(settings: Settings, token: str) -> str:
    return f"{public_base(settings)}{EXPORT_PAGE_PATH}#t={token}"


def has_open_handoff(session: Session, user_id: str) -> bool:
    """A request for a person not closed yet (consent asked, waiting, or with a référent)."""
    found = session.scalar(
        select(Handoff.id)
        .where(Handoff.user_id == user_id, Handoff.status.in_(OPEN_STATUSES))
        .limit(1)
    )
    return found is not None


def was_asked(session: Session, user_id: str) -> bool:
    """True when this person was shown the erasure question (its "yes" button)."""
    offered = session.scalars(
        select(Message.buttons)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.user_id == user_id, Message.direction == Direction.OUTBOUND)
        .order_by(Message.id.desc())
    )
    return any(
        isinstance(button, dict) and button.get("payload") == PAYLOAD_ERASE_CONFIRM
        for buttons in offered
        if isinstance(buttons, list)
        for button in buttons
    )


def keep_out_of_the_record(session: Session, token: str, stored_text: str) -> None:
    """Record ``stored_text`` instead of any message of this transaction holding ``token``.

    The router records what a service returns in the service's own session, after the
    service returns; the person is shown the message itself. The listener lives as long
    as the session (one transaction of the router).
    """

    def redact(flushing: Session, _context: Any, _instances: Any) -> None:
        for row in flushing.new:
            if isinstance(row, Message) and row.text is not None and token in row.text:
                row.text = stored_text

    event.listen(session, "before_flush", redact)


class PrivacyConversation:
    """The services of both intents, and the owner of the erasure buttons."""

    def __init__(self, router: ConversationRouter, settings: Settings) -> None:
        self.router = router
        self.settings = settings

    # --- access (RGPD article 15) -------------------------------------------------

    def access(
        self, session: Session, ref: UserRef, entities: dict[str, str]
    ) -> list[OutboundMessage]:
        """What is held, in a few lines, and a one-time link to all of it."""
        summary = rights.readable_summary(rights.export(session, ref.user_id), ref.locale)
        minutes = self.settings.export_link_minutes
        token = links.create_link(session, ref.user_id, utcnow(), dt.timedelta(minutes=minutes))
        link = gettext(
            ref.locale, "privacy-export-link", minutes=minutes, url=export_url(self.settings, token)
        )
        not_kept = gettext(ref.locale, "privacy-export-link-not-kept")
        keep_out_of_the_record(
            session,
            token,
            gettext(ref.locale, "privacy-export-link", minutes=minutes, url=not_kept),
        )
        logger.info("privacy: export link given")
        return [
            OutboundMessage(text=summary),
            OutboundMessage(text=link),
            choices.panel(session, ref),
        ]

    # --- erasure (RGPD article 17) ------------------------------------------------

    def ask_erasure(
        self, session: Session, ref: UserRef, entities: dict[str, str]
    ) -> list[OutboundMessage]:
        """The confirmation question, with "yes" and "no" buttons."""
        text = gettext(ref.locale, "privacy-erase-question")
        if has_open_handoff(session, ref.user_id):
            text = f"{text}\n{gettext(ref.locale, 'privacy-erase-question-handoff')}"
        buttons = (
            Button(gettext(ref.locale, "privacy-erase-button-confirm"), PAYLOAD_ERASE_CONFIRM),
            Button(gettext(ref.locale, "privacy-erase-button-cancel"), PAYLOAD_ERASE_CANCEL),
        )
        return [OutboundMessage(text=text, buttons=buttons)]

    def owns(self, payload: str | None) -> bool:
        return payload in PAYLOADS

    def answer(self, session: Session, ref: UserRef, payload: str) -> ButtonAnswer:
        if payload == PAYLOAD_ERASE_CANCEL:
            return ButtonAnswer([OutboundMessage(text=gettext(ref.locale, "privacy-erase-kept"))])
        if not was_asked(session, ref.user_id):
            # Pressed again after the erasure: a new person, with nothing to erase.
            logger.info("privacy: erasure confirmed with nothing to erase")
            return ButtonAnswer(
                [OutboundMessage(text=gettext(ref.locale, "privacy-erase-nothing"))]
            )
        done = OutboundMessage(text=gettext(ref.locale, "privacy-erase-done"))
        sessions = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
        return ButtonAnswer([done], after=self._eraser(sessions, ref.user_id), forget=True)

    def _eraser(
        self, sessions: sessionmaker[Session], user_id: str
    ) -> Callable[[], Awaitable[None]]:
        async def erase_everything() -> None:
            """Run once the reply is committed: the tracker, then the application data."""
            await asyncio.to_thread(rights.erase_tracker, self.settings.tracker_store_url, user_id)
            with session_scope(sessions) as session:
                counts = rights.erase(session, user_id)
            if counts.get("handoffs"):
                # A request left the queue (or a référent's list): consoles refresh.
                await self.router.desk.publish(DeskReply(queue_changed=True))

        return erase_everything


def first_contact_notice(settings: Settings) -> Callable[[str], OutboundMessage]:
    """The notice a person reads before anything else: who runs the service, what is
    kept and for how long, who sees it, how to see or delete it; one tap to learn more."""

    def notice(locale: str) -> OutboundMessage:
        text = gettext(
            locale,
            "privacy-first-contact",
            operator=settings.service_operator or gettext(locale, "privacy-operator-demo"),
            months=settings.retention_conversation_months,
        )
        more = Button(gettext(locale, "privacy-first-contact-more"), "/privacy_question")
        return OutboundMessage(text=text, buttons=(more,))

    return notice


def register(router: ConversationRouter, settings: Settings) -> None:
    """Answer both intents, own the erasure buttons and say the first-contact notice
    (called once by the gateway)."""
    privacy = PrivacyConversation(router, settings)
    router.first_contact_notice = first_contact_notice(settings)
    choices.register(router)
    router.register_service("data_access_request", privacy.access)
    router.register_service("data_deletion_request", privacy.ask_erasure)
    router.register_buttons(privacy)
