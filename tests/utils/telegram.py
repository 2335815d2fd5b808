"""A Telegram user talking to the bot through the emulator (tests/utils/telegram_emulator.js)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bot.config import PROJECT_ROOT
from tests.utils.chat import remember_written
from tests.utils.ports import free_port


@contextmanager
def telegram_emulator() -> Iterator[str]:
    """Start the emulator; yield its base URL (what TELEGRAM_BASE_URL is set to)."""
    port = free_port()
    process = subprocess.Popen(
        ["node", str(PROJECT_ROOT / "tests" / "utils" / "telegram_emulator.js"), str(port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        raise RuntimeError(f"telegram emulator did not start: {line}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


class TelegramUser:
    def __init__(self, base_url: str, bot_token: str, chat_id: int, language: str = "fr"):
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.token = bot_token
        self.chat_id = chat_id
        self.person = {
            "id": chat_id,
            "first_name": "Camille",
            "username": f"camille{chat_id}",
            "is_bot": False,
            "language_code": language,
        }
        self.chat = {"id": chat_id, "first_name": "Camille", "type": "private"}

    def close(self) -> None:
        self.http.close()

    def _common(self) -> dict[str, Any]:
        return {
            "botToken": self.token,
            "from": self.person,
            "chat": self.chat,
            "date": int(time.time()),
        }

    def send(self, text: str) -> None:
        remember_written(text)
        self.http.post("/sendMessage", json={**self._common(), "text": text}).raise_for_status()

    def command(self, text: str) -> None:
        body = {
            **self._common(),
            "text": text,
            "entities": [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}],
        }
        self.http.post("/sendCommand", json=body).raise_for_status()

    def press(self, message: dict[str, Any], data: str) -> None:
        """Press an inline button of a bot message."""
        pressed = {
            "message_id": message["message_id"],
            "chat": self.chat,
            "date": int(time.time()),
            "text": message.get("text", ""),
        }
        body = {
            "botToken": self.token,
            "from": self.person,
            "message": pressed,
            "data": data,
            "date": int(time.time()),
        }
        self.http.post("/sendCallback", json=body).raise_for_status()

    def replies(self, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait for the bot's next ``count`` messages to this chat."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            response = self.http.post(
                "/getUpdates", json={"token": self.token, "chatId": self.chat_id}
            )
            got += [
                {**u["message"], "message_id": u["messageId"]}
                for u in response.json().get("result", [])
            ]
            if len(got) < count:
                time.sleep(0.2)
        return got

    def quiet_for(self, seconds: float) -> list[dict[str, Any]]:
        """Messages the bot sends within ``seconds`` (expected: none)."""
        time.sleep(seconds)
        response = self.http.post("/getUpdates", json={"token": self.token, "chatId": self.chat_id})
        return [u["message"] for u in response.json().get("result", [])]


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def ask_for_a_person_on_telegram(user: TelegramUser) -> None:
    """A first contact that asks for a person, 16-17, agreeing to share: queued."""
    user.send("je veux parler à un vrai conseiller")
    notice, offer = user.replies(2)
    assert notice["text"].startswith("🔒"), "the first-contact notice comes first"
    assert "8 questions rapides" in offer["text"], "the questions are offered first"
    straight = next(b for b in buttons_of(offer) if b["callback_data"] == "/request_human")
    user.press(offer, straight["callback_data"])  # "Non, directement"
    (age,) = user.replies(1)
    assert "quel âge" in age["text"]
    user.press(age, "/handoff_age_16_17")
    (question,) = user.replies(1)
    assert "montrer cette conversation" in question["text"]
    share = next(b for b in buttons_of(question) if b["callback_data"] == "/handoff_share_yes")
    user.press(question, share["callback_data"])
    (queued,) = user.replies(1)
    assert "Position dans la file" in queued["text"]


def fail_next(
    base_url: str,
    bot_token: str,
    count: int,
    status: int = 500,
    retry_after: int = 0,
    method: str = "sendMessage",
) -> None:
    """Make the bot's next ``count`` calls of ``method`` fail in the emulator, as the Bot
    API does (``status`` 429 carries ``retry_after``)."""
    params = {
        "token": bot_token,
        "method": method,
        "count": count,
        "status": status,
        "retry_after": retry_after,
    }
    httpx.post(f"{base_url}/control/fail", params=params, timeout=10).raise_for_status()


def bot_calls(base_url: str, bot_token: str, method: str = "sendMessage") -> dict[str, Any]:
    """How the bot's calls of ``method`` went: ``failed``, ``ok``, ``pending`` (faults not
    used yet) and ``log``, a list of ``[milliseconds, status]``."""
    params = {"token": bot_token, "method": method}
    response = httpx.get(f"{base_url}/control/calls", params=params, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result
