"""The gateway's answers to requests the dialogue passes on (``action_ask_gateway``) and to
the buttons about records it owns (appointments).

Each service owns nothing itself: it calls the module that owns the records (contact
preferences, appointments) and words the reply in the person's locale. What the référent
must hear is published on the console bus once the change is committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.orm import Session

from bot.appointments import buttons, preferences, service, texts
from bot.appointments.payloads import Action, make
from bot.appointments.planning import DEFAULT_CONFIG
from bot.appointments.service import AppointmentError, ReferentNotice
from bot.db import utcnow
from bot.events import EventBus
from bot.i18n import gettext
from bot.messages import Button, OutboundMessage
from bot.privacy import consents
from bot.privacy.choices import REMINDERS_ON
from bot.privacy.choices import WORDING as CHOICES_WORDING
from bot.privacy.models import Purpose
from bot.router import ButtonAnswer, ConversationRouter, UserRef
from handoff.desk import CONSOLE


def stop_messages(
    session: Session, ref: UserRef, entities: dict[str, str]
) -> list[OutboundMessage]:
    """ "Stop": no proactive message of any kind from now on (reminders, check-ins); one
    button starts them again."""
    again = (Button(gettext(ref.locale, "choices-button-reminders-on"), REMINDERS_ON),)
    if preferences.stopped(session, ref.user_id):
        return [OutboundMessage(text=gettext(ref.locale, "stop-messages-already"), buttons=again)]
    preferences.set_stopped(session, ref.user_id, True)
    consents.record(session, ref.user_id, Purpose.REMINDERS, False, CHOICES_WORDING)
    return [OutboundMessage(text=gettext(ref.locale, "stop-messages-done"), buttons=again)]


class AppointmentDesk:
    """Appointments in the conversation: the person's buttons and questions."""

    def __init__(self, bus: EventBus, tz: dt.tzinfo) -> None:
        self.bus = bus
        self.tz = tz
        self.config = DEFAULT_CONFIG  # the gateway sets the configured one

    # --- buttons (C'est noté, Je ne peux pas, a new time picked...) ----------------------
    def owns(self, payload: str | None) -> bool:
        return buttons.owns(payload)

    def answer(self, session: Session, ref: UserRef, payload: str) -> ButtonAnswer:
        reply = buttons.answer(
            session, ref.user_id, ref.locale, payload, utcnow(), self.tz, self.config
        )
        return ButtonAnswer(reply.messages, self._tell_referents(reply.notices))

    def _tell_referents(
        self, notices: Sequence[ReferentNotice]
    ) -> Callable[[], Awaitable[None]] | None:
        if not notices:
            return None

        async def after() -> None:
            # Ids only: each console fetches what its référent may see.
            for notice in notices:
                self.bus.publish(
                    CONSOLE,
                    {
                        "type": "appointment",
                        "appointment_id": notice.appointment_id,
                        "kind": notice.kind.value,
                    },
                )

        return after

    # --- questions the dialogue passes on -------------------------------------------------
    def query(self, session: Session, ref: UserRef, entities: dict[str, str]) -> ButtonAnswer:
        """ "C'est quand mon rendez-vous ?": the next one, with its buttons."""
        upcoming = service.list_upcoming(session, ref.user_id, utcnow())
        return ButtonAnswer([texts.upcoming(upcoming, ref.locale, self.tz)])

    def reschedule(self, session: Session, ref: UserRef, entities: dict[str, str]) -> ButtonAnswer:
        """Ask the référent for another time for the next appointment; they propose times
        the person picks from buttons."""
        upcoming = service.list_upcoming(session, ref.user_id, utcnow())
        if not upcoming:
            return ButtonAnswer([texts.upcoming([], ref.locale, self.tz)])
        change = service.decline(session, upcoming[0].id, ref.user_id, utcnow(), reschedule=True)
        return ButtonAnswer(
            [texts.say("appointment-declined", ref.locale)], self._tell_referents(change.notices)
        )

    def cancel(self, session: Session, ref: UserRef, entities: dict[str, str]) -> ButtonAnswer:
        """Nothing is cancelled on a sentence: the next appointment is shown with its
        buttons ("Je ne peux pas" tells the référent, "Proposer un autre moment" too)."""
        upcoming = service.list_upcoming(session, ref.user_id, utcnow())
        if not upcoming:
            return ButtonAnswer([texts.upcoming([], ref.locale, self.tz)])
        first = upcoming[0]
        shown = texts.upcoming(upcoming, ref.locale, self.tz)
        another = Button(
            gettext(ref.locale, "appointment-button-another"), make(Action.RESCHEDULE, first.id)
        )
        return ButtonAnswer([OutboundMessage(shown.text, (*shown.buttons, another))])

    def missed(self, session: Session, ref: UserRef, entities: dict[str, str]) -> ButtonAnswer:
        """ "J'ai raté mon rendez-vous": marked missed, the référent is told, a new one is
        offered. Nothing to say it about: the person is told plainly."""
        latest = service.latest_started(session, ref.user_id, utcnow())
        if latest is None:
            return ButtonAnswer([texts.say("appointment-none-missed", ref.locale)])
        try:
            change = service.mark_missed(session, latest.id, utcnow(), by_user_id=ref.user_id)
        except AppointmentError:
            return ButtonAnswer([texts.say("appointment-unavailable", ref.locale)])
        return ButtonAnswer(
            [texts.missed(latest.id, ref.locale)], self._tell_referents(change.notices)
        )


def register(router: ConversationRouter, bus: EventBus, tz: dt.tzinfo) -> AppointmentDesk:
    router.register_service("stop_messages", stop_messages)
    desk = AppointmentDesk(bus, tz)
    router.register_buttons(desk)
    router.register_service("appointment_query", desk.query)
    router.register_service("appointment_reschedule", desk.reschedule)
    router.register_service("appointment_cancel", desk.cancel)
    router.register_service("appointment_missed", desk.missed)
    return desk
