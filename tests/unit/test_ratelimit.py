"""Rate limits of the public API, through the real app with a stand-in engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.config import Settings
from bot.conversations.models import Message, User
from bot.db import session_scope
from bot.web.app import create_app
from bot.web.ratelimit import RateLimiter, SlidingWindow
from handoff import accounts
from handoff.models import Referent
from tests.utils.fakes import FakeEngine, gateway_with

PASSWORD = "a-long-enough-password"


class Clock:
    """A hand-moved clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_client(
    database_url: str, engine: FakeEngine, clock: Clock, **limits: int
) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, environment="test").model_copy(update=limits)
    gateway = gateway_with(settings, engine)
    app = create_app(settings, gateway)
    limiter: RateLimiter = app.state.rate_limiter
    limiter.clock = clock
    with TestClient(app) as test_client:
        test_client.gateway = gateway  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture
def client(database_url: str, engine: FakeEngine, clock: Clock) -> Iterator[TestClient]:
    yield from make_client(
        database_url,
        engine,
        clock,
        rate_limit_session_messages_per_minute=3,
        rate_limit_ip_messages_per_minute=100,
        rate_limit_ip_sessions_per_minute=100,
        rate_limit_ip_logins_per_minute=2,
    )


def new_session(client: TestClient, locale: str = "fr") -> tuple[str, dict[str, str]]:
    response = client.post("/api/chat/sessions", json={"locale": locale})
    assert response.status_code == 201
    body = response.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


def send(client: TestClient, session_id: str, auth: dict[str, str], text: str) -> int:
    url = f"/api/chat/sessions/{session_id}/messages"
    return client.post(url, headers=auth, json={"text": text}).status_code


def count(client: TestClient, model: type[Message] | type[User]) -> int:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_over_the_session_limit_answers_429_with_plain_words_and_retry_after(
    client: TestClient, clock: Clock
) -> None:
    session_id, auth = new_session(client)
    for i in range(3):
        assert send(client, session_id, auth, f"message {i}") == 200
        clock.now += 5
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "un de trop"}
    )
    assert response.status_code == 429
    # The first message leaves the window 60 s after it came, 15 s have passed.
    assert response.headers["Retry-After"] == "45"
    body = response.json()
    assert body["retry_after"] == 45
    assert body["error"].startswith("Trop de messages d'un coup.")
    assert "45 secondes" in body["error"]


def test_a_refused_message_is_not_recorded_nor_sent_to_the_engine(
    client: TestClient, engine: FakeEngine
) -> None:
    session_id, auth = new_session(client)
    for i in range(3):
        assert send(client, session_id, auth, f"message {i}") == 200
    messages_before, turns_before = count(client, Message), len(engine.received)
    assert send(client, session_id, auth, "refusé") == 429
    assert count(client, Message) == messages_before
    assert len(engine.received) == turns_before


def test_an_english_session_is_refused_in_english(client: TestClient) -> None:
    session_id, auth = new_session(client, "en")
    for i in range(3):
        assert send(client, session_id, auth, f"message {i}") == 200
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "one more"}
    )
    assert response.status_code == 429
    assert response.json()["error"].startswith("Too many messages at once.")


def test_other_sessions_are_not_affected(client: TestClient) -> None:
    first, first_auth = new_session(client)
    second, second_auth = new_session(client)
    for i in range(3):
        assert send(client, first, first_auth, f"message {i}") == 200
    assert send(client, first, first_auth, "refusé") == 429
    assert send(client, second, second_auth, "bonjour") == 200


def test_requests_with_a_wrong_token_do_not_use_up_the_session(client: TestClient) -> None:
    session_id, auth = new_session(client)
    wrong = {"Authorization": "Bearer not-the-token"}
    for _ in range(5):
        assert send(client, session_id, wrong, "intrus") in {401, 429}
    assert send(client, session_id, auth, "c'est moi") == 200


def test_the_window_recovers_and_refusals_are_not_counted(client: TestClient, clock: Clock) -> None:
    session_id, auth = new_session(client)
    for i in range(3):
        assert send(client, session_id, auth, f"message {i}") == 200
    clock.now += 30
    assert send(client, session_id, auth, "trop tôt") == 429
    clock.now += 29.5
    assert send(client, session_id, auth, "encore trop tôt") == 429
    # Exactly 60 s after the three messages: the window is empty again, and the two
    # refused attempts did not count.
    clock.now += 0.5
    for i in range(3):
        assert send(client, session_id, auth, f"de nouveau {i}") == 200


def test_messages_per_address_are_limited_across_sessions(
    database_url: str, engine: FakeEngine, clock: Clock
) -> None:
    for client in make_client(
        database_url,
        engine,
        clock,
        rate_limit_session_messages_per_minute=100,
        rate_limit_ip_messages_per_minute=4,
    ):
        sessions = [new_session(client) for _ in range(3)]
        for session_id, auth in sessions[:2]:
            assert send(client, session_id, auth, "a") == 200
            assert send(client, session_id, auth, "b") == 200
        assert send(client, *sessions[2], "c") == 429
        # Another address (another school, another phone) is not affected.
        other = TestClient(client.app, client=("203.0.113.7", 50000))
        assert send(other, *sessions[2], "d") == 200
        other.close()


def test_session_creation_is_limited_per_address_and_creates_nothing(
    database_url: str, engine: FakeEngine, clock: Clock
) -> None:
    for client in make_client(database_url, engine, clock, rate_limit_ip_sessions_per_minute=2):
        new_session(client)
        new_session(client)
        users = count(client, User)
        response = client.post("/api/chat/sessions", json={"locale": "fr"})
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "60"
        assert "Trop de conversations" in response.json()["error"]
        assert count(client, User) == users
        clock.now += 60
        new_session(client)


def test_console_logins_are_limited_per_address_without_counting_against_the_account(
    client: TestClient,
) -> None:
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        accounts.create_referent(
            session, email="ref@example.org", display_name="Ref", password=PASSWORD
        )
    wrong = {"email": "ref@example.org", "password": "wrong-password-123"}
    assert client.post("/console/api/login", json=wrong).status_code == 401
    assert client.post("/console/api/login", json=wrong).status_code == 401
    response = client.post("/console/api/login", json=wrong)
    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in response.json()["error"]
    assert int(response.headers["Retry-After"]) > 0
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        failures = session.scalar(select(Referent.failed_logins))
    assert failures == 2


def test_a_limit_of_zero_turns_the_limit_off() -> None:
    window = SlidingWindow(0)
    for _ in range(1000):
        assert window.retry_after("k", 0.0) == 0
        window.hit("k", 0.0)
    assert len(window) == 0


def test_idle_keys_are_forgotten_when_many_are_held() -> None:
    window = SlidingWindow(1, window=60.0, max_keys=10)
    for i in range(10):
        window.hit(f"old-{i}", 0.0)
    window.hit("new", 61.0)
    assert len(window) == 1
