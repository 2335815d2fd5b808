"""The Telegram channel end to end: the emulator, the real gateway, engine and model."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.conftest import TELEGRAM_TEST_TOKEN
from tests.utils.stack import Stack
from tests.utils.telegram import TelegramUser, buttons_of

pytestmark = pytest.mark.telegram
_chat_ids = itertools.count(424242)


@pytest.fixture
def user(stack: Stack, telegram_base_url: str) -> Iterator[TelegramUser]:
    person = TelegramUser(telegram_base_url, TELEGRAM_TEST_TOKEN, next(_chat_ids))
    yield person
    person.close()


def test_start_says_the_privacy_notice_then_greets_with_an_inline_keyboard(
    user: TelegramUser,
) -> None:
    user.command("/start")
    notice, greeting = user.replies(2)
    assert notice["text"].startswith("🔒"), "first contact: who runs it, what is kept"
    assert "supprime mes données" in notice["text"]
    assert "Relais" in greeting["text"]
    data = [b.get("callback_data") for b in buttons_of(greeting)]
    assert "/request_human" in data


def test_pressing_a_button_answers_once(user: TelegramUser) -> None:
    user.command("/start")
    _notice, greeting = user.replies(2)
    menu = next(b for b in buttons_of(greeting) if b.get("callback_data") == "/request_human")
    user.press(greeting, menu["callback_data"])
    (offer,) = user.replies(1)
    assert "8 questions rapides" in offer["text"], "the questions are offered before a person"
    user.press(greeting, menu["callback_data"])  # the same button again
    assert user.quiet_for(3) == []


def test_urgent_text_gets_the_numbers_then_a_person_is_alerted(user: TelegramUser) -> None:
    user.send("je veux mourir")
    numbers, notice, alerted, consent = user.replies(4)
    assert "3114" in numbers["text"][:40], "the numbers come first"
    assert notice["text"].startswith("🔒"), "the first-contact notice, right after the numbers"
    assert "tout de suite" in alerted["text"]
    assert "/handoff_share_yes" in [b["callback_data"] for b in buttons_of(consent)]


def test_english_speaker_is_answered_in_english(stack: Stack, telegram_base_url: str) -> None:
    english = TelegramUser(telegram_base_url, TELEGRAM_TEST_TOKEN, next(_chat_ids), "en")
    english.command("/start")
    notice, greeting = english.replies(2)
    english.close()
    assert "Before we start" in notice["text"]
    assert "I'm Relais" in greeting["text"]
