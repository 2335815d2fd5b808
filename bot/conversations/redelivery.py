"""Send again what a channel did not take, in order.

A message to a person (an answer, a référent's message, a reminder, a queue update) that
the channel refused past its own retries is recorded ``FAILED``, not lost: every minute
(``Settings.redelivery_every_seconds``) the gateway's job sends the failed ones again,
oldest first, until the channel takes them.

Order: one person's messages go out one sender at a time (``turn_of``), and a new message
(``ConversationRouter.push``, a Telegram answer) first sends that person's failed ones; if
they fail again it is queued behind them (``FAILED`` too). So a person never reads a
référent's "see you Thursday" before the "hello" that failed.

Only messages younger than ``REDELIVERY_WINDOW`` are sent again: older ones may be wrong by
now (a reminder of an appointment that has passed, "a référent joins you" for a handoff
long closed); they stay ``FAILED``. A refusal for good (the person blocked the bot) is
``REFUSED`` and never retried. Only this instance's channels are tried: one instance
holds the Telegram token.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot.conversations import store
from bot.conversations.models import Channel, Delivery, Message, Sender
from bot.db import session_scope, utcnow
from bot.messages import Button, DeliveryRefusedError, OutboundMessage, SenderName

if TYPE_CHECKING:
    from bot.router import ProactiveSender

logger = logging.getLogger("relais.redelivery")

REDELIVERY_WINDOW = dt.timedelta(hours=2)
BATCH = 200

SENDER_NAMES: dict[Sender, SenderName] = {
    Sender.BOT: "bot",
    Sender.REFERENT: "referent",
    Sender.SYSTEM: "system",
}


@dataclass(slots=True)
class RedeliveryReport:
    sent: int = 0
    failed: int = 0
    refused: int = 0


def outbound_of(row: Message) -> OutboundMessage:
    """The message as it was first sent, from its record."""
    buttons = tuple(
        Button(b["title"], payload=b.get("payload"), url=b.get("url")) for b in row.buttons or []
    )
    return OutboundMessage(
        text=row.text, buttons=buttons, sender=SENDER_NAMES.get(row.sender, "bot")
    )


class Redelivery:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: Mapping[Channel, ProactiveSender],
        window: dt.timedelta = REDELIVERY_WINDOW,
        on_change: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        # Told the id of each message sent again or refused (the console shows it).
        self._on_change = on_change
        self._senders = senders  # the router's registry: channels that start later count
        self.window = window
        # One lock per person being sent to; gone once nobody holds or awaits it.
        self._turns: weakref.WeakValueDictionary[tuple[Channel, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @contextlib.asynccontextmanager
    async def turn_of(self, channel: Channel, external_id: str) -> AsyncIterator[None]:
        """Hold the right to send to this person (one sender at a time keeps the order)."""
        key = (channel, external_id)
        lock = self._turns.get(key)
        if lock is None:
            lock = self._turns[key] = asyncio.Lock()
        async with lock:
            yield

    async def send_failed(
        self, channel: Channel, external_id: str, report: RedeliveryReport | None = None
    ) -> bool:
        """Send this person's failed messages again, oldest first, stopping at the first
        that fails again; True when none is left. Call it holding ``turn_of``."""
        sender = self._senders.get(channel)
        if sender is None or channel is Channel.WEB:  # the web page pulls its messages
            return True
        report = report if report is not None else RedeliveryReport()
        with session_scope(self._sessions) as session:
            rows = store.undelivered(
                session, [channel], utcnow() - self.window, BATCH, external_id=external_id
            )
            pending = [(outbound_of(message), message.id, user) for message, user in rows]
            session.expunge_all()  # the people are read after this session ends
        for message, row_id, user in pending:
            try:
                delivered = await sender(user, message, row_id)
            except DeliveryRefusedError:
                await self._record(row_id, Delivery.REFUSED)
                report.refused += 1
                continue
            except Exception:
                logger.warning("message %d still not delivered on %s", row_id, channel.value)
                delivered = False
            if not delivered:
                report.failed += 1
                return False
            await self._record(row_id, Delivery.DONE)
            report.sent += 1
        return len(pending) < BATCH

    async def _record(self, row_id: int, delivery: Delivery) -> None:
        with session_scope(self._sessions) as session:
            store.set_delivery(session, row_id, delivery)
        if self._on_change is not None:
            try:
                await self._on_change(row_id)
            except Exception:  # the console's view is a courtesy: the delivery stands
                logger.exception("delivery change of message %d not shown", row_id)

    async def run_once(self) -> RedeliveryReport:
        """Every person with failed messages in the window: send them again, in order."""
        report = RedeliveryReport()
        channels = [c for c in self._senders if c is not Channel.WEB]
        with session_scope(self._sessions) as session:
            rows = store.undelivered(session, channels, utcnow() - self.window, BATCH)
            people = list(dict.fromkeys((user.channel, user.external_id) for _, user in rows))
        for channel, external_id in people:
            async with self.turn_of(channel, external_id):
                await self.send_failed(channel, external_id, report)
        if report.sent or report.refused:
            logger.info(
                "redelivery: %d sent, %d refused for good, %d still failing",
                report.sent,
                report.refused,
                report.failed,
            )
        return report
