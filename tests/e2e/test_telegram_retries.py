"""The Telegram channel when the Bot API fails: answers refused with a 5xx or a 429 (flood
control, with ``retry_after``) are sent again after a back-off that honours the wait
Telegram asks for, so nothing is lost and nothing arrives twice; past the bound, the
message is kept as not delivered and sent again, in order, once Telegram takes messages
(bot/conversations/redelivery.py); a refusal for good (the person blocked the bot) is
recorded as such and never retried.

The real channel (python-telegram-bot 22, polling), the real gateway and database, a
stand-in engine, and the telegram-test-api emulator made to refuse the bot's next calls
(``/control/fail`` of tests/utils/telegram_emulator.js): real HTTP, no mock object.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.config import Settings
from bot.conversations.models import Channel, Conversation, Delivery, Direction, Message, User
from bot.db import session_scope
from bot.gateway import Gateway
from bot.messages import OutboundMessage
from bot.telegram.channel import SEND_ATTEMPTS
from tests.conftest import migrate
from tests.utils.fakes import FakeEngine, served
from tests.utils.telegram import TelegramUser, bot_calls, fail_next, telegram_emulator

pytestmark = [
    pytest.mark.telegram,
    # python-telegram-bot 22 warns, in its own RetryAfter constructor, that retry_after will
    # become a timedelta; the channel reads either form (bot/telegram/channel.py).
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning"),
]

_chat_ids = itertools.count(616161)
_tokens = itertools.count(1)


@dataclass
class Bot:
    client: TestClient
    gateway: Gateway
    emulator: str
    token: str

    def calls(self) -> dict:
        return bot_calls(self.emulator, self.token)

    def fail_next(self, count: int, status: int = 500, retry_after: int = 0) -> None:
        fail_next(self.emulator, self.token, count, status, retry_after)

    def push(self, user_id: str, text: str) -> int:
        """A proactive message (reminder, référent), sent in the gateway's own loop."""
        row_id = self.client.portal.call(  # type: ignore[union-attr]
            self.gateway.router.push, user_id, OutboundMessage(text=text)
        )
        assert row_id is not None
        return row_id

    def delivery_of(self, message_id: int) -> Delivery:
        with session_scope(self.gateway.sessions) as session:
            row = session.get(Message, message_id)
            assert row is not None
            return row.delivery

    def messages_of(self, chat_id: int) -> list[Message]:
        with session_scope(self.gateway.sessions) as session:
            return list(
                session.scalars(
                    select(Message)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .join(User, User.id == Conversation.user_id)
                    .where(User.channel == Channel.TELEGRAM, User.external_id == str(chat_id))
                    .order_by(Message.id)
                )
            )


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with telegram_emulator() as url:
        yield url


@pytest.fixture
def bot(emulator: str, tmp_path: Path) -> Iterator[Bot]:
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(database_url)
    token = f"{900000 + next(_tokens)}:relais-retry-test"  # one bot per test: its own faults
    settings = Settings(
        database_url=database_url,
        admin_api_token="admin-token-for-tests-1234567890",
        environment="test",
        telegram_bot_token=token,
        telegram_base_url=emulator,
        redelivery_every_seconds=1.0,  # every minute in production
    )
    with served(settings, FakeEngine()) as client:
        yield Bot(client, client.gateway, emulator, token)  # type: ignore[attr-defined]


@pytest.fixture
def person(bot: Bot) -> Iterator[TelegramUser]:
    user = TelegramUser(bot.emulator, bot.token, next(_chat_ids))
    yield user
    user.close()


def test_answers_refused_with_5xx_then_429_arrive_once_after_the_wait(
    bot: Bot, person: TelegramUser
) -> None:
    bot.fail_next(2, status=500)
    person.send("bonjour")
    (reply,) = person.replies(1, timeout=30)
    assert reply["text"] == "echo: bonjour"
    calls = bot.calls()
    assert (calls["failed"], calls["pending"]) == (2, 0)

    bot.fail_next(1, status=429, retry_after=2)
    person.send("tu es là ?")
    (reply,) = person.replies(1, timeout=30)
    assert reply["text"] == "echo: tu es là ?"
    (refused_at, refused), (sent_at, sent) = bot.calls()["log"][-2:]
    assert (refused, sent) == (429, 200)
    assert sent_at - refused_at >= 1900, "sent again only after Telegram's retry_after"

    assert person.quiet_for(1.5) == [], "nothing arrives twice"
    rows = bot.messages_of(person.chat_id)
    inbound = [m for m in rows if m.direction is Direction.INBOUND]
    outbound = [m for m in rows if m.direction is Direction.OUTBOUND]
    assert [m.text for m in inbound] == ["bonjour", "tu es là ?"]
    assert [m.text for m in outbound] == ["echo: bonjour", "echo: tu es là ?"]
    assert {m.delivery for m in rows} == {Delivery.DONE}


def test_a_proactive_message_is_retried_and_recorded_as_delivered(
    bot: Bot, person: TelegramUser
) -> None:
    ref = bot.gateway.router.open_user(Channel.TELEGRAM, str(person.chat_id), "fr")
    bot.fail_next(1, status=502)
    bot.fail_next(1, status=429, retry_after=1)
    started = time.monotonic()
    message_id = bot.push(ref.user_id, "Rappel : ton rendez-vous est demain à 10 h.")
    assert time.monotonic() - started >= 1.4, "a back-off, then Telegram's wait"
    (received,) = person.replies(1, timeout=10)
    assert received["text"] == "Rappel : ton rendez-vous est demain à 10 h."
    assert bot.delivery_of(message_id) is Delivery.DONE
    assert person.quiet_for(1) == []
    assert bot.calls()["failed"] == 2


def wait_delivery(bot: Bot, message_id: int, expected: Delivery, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while bot.delivery_of(message_id) is not expected:
        assert time.monotonic() < deadline, f"still {bot.delivery_of(message_id)}"
        time.sleep(0.2)


def test_past_the_bound_a_message_is_kept_and_sent_again_once_telegram_takes_it(
    bot: Bot, person: TelegramUser
) -> None:
    ref = bot.gateway.router.open_user(Channel.TELEGRAM, str(person.chat_id), "fr")
    # Telegram refuses the first push and every retry of it, and the next try as well.
    bot.fail_next(SEND_ATTEMPTS + SEND_ATTEMPTS, status=500)
    first = bot.push(ref.user_id, "Ton référent t'a écrit.")
    assert bot.delivery_of(first) is Delivery.FAILED, "kept, and marked for a later try"
    assert bot.calls()["failed"] == SEND_ATTEMPTS, "bounded: no endless retrying"
    started = time.monotonic()
    second = bot.push(ref.user_id, "Il te propose jeudi à 14 h.")
    assert time.monotonic() - started < 2, "queued behind the first, without its retries"
    assert bot.delivery_of(second) is Delivery.FAILED

    # Telegram takes messages again: both arrive, in their order, once each.
    received = person.replies(2, timeout=20)
    assert [m["text"] for m in received] == [
        "Ton référent t'a écrit.",
        "Il te propose jeudi à 14 h.",
    ]
    wait_delivery(bot, first, Delivery.DONE)
    wait_delivery(bot, second, Delivery.DONE)
    assert person.quiet_for(2.5) == [], "nothing arrives twice"
    calls = bot.calls()
    assert (calls["failed"], calls["ok"]) == (2 * SEND_ATTEMPTS, 2)


def test_an_answer_telegram_refuses_every_time_arrives_later_once(
    bot: Bot, person: TelegramUser
) -> None:
    bot.fail_next(SEND_ATTEMPTS, status=500)
    person.send("allô ?")
    (answer,) = person.replies(1, timeout=30)
    assert answer["text"] == "echo: allô ?"
    assert person.quiet_for(2.5) == [], "nothing arrives twice"
    rows = bot.messages_of(person.chat_id)
    assert [(m.direction, m.text) for m in rows] == [
        (Direction.INBOUND, "allô ?"),
        (Direction.OUTBOUND, "echo: allô ?"),
    ]
    wait_delivery(bot, rows[1].id, Delivery.DONE)
    assert bot.calls()["failed"] == SEND_ATTEMPTS


def test_an_answer_never_overtakes_a_message_that_failed_before_it(
    bot: Bot, person: TelegramUser
) -> None:
    ref = bot.gateway.router.open_user(Channel.TELEGRAM, str(person.chat_id), "fr")
    # The periodic job stays away for this test: the answer itself must go behind the
    # failed message and have both sent, in order.
    bot.gateway.scheduler.pause_job("redelivery")
    bot.fail_next(SEND_ATTEMPTS, status=500)
    failed = bot.push(ref.user_id, "Ton rendez-vous est confirmé.")
    assert bot.delivery_of(failed) is Delivery.FAILED
    person.send("merci")
    received = person.replies(2, timeout=30)
    assert [m["text"] for m in received] == ["Ton rendez-vous est confirmé.", "echo: merci"]
    assert person.quiet_for(2.5) == [], "nothing arrives twice"


def test_a_person_who_blocked_the_bot_is_not_sent_again(bot: Bot, person: TelegramUser) -> None:
    ref = bot.gateway.router.open_user(Channel.TELEGRAM, str(person.chat_id), "fr")
    bot.fail_next(1, status=403)  # "Forbidden: bot was blocked by the user"
    refused = bot.push(ref.user_id, "Rappel : ton rendez-vous est demain.")
    assert bot.delivery_of(refused) is Delivery.REFUSED
    assert bot.calls()["failed"] == 1, "a refusal for good is not retried"
    assert person.quiet_for(2.5) == []
    assert bot.delivery_of(refused) is Delivery.REFUSED
    calls = bot.calls()
    assert (calls["failed"], calls["ok"]) == (1, 0), "nor sent again later"
