"""The conversation router: every inbound message, from any channel, goes through here.

It records the message, then sends it to the bot (the Rasa engine) or, when a human
holds the conversation, to the human desk (``handoff``). Every reply is recorded too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import timing
from bot.appointments import reminders
from bot.conversations import store
from bot.conversations.models import Channel, Delivery, Message, User
from bot.conversations.redelivery import Redelivery, attempt
from bot.db import session_scope, utcnow
from bot.emergency import with_emergency_numbers
from bot.engine_client import EngineClient, EngineUnavailableError
from bot.i18n import SUPPORTED_LOCALES, gettext
from bot.messages import (
    DeskReply,
    HandoffState,
    InboundMessage,
    OutboundMessage,
    RouteResult,
)
from bot.self_assessment import store as self_assessment_store
from dialogues.knowledge.base import response_text
from handoff.levels import level_of
from nlu.components.danger import danger_in, fold
from nlu.components.normalise import normalise

logger = logging.getLogger(__name__)

# How sure the NLU must be that a message written while waiting for a person is a danger
# before the emergency answer is given (the référent reads the message either way).
URGENT_WHILE_WAITING = 0.5
# The person's rights are never put on hold by a handoff: these requests, written while a
# person is awaited or holds the conversation, are answered by the gateway at once (the
# référent still reads the message). Sure enough not to answer a sentence that is not one.
# "stop" only from its button: typed to a référent, "stop" or "coupe" may mean something
# else entirely, and stopping reminders on a misreading would cost an appointment.
RIGHTS_WHILE_HELD = frozenset({"data_access_request", "data_deletion_request"})
RIGHTS_BUTTONS_WHILE_HELD = RIGHTS_WHILE_HELD | {"stop_messages"}
RIGHTS_CONFIDENCE = 0.8
# The words the assistant itself tells people to type for their rights (the first-contact
# notice, the data panel): they always work, as if the button were pressed, whatever the
# NLU makes of two words. Compared after folding case, accents, quotes and end punctuation.
ADVERTISED_COMMANDS = {
    "mes donnees": "data_access_request",
    "my data": "data_access_request",
    "supprime mes donnees": "data_deletion_request",
    "delete my data": "data_deletion_request",
}
HELD_PARSE_SECONDS = 3.0


class HumanDesk(Protocol):
    """What the router needs from the handoff package (``handoff.desk.HandoffDesk``)."""

    def state(self, session: Session, conversation_id: str) -> HandoffState | None:
        """The handoff state when a human holds (or is awaited for) the conversation."""

    def owns(self, payload: str | None) -> bool:
        """True for the desk's own buttons (consent, cancel): they never reach the bot."""

    def answer(self, session: Session, ref: UserRef, payload: str) -> DeskReply:
        """Act on one of the desk's buttons."""

    def request(self, session: Session, ref: UserRef, instruction: dict[str, Any]) -> DeskReply:
        """The dialogue asked for a person."""

    async def publish(self, reply: DeskReply) -> None:
        """Tell the référents' side about a committed change."""

    async def show_message(self, message_id: int) -> None:
        """Show the référents' side a message the young person wrote, or one whose delivery
        changed."""


class NoHumanDesk:
    """Without a desk (unit tests of one piece), the bot answers everything."""

    def state(self, session: Session, conversation_id: str) -> HandoffState | None:
        return None

    def owns(self, payload: str | None) -> bool:
        return False

    def answer(self, session: Session, ref: UserRef, payload: str) -> DeskReply:
        return DeskReply()

    def request(self, session: Session, ref: UserRef, instruction: dict[str, Any]) -> DeskReply:
        return DeskReply()

    async def publish(self, reply: DeskReply) -> None:
        return None

    async def show_message(self, message_id: int) -> None:
        return None


# Answers a request the dialogue passed to the gateway (``action_ask_gateway``): the
# records it is about (appointments, preferences, personal data) belong to the gateway.
GatewayService = Callable[
    [Session, "UserRef", dict[str, str]], "list[OutboundMessage] | ButtonAnswer"
]


@dataclass(slots=True)
class ButtonAnswer:
    """What a gateway-owned button answers, and what to do once that is committed (tell
    the référent, for instance)."""

    messages: list[OutboundMessage]
    after: Callable[[], Awaitable[None]] | None = None
    forget: bool = False  # see ``RouteResult.forget``


class ButtonOwner(Protocol):
    """Buttons about records the gateway owns (appointments, personal data): answered by
    the gateway in the person's transaction, never sent to the dialogue."""

    def owns(self, payload: str | None) -> bool: ...

    def answer(self, session: Session, ref: UserRef, payload: str) -> ButtonAnswer: ...


# Pushes a recorded message to the person; returns False when nobody is listening yet
# (the message stays pending and is replayed when they come back).
ProactiveSender = Callable[[User, OutboundMessage, int], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class UserRef:
    user_id: str
    conversation_id: str
    locale: str
    channel: Channel


@dataclass(frozen=True, slots=True)
class _Recorded:
    """An inbound message once recorded: what ``handle`` goes on with."""

    ref: UserRef
    inbound: InboundMessage  # as handled: an advertised command becomes its button
    message_id: int
    notice: OutboundMessage | None  # the first-contact notice, to go before the answer
    button: ButtonAnswer | None  # answered by a gateway-owned button
    desk_reply: DeskReply | None  # answered by the desk's own button
    handoff: HandoffState | None  # a person is awaited or holds the conversation


class ConversationRouter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        engine: EngineClient,
        desk: HumanDesk | None = None,
        actions_ok: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        # Rasa answers 200 with no message when the action server is down: this probe
        # tells that silence apart from a turn that really has nothing to say.
        self.actions_ok = actions_ok
        self.desk: HumanDesk = desk or NoHumanDesk()
        self._senders: dict[Channel, ProactiveSender] = {}
        # Sends again, in order, what a channel did not take (the gateway runs it).
        self.redelivery = Redelivery(sessions, self._senders, on_change=self.desk.show_message)
        self._services: dict[str, GatewayService] = {}
        self._button_owners: list[ButtonOwner] = []
        # What a person is told on first contact (who runs the service, what is kept, who
        # sees it, how to delete), before any question is put to them.
        self.first_contact_notice: Callable[[str], OutboundMessage] | None = None

    def register_channel(self, channel: Channel, sender: ProactiveSender) -> None:
        """Channels register how to push a message that is not a reply (SSE, Telegram)."""
        self._senders[channel] = sender

    def mark_answers(
        self,
        channel: Channel,
        external_id: str,
        client_message_id: str,
        answers: int,
        positions: slice,
        delivery: Delivery,
    ) -> int:
        """The channel's outcome for some of the ``answers`` to the person's message
        ``client_message_id`` (recorded ``DONE`` before they were sent): ``FAILED`` ones
        are sent again by redelivery. How many were marked."""
        with session_scope(self._sessions) as session:
            marked = store.mark_answers(
                session, channel, external_id, client_message_id, answers, positions, delivery
            )
        logger.warning("%d answers on %s: %s", marked, channel.value, delivery.value)
        return marked

    def register_service(self, intent: str, service: GatewayService) -> None:
        """The gateway's answer to one intent the dialogue passes on."""
        self._services[intent] = service

    def register_buttons(self, owner: ButtonOwner) -> None:
        self._button_owners.append(owner)

    def _owner_of(self, payload: str | None) -> ButtonOwner | None:
        return next((o for o in self._button_owners if o.owns(payload)), None)

    def open_user(self, channel: Channel, external_id: str, locale: str) -> UserRef:
        with session_scope(self._sessions) as session:
            user = store.get_or_create_user(session, channel, external_id, locale)
            conversation = store.current_conversation(session, user)
            return UserRef(user.id, conversation.id, user.locale, user.channel)

    async def handle(
        self, channel: Channel, external_id: str, inbound: InboundMessage, locale: str = "fr"
    ) -> RouteResult:
        """Record an inbound message, route it, record and return the replies."""
        # Database work runs in a worker thread: a write waiting for SQLite's lock (or a slow
        # PostgreSQL) must not stall every other conversation, stream and poller of this
        # gateway, which share its event loop.
        recorded = await timing.in_thread(
            "record", self._record, channel, external_id, inbound, locale
        )
        if isinstance(recorded, RouteResult):
            return recorded  # a repeat: answered again, nothing done twice
        ref, inbound, message_id = recorded.ref, recorded.inbound, recorded.message_id
        button, desk_reply, handoff = recorded.button, recorded.desk_reply, recorded.handoff
        if button is not None:
            if button.after is not None:
                await button.after()
            return RouteResult(messages=button.messages, handoff=handoff, forget=button.forget)
        if desk_reply is not None:
            await self.desk.publish(desk_reply)
            return RouteResult(messages=desk_reply.messages, handoff=handoff)
        if handoff is not None:
            # A human is awaited or holds the conversation: the bot stays silent...
            await self.desk.show_message(message_id)
            intent, confidence = await self._intent_of_held(inbound)
            right = self._right_while_held(intent, confidence, inbound.payload is not None)
            if right is not None:
                return await self._serve_right(ref, message_id, right, handoff)
            danger = self._danger_while_waiting(handoff, inbound, intent, confidence)
            if danger is None:
                return RouteResult(messages=[], handoff=handoff)
            # ...except for a danger written while waiting: the numbers at once, and the
            # request becomes urgent (the dialogue's urgent rule raises it).
            return await self._ask_engine(ref, inbound, message_id, trigger=danger)

        # Nobody was involved when the message came in: unless this turn asks for a person
        # (or the gateway), the reply's handoff state is that one, not read again (the status
        # bar hears of any later change through the desk's own events).
        return await self._ask_engine(
            ref, inbound, message_id, notice=recorded.notice, read_state=False
        )

    def _record(
        self, channel: Channel, external_id: str, inbound: InboundMessage, locale: str
    ) -> RouteResult | _Recorded:
        """The inbound message recorded, with what the gateway answers itself (its own
        buttons, the desk's) and the conversation's handoff state; or the answer to a
        repeat. One transaction (runs in a worker thread)."""
        try:
            with session_scope(self._sessions) as session:
                user = store.get_or_create_user(session, channel, external_id, locale)
                conversation = store.current_conversation(session, user)
                ref = UserRef(user.id, conversation.id, user.locale, user.channel)
                repeat = self._repeat(session, conversation.id, inbound)
                if repeat is not None:
                    return repeat
                message = store.record_inbound(
                    session,
                    conversation,
                    text=inbound.text,
                    payload=inbound.payload,
                    client_message_id=inbound.client_message_id,
                )
                message_id = message.id
                notice = (
                    self.first_contact_notice(user.locale)
                    if self.first_contact_notice is not None
                    and not store.was_ever_answered(session, user.id)
                    else None
                )
                # Someone who writes is not silent: a pending follow-up check-in is dropped.
                reminders.note_user_activity(session, user.id, utcnow())
                desk_reply: DeskReply | None = None
                button: ButtonAnswer | None = None
                command = advertised_command(inbound)
                if command is not None:  # recorded as typed, handled as its button
                    inbound = InboundMessage(
                        text=inbound.text,
                        payload=f"/{command}",
                        client_message_id=inbound.client_message_id,
                    )
                owner = self._owner_of(inbound.payload)
                if owner is not None:
                    # A gateway-owned button (an appointment, personal data): answered here,
                    # even while a person holds the conversation.
                    button = owner.answer(session, ref, inbound.payload or "")
                    store.set_delivery(session, message_id, Delivery.DONE)
                    store.record_outbound(
                        session, conversation.id, button.messages, reply_to_id=message_id
                    )
                elif self.desk.owns(inbound.payload):
                    # The desk's own buttons (consent, cancel) are answered by the desk.
                    desk_reply = self.desk.answer(session, ref, inbound.payload or "")
                    store.set_delivery(session, message_id, Delivery.DONE)
                    store.record_outbound(
                        session, conversation.id, desk_reply.messages, reply_to_id=message_id
                    )
                handoff = self.desk.state(session, conversation.id)
                if desk_reply is None and button is None and handoff is not None:
                    store.set_delivery(session, message_id, Delivery.HELD_FOR_HUMAN)
        except IntegrityError:
            # A retry may race its original through another gateway (several behind a load
            # balancer): the unique (conversation, client id) keeps the first; this one waited
            # for its commit and failed. This transaction rolled back whole, nothing of it
            # was done: it is answered as a repeat (only this first transaction is covered).
            repeat = self._repeat_of_raced(channel, external_id, inbound)
            if repeat is None:
                raise
            return repeat
        return _Recorded(ref, inbound, message_id, notice, button, desk_reply, handoff)

    def _repeat(
        self, session: Session, conversation_id: str, inbound: InboundMessage
    ) -> RouteResult | None:
        """A retried send (its client id already recorded): answer again with what was
        answered to it (nothing yet while the original is still with the bot), do nothing
        twice."""
        if not inbound.client_message_id:
            return None
        earlier = store.find_by_client_id(session, conversation_id, inbound.client_message_id)
        if earlier is None:
            return None
        replies = store.replies_to(session, earlier.id)
        return RouteResult(
            messages=[store.as_outbound(m) for m in replies],
            handoff=self.desk.state(session, conversation_id),
            duplicate=True,
        )

    def _repeat_of_raced(
        self, channel: Channel, external_id: str, inbound: InboundMessage
    ) -> RouteResult | None:
        """After a failed recording: the repeat, if another request recorded this send."""
        with session_scope(self._sessions) as session:
            user = store.get_user(session, channel, external_id)
            if user is None:
                return None
            return self._repeat(session, store.current_conversation(session, user).id, inbound)

    async def _intent_of_held(self, inbound: InboundMessage) -> tuple[str, float]:
        """What a held message says (intent, confidence): a button's own intent, or the
        NLU's reading of the text; nothing when the engine cannot tell."""
        if inbound.payload is not None:
            return inbound.payload.removeprefix("/").split("{")[0].split(":")[0], 1.0
        if not inbound.text:
            return "", 0.0
        try:
            # A held message is answered (with silence) at once: a slow engine must not
            # keep the person waiting for a check that rarely finds anything.
            parsed = await asyncio.wait_for(self._engine.parse(inbound.text), HELD_PARSE_SECONDS)
        except (EngineUnavailableError, TimeoutError):
            # The message is kept for the référent either way; a danger said in plain words
            # still gets its numbers without the engine (the same lexicon as the NLU's).
            danger = _danger_without_engine(inbound, None)
            return (danger, 1.0) if danger else ("", 0.0)
        intent = parsed.get("intent") or {}
        return str(intent.get("name") or ""), float(intent.get("confidence") or 0)

    def _right_while_held(self, intent: str, confidence: float, pressed: bool) -> str | None:
        """The rights request (access, erasure, stop) a held message makes, if any."""
        rights = RIGHTS_BUTTONS_WHILE_HELD if pressed else RIGHTS_WHILE_HELD
        if intent in rights and intent in self._services:
            return intent if confidence >= RIGHTS_CONFIDENCE else None
        return None

    async def _serve_right(
        self, ref: UserRef, message_id: int, intent: str, handoff: HandoffState
    ) -> RouteResult:
        served = await timing.in_thread("answer", self._record_right, ref, message_id, intent)
        logger.info("rights request answered while a person is involved: %s", intent)
        if served.after is not None:
            await served.after()
        return RouteResult(messages=served.messages, handoff=handoff, forget=served.forget)

    def _record_right(self, ref: UserRef, message_id: int, intent: str) -> ButtonAnswer:
        """A rights request served by the gateway and recorded (in a worker thread)."""
        with session_scope(self._sessions) as session:
            served = self._serve(session, ref, {"intent": intent})
            store.record_outbound(
                session, ref.conversation_id, served.messages, reply_to_id=message_id
            )
        return served

    @staticmethod
    def _danger_while_waiting(
        handoff: HandoffState, inbound: InboundMessage, intent: str, confidence: float
    ) -> str | None:
        """The urgent intent of a message written while waiting for a person, if any."""
        if handoff.status != "waiting" or handoff.priority == "urgent" or not inbound.text:
            return None
        if level_of(intent) == "urgent" and confidence >= URGENT_WHILE_WAITING:
            return intent
        return None

    async def _ask_engine(
        self,
        ref: UserRef,
        inbound: InboundMessage,
        message_id: int,
        trigger: str | None = None,
        notice: OutboundMessage | None = None,
        read_state: bool = True,
    ) -> RouteResult:
        metadata = {"locale": ref.locale, "channel": ref.channel.value}
        try:
            with timing.stage("engine"):
                if trigger is not None:
                    replies, custom = await self._engine.trigger_intent(ref.user_id, trigger)
                else:
                    replies, custom = await self._engine.send(
                        ref.user_id, inbound.engine_text, metadata
                    )
            if not replies and self.actions_ok is not None and not await self.actions_ok():
                logger.warning("empty reply while the action server is down")
                raise EngineUnavailableError
        except EngineUnavailableError:
            danger = _danger_without_engine(inbound, trigger)
            if danger is not None:
                return await self._urgent_without_engine(ref, message_id, danger, trigger, notice)
            unavailable = OutboundMessage(
                text=with_emergency_numbers(ref.locale, "engine-unavailable"), sender="system"
            )
            answer = [unavailable] if notice is None else [notice, unavailable]
            await timing.in_thread(
                "answer", self._record_unavailable, ref, message_id, trigger, answer
            )
            return RouteResult(messages=answer)

        asks_gateway = isinstance(custom.get("gateway"), dict)
        if not replies and not isinstance(custom.get("handoff"), dict) and not asks_gateway:
            # Never leave a person with silence: a turn that produced nothing (an action
            # that failed inside the engine) is said plainly; the message is kept. A
            # handoff request is not silence: the desk answers it.
            logger.warning("the engine answered with no message")
            replies = [
                OutboundMessage(text=gettext(ref.locale, "engine-no-answer"), sender="system")
            ]
        result, desk_reply, after = await timing.in_thread(
            "answer",
            self._record_answer,
            ref,
            message_id,
            replies,
            custom,
            trigger,
            notice,
            read_state,
        )
        if desk_reply is not None:
            await self.desk.publish(desk_reply)
        if after is not None:
            await after()
        return result

    def _record_unavailable(
        self,
        ref: UserRef,
        message_id: int,
        trigger: str | None,
        answer: list[OutboundMessage],
    ) -> None:
        """The engine did not answer: the message is marked and the apology recorded."""
        with session_scope(self._sessions) as session:
            if trigger is None:  # a held message stays held for the référent
                store.set_delivery(session, message_id, Delivery.ENGINE_UNAVAILABLE)
            store.record_outbound(session, ref.conversation_id, answer, reply_to_id=message_id)

    def _record_answer(
        self,
        ref: UserRef,
        message_id: int,
        replies: list[OutboundMessage],
        custom: dict[str, Any],
        trigger: str | None,
        notice: OutboundMessage | None,
        read_state: bool,
    ) -> tuple[RouteResult, DeskReply | None, Callable[[], Awaitable[None]] | None]:
        """The engine's answer recorded with what it asked of the gateway (a service, a
        person, the language, the self-assessment); one transaction (in a worker thread).
        Returns the result, the desk's reply to publish and what to do once committed."""
        asks_gateway = isinstance(custom.get("gateway"), dict)
        result = RouteResult(messages=replies)
        desk_reply: DeskReply | None = None
        after: Callable[[], Awaitable[None]] | None = None
        with session_scope(self._sessions) as session:
            if trigger is None:
                store.set_delivery(session, message_id, Delivery.DONE)
            result.set_locale = self._apply_custom(session, ref, custom, message_id)
            if asks_gateway:
                served = self._serve(session, ref, custom["gateway"])
                result.messages = [*replies, *served.messages]
                after = served.after
            if isinstance(custom.get("handoff"), dict):
                # The dialogue asked for a person: the desk adds consent and queue messages.
                locale_ref = (
                    UserRef(ref.user_id, ref.conversation_id, result.set_locale, ref.channel)
                    if result.set_locale
                    else ref
                )
                desk_reply = self.desk.request(session, locale_ref, custom["handoff"])
                result.messages = [*replies, *desk_reply.messages]
            if notice is not None:
                result.messages = with_notice(result.messages, notice, custom)
            store.record_outbound(
                session, ref.conversation_id, result.messages, reply_to_id=message_id
            )
            if read_state or desk_reply is not None or asks_gateway:
                result.handoff = self.desk.state(session, ref.conversation_id)
        return result, desk_reply, after

    async def _urgent_without_engine(
        self,
        ref: UserRef,
        message_id: int,
        danger: str,
        trigger: str | None,
        notice: OutboundMessage | None,
    ) -> RouteResult:
        """The engine is down and the message says a danger: the gateway gives that
        danger's numbers first, in the dialogue's own words, and raises the urgent request
        itself. A person in danger never depends on the engine being up."""
        logger.warning("engine unavailable: urgent answer given by the gateway (%s)", danger)
        try:
            numbers = response_text(f"utter_{danger}", ref.locale)
        except Exception:  # content broken: the general emergency numbers, never nothing
            logger.exception("urgent answer text unavailable")
            numbers = with_emergency_numbers(ref.locale, "engine-unavailable")
        messages = [
            OutboundMessage(text=numbers, sender="system"),
            OutboundMessage(text=gettext(ref.locale, "engine-unavailable-urgent"), sender="system"),
        ]
        instruction = {"priority": "urgent", "reason": danger, "place": None, "age": None}
        messages, desk_reply, handoff = await timing.in_thread(
            "answer",
            self._queue_urgent_without_engine,
            ref,
            message_id,
            trigger,
            instruction,
            messages,
            notice,
        )
        if desk_reply is not None:
            await self.desk.publish(desk_reply)
        return RouteResult(messages=messages, handoff=handoff)

    def _queue_urgent_without_engine(
        self,
        ref: UserRef,
        message_id: int,
        trigger: str | None,
        instruction: dict[str, Any],
        messages: list[OutboundMessage],
        notice: OutboundMessage | None,
    ) -> tuple[list[OutboundMessage], DeskReply | None, HandoffState | None]:
        """The urgent request raised and the numbers recorded, one transaction (in a
        worker thread); the messages as given, the desk's reply and the handoff state."""
        desk_reply: DeskReply | None = None
        with session_scope(self._sessions) as session:
            if trigger is None:
                store.set_delivery(session, message_id, Delivery.ENGINE_UNAVAILABLE)
            try:
                # A savepoint: if the queue fails, the numbers are still recorded and given.
                with session.begin_nested():
                    desk_reply = self.desk.request(session, ref, instruction)
            except Exception:
                logger.exception("urgent request could not be queued without the engine")
            if desk_reply is not None:
                messages = [*messages, *desk_reply.messages]
            if notice is not None:
                messages = with_notice(messages, notice, {"handoff": instruction})
            store.record_outbound(session, ref.conversation_id, messages, reply_to_id=message_id)
            handoff = self.desk.state(session, ref.conversation_id)
        return messages, desk_reply, handoff

    def _serve(self, session: Session, ref: UserRef, request: dict[str, Any]) -> ButtonAnswer:
        intent = str(request.get("intent") or "")
        raw = request.get("entities")
        entities = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        service = self._services.get(intent)
        if service is None:
            return ButtonAnswer(
                [OutboundMessage(text=gettext(ref.locale, "gateway-not-available"))]
            )
        answer = service(session, ref, entities)
        return answer if isinstance(answer, ButtonAnswer) else ButtonAnswer(answer)

    def _apply_custom(
        self, session: Session, ref: UserRef, custom: dict[str, Any], message_id: int
    ) -> str | None:
        """Apply instructions the dialogue sent as ``custom`` JSON (language, not understood,
        the self-assessment to keep or delete)."""
        if custom.get("not_understood") is True:
            store.mark_not_understood(session, message_id)
        assessment = custom.get("self_assessment")
        if isinstance(assessment, dict):
            if isinstance(assessment.get("save"), dict):
                self_assessment_store.save(session, ref.user_id, assessment["save"])
            elif assessment.get("delete") is True:
                self_assessment_store.delete_for(session, ref.user_id)
        locale = custom.get("set_locale")
        if isinstance(locale, str) and locale in SUPPORTED_LOCALES and locale != ref.locale:
            store.set_locale(session, ref.user_id, locale)
            return locale
        return None

    async def push(self, user_id: str, message: OutboundMessage) -> int | None:
        """Deliver a message that is not a reply (référent, reminder, queue update); return
        the id of the recorded message."""
        # Database work in worker threads, off the event loop every conversation shares.
        recorded = await asyncio.to_thread(self._record_push, user_id, message)
        if recorded is None:
            return None
        user, row_id = recorded
        sender = self._senders.get(user.channel)
        if sender is None:  # another instance runs this channel: its redelivery sends it
            return row_id
        person = (user.channel, user.external_id)
        async with self.redelivery.turn_of(*person):
            if not await asyncio.to_thread(self._still_pending, row_id):
                # A flush that held the turn long enough found it waiting and sent it (or
                # the person's data was erased meanwhile): nothing more to do.
                return row_id
            queued = await asyncio.to_thread(self.redelivery.has_backlog, *person)
            # Earlier messages wait to be sent again: this one goes behind them, in order.
            delivery = Delivery.FAILED if queued else await attempt(sender, user, message, row_id)
            if delivery is not Delivery.PENDING:
                await asyncio.to_thread(self._set_delivery, row_id, delivery)
        if queued:
            self.redelivery.flush_soon(*person)
        return row_id

    def _record_push(self, user_id: str, message: OutboundMessage) -> tuple[User, int] | None:
        """The pushed message recorded as pending, with its (detached) person."""
        with session_scope(self._sessions) as session:
            user = session.get(User, user_id)
            if user is None:
                logger.warning("push to an unknown user skipped")
                return None
            conversation = store.current_conversation(session, user)
            (row,) = store.record_outbound(
                session, conversation.id, [message], delivery=Delivery.PENDING
            )
            row_id = row.id
            session.expunge(user)
        return user, row_id

    def _still_pending(self, row_id: int) -> bool:
        with session_scope(self._sessions) as session:
            current = session.get(Message, row_id)
            return current is not None and current.delivery is Delivery.PENDING

    def _set_delivery(self, row_id: int, delivery: Delivery) -> None:
        with session_scope(self._sessions) as session:
            store.set_delivery(session, row_id, delivery)


def advertised_command(inbound: InboundMessage) -> str | None:
    """The rights request a typed message makes with the exact words we advertise."""
    if inbound.payload is not None or not inbound.text or len(inbound.text) > 40:
        return None
    plain = fold(inbound.text).strip(" «»“”\"'.!?")
    return ADVERTISED_COMMANDS.get(plain)


def _danger_without_engine(inbound: InboundMessage, trigger: str | None) -> str | None:
    """The urgent intent to answer without the engine: the danger a held message was read
    as, or one the words of a new message plainly say."""
    if trigger is not None:
        return trigger if level_of(trigger) == "urgent" else None
    if not inbound.text:
        return None
    # Only plain statements: without the classifier to weigh them, the weaker signs of the
    # lexicon would call a person for "j'ai faim".
    return danger_in(normalise(inbound.text)[0], strong_only=True)


def with_notice(
    messages: list[OutboundMessage], notice: OutboundMessage, custom: dict[str, Any]
) -> list[OutboundMessage]:
    """The first-contact notice comes before everything, so before any question; but
    never before the emergency numbers of a first message that says someone is in danger."""
    handoff = custom.get("handoff")
    if isinstance(handoff, dict) and handoff.get("priority") == "urgent":
        # Right after the numbers: before any question about sharing the conversation.
        return [*messages[:1], notice, *messages[1:]]
    return [notice, *messages]
