"""The web chat API with a stand-in engine: contract, bad input, engine down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import timing
from bot.config import Settings
from bot.conversations import store
from bot.conversations.models import Delivery, Message
from bot.web.app import create_app
from tests.utils.fakes import FakeEngine, gateway_with

ADMIN = "admin-token-for-tests-1234567890"


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, admin_api_token=ADMIN, environment="test")
    gateway = gateway_with(settings, engine)
    with TestClient(create_app(settings, gateway)) as test_client:
        test_client.gateway = gateway  # type: ignore[attr-defined]
        yield test_client


def new_session(client: TestClient, locale: str = "fr") -> tuple[str, dict[str, str]]:
    response = client.post("/api/chat/sessions", json={"locale": locale})
    assert response.status_code == 201
    body = response.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


def message_count(client: TestClient) -> int:
    with client.gateway.sessions() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def test_message_gets_the_bot_reply_with_buttons(client: TestClient) -> None:
    session_id, auth = new_session(client)
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "salut"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["handoff"] is None
    assert body["messages"][0]["text"] == "echo: salut"
    assert body["messages"][0]["buttons"] == [{"title": "Oui", "payload": "/affirm"}]


def test_both_directions_are_recorded(client: TestClient) -> None:
    session_id, auth = new_session(client)
    client.post(f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "a"})
    client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"payload": "/affirm"}
    )
    assert message_count(client) == 4


def test_session_locale_reaches_the_engine(client: TestClient, engine: FakeEngine) -> None:
    session_id, auth = new_session(client, "en")
    client.post(f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "hi"})
    assert engine.received[-1][2]["locale"] == "en"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": ""}, 422),
        ({"text": "   \n "}, 422),
        ({"text": "x" * 2001}, 413),
        ({"text": "a", "payload": "/greet"}, 422),
        ({}, 422),
        ({"payload": "greet"}, 422),
        ({"text": 12}, 422),
    ],
)
def test_bad_messages_get_a_plain_error_and_change_nothing(
    client: TestClient, body: dict[str, object], status: int
) -> None:
    session_id, auth = new_session(client)
    before = message_count(client)
    response = client.post(f"/api/chat/sessions/{session_id}/messages", headers=auth, json=body)
    assert response.status_code == status
    assert isinstance(response.json()["error"], str)
    assert response.json()["error"]
    assert message_count(client) == before


def test_too_long_message_is_explained_in_french(client: TestClient) -> None:
    session_id, auth = new_session(client)
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "x" * 10_000}
    )
    assert response.status_code == 413
    assert "trop long" in response.json()["error"]
    assert "2\u202f000" in response.json()["error"] or "2 000" in response.json()["error"]


def test_malformed_json_is_a_400(client: TestClient) -> None:
    session_id, auth = new_session(client)
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages",
        headers={**auth, "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_one_session_cannot_write_to_another(client: TestClient) -> None:
    first, _ = new_session(client)
    _, other_auth = new_session(client)
    before = message_count(client)
    response = client.post(
        f"/api/chat/sessions/{first}/messages", headers=other_auth, json={"text": "coucou"}
    )
    assert response.status_code == 401
    assert message_count(client) == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_missing_or_wrong_token_is_refused(client: TestClient, headers: dict[str, str]) -> None:
    session_id, _ = new_session(client)
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=headers, json={"text": "coucou"}
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Unknown session or wrong token."}


def test_unknown_session_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/chat/sessions/nope/messages",
        headers={"Authorization": "Bearer x"},
        json={"text": "coucou"},
    )
    assert response.status_code == 401


def test_unsupported_locale_is_refused(client: TestClient) -> None:
    response = client.post("/api/chat/sessions", json={"locale": "de"})
    assert response.status_code == 422
    assert "fr" in response.json()["error"]


def test_engine_down_keeps_the_message_and_says_so(client: TestClient, engine: FakeEngine) -> None:
    session_id, auth = new_session(client)
    engine.up = False
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages",
        headers=auth,
        json={"text": "je cherche un cfa"},
    )
    assert response.status_code == 200
    (notice,) = response.json()["messages"]
    assert notice["from"] == "system"
    assert "indisponible" in notice["text"]
    assert "gardé" in notice["text"]
    with client.gateway.sessions() as session:  # type: ignore[attr-defined]
        # Message texts are encrypted: looked for in Python, not in SQL.
        kept = next(
            (m for m in session.scalars(select(Message)) if m.text == "je cherche un cfa"), None
        )
        assert kept is not None
        assert kept.delivery == Delivery.ENGINE_UNAVAILABLE


def test_retried_send_is_answered_once(client: TestClient, engine: FakeEngine) -> None:
    session_id, auth = new_session(client)
    body = {"payload": "/affirm", "client_message_id": "btn-1"}
    first = client.post(f"/api/chat/sessions/{session_id}/messages", headers=auth, json=body)
    second = client.post(f"/api/chat/sessions/{session_id}/messages", headers=auth, json=body)
    assert first.json()["messages"] == second.json()["messages"]
    assert len(engine.received) == 1


def test_a_retry_racing_its_original_is_answered_as_a_repeat(
    client: TestClient, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two gateways took the same send at once: the other one recorded it between this
    one's check and its insert (tests/integration/test_scale.py races it for real)."""
    session_id, auth = new_session(client)
    body = {"text": "salut", "client_message_id": "raced-1"}
    first = client.post(f"/api/chat/sessions/{session_id}/messages", headers=auth, json=body)
    recorded = message_count(client)
    real_find = store.find_by_client_id
    checks: list[str] = []

    def not_committed_yet(session: Session, conversation_id: str, cid: str) -> Message | None:
        checks.append(cid)
        return None if len(checks) == 1 else real_find(session, conversation_id, cid)

    monkeypatch.setattr(store, "find_by_client_id", not_committed_yet)
    second = client.post(f"/api/chat/sessions/{session_id}/messages", headers=auth, json=body)
    assert second.status_code == 200
    assert second.json()["messages"] == first.json()["messages"]
    assert len(engine.received) == 1
    assert message_count(client) == recorded


def test_health_names_the_component_down(client: TestClient, engine: FakeEngine) -> None:
    engine.up = False
    response = client.get("/healthz")
    assert response.status_code == 503
    components = response.json()["components"]
    assert components["rasa"] == "down"
    assert components["db"] == "ok"


def test_nlu_parse_needs_the_admin_token(client: TestClient) -> None:
    assert client.post("/api/nlu/parse", json={"text": "salut"}).status_code == 401
    response = client.post(
        "/api/nlu/parse", json={"text": "salut"}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert response.status_code == 200
    assert response.json()["intent"] == "greet"
    assert response.json()["handoff"] == "none"


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}


def test_event_stream_needs_the_session_token(client: TestClient) -> None:
    session_id, _ = new_session(client)
    client.cookies.clear()
    response = client.get(f"/api/chat/sessions/{session_id}/events")
    assert response.status_code == 401


def test_session_cookie_is_scoped_and_http_only(client: TestClient) -> None:
    response = client.post("/api/chat/sessions", json={})
    cookie = response.headers["set-cookie"]
    assert f"Path=/api/chat/sessions/{response.json()['session_id']}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_a_turn_with_no_answer_is_never_silent(client: TestClient, engine: FakeEngine) -> None:
    session_id, auth = new_session(client)
    engine.silent = True
    response = client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "hello"}
    )
    (notice,) = response.json()["messages"]
    assert notice["from"] == "system"
    assert "redire" in notice["text"]


def test_reply_says_where_its_time_went_only_when_asked(
    database_url: str, engine: FakeEngine, client: TestClient
) -> None:
    session_id, auth = new_session(client)
    quiet = client.post(
        f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "a"}
    )
    assert "server-timing" not in quiet.headers

    settings = Settings(
        database_url=database_url, admin_api_token=ADMIN, environment="test", server_timing=True
    )
    with TestClient(create_app(settings, gateway_with(settings, engine))) as timed:
        session_id, auth = new_session(timed)
        reply = timed.post(
            f"/api/chat/sessions/{session_id}/messages", headers=auth, json={"text": "salut"}
        )
    assert reply.json()["messages"][0]["text"] == "echo: salut"
    stages = timing.parse(reply.headers["server-timing"])
    assert {"auth", "auth-wait", "record", "record-wait", "engine", "answer", "total"} <= set(
        stages
    )
    assert stages["total"] >= stages["engine"]
    assert "salut" not in reply.headers["server-timing"]


def test_nlu_summary_of_a_message_turned_into_the_danger_question() -> None:
    from bot.web.admin_api import nlu_summary

    result = {
        "intent": {"name": "nlu_fallback", "confidence": 0.8},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.8},
            {"name": "apprentice_employer_conflict", "confidence": 0.71},
            {"name": "urgent_no_food_money", "confidence": 0.04},
        ],
        "danger_suspected": {
            "name": "urgent_no_food_money",
            "confidence": 0.8,
            "understood": "apprentice_employer_conflict",
            "topic": None,
        },
    }
    summary = nlu_summary(result)
    assert (summary["intent"], summary["confidence"]) == ("apprentice_employer_conflict", 0.71)
    assert (summary["handoff"], summary["danger_question"]) == ("high", "urgent_no_food_money")
    plain = nlu_summary({"intent": {"name": "greet", "confidence": 0.9}})
    assert (plain["intent"], plain["danger_question"]) == ("greet", None)
