"""Which Bot API failures the Telegram channel sends again, and how long it waits (the
emulator test, tests/e2e/test_telegram_retries.py, runs it over real HTTP)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.messages import DeliveryRefusedError, DeliveryUnconfirmedError, OutboundMessage
from bot.telegram import channel
from bot.telegram.channel import MAX_RETRY_AFTER_SECONDS, SEND_ATTEMPTS, with_retries

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:DeprecationWarning"  # PTB's RetryAfter itself
)


class Flaky:
    """Fails with the given errors, then answers "sent"."""

    def __init__(self, *errors: TelegramError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(channel.asyncio, "sleep", sleep)
    return waited


def timed_out(cause: Exception) -> TimedOut:
    error = TimedOut()
    error.__cause__ = cause
    return error


async def test_server_errors_and_flood_control_are_sent_again(waits: list[float]) -> None:
    call = Flaky(NetworkError("Internal Server Error"), RetryAfter(dt.timedelta(seconds=3)))
    assert await with_retries(call) == "sent"
    assert call.calls == 3
    assert waits == [0.5, 3.0], "a back-off, then exactly the wait Telegram asked for"


async def test_a_request_that_never_left_is_sent_again(waits: list[float]) -> None:
    request = httpx.Request("POST", "http://127.0.0.1/")
    call = Flaky(timed_out(httpx.ConnectTimeout("connect", request=request)))
    assert await with_retries(call) == "sent"


async def test_a_read_timeout_is_not_sent_again_telegram_may_have_taken_it(
    waits: list[float],
) -> None:
    request = httpx.Request("POST", "http://127.0.0.1/")
    call = Flaky(timed_out(httpx.ReadTimeout("read", request=request)))
    with pytest.raises(TimedOut):
        await with_retries(call)
    assert call.calls == 1, "sending again could show the message twice"


async def test_a_refused_message_is_not_sent_again(waits: list[float]) -> None:
    call = Flaky(BadRequest("Message is too long"))
    with pytest.raises(BadRequest):
        await with_retries(call)
    assert (call.calls, waits) == (1, [])


async def test_retries_are_bounded(waits: list[float]) -> None:
    call = Flaky(*[NetworkError("Bad Gateway") for _ in range(SEND_ATTEMPTS + 1)])
    with pytest.raises(NetworkError):
        await with_retries(call)
    assert call.calls == SEND_ATTEMPTS
    assert waits == [0.5, 1.0, 2.0]


async def test_a_flood_wait_too_long_to_hold_everyone_is_not_waited_for(
    waits: list[float],
) -> None:
    call = Flaky(RetryAfter(int(MAX_RETRY_AFTER_SECONDS) + 1))
    with pytest.raises(RetryAfter):
        await with_retries(call)
    assert (call.calls, waits) == (1, [])


class OneBot:
    """Stands for ``Application``: its bot's sends fail with the given errors."""

    def __init__(self, *errors: TelegramError) -> None:
        self.bot = self
        self.flaky = Flaky(*errors)

    async def send_message(self, **_message: object) -> str:
        return await self.flaky()


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://127.0.0.1/")


@pytest.mark.parametrize(
    ("errors", "raised", "whole_chat"),
    [
        ([Forbidden("Forbidden: bot was blocked by the user")], DeliveryRefusedError, True),
        ([BadRequest("Message is too long")], DeliveryRefusedError, False),
        (
            [timed_out(httpx.ReadTimeout("read", request=_request()))],
            DeliveryUnconfirmedError,
            None,
        ),
        (
            [timed_out(httpx.ConnectTimeout("c", request=_request()))] * SEND_ATTEMPTS,
            TimedOut,
            None,
        ),
        ([NetworkError("Bad Gateway")] * SEND_ATTEMPTS, NetworkError, None),
    ],
    ids=["blocked", "invalid", "read-timeout", "never-left", "server-error"],
)
async def test_what_the_channel_says_about_a_message_it_could_not_send(
    waits: list[float],
    errors: list[TelegramError],
    raised: type[Exception],
    whole_chat: bool | None,
) -> None:
    # What redelivery does next depends on it: REFUSED (never again; for the whole chat
    # when blocked), UNCONFIRMED (may have arrived: never again), or FAILED (again later).
    telegram = channel.TelegramChannel(gateway=None)  # type: ignore[arg-type]
    with pytest.raises(raised) as caught:
        await telegram.send(OneBot(*errors), 42, OutboundMessage(text="Bonjour"))  # type: ignore[arg-type]
    if whole_chat is not None:
        assert isinstance(caught.value, DeliveryRefusedError)
        assert caught.value.whole_chat is whole_chat
