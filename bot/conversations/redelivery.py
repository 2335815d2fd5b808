"""Send again what a channel did not take, in order.

A message to a person (an answer, a référent's message, a reminder, a queue update) that
the channel refused past its own retries is recorded ``FAILED``, not lost: every minute
(``Settings.redelivery_every_seconds``) the gateway's job sends the failed ones again,
oldest first, until the channel takes them. It also sends what was recorded ``PENDING`` for
a channel this instance did not run then (a reminder sent by an instance without the
Telegram token) once that is ``PENDING_GRACE`` old.

Order: one person's messages go out one sender at a time (``turn_of``). A new message for
a person who has messages waiting (``has_backlog``) is not sent ahead of them: it is
recorded ``FAILED`` behind them and ``flush_soon`` sends them all, in order, at once. So a
person never reads a référent's "see you Thursday" before the "hello" that failed, and an
interactive path (a référent's send, a Telegram answer) never waits for a backlog.

What is never sent again: a refusal for good (``REFUSED``: the person blocked the bot, or
the message is invalid for the channel), a message that left without an answer in time
(``UNCONFIRMED``: it may have arrived, and a double is worse), and what is older than
``REDELIVERY_WINDOW`` (``EXPIRED``: a reminder of an appointment that has passed, "a
référent joins you" for a handoff long closed). The console shows each of these states.
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
from bot.conversations.models import Channel, Delivery, User
from bot.db import session_scope, utcnow
from bot.messages import DeliveryRefusedError, DeliveryUnconfirmedError, OutboundMessage

if TYPE_CHECKING:
    from bot.router import ProactiveSender

logger = logging.getLogger("relais.redelivery")

REDELIVERY_WINDOW = dt.timedelta(hours=2)
# A PENDING message this old was recorded while its channel's sender did not run here.
PENDING_GRACE = dt.timedelta(minutes=2)
FLUSH_GRACE_SECONDS = 10.0  # at shutdown, for the background flushes to finish
BATCH = 200


@dataclass(slots=True)
class RedeliveryReport:
    sent: int = 0
    failed: int = 0
    refused: int = 0
    unconfirmed: int = 0


async def attempt(
    sender: ProactiveSender, user: User, message: OutboundMessage, row_id: int
) -> Delivery:
    """Send once through the person's channel; what became of the message. ``PENDING``:
    the channel keeps it for the person to fetch (the web page)."""
    channel = user.channel.value
    try:
        return Delivery.DONE if await sender(user, message, row_id) else Delivery.PENDING
    except DeliveryRefusedError:
        logger.warning("message %d refused for good on %s", row_id, channel)
        return Delivery.REFUSED
    except DeliveryUnconfirmedError:
        logger.warning("message %d unconfirmed on %s", row_id, channel)
        return Delivery.UNCONFIRMED
    except Exception as error:  # kept FAILED: sent again later; no traceback per retry
        logger.warning("message %d not delivered on %s: %s", row_id, channel, type(error).__name__)
        return Delivery.FAILED


class Redelivery:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: Mapping[Channel, ProactiveSender],
        window: dt.timedelta = REDELIVERY_WINDOW,
        on_change: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._senders = senders  # the router's registry: channels that start later count
        self.window = window
        # Told the id of each message whose delivery changed here (the console shows it).
        self._on_change = on_change
        # One lock per person being sent to; gone once nobody holds or awaits it.
        self._turns: weakref.WeakValueDictionary[tuple[Channel, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._flushes: set[asyncio.Task[None]] = set()

    def _channels(self) -> list[Channel]:
        return [c for c in self._senders if c is not Channel.WEB]  # the web page pulls

    def _bounds(self) -> tuple[dt.datetime, dt.datetime]:
        now = utcnow()
        return now - self.window, now - PENDING_GRACE

    @contextlib.asynccontextmanager
    async def turn_of(self, channel: Channel, external_id: str) -> AsyncIterator[None]:
        """Hold the right to send to this person (one sender at a time keeps the order)."""
        key = (channel, external_id)
        lock = self._turns.get(key)
        if lock is None:
            lock = self._turns[key] = asyncio.Lock()
        async with lock:
            yield

    def has_backlog(self, channel: Channel, external_id: str) -> bool:
        """True when this person has messages waiting to be sent again."""
        if channel not in self._channels():
            return False
        since, pending_before = self._bounds()
        with session_scope(self._sessions) as session:
            return bool(
                store.undelivered(
                    session, [channel], since, pending_before, 1, external_id=external_id
                )
            )

    def flush_soon(self, channel: Channel, external_id: str) -> None:
        """Send this person's waiting messages now, in the background, in order."""

        async def flush() -> None:
            try:
                async with self.turn_of(channel, external_id):
                    await self.send_failed(channel, external_id)
            except Exception:  # the job tries again within a minute
                logger.exception("redelivery to one person failed")

        task = asyncio.get_running_loop().create_task(flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def aclose(self) -> None:
        """At shutdown: let the background flushes finish (a message sent but not recorded
        would be sent again after a restart), then cancel what is left."""
        if not self._flushes:
            return
        _, late = await asyncio.wait(set(self._flushes), timeout=FLUSH_GRACE_SECONDS)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def send_failed(
        self, channel: Channel, external_id: str, report: RedeliveryReport | None = None
    ) -> bool:
        """Send this person's waiting messages again, oldest first, stopping at the first
        that fails again; True when none is left. Call it holding ``turn_of``."""
        sender = self._senders.get(channel)
        if sender is None or channel is Channel.WEB:
            return True
        report = report if report is not None else RedeliveryReport()
        since, pending_before = self._bounds()
        with session_scope(self._sessions) as session:
            rows = store.undelivered(
                session, [channel], since, pending_before, BATCH, external_id=external_id
            )
            pending = [
                (store.as_outbound(message), message.id, message.delivery, user)
                for message, user in rows
            ]
            session.expunge_all()  # the people are read after this session ends
        for message, row_id, was, user in pending:
            delivery = await attempt(sender, user, message, row_id)
            if delivery in (Delivery.FAILED, Delivery.PENDING):  # not taken this time either
                if was is Delivery.PENDING:  # it joins the failed ones
                    await self._record(row_id, Delivery.FAILED)
                report.failed += 1
                return False
            await self._record(row_id, delivery)
            if delivery is Delivery.DONE:
                report.sent += 1
            elif delivery is Delivery.REFUSED:
                report.refused += 1
            else:
                report.unconfirmed += 1
        return len(pending) < BATCH

    async def _record(self, row_id: int, delivery: Delivery) -> None:
        with session_scope(self._sessions) as session:
            store.set_delivery(session, row_id, delivery)
        await self._changed(row_id)

    async def _changed(self, row_id: int) -> None:
        if self._on_change is not None:
            try:
                await self._on_change(row_id)
            except Exception:  # the console's view is a courtesy: the delivery stands
                logger.exception("delivery change of message %d not shown", row_id)

    async def run_once(self) -> RedeliveryReport:
        """Expire what is too old, then send every person's waiting messages, in order."""
        report = RedeliveryReport()
        channels = self._channels()
        since, pending_before = self._bounds()
        with session_scope(self._sessions) as session:
            expired = store.expire_undelivered(session, channels, since, BATCH)
            rows = store.undelivered(session, channels, since, pending_before, BATCH)
            people = list(dict.fromkeys((user.channel, user.external_id) for _, user in rows))
        for row_id in expired:
            await self._changed(row_id)
        for channel, external_id in people:
            try:
                async with self.turn_of(channel, external_id):
                    await self.send_failed(channel, external_id, report)
            except Exception:  # one person's trouble (the database, say) holds nobody else
                logger.exception("redelivery to one person failed")
        if expired or report.sent or report.refused or report.unconfirmed:
            logger.info(
                "redelivery: %d sent, %d refused for good, %d unconfirmed, %d still failing,"
                " %d expired",
                report.sent,
                report.refused,
                report.unconfirmed,
                report.failed,
                len(expired),
            )
        return report
