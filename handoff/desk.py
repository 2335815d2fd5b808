"""The human desk: what the gateway does when a person is needed.

The dialogue raises a handoff with a ``custom`` instruction; the router hands it here. The
desk opens the handoff (``handoff.queue``), asks the person's consent to share the
conversation (urgent: the numbers came first, the consent question right after), tells them
their place in the queue and, outside working hours, when someone will answer. On the
référent side it claims, relays messages both ways, releases, transfers and closes, then
hands the conversation back to the bot. Console screens and the référents' Telegram chat
are told through ``publish`` and the notifier.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.appointments import reminders
from bot.appointments.planning import DEFAULT_CONFIG
from bot.conversations.models import Message, User
from bot.db import session_scope, utcnow
from bot.engine_client import EngineClient, EngineUnavailableError
from bot.events import EventBus
from bot.i18n import format_when, gettext
from bot.messages import Button, DeskReply, HandoffState, OutboundMessage
from bot.privacy import consents
from bot.privacy.models import Purpose
from dialogues.directory.partners import load_directory, territory_of
from dialogues.knowledge.base import load_facts
from handoff import queue
from handoff.hours import WorkingHours
from handoff.models import (
    HELD_STATUSES,
    Handoff,
    HandoffStatus,
    Outcome,
    Priority,
    Referent,
)
from handoff.notify import Notifier
from handoff.queue import ClaimResult

if TYPE_CHECKING:
    from bot.router import UserRef

logger = logging.getLogger(__name__)

CONSOLE = "console"  # the console bus key every console stream listens to
RESUME_INTENT = "handoff_ended"
PAYLOAD_SHARE = "/handoff_share_yes"
PAYLOAD_NO_SHARE = "/handoff_share_no"
PAYLOAD_DECLINE = "/handoff_decline"
PAYLOAD_CANCEL = "/handoff_cancel"
# Before a non-urgent request enters the queue: the age band (routing, and under 15 a
# parent's agreement is needed too), asked only when the dialogue does not know it.
AGE_BANDS = ("under_15", "15", "16_17", "18_plus", "undisclosed")
PAYLOAD_AGE = "/handoff_age_"
PAYLOAD_PARENT_OK = "/handoff_parent_ok"
PAYLOAD_PARENT_NOT_YET = "/handoff_parent_not_yet"
# A parent asking for themselves: no age band to ask (stored so it is not asked again).
BAND_PARENT = "parent"
DESK_PAYLOADS = (
    PAYLOAD_SHARE,
    PAYLOAD_NO_SHARE,
    PAYLOAD_DECLINE,
    PAYLOAD_CANCEL,
    PAYLOAD_PARENT_OK,
    PAYLOAD_PARENT_NOT_YET,
    *(f"{PAYLOAD_AGE}{band}" for band in AGE_BANDS),
)
# The version of the consent words (``consents.wording_version``): change it with them.
CONSENT_WORDING = "handoff-2026-12-02"

# What the person's channel is told (shared/spec/http-api.md); a request still waiting for
# its consent answer is not in the queue yet.
PUBLIC_STATUS: dict[HandoffStatus, Literal["waiting", "assigned", "closed"]] = {
    HandoffStatus.REQUESTED: "waiting",
    HandoffStatus.WAITING: "waiting",
    HandoffStatus.ASSIGNED: "assigned",
    HandoffStatus.CLOSED: "closed",
}
PUBLIC_PRIORITY: dict[Priority, Literal["urgent", "high", "normal"]] = {
    Priority.URGENT: "urgent",
    Priority.HIGH: "high",
    Priority.NORMAL: "normal",
}

Pusher = Callable[[str, OutboundMessage], Awaitable[int | None]]


class DeskError(Exception):
    """A référent action the handoff's state does not allow; the words are for the console."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def under_16(age: Any) -> bool:
    try:
        return int(str(age).strip().split()[0]) < 16
    except (ValueError, IndexError):
        return False


def band_of_age(age: Any) -> str | None:
    """The handoff age band of an age the dialogue knows ("17", "14 ans"), if any."""
    try:
        years = int(str(age).strip().split()[0])
    except (ValueError, IndexError):
        return None
    consent_age = digital_consent_age()
    if years < consent_age:
        return "under_15"
    if years < 16:
        return "15"
    return "16_17" if years < 18 else "18_plus"


def digital_consent_age() -> int:
    """Below this age a parent must agree too (facts file: loi Informatique et Libertés)."""
    return int(load_facts()["digital_consent_age"].value)


def format_duration(delta: dt.timedelta, locale: str) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 90:
        return gettext(locale, "duration-minutes", n=minutes)
    hours = round(minutes / 60)
    if hours < 48:
        return gettext(locale, "duration-hours", n=hours)
    return gettext(locale, "duration-days", n=round(hours / 24))


class HandoffDesk:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        engine: EngineClient,
        bus: EventBus,
        notifier: Notifier,
        tz: ZoneInfo,
        default_hours: dict[str, str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self.bus = bus
        self.notifier = notifier
        self._tz = tz
        self.reminder_config = DEFAULT_CONFIG  # the gateway sets the configured one
        self._default_hours = WorkingHours.parse(default_hours)
        self._hours = {
            t.id: WorkingHours.parse(t.working_hours) for t in load_directory() if t.working_hours
        }
        self._push: Pusher | None = None
        self._status_sink: Callable[[str, HandoffState], None] | None = None
        self.clock: Callable[[], dt.datetime] = utcnow  # tests set a fixed time

    def attach(
        self, push: Pusher, status_sink: Callable[[str, HandoffState], None] | None = None
    ) -> None:
        """How to deliver a message to a person (the router's ``push``), and how to update
        the status a channel shows without a message (the web chat's queue position)."""
        self._push = push
        self._status_sink = status_sink

    # --- the router's side ----------------------------------------------------------
    def state(self, session: Session, conversation_id: str) -> HandoffState | None:
        handoff = queue.open_handoff(session, conversation_id)
        if handoff is None or handoff.status not in HELD_STATUSES:
            return None
        return self._state_of(session, handoff)

    def _state_of(self, session: Session, handoff: Handoff) -> HandoffState:
        status = PUBLIC_STATUS[handoff.status]
        return HandoffState(
            status, PUBLIC_PRIORITY[handoff.priority], queue.position(session, handoff)
        )

    def owns(self, payload: str | None) -> bool:
        return payload in DESK_PAYLOADS

    def request(self, session: Session, ref: UserRef, instruction: dict[str, Any]) -> DeskReply:
        """The dialogue asked for a person: open (or raise) the handoff, then ask consent."""
        try:
            priority = Priority(str(instruction.get("priority") or "normal"))
        except ValueError:
            priority = Priority.NORMAL
        place = instruction.get("place")
        is_parent = instruction.get("role") == "parent"
        handoff, created = queue.request(
            session,
            queue.Request(
                conversation_id=ref.conversation_id,
                user_id=ref.user_id,
                priority=priority,
                reason=str(instruction.get("reason") or "request_human"),
                territory_id=territory_of(str(place)) if place else None,
                under_16=under_16(instruction.get("age")),
            ),
        )
        locale = ref.locale
        reply = DeskReply(queue_changed=handoff.status is HandoffStatus.WAITING)
        if handoff.status is HandoffStatus.WAITING:
            if priority is Priority.URGENT:
                reply.urgent_handoff_id = handoff.id
                reply.messages.append(
                    self._say(
                        locale,
                        "handoff-urgent-queued",
                        buttons=(Button(gettext(locale, "handoff-button-cancel"), PAYLOAD_CANCEL),),
                    )
                )
                reply.messages.extend(self._outside_hours(handoff, locale))
            if handoff.share_history is None:
                reply.messages.append(
                    self._say(
                        locale,
                        "handoff-urgent-consent",
                        buttons=self._consent_buttons(locale, decline=False),
                    )
                )
        elif handoff.status is HandoffStatus.REQUESTED:
            if handoff.age_band is None:
                known = BAND_PARENT if is_parent else band_of_age(instruction.get("age"))
                if known is not None:
                    queue.set_age_band(session, handoff, known, under_16=False)
            reply.messages.append(self._before_queue(handoff, locale))
        logger.info("handoff %s %s (%s)", handoff.id, "opened" if created else "raised", priority)
        return reply

    def answer(self, session: Session, ref: UserRef, payload: str) -> DeskReply:
        """A consent or cancel button of the desk was pressed."""
        handoff = queue.open_handoff(session, ref.conversation_id, lock=True)
        locale = ref.locale
        reply = DeskReply()
        if handoff is None:
            reply.messages.append(self._say(locale, "handoff-not-current"))
            return reply
        waits_for_age = (
            handoff.status is HandoffStatus.REQUESTED and self._pending_step(handoff) is not None
        )
        if payload.startswith(PAYLOAD_AGE) and handoff.status is HandoffStatus.REQUESTED:
            band = payload.removeprefix(PAYLOAD_AGE)
            if handoff.age_band is None:
                queue.set_age_band(session, handoff, band, under_16=band in ("under_15", "15"))
            # A second press changes nothing: the current question is asked again.
            reply.messages.append(self._before_queue(handoff, locale))
        elif payload in (PAYLOAD_PARENT_OK, PAYLOAD_PARENT_NOT_YET) and (
            handoff.status is HandoffStatus.REQUESTED and handoff.age_band == "under_15"
        ):
            agreed = payload == PAYLOAD_PARENT_OK
            if handoff.parent_agreed is None:
                queue.answer_parent_agreement(session, handoff, agreed)
                consents.record(
                    session, ref.user_id, Purpose.PARENT_AGREEMENT, agreed, CONSENT_WORDING
                )
            if handoff.status is HandoffStatus.CLOSED:
                facts = load_facts()
                reply.messages.append(
                    self._say(
                        locale,
                        "handoff-under-15-not-yet",
                        listening=facts["listening_fil_sante_jeunes"].value,
                        child_danger=facts["emergency_child_danger"].value,
                        emergency=facts["emergency_eu"].value,
                    )
                )
            else:
                reply.messages.append(self._before_queue(handoff, locale))
        elif waits_for_age and payload in (PAYLOAD_SHARE, PAYLOAD_NO_SHARE):
            # A consent button from an earlier message while the age or a parent's
            # agreement is still to be given: that question comes first.
            reply.messages.append(self._before_queue(handoff, locale))
        elif payload in (PAYLOAD_SHARE, PAYLOAD_NO_SHARE):
            share = payload == PAYLOAD_SHARE
            was_requested = handoff.status is HandoffStatus.REQUESTED
            queue.answer_consent(session, handoff, share)
            consents.record(
                session, ref.user_id, Purpose.SHARE_WITH_REFERENT, True, CONSENT_WORDING
            )
            consents.record(session, ref.user_id, Purpose.SHARE_HISTORY, share, CONSENT_WORDING)
            reply.queue_changed = True
            if was_requested:
                reply.messages.append(self._queued_notice(session, handoff, locale, share))
                reply.messages.extend(self._outside_hours(handoff, locale))
            else:
                reply.messages.append(self._say(locale, "handoff-consent-recorded"))
        elif payload == PAYLOAD_DECLINE and handoff.status is HandoffStatus.REQUESTED:
            queue.decline(session, handoff)
            consents.record(
                session, ref.user_id, Purpose.SHARE_WITH_REFERENT, False, CONSENT_WORDING
            )
            reply.messages.append(self._say(locale, "handoff-declined"))
        elif payload == PAYLOAD_CANCEL and handoff.status in (
            HandoffStatus.REQUESTED,
            HandoffStatus.WAITING,
        ):
            queue.cancel(session, handoff)
            reply.queue_changed = True
            reply.messages.append(self._say(locale, "handoff-cancelled"))
        else:
            reply.messages.append(self._say(locale, "handoff-not-current"))
        return reply

    async def publish(self, reply: DeskReply) -> None:
        """Tell the console (and the référents' chat) what a committed change means."""
        if reply.queue_changed or reply.urgent_handoff_id is not None:
            self._queue_moved()
        if reply.urgent_handoff_id is not None:
            with session_scope(self._sessions) as session:
                handoff = session.get(Handoff, reply.urgent_handoff_id)
                audience = _audience(handoff) if handoff else {}
                territory = handoff.territory_id if handoff else None
            self.bus.publish(
                CONSOLE, {"type": "urgent", "handoff_id": reply.urgent_handoff_id, **audience}
            )
            await self.notifier.urgent(reply.urgent_handoff_id, territory)

    async def show_message(self, message_id: int) -> None:
        """Show a message of a conversation a human holds or is awaited for: one the person
        wrote, or one whose delivery changed (sent again after the channel failed)."""
        with session_scope(self._sessions) as session:
            message = session.get(Message, message_id)
            if message is None:
                return
            handoff = queue.open_handoff(session, message.conversation_id)
            if handoff is None:
                return
            event = {
                "type": "message",
                "handoff_id": handoff.id,
                "message": message_view(message),
                **_audience(handoff),
            }
        self.bus.publish(CONSOLE, event)

    # --- the référent's side ----------------------------------------------------------
    async def claim(self, handoff_id: int, referent_id: str) -> ClaimResult:
        with session_scope(self._sessions) as session:
            referent = _referent(session, referent_id)
            result = queue.claim(session, handoff_id, referent)
            if result is not ClaimResult.CLAIMED:
                return result
            handoff = session.get(Handoff, handoff_id)
            assert handoff is not None
            user_id, name = handoff.user_id, referent.display_name
            state = self._state_of(session, handoff)
            locale = _locale(session, user_id)
        await self._tell(user_id, gettext(locale, "handoff-claimed", name=name), state)
        self._queue_moved()
        return result

    async def send(self, handoff_id: int, referent_id: str, text: str) -> dict[str, Any]:
        """A référent's message, delivered to the person on their channel."""
        with session_scope(self._sessions) as session:
            referent = _referent(session, referent_id)
            handoff = self._held(session, handoff_id, referent)
            user_id, audience = handoff.user_id, _audience(handoff)
        assert self._push is not None
        message_id = await self._push(user_id, OutboundMessage(text=text, sender="referent"))
        with session_scope(self._sessions) as session:
            row = session.get(Message, message_id) if message_id else None
            view = message_view(row) if row else {"text": text, "sender": "referent"}
        self.bus.publish(
            CONSOLE, {"type": "message", "handoff_id": handoff_id, "message": view, **audience}
        )
        return view

    async def release(self, handoff_id: int, referent_id: str) -> None:
        with session_scope(self._sessions) as session:
            referent = _referent(session, referent_id)
            handoff = self._held(session, handoff_id, referent)
            queue.release(session, handoff, referent)
            session.flush()
            state = self._state_of(session, handoff)
            user_id, locale = handoff.user_id, _locale(session, handoff.user_id)
        text = gettext(locale, "handoff-released", position=state.position or 1)
        await self._tell(user_id, text, state)
        self._queue_moved()

    async def transfer(
        self, handoff_id: int, referent_id: str, colleague_id: str, *, supervisor: bool = False
    ) -> None:
        with session_scope(self._sessions) as session:
            referent = _referent(session, referent_id)
            colleague = session.get(Referent, colleague_id)
            handoff = queue.get_locked(session, handoff_id)
            if colleague is None or handoff is None or not queue.can_see(referent, handoff):
                raise DeskError(404, "Conversation ou collègue introuvable.")
            try:
                if supervisor:
                    queue.assign(session, handoff, referent, colleague)
                else:
                    queue.transfer(session, handoff, referent, colleague)
            except queue.QueueError as exc:
                raise DeskError(409, str(exc)) from exc
            state = self._state_of(session, handoff)
            user_id, locale, name = (
                handoff.user_id,
                _locale(session, handoff.user_id),
                colleague.display_name,
            )
        await self._tell(user_id, gettext(locale, "handoff-transferred", name=name), state)
        self._queue_moved()

    async def close(self, handoff_id: int, referent_id: str, outcome: Outcome) -> None:
        """Close with an outcome (or hand back to the bot); the bot resumes."""
        with session_scope(self._sessions) as session:
            referent = _referent(session, referent_id)
            handoff = self._held(session, handoff_id, referent)
            queue.close(session, handoff, referent, outcome)
            user_id, priority = handoff.user_id, PUBLIC_PRIORITY[handoff.priority]
            if outcome is Outcome.FOLLOW_UP:
                # One gentle check-in if the person stays silent for weeks (cancelled as
                # soon as they write; never sent after "stop").
                config = self.reminder_config
                reminders.schedule_check_in(
                    session,
                    user_id,
                    utcnow(),
                    weeks=int(config.check_in_after / dt.timedelta(weeks=1)),
                    tz=self._tz,
                    config=config,
                )
            locale = _locale(session, user_id)
        self._queue_moved()
        await self.resume_bot(user_id, locale, outcome, priority)

    async def resume_bot(
        self,
        user_id: str,
        locale: str,
        outcome: Outcome,
        priority: Literal["urgent", "high", "normal"] = "normal",
    ) -> None:
        """The bot takes the conversation back and knows a human handled it."""
        assert self._push is not None
        try:
            messages, _custom = await self._engine.trigger_intent(
                user_id, RESUME_INTENT, {"outcome": outcome.value}
            )
        except EngineUnavailableError:
            logger.warning("engine unavailable when handing back; the gateway says it")
            messages = []
        if not messages:
            messages = [OutboundMessage(text=gettext(locale, "handoff-back-to-bot"), sender="bot")]
        closed = HandoffState("closed", priority, None)
        for message in messages:
            await self._push(user_id, _with_state(message, closed))

    async def escalate(self) -> int:
        """Flag and escalate handoffs waiting too long (a scheduled job)."""
        with session_scope(self._sessions) as session:
            due = [(h.id, h.priority, h.territory_id) for h in queue.due_for_escalation(session)]
        for handoff_id, priority, territory in due:
            await self.notifier.escalated(handoff_id, priority.value, territory)
        if due:
            self._queue_moved()
        return len(due)

    # --- helpers ----------------------------------------------------------------------
    def _queue_moved(self) -> None:
        """Consoles reload the queue; people waiting see their new position."""
        self.bus.publish(CONSOLE, {"type": "queue"})
        if self._status_sink is None:
            return
        with session_scope(self._sessions) as session:
            positions = queue.positions(session)
        for user_id, (priority, position) in positions.items():
            self._status_sink(user_id, HandoffState("waiting", PUBLIC_PRIORITY[priority], position))

    def _held(self, session: Session, handoff_id: int, referent: Referent) -> Handoff:
        handoff = queue.get_locked(session, handoff_id)
        if handoff is None or not queue.can_see(referent, handoff):
            raise DeskError(404, "Conversation introuvable.")
        if handoff.status is not HandoffStatus.ASSIGNED:
            raise DeskError(409, "Cette conversation n'est plus prise en charge.")
        if handoff.referent_id != referent.id and not referent.is_supervisor:
            raise DeskError(409, "Une ou un collègue tient cette conversation.")
        return handoff

    async def _tell(self, user_id: str, text: str, state: HandoffState) -> None:
        assert self._push is not None
        await self._push(user_id, OutboundMessage(text=text, sender="system", handoff=state))

    def _say(
        self, locale: str, key: str, buttons: tuple[Button, ...] = (), **params: object
    ) -> OutboundMessage:
        """The assistant answering the person about their request (consent, queue, hours).
        Notices about the référent side (joined, released...) are ``system`` messages."""
        return OutboundMessage(text=gettext(locale, key, **params), buttons=buttons, sender="bot")

    def _pending_step(self, handoff: Handoff) -> str | None:
        """What must be answered before the consent question of a non-urgent request."""
        if handoff.priority is Priority.URGENT:
            return None  # urgent help is never held back by a question
        if handoff.age_band is None:
            return "age"
        if handoff.age_band == "under_15" and not handoff.parent_agreed:
            return "parent"
        return None

    def _before_queue(self, handoff: Handoff, locale: str) -> OutboundMessage:
        """The next question of a request waiting for the person's answers."""
        step = self._pending_step(handoff)
        if step == "age":
            buttons = tuple(
                Button(gettext(locale, f"handoff-age-{band}"), f"{PAYLOAD_AGE}{band}")
                for band in AGE_BANDS
            )
            return self._say(locale, "handoff-age-question", buttons=buttons)
        if step == "parent":
            return self._say(
                locale,
                "handoff-parent-question",
                buttons=(
                    Button(gettext(locale, "handoff-button-parent-ok"), PAYLOAD_PARENT_OK),
                    Button(
                        gettext(locale, "handoff-button-parent-not-yet"), PAYLOAD_PARENT_NOT_YET
                    ),
                ),
                age=digital_consent_age(),
            )
        return self._say(locale, "handoff-consent", buttons=self._consent_buttons(locale))

    def _consent_buttons(self, locale: str, decline: bool = True) -> tuple[Button, ...]:
        buttons = [
            Button(gettext(locale, "handoff-button-share"), PAYLOAD_SHARE),
            Button(gettext(locale, "handoff-button-no-share"), PAYLOAD_NO_SHARE),
        ]
        if decline:
            buttons.append(Button(gettext(locale, "handoff-button-decline"), PAYLOAD_DECLINE))
        return tuple(buttons)

    def _queued_notice(
        self, session: Session, handoff: Handoff, locale: str, share: bool
    ) -> OutboundMessage:
        wait = queue.typical_wait(session, handoff.priority)
        estimate = (
            gettext(locale, "handoff-estimate", duration=format_duration(wait, locale))
            if wait is not None
            else gettext(locale, "handoff-estimate-unknown")
        )
        key = "handoff-queued" if share else "handoff-queued-no-share"
        buttons = [Button(gettext(locale, "handoff-button-cancel"), PAYLOAD_CANCEL)]
        if share:
            # Consent taken back where it was given: from now on, only what follows.
            buttons.append(Button(gettext(locale, "handoff-button-no-share"), PAYLOAD_NO_SHARE))
        return self._say(
            locale,
            key,
            buttons=tuple(buttons),
            position=queue.position(session, handoff) or 1,
            estimate=estimate,
        )

    def hours_of(self, territory_id: str | None) -> WorkingHours:
        return self._hours.get(territory_id or "", self._default_hours)

    def _outside_hours(self, handoff: Handoff, locale: str) -> list[OutboundMessage]:
        hours = self.hours_of(handoff.territory_id)
        now = self.clock()
        if hours.is_open(now, self._tz):
            return []
        opening = hours.next_opening(now, self._tz)
        when = format_when(opening, locale, self._tz) if opening else "?"
        if handoff.priority is Priority.URGENT:
            facts = load_facts()
            return [
                self._say(
                    locale,
                    "handoff-outside-hours-urgent",
                    when=when,
                    emergency=facts["emergency_eu"].value,
                    sms=facts["emergency_sms"].value,
                    suicide_line=facts["emergency_suicide_prevention"].value,
                )
            ]
        return [self._say(locale, "handoff-outside-hours", when=when)]


def _referent(session: Session, referent_id: str) -> Referent:
    referent = session.get(Referent, referent_id)
    if referent is None or not referent.active:
        raise DeskError(401, "Votre session a expiré : reconnectez-vous.")
    return referent


def _locale(session: Session, user_id: str) -> str:
    user = session.get(User, user_id)
    return user.locale if user else "fr"


def _audience(handoff: Handoff) -> dict[str, Any]:
    """Who may receive a console event about this handoff (stripped before sending)."""
    return {
        "_territory": handoff.territory_id,
        "_under_16": handoff.under_16,
        "_holder": handoff.referent_id,
    }


def _with_state(message: OutboundMessage, state: HandoffState) -> OutboundMessage:
    return OutboundMessage(message.text, message.buttons, message.sender, state)


def message_view(message: Message) -> dict[str, Any]:
    """A message as the console shows it (plain text; the page escapes it)."""
    return {
        "id": message.id,
        "direction": message.direction.value,
        "sender": message.sender.value,
        "text": message.text or message.payload or "",
        "buttons": [{"title": b.get("title", "")} for b in message.buttons or []],
        "delivery": message.delivery.value,  # "failed": the channel did not take it
        "created_at": message.created_at.isoformat(),
    }
