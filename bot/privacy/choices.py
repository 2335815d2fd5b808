"""The person's choices, shown and changed in the conversation ("Mes accords").

Each purpose a person agreed to can be taken back where they are, with one button, and
the change is recorded in ``consents`` with the wording version of this panel:

- proactive messages (reminders, check-ins): stopped or started again (``stop_messages``);
- the kept self-assessment: no longer shared with a référent, or deleted.

Sharing with a référent is changed where the request is: the message that says it is in
the queue carries "only what follows" and "cancel" (``handoff.desk``), because while a
person is awaited or holds the conversation everything written goes to them, not here.

The panel follows the data summary ("mes données") and the answer to "stop". Buttons are
owned here and answered in the person's transaction; one pressed twice, or pressed when
there is nothing left to change, says so and changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot.appointments import preferences
from bot.i18n import gettext
from bot.messages import Button, DeskReply, OutboundMessage
from bot.privacy import consents
from bot.privacy.models import Purpose
from bot.router import ButtonAnswer, ConversationRouter, UserRef
from bot.self_assessment import store as self_assessment_store

logger = logging.getLogger(__name__)

WORDING = "choices-2026-12-02"
REMINDERS_OFF = "/privacy_reminders_off"
REMINDERS_ON = "/privacy_reminders_on"
ASSESSMENT_UNSHARE = "/privacy_assessment_unshare"
ASSESSMENT_DELETE = "/privacy_assessment_delete"
PAYLOADS = (REMINDERS_OFF, REMINDERS_ON, ASSESSMENT_UNSHARE, ASSESSMENT_DELETE)


def panel(session: Session, ref: UserRef) -> OutboundMessage:
    """Where each choice stands, with a button to change it."""

    def say(key: str) -> str:
        return gettext(ref.locale, key)

    lines = [say("choices-title")]
    buttons: list[Button] = []
    if preferences.stopped(session, ref.user_id):
        lines.append(say("choices-reminders-off"))
        buttons.append(Button(say("choices-button-reminders-on"), REMINDERS_ON))
    else:
        lines.append(say("choices-reminders-on"))
        buttons.append(Button(say("choices-button-reminders-off"), REMINDERS_OFF))
    assessment = self_assessment_store.kept(session, ref.user_id)
    if assessment is None:
        lines.append(say("choices-assessment-none"))
    else:
        shared = assessment.shared
        lines.append(say("choices-assessment-shared" if shared else "choices-assessment-kept"))
        if shared:
            buttons.append(Button(say("choices-button-assessment-unshare"), ASSESSMENT_UNSHARE))
        buttons.append(Button(say("choices-button-assessment-delete"), ASSESSMENT_DELETE))
    lines.append(say("choices-erase-hint"))
    return OutboundMessage(text="\n".join(lines), buttons=tuple(buttons))


class PrivacyChoices:
    """The owner of the panel's buttons."""

    def __init__(self, router: ConversationRouter) -> None:
        self.router = router

    def owns(self, payload: str | None) -> bool:
        return payload in PAYLOADS

    def answer(self, session: Session, ref: UserRef, payload: str) -> ButtonAnswer:
        key, changed_queue = self._apply(session, ref, payload)
        logger.info("privacy: choice %s (%s)", payload.removeprefix("/privacy_"), key)
        reply = [OutboundMessage(text=gettext(ref.locale, key))]
        if not changed_queue:
            return ButtonAnswer(reply)

        async def tell_consoles() -> None:
            # The référent's view of the conversation changed: open consoles reload it.
            await self.router.desk.publish(DeskReply(queue_changed=True))

        return ButtonAnswer(reply, tell_consoles)

    def _apply(self, session: Session, ref: UserRef, payload: str) -> tuple[str, bool]:
        """Make the change; the words to say and whether the référents' side changed."""
        user = ref.user_id
        if payload in (REMINDERS_OFF, REMINDERS_ON):
            stop = payload == REMINDERS_OFF
            if preferences.stopped(session, user) == stop:
                return "choices-unchanged", False
            preferences.set_stopped(session, user, stop)
            consents.record(session, user, Purpose.REMINDERS, not stop, WORDING)
            return ("stop-messages-done" if stop else "choices-reminders-restarted"), False
        if payload == ASSESSMENT_UNSHARE:
            if not self_assessment_store.unshare(session, user, WORDING):
                return "choices-unchanged", False
            return "choices-assessment-unshared", True
        if not self_assessment_store.delete_for(session, user):
            return "choices-unchanged", False
        return "choices-assessment-deleted", True


def register(router: ConversationRouter) -> None:
    router.register_buttons(PrivacyChoices(router))
