"""Messages that arrive later reach the web chat through Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.conversations.models import Channel
from bot.events import EventBus
from bot.gateway import Gateway
from bot.messages import OutboundMessage
from bot.web.chat_api import _missed_messages
from tests.utils.fakes import FakeEngine, gateway_with


async def test_bus_delivers_to_every_stream_of_a_person() -> None:
    bus = EventBus()
    first, second = bus.subscribe("u1"), bus.subscribe("u1")
    other = bus.subscribe("u2")
    assert bus.publish("u1", {"text": "hello"}) == 2
    assert (await first.get())["text"] == "hello"
    assert (await second.get())["text"] == "hello"
    assert other.empty()
    bus.unsubscribe("u1", first)
    bus.unsubscribe("u1", second)
    assert not bus.has_subscribers("u1")


@pytest.fixture
def gateway(database_url: str) -> Iterator[Gateway]:
    gateway = gateway_with(Settings(database_url=database_url, environment="test"), FakeEngine())
    yield gateway
    gateway.db_engine.dispose()


async def test_pushed_message_while_away_is_replayed_on_connect(gateway: Gateway) -> None:
    ref = gateway.router.open_user(Channel.WEB, "session-1", "fr")
    await gateway.router.push(ref.user_id, OutboundMessage("Ton rendez-vous", sender="referent"))
    missed = _missed_messages(gateway, ref.user_id, None)
    assert [(m["text"], m["from"]) for m in missed] == [("Ton rendez-vous", "referent")]
    # Replayed once: the next connection has nothing left to catch up on.
    assert _missed_messages(gateway, ref.user_id, None) == []
    assert len(_missed_messages(gateway, ref.user_id, "0")) == 1  # after Last-Event-ID 0


async def test_pushed_message_reaches_an_open_stream(gateway: Gateway) -> None:
    ref = gateway.router.open_user(Channel.WEB, "session-2", "fr")
    stream = gateway.bus.subscribe(ref.user_id)
    await gateway.router.push(ref.user_id, OutboundMessage("Bonjour", sender="referent"))
    event = await asyncio.wait_for(stream.get(), 1)
    assert json.loads(json.dumps(event))["from"] == "referent"
    assert _missed_messages(gateway, ref.user_id, None) == []
