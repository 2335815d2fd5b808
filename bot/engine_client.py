"""The one client of the Rasa server (REST channel, NLU parse, health)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from bot.messages import Button, OutboundMessage

logger = logging.getLogger(__name__)


# Button payloads in our content are written "/intent:entity=value[,entity=value]":
# Rasa reads "{...}" in a response as a slot placeholder, so the JSON form cannot be
# stored in responses. The client turns the short form into Rasa's "/intent{json}".
SHORT_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_0-9]+):(?P<pairs>[a-z_]+=[\w-]+(,[a-z_]+=[\w-]+)*)$")


def to_engine_text(text: str) -> str:
    """Rasa's payload syntax for a short payload; any other text unchanged."""
    match = SHORT_PAYLOAD.match(text)
    if match is None:
        return text
    entities = dict(pair.split("=", 1) for pair in match.group("pairs").split(","))
    return f"/{match.group('intent')}{json.dumps(entities, ensure_ascii=False)}"


class EngineUnavailableError(Exception):
    """The Rasa server (or the action server behind it) could not answer."""


class EngineClient:
    def __init__(self, base_url: str, token: str | None, timeout: float = 30.0) -> None:
        self._base_url = base_url
        self._token = token
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=3.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _params(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any]
    ) -> tuple[list[OutboundMessage], dict[str, Any]]:
        """Send one user turn; return the bot's messages and merged custom data."""
        try:
            response = await self._client.post(
                "/webhooks/rest/webhook",
                json={"sender": sender_id, "message": to_engine_text(text), "metadata": metadata},
            )
        except httpx.HTTPError as exc:
            logger.warning("engine unreachable: %s", type(exc).__name__)
            raise EngineUnavailableError from exc
        if response.status_code != 200:
            logger.warning("engine answered HTTP %s", response.status_code)
            raise EngineUnavailableError
        return parse_rest_messages(response.json())

    async def trigger_intent(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> tuple[list[OutboundMessage], dict[str, Any]]:
        """Run a proactive turn (reminders, return from a human) and return its messages."""
        try:
            response = await self._client.post(
                f"/conversations/{sender_id}/trigger_intent",
                params={**self._params(), "output_channel": "latest"},
                json={"name": intent, "entities": entities or {}},
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailableError from exc
        if response.status_code != 200:
            logger.warning("engine trigger_intent answered HTTP %s", response.status_code)
            raise EngineUnavailableError
        return parse_rest_messages(response.json().get("messages", []))

    async def parse(self, text: str) -> dict[str, Any]:
        try:
            response = await self._client.post(
                "/model/parse", params=self._params(), json={"text": text}
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailableError from exc
        if response.status_code != 200:
            raise EngineUnavailableError
        result: dict[str, Any] = response.json()
        return result

    async def is_ready(self) -> bool:
        """True once the server answers and has a model loaded."""
        try:
            response = await self._client.get("/status", params=self._params(), timeout=3.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and bool(response.json().get("model_file"))


def parse_rest_messages(
    items: list[dict[str, Any]],
) -> tuple[list[OutboundMessage], dict[str, Any]]:
    """Turn Rasa REST channel items into messages; ``custom`` items are instructions."""
    messages: list[OutboundMessage] = []
    custom: dict[str, Any] = {}
    for item in items:
        if isinstance(item.get("custom"), dict):
            custom.update(item["custom"])
        text = item.get("text")
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=b.get("payload"), url=b.get("url"))
            for b in item.get("buttons") or []
        )
        if text or buttons:
            messages.append(OutboundMessage(text=text, buttons=buttons))
    return messages, custom
