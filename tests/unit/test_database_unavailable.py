"""The database briefly unavailable: the person gets a 503 in plain words (never a 500),
``/healthz`` says the database is failing, nothing is half-written; once it is back,
everything goes on, and a retried message is recorded once.

The real app and a real database made unavailable by a real other process: a SQLite file
whose write lock another program holds past the busy timeout, or a PostgreSQL server
stopped then started again. (A lock shorter than the busy timeout is simply waited out:
tests/integration/test_faults.py checks that on the real stack.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from bot.config import Settings
from bot.conversations.models import Message, User
from bot.db import session_scope
from bot.i18n import gettext
from bot.web.app import create_app
from bot.web.sessions import WebChatSession
from dialogues.knowledge.base import load_facts
from tests.conftest import WANT_POSTGRES, migrate
from tests.utils.dbfaults import sqlite_locked
from tests.utils.fakes import FakeEngine, gateway_with

ADMIN = "admin-token-for-tests-1234567890"
# The gateway waits up to 30 s for a SQLite lock (bot/db.py); these tests wait 0.3 s, so
# that a lock held "too long" takes a second, not half a minute.
SHORT_BUSY_TIMEOUT_MS = 300


def words(locale: str) -> str:
    facts = load_facts()
    return gettext(
        locale,
        "error-database-unavailable",
        emergency=facts["emergency_eu"].value,
        suicide_line=facts["emergency_suicide_prevention"].value,
    )


def counts(client: TestClient) -> tuple[int, int, int]:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Message, User, WebChatSession)
        )


def with_client_id(client: TestClient, client_message_id: str) -> list[Message]:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        return list(
            session.scalars(select(Message).where(Message.client_message_id == client_message_id))
        )


def serve(database_url: str) -> TestClient:
    settings = Settings(database_url=database_url, admin_api_token=ADMIN, environment="test")
    gateway = gateway_with(settings, FakeEngine())
    client = TestClient(create_app(settings, gateway))
    client.gateway = gateway  # type: ignore[attr-defined]
    return client


def shorten_busy_timeout(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _short(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SHORT_BUSY_TIMEOUT_MS}")


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def client(sqlite_file: Path) -> Iterator[TestClient]:
    test_client = serve(f"sqlite:///{sqlite_file}")
    shorten_busy_timeout(test_client.gateway.db_engine)  # type: ignore[attr-defined]
    with test_client:
        yield test_client


def open_session(client: TestClient) -> tuple[str, dict[str, str]]:
    response = client.post("/api/chat/sessions", json={"locale": "fr"})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


def assert_unavailable(response: Any, locale: str = "fr") -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"error": words(locale)}
    assert response.headers["retry-after"] == "5"


def db_health(client: TestClient) -> str:
    return str(client.get("/healthz").json()["components"]["db"])


def test_a_database_locked_too_long_gets_a_503_in_words_then_everything_goes_on(
    client: TestClient, sqlite_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session_id, auth = open_session(client)
    url = f"/api/chat/sessions/{session_id}/messages"
    first = {"text": "je cherche un CFA", "client_message_id": "m-1"}
    before = counts(client)

    with sqlite_locked(sqlite_file):
        assert_unavailable(client.post(url, json=first, headers=auth))
        assert_unavailable(
            client.post(url, json=first, headers={**auth, "Accept-Language": "en-GB,en;q=0.8"}),
            "en",
        )
        assert_unavailable(client.post("/api/chat/sessions", json={"locale": "fr"}))
        assert db_health(client) == "down", "/healthz names the database"
        assert counts(client) == before, "nothing half-written"

    # The database is back: the very same message (the page sends it again with the same
    # id) goes through once; sent once more, it is answered again, not recorded twice.
    reply = client.post(url, json=first, headers=auth)
    assert reply.status_code == 200, reply.text
    assert reply.json()["messages"][0]["text"] == "echo: je cherche un CFA"
    assert db_health(client) == "ok"
    again = client.post(url, json=first, headers=auth)
    assert again.json()["messages"] == reply.json()["messages"]
    assert len(with_client_id(client, "m-1")) == 1
    assert counts(client) == (before[0] + 2, before[1], before[2])
    assert open_session(client)

    # Said in the log as what it is, without a traceback nor the SQL and its parameters.
    unavailable = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert unavailable
    assert all(r.levelno == logging.WARNING for r in unavailable)
    assert all(r.exc_info is None and "INSERT" not in r.getMessage() for r in unavailable)
    assert not [r for r in caplog.records if r.getMessage() == "unexpected error"]


@pytest.mark.postgres
def test_postgresql_stopped_then_started_again() -> None:
    if not WANT_POSTGRES:
        pytest.skip("PostgreSQL tests run with `make postgres-tests`")
    from tests.utils.postgres import postgres_server_handle

    with postgres_server_handle() as server:
        migrate(server.url)
        with serve(server.url) as client:
            session_id, auth = open_session(client)
            url = f"/api/chat/sessions/{session_id}/messages"
            sent = {"text": "bonjour", "client_message_id": "pg-1"}
            assert client.post(url, json={"text": "avant"}, headers=auth).status_code == 200
            before = counts(client)

            server.stop("fast")  # the pooled connections are cut, as in a restart
            try:
                assert_unavailable(client.post(url, json=sent, headers=auth))
                assert_unavailable(client.post("/api/chat/sessions", json={}))
                assert db_health(client) == "down"
            finally:
                server.start()

            reply = client.post(url, json=sent, headers=auth)
            assert reply.status_code == 200, reply.text
            assert reply.json()["messages"][0]["text"] == "echo: bonjour"
            assert client.post(url, json=sent, headers=auth).status_code == 200
            assert db_health(client) == "ok"
            assert len(with_client_id(client, "pg-1")) == 1
            assert counts(client) == (before[0] + 2, before[1], before[2])
