"""What the Telegram channel records when it cannot send an answer (``_send_all``), with a
real router and database and a stand-in Bot API: which answers are marked how, that the
rest still go, and that answers queue behind a person's waiting messages. Over real HTTP:
tests/e2e/test_telegram_retries.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.conversations import store
from bot.conversations.models import Channel, Delivery, Message
from bot.db import session_scope
from bot.i18n import gettext
from bot.messages import OutboundMessage, RouteResult
from bot.router import ConversationRouter
from bot.telegram import channel
from tests.utils.fakes import FakeEngine

CHAT_ID = 4242
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


class BotApi:
    """Stands for the application and its bot: a text in ``refusing`` fails with its error
    (every time); the others are "sent"."""

    def __init__(self, refusing: dict[str, TelegramError]) -> None:
        self.bot = self
        self.application = self
        self.refusing = refusing
        self.sent: list[str] = []

    async def send_message(self, chat_id: int, text: str, **_options: Any) -> None:
        if text in self.refusing:
            raise self.refusing[text]
        self.sent.append(text)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def sleep(_seconds: float) -> None:
        return None

    monkeypatch.setattr(channel.asyncio, "sleep", sleep)


def answered(
    sessions: sessionmaker[Session], texts: list[str], earlier_failed: str | None = None
) -> list[int]:
    """A Telegram person's message "tg:1" and its answers, recorded DONE as the router
    does before the channel sends them (after an earlier message that failed, if given)."""
    with session_scope(sessions) as session:
        user = store.get_or_create_user(session, Channel.TELEGRAM, str(CHAT_ID))
        conversation = store.current_conversation(session, user)
        if earlier_failed:
            store.record_outbound(
                session,
                conversation.id,
                [OutboundMessage(text=earlier_failed)],
                delivery=Delivery.FAILED,
            )
        inbound = store.record_inbound(
            session, conversation, text="salut", payload=None, client_message_id="tg:1"
        )
        rows = store.record_outbound(
            session,
            conversation.id,
            [OutboundMessage(text=t) for t in texts],
            reply_to_id=inbound.id,
        )
        return [r.id for r in rows]


def deliveries(sessions: sessionmaker[Session], ids: list[int]) -> list[Delivery]:
    with session_scope(sessions) as session:
        return [session.get_one(Message, i).delivery for i in ids]


async def send_answers(
    sessions: sessionmaker[Session], texts: list[str], api: BotApi
) -> ConversationRouter:
    router = ConversationRouter(sessions, FakeEngine())  # type: ignore[arg-type]
    telegram = channel.TelegramChannel(SimpleNamespace(router=router))  # type: ignore[arg-type]

    async def push(user: Any, message: OutboundMessage, _row_id: int) -> bool:
        await telegram.send(api, int(user.external_id), message)  # type: ignore[arg-type]
        return True

    router.register_channel(Channel.TELEGRAM, push)
    result = RouteResult(messages=[OutboundMessage(text=t) for t in texts])
    await telegram._send_all(CHAT_ID, result, api, "tg:1", "fr")  # type: ignore[arg-type]
    await router.redelivery.aclose()
    return router


async def test_one_answer_telegram_rejects_is_refused_alone_and_the_rest_still_go(
    sessions: sessionmaker[Session],
) -> None:
    ids = answered(sessions, ["a1", "a2", "a3"])
    api = BotApi({"a2": BadRequest("Message is too long")})
    await send_answers(sessions, ["a1", "a2", "a3"], api)
    assert api.sent == ["a1", gettext("fr", "unexpected-error"), "a3"]
    assert deliveries(sessions, ids) == [Delivery.DONE, Delivery.REFUSED, Delivery.DONE]


async def test_answers_past_the_retries_wait_for_redelivery(
    sessions: sessionmaker[Session],
) -> None:
    ids = answered(sessions, ["a1", "a2", "a3"])
    api = BotApi({"a2": NetworkError("Bad Gateway")})
    await send_answers(sessions, ["a1", "a2", "a3"], api)
    assert api.sent == ["a1"], "never a3 before a2"
    assert deliveries(sessions, ids) == [Delivery.DONE, Delivery.FAILED, Delivery.FAILED]


async def test_a_person_who_blocked_the_bot_gets_every_answer_refused(
    sessions: sessionmaker[Session],
) -> None:
    ids = answered(sessions, ["a1", "a2"])
    api = BotApi({"a1": Forbidden("Forbidden: bot was blocked by the user")})
    await send_answers(sessions, ["a1", "a2"], api)
    assert api.sent == []
    assert deliveries(sessions, ids) == [Delivery.REFUSED, Delivery.REFUSED]


async def test_answers_go_behind_the_persons_waiting_message_never_ahead(
    sessions: sessionmaker[Session],
) -> None:
    ids = answered(sessions, ["a1", "a2"], earlier_failed="avant")
    api = BotApi({})
    await send_answers(sessions, ["a1", "a2"], api)
    assert api.sent == ["avant", "a1", "a2"]
    assert deliveries(sessions, ids) == [Delivery.DONE, Delivery.DONE]
