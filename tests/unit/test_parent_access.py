"""A parent never obtains a young person's data: not through the chat API with their own
session, not through the event stream, not through their own data request or export.
Real web chat API, router, privacy services and database; a stand-in engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.config import Settings
from bot.web import privacy_api
from bot.web.app import create_app
from tests.utils.chat import ChatClient
from tests.utils.fakes import FakeEngine, gateway_with

SECRET = "Léa : je ne veux pas que mes parents sachent pour le CFA"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    engine = FakeEngine()
    engine.custom_for = {
        "/data_access_request": {"gateway": {"intent": "data_access_request", "entities": {}}},
    }
    settings = Settings(
        database_url=database_url, environment="test", public_url="https://relais.example.org"
    )
    app = create_app(settings, gateway_with(settings, engine))
    if not any(getattr(r, "path", None) == "/api/privacy/export" for r in app.routes):
        app.include_router(privacy_api.router)
    with TestClient(app) as test_client:
        yield test_client


def test_a_parent_cannot_read_or_write_the_young_persons_conversation(
    client: TestClient,
) -> None:
    young = ChatClient(http=client)
    young.send(SECRET)
    parent = ChatClient(http=client)
    parent.send("je suis sa mère, je veux voir ce qu'elle a écrit")

    path = f"/api/chat/sessions/{young.session_id}"
    wrote = client.post(f"{path}/messages", headers=parent.headers, json={"text": "coucou"})
    assert wrote.status_code == 401
    assert wrote.json() == {"error": "Unknown session or wrong token."}, "nothing said of why"
    stream = client.get(f"{path}/events", headers=parent.headers)
    assert stream.status_code == 401
    parent_token = parent.headers["Authorization"].removeprefix("Bearer ")
    client.cookies.set("relais_chat_token", parent_token)
    try:
        assert client.get(f"{path}/events").status_code == 401, "nor with a cookie"
    finally:
        client.cookies.clear()


def test_a_parents_data_request_gives_only_their_own_data(client: TestClient) -> None:
    young = ChatClient(http=client)
    young.send(SECRET)
    parent = ChatClient(http=client)
    parent.send("je suis parent")
    reply = parent.send(payload="/data_access_request")
    summary = reply["messages"][0]["text"]
    assert "1 conversation, 3 messages" in summary, "their own two turns, nothing more"
    link = next(m["text"] for m in reply["messages"] if "#t=" in (m["text"] or ""))
    token = link.split("#t=")[1].split()[0]
    export = client.post("/api/privacy/export", json={"token": token}).json()
    blob = repr(export)
    assert "Léa" not in blob
    assert young.session_id not in blob
    assert export["profile"]["channel_id"] == parent.session_id
