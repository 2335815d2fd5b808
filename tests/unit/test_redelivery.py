"""Redelivery of what a channel did not take (bot/conversations/redelivery.py), on SQLite
and (``-m postgres``) PostgreSQL, with a stand-in channel sender. The real Telegram channel
is driven through the emulator in tests/e2e/test_telegram_retries.py."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations import store
from bot.conversations.models import Channel, Delivery, Message, User, new_id
from bot.conversations.redelivery import PENDING_GRACE, REDELIVERY_WINDOW, Redelivery
from bot.db import session_scope, utcnow
from bot.messages import (
    Button,
    DeliveryRefusedError,
    DeliveryUnconfirmedError,
    OutboundMessage,
)


class Channelled:
    """A channel that refuses some texts (once each, or for good) and records the rest."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []
        self.down_for: set[str | None] = set()
        self.refusing: set[str] = set()  # external ids that blocked the bot

    async def __call__(self, user: User, message: OutboundMessage, _row_id: int) -> bool:
        if user.external_id in self.refusing:
            raise DeliveryRefusedError("Forbidden", whole_chat=True)
        if message.text in self.down_for:
            raise ConnectionError("channel down")
        self.sent.append((user.external_id, message.text))
        return True


def failed_messages(
    sessions: sessionmaker[Session], channel: Channel, texts: list[str], age: dt.timedelta
) -> tuple[str, list[int]]:
    """A person on ``channel`` with ``texts`` recorded as not taken, ``age`` ago."""
    with session_scope(sessions) as session:
        user = store.get_or_create_user(session, channel, new_id())
        conversation = store.current_conversation(session, user)
        rows = store.record_outbound(
            session,
            conversation.id,
            [OutboundMessage(text=t, buttons=(Button("Oui", payload="/affirm"),)) for t in texts],
            delivery=Delivery.FAILED,
        )
        session.execute(
            update(Message)
            .where(Message.id.in_([r.id for r in rows]))
            .values(created_at=utcnow() - age)
        )
        return user.external_id, [r.id for r in rows]


def deliveries(sessions: sessionmaker[Session], ids: list[int]) -> list[Delivery]:
    with session_scope(sessions) as session:
        return [session.get_one(Message, i).delivery for i in ids]


async def test_failed_messages_go_again_in_order_and_one_failure_holds_only_its_person(
    sessions: sessionmaker[Session],
) -> None:
    channel = Channelled()
    shown: list[int] = []

    async def show(message_id: int) -> None:  # the console is told each change
        shown.append(message_id)

    redelivery = Redelivery(sessions, {Channel.TELEGRAM: channel}, on_change=show)
    minute = dt.timedelta(minutes=1)
    alice, alice_ids = failed_messages(sessions, Channel.TELEGRAM, ["a1", "a2", "a3"], minute)
    bob, bob_ids = failed_messages(sessions, Channel.TELEGRAM, ["b1", "b2"], minute)
    channel.down_for = {"a2"}

    report = await redelivery.run_once()

    # Alice: a1 sent, a2 fails again, so a3 waits behind it (never before it).
    assert deliveries(sessions, alice_ids) == [Delivery.DONE, Delivery.FAILED, Delivery.FAILED]
    assert deliveries(sessions, bob_ids) == [Delivery.DONE, Delivery.DONE]
    assert channel.sent == [(alice, "a1"), (bob, "b1"), (bob, "b2")]
    assert (report.sent, report.failed, report.refused) == (3, 1, 0)
    assert shown == [alice_ids[0], *bob_ids]

    channel.down_for = set()
    await redelivery.run_once()
    assert deliveries(sessions, alice_ids) == [Delivery.DONE] * 3
    assert channel.sent[3:] == [(alice, "a2"), (alice, "a3")]
    assert shown[3:] == alice_ids[1:]
    assert (await redelivery.run_once()).sent == 0, "nothing is sent twice"


async def test_old_messages_web_messages_and_blocked_people_are_not_sent_again(
    sessions: sessionmaker[Session],
) -> None:
    channel = Channelled()
    redelivery = Redelivery(sessions, {Channel.TELEGRAM: channel, Channel.WEB: channel})
    too_old = REDELIVERY_WINDOW + dt.timedelta(minutes=1)
    _, old_ids = failed_messages(sessions, Channel.TELEGRAM, ["hier"], too_old)
    _, web_ids = failed_messages(sessions, Channel.WEB, ["web"], dt.timedelta(minutes=1))
    blocked, blocked_ids = failed_messages(
        sessions, Channel.TELEGRAM, ["r1", "r2"], dt.timedelta(minutes=1)
    )
    channel.refusing = {blocked}

    report = await redelivery.run_once()

    assert channel.sent == []
    assert deliveries(sessions, old_ids) == [Delivery.EXPIRED], "kept, not sent out of time"
    assert deliveries(sessions, web_ids) == [Delivery.FAILED], "the web page pulls its own"
    assert deliveries(sessions, blocked_ids) == [Delivery.REFUSED, Delivery.REFUSED]
    assert (report.sent, report.refused) == (0, 2)
    await redelivery.run_once()
    assert channel.sent == []


async def test_a_message_sent_again_keeps_its_text_buttons_and_sender(
    sessions: sessionmaker[Session],
) -> None:
    seen: list[OutboundMessage] = []

    async def sender(_user: User, message: OutboundMessage, _row_id: int) -> bool:
        seen.append(message)
        return True

    with session_scope(sessions) as session:
        user = store.get_or_create_user(session, Channel.TELEGRAM, new_id())
        conversation = store.current_conversation(session, user)
        store.record_outbound(
            session,
            conversation.id,
            [
                OutboundMessage(
                    text="Bonjour, c'est Awa.",
                    buttons=(
                        Button("Répondre", payload="/reply"),
                        Button("Site", url="https://x.fr"),
                    ),
                    sender="referent",
                )
            ],
            delivery=Delivery.FAILED,
        )
    await Redelivery(sessions, {Channel.TELEGRAM: sender}).run_once()
    assert seen == [
        OutboundMessage(
            text="Bonjour, c'est Awa.",
            buttons=(Button("Répondre", payload="/reply"), Button("Site", url="https://x.fr")),
            sender="referent",
        )
    ]


@pytest.mark.parametrize("first_fails", [True, False])
async def test_a_push_waits_behind_its_persons_failed_messages(
    sessions: sessionmaker[Session], first_fails: bool
) -> None:
    from bot.router import ConversationRouter
    from tests.utils.fakes import FakeEngine

    router = ConversationRouter(sessions, FakeEngine())  # type: ignore[arg-type]
    channel = Channelled()
    router.register_channel(Channel.TELEGRAM, channel)
    person, failed_ids = failed_messages(
        sessions, Channel.TELEGRAM, ["avant"], dt.timedelta(minutes=1)
    )
    with session_scope(sessions) as session:
        user_id = store.get_user(session, Channel.TELEGRAM, person).id  # type: ignore[union-attr]
    if first_fails:
        channel.down_for = {"avant"}

    pushed = await router.push(user_id, OutboundMessage(text="après"))
    assert pushed is not None
    assert channel.sent == [], "the push does not wait for the backlog: queued behind it"
    await asyncio.gather(*router.redelivery._flushes)  # sent at once, in the background

    if first_fails:
        assert channel.sent == [], "never before the message that failed earlier"
        assert deliveries(sessions, [*failed_ids, pushed]) == [Delivery.FAILED] * 2
    else:
        assert channel.sent == [(person, "avant"), (person, "après")]
        assert deliveries(sessions, [*failed_ids, pushed]) == [Delivery.DONE] * 2


async def test_two_runs_at_once_send_each_message_once_in_order(
    sessions: sessionmaker[Session],
) -> None:
    # The periodic job, a push and a Telegram answer can all reach one person at once:
    # one sender at a time per person, each reading what is still waiting.
    sent: list[str | None] = []
    slow = asyncio.Event()

    async def sender(_user: User, message: OutboundMessage, _row_id: int) -> bool:
        await slow.wait()
        sent.append(message.text)
        return True

    redelivery = Redelivery(sessions, {Channel.TELEGRAM: sender})
    failed_messages(sessions, Channel.TELEGRAM, ["m1", "m2", "m3"], dt.timedelta(minutes=1))
    runs = asyncio.gather(redelivery.run_once(), redelivery.run_once(), redelivery.run_once())
    await asyncio.sleep(0.05)
    slow.set()
    reports = await runs
    assert sent == ["m1", "m2", "m3"]
    assert sum(r.sent for r in reports) == 3


async def test_a_message_left_pending_by_an_instance_without_the_channel_is_sent(
    sessions: sessionmaker[Session],
) -> None:
    # A reminder pushed by an instance that does not hold the Telegram token stays PENDING;
    # the one that does sends it once it is older than the grace period.
    channel = Channelled()
    redelivery = Redelivery(sessions, {Channel.TELEGRAM: channel})
    person, old = failed_messages(sessions, Channel.TELEGRAM, ["vieux"], PENDING_GRACE * 2)
    _, young = failed_messages(sessions, Channel.TELEGRAM, ["jeune"], dt.timedelta(0))
    with session_scope(sessions) as session:
        session.execute(
            update(Message).where(Message.id.in_([*old, *young])).values(delivery=Delivery.PENDING)
        )
    await redelivery.run_once()
    assert channel.sent == [(person, "vieux")]
    assert deliveries(sessions, [*old, *young]) == [Delivery.DONE, Delivery.PENDING]


async def test_a_message_that_may_have_arrived_is_not_sent_again(
    sessions: sessionmaker[Session],
) -> None:
    calls: list[str | None] = []

    async def sender(_user: User, message: OutboundMessage, _row_id: int) -> bool:
        calls.append(message.text)
        if message.text == "peut-être":
            raise DeliveryUnconfirmedError("TimedOut")
        return True

    redelivery = Redelivery(sessions, {Channel.TELEGRAM: sender})
    _, ids = failed_messages(
        sessions, Channel.TELEGRAM, ["peut-être", "ensuite"], dt.timedelta(minutes=1)
    )
    await redelivery.run_once()
    await redelivery.run_once()
    assert calls == ["peut-être", "ensuite"], "once each; the next one still goes"
    assert deliveries(sessions, ids) == [Delivery.UNCONFIRMED, Delivery.DONE]


async def test_a_push_found_and_sent_by_a_flush_while_it_waited_is_not_sent_again(
    sessions: sessionmaker[Session],
) -> None:
    # The person's turn is held long enough (a flood wait) that the flush waiting before
    # the push finds the push's message PENDING past the grace period and sends it.
    from bot.router import ConversationRouter
    from tests.utils.fakes import FakeEngine

    router = ConversationRouter(sessions, FakeEngine())  # type: ignore[arg-type]
    channel = Channelled()
    router.register_channel(Channel.TELEGRAM, channel)
    person, _ = failed_messages(sessions, Channel.TELEGRAM, ["avant"], dt.timedelta(minutes=1))
    with session_scope(sessions) as session:
        user_id = store.get_user(session, Channel.TELEGRAM, person).id  # type: ignore[union-attr]

    async with router.redelivery.turn_of(Channel.TELEGRAM, person):
        flush = asyncio.create_task(router.redelivery.run_once())
        await asyncio.sleep(0.05)  # the flush waits for the turn
        push = asyncio.create_task(router.push(user_id, OutboundMessage(text="après")))
        await asyncio.sleep(0.05)  # the push recorded its message and waits too
        with session_scope(sessions) as session:
            session.execute(
                update(Message)
                .where(Message.delivery == Delivery.PENDING)
                .values(created_at=utcnow() - PENDING_GRACE * 2)
            )
    await flush
    await push
    assert channel.sent == [(person, "avant"), (person, "après")], "each once, in order"
