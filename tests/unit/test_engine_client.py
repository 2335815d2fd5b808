"""What the gateway sends to and reads from Rasa's REST channel."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web

from bot.engine_client import (
    EngineClient,
    EngineUnavailableError,
    parse_rest_messages,
    to_engine_text,
)
from bot.messages import Button


def test_short_payloads_become_rasa_payloads() -> None:
    assert to_engine_text("/ask_topic:topic=cfa_what") == '/ask_topic{"topic": "cfa_what"}'
    assert to_engine_text("/x:a=1,b=deux") == '/x{"a": "1", "b": "deux"}'
    assert to_engine_text("/greet") == "/greet"


def test_free_text_is_never_rewritten() -> None:
    for text in ("c koi: un cfa=?", "/ask_topic:topic=a b", "j'ai 17 ans:a=b"):
        assert to_engine_text(text) == text


def test_rest_items_become_messages_and_custom_data() -> None:
    items = [
        {"recipient_id": "u", "text": "Salut", "buttons": [{"title": "Oui", "payload": "/affirm"}]},
        {"recipient_id": "u", "custom": {"set_locale": "en"}},
        {
            "recipient_id": "u",
            "text": "Voir",
            "buttons": [{"title": "Site", "url": "https://a.fr"}],
        },
    ]
    messages, custom = parse_rest_messages(items)
    assert custom == {"set_locale": "en"}
    assert [m.text for m in messages] == ["Salut", "Voir"]
    assert messages[0].buttons == (Button("Oui", "/affirm"),)
    assert messages[1].buttons == (Button("Site", url="https://a.fr"),)


# --- the HTTP client itself, against a small local server standing in for Rasa ----------


async def _serve(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def test_a_turn_goes_to_the_rest_webhook_and_comes_back_as_messages() -> None:
    seen: list[dict[str, Any]] = []

    async def rasa(request: web.Request) -> web.Response:
        seen.append({"path": request.path, **await request.json()})
        return web.json_response([{"recipient_id": "u1", "text": "Salut !"}])

    async def run() -> tuple[list[Any], dict[str, Any]]:
        runner, url = await _serve(rasa)
        client = EngineClient(url, token=None)
        try:
            return await client.send("u1", "/ask_topic:topic=cfa_what", {"locale": "fr"})
        finally:
            await client.aclose()
            await runner.cleanup()

    messages, custom = asyncio.run(run())
    assert [m.text for m in messages] == ["Salut !"]
    assert custom == {}
    assert seen == [
        {
            "path": "/webhooks/rest/webhook",
            "sender": "u1",
            "message": '/ask_topic{"topic": "cfa_what"}',
            "metadata": {"locale": "fr"},
        }
    ]


@pytest.mark.parametrize("failure", ["refused", "http-500", "not-json", "too-slow"])
def test_every_way_rasa_can_fail_is_engine_unavailable(failure: str) -> None:
    async def rasa(request: web.Request) -> web.Response:
        if failure == "http-500":
            return web.Response(status=500, text="boom")
        if failure == "not-json":
            return web.Response(status=200, text="<html>proxy error</html>")
        await asyncio.sleep(2)
        return web.json_response([])

    async def run() -> None:
        runner, url = await _serve(rasa)
        if failure == "refused":
            await runner.cleanup()  # nothing listens on that port any more
        client = EngineClient(url, token=None, timeout=0.5)
        try:
            with pytest.raises(EngineUnavailableError):
                await client.send("u1", "bonjour", {})
            with pytest.raises(EngineUnavailableError):
                await client.parse("bonjour")
            assert await client.is_ready() is False
        finally:
            await client.aclose()
            await runner.cleanup()

    asyncio.run(run())


def test_one_client_serves_successive_event_loops() -> None:
    """The gateway object outlives an event loop in tests: the client opens a new
    connection pool for the loop that uses it."""

    async def rasa(request: web.Request) -> web.Response:
        return web.json_response({"model_file": "relais.tar.gz"})

    client = EngineClient("http://placeholder", token="t")

    async def ready() -> bool:
        runner, url = await _serve(rasa)
        client._base_url = url  # a new port each time
        try:
            return await client.is_ready()
        finally:
            await client.aclose()
            await runner.cleanup()

    assert asyncio.run(ready()) is True
    assert asyncio.run(ready()) is True


def test_a_turn_warns_when_rasa_is_down_but_a_health_probe_does_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """/healthz is polled: it says "down"; a warning per poll would bury the real ones."""

    async def rasa(request: web.Request) -> web.Response:
        return web.json_response({})

    async def run() -> None:
        runner, url = await _serve(rasa)
        await runner.cleanup()  # nothing listens on that port any more
        client = EngineClient(url, token=None, timeout=0.5)
        try:
            with caplog.at_level(logging.DEBUG, logger="bot.engine_client"):
                assert await client.is_ready() is False
                probe = [r.levelno for r in caplog.records]
                caplog.clear()
                with pytest.raises(EngineUnavailableError):
                    await client.send("u1", "bonjour", {})
                turn = [r.levelno for r in caplog.records]
        finally:
            await client.aclose()
        assert probe == [logging.DEBUG]
        assert turn == [logging.WARNING]

    asyncio.run(run())
