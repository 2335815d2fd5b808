"""Bad input at scale against the public API (shared/spec/http-api.md), with hypothesis:
random bodies, headers, session ids, payloads, and texts with emoji, control characters,
2,000 characters and more, mixed languages and scripts, malformed JSON.

The real app and the real database (a SQLite file), a stand-in engine. Whatever comes in:
never a 5xx; a 4xx always says why as ``{"error": "<plain words>"}``; a rejected request
changes nothing (rows in ``messages``, ``users`` and ``web_chat_sessions``); and a good
message is still answered. The same texts go through the trained model in
tests/integration/test_faults.py.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.config import Settings
from bot.conversations.models import Message, User
from bot.db import session_scope
from bot.messages import MAX_TEXT, InboundMessage
from bot.router import advertised_command
from bot.web.chat_api import CONTROL_CHARS, MAX_PAYLOAD
from bot.web.sessions import WebChatSession
from tests.conftest import migrate
from tests.utils.fakes import HANDOFF_TEXTS, NOT_UNDERSTOOD_PREFIX, FakeEngine, served

ADMIN = "admin-token-for-fuzz-tests-0123456789"
FUZZ = settings(
    max_examples=200,
    deadline=None,  # one example is a few database transactions: timing is not the point
    database=None,  # no .hypothesis/ directory in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass
class Api:
    client: TestClient

    def counts(self) -> tuple[int, int, int]:
        """Rows in messages, users, web_chat_sessions."""
        with session_scope(self.client.gateway.sessions) as session:  # type: ignore[attr-defined]
            return tuple(  # type: ignore[return-value]
                int(session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Message, User, WebChatSession)
            )

    def new_session(self, locale: str = "fr") -> tuple[str, str]:
        response = self.client.post("/api/chat/sessions", json={"locale": locale})
        assert response.status_code == 201, response.text
        # The client would keep the session's cookie (which the event stream accepts, for
        # EventSource): every request here says who it is, or not, on its own.
        self.client.cookies.clear()
        body = response.json()
        return body["session_id"], body["token"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'app.db'}"
    migrate(database_url)
    config = Settings(
        database_url=database_url,
        admin_api_token=ADMIN,
        environment="test",
        # The limits answer 429 with plain words (tests/unit/test_ratelimit.py); here they
        # would only hide the routes behind them after the first few examples.
        rate_limit_session_messages_per_minute=0,
        rate_limit_ip_messages_per_minute=0,
        rate_limit_ip_sessions_per_minute=0,
        rate_limit_ip_logins_per_minute=0,
    )
    with served(config, FakeEngine()) as client:
        yield Api(client)


@pytest.fixture(scope="module")
def person(api: Api) -> tuple[str, str]:
    """A web chat session (id, token) that texts only: the stand-in engine echoes them."""
    return api.new_session()


@pytest.fixture(scope="module")
def other(api: Api) -> tuple[str, str]:
    return api.new_session()


def assert_well_formed(response: httpx.Response) -> None:
    """Never a 5xx; a 4xx is JSON ``{"error": "<plain words>"}``."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), response.text
        body = response.json()
        assert isinstance(body, dict), body
        assert isinstance(body.get("error"), str), body
        assert body["error"].strip(), body
        assert "Traceback" not in body["error"]


# --- strategies ------------------------------------------------------------------------
CONTROL = st.characters(max_codepoint=0x1F) | st.just("\x7f")
EMOJI = st.sampled_from(
    ["🙂", "😭", "👍🏽", "🎉", "❤️", "🇫🇷", "👩‍🎓", "🧑🏾‍💻", "🫠", "\u200d", "\ufe0f"]
)
WORDS = st.sampled_from(
    [
        "bonjour",
        "c koi l'alternance",
        "what is a CFA",
        "je cherche an apprenticeship",
        "привет",
        "مرحبا، أبحث عن تدريب",
        "你好",
        "שלום",
        "नमस्ते",
        "Ünïcödé ça va ?",
        "zalgo z̸̢̛a̶l̷g̵o̴",
        " ",
        "\n",
        "\t",
        "\u202e",  # right-to-left override
        "\ufeff",  # byte order mark
    ]
)
# Pieces mixed at random: control characters, emoji, words of several scripts, any text.
MIXED = st.lists(CONTROL | EMOJI | WORDS | st.text(max_size=8), max_size=30).map("".join)
# Around the 2,000-character limit, with what stripping removes on either side.
AROUND_LIMIT = st.tuples(
    st.text(min_size=1, max_size=12) | EMOJI | WORDS,
    st.integers(min_value=MAX_TEXT - 8, max_value=MAX_TEXT + 8),
    st.sampled_from(["", " ", "\x00", "\n\x07"]),
).map(lambda t: t[2] + (t[0] * (t[1] // len(t[0]) + 1))[: t[1]] + t[2])
TEXTS = st.text(max_size=200) | MIXED | AROUND_LIMIT

PAYLOADS = (
    st.sampled_from(
        [
            "/greet",
            "/affirm",
            "/deny",
            "/request_human",
            "/handoff_share_yes",
            "/handoff_share_no",
            "/handoff_cancel",
            "/handoff_age_16_17",
            "/privacy",
            "/privacy_erase_cancel",
            "/start_self_assessment:sa_choice=before_handoff",
            '/inform{"age": "17"}',
            "/",
            "//",
            "greet",
        ]
    )
    | st.text(max_size=20).map(lambda s: "/" + s)
    | st.text(min_size=MAX_PAYLOAD - 2, max_size=MAX_PAYLOAD + 2).map(lambda s: "/" + s)
    | TEXTS
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
MESSAGE_BODIES = (
    st.fixed_dictionaries(
        {},
        optional={
            "text": TEXTS | JSON_VALUES,
            "payload": PAYLOADS | JSON_VALUES,
            "client_message_id": st.text(max_size=80) | JSON_VALUES,
            "extra": JSON_VALUES,
        },
    )
    | JSON_VALUES
)
HEADER_TEXT = st.text(alphabet=string.printable.replace("\r", "").replace("\n", ""), max_size=80)
SESSION_IDS = st.text(max_size=80) | st.sampled_from(["..", "%2e%2e", "a/b", "%00", " ", "x" * 65])


def malformed(body: object) -> bytes:
    """JSON cut short, doubled, or not JSON at all."""
    text = json.dumps(body, ensure_ascii=False)
    return (text[: max(0, len(text) - 1)] + "\x00").encode()


# --- the chat API --------------------------------------------------------------------
@FUZZ
@given(body=MESSAGE_BODIES, raw=st.booleans())
def test_any_message_body_is_answered_or_refused_in_words(api: Api, body: Any, raw: bool) -> None:
    session_id, token = api.new_session()
    before = api.counts()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/chat/sessions/{session_id}/messages"
    if raw:
        response = api.client.post(
            url, content=malformed(body), headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
    else:
        response = api.client.post(url, json=body, headers=headers)
    assert_well_formed(response)
    if response.status_code >= 400:
        assert api.counts() == before, "a refused message changes nothing"
        return
    assert response.status_code == 200
    reply = response.json()
    assert isinstance(reply["messages"], list)
    assert api.counts()[1:] == before[1:], "a message makes no user and no session"
    assert api.counts()[0] > before[0], "the message is recorded"


@FUZZ
@given(text=TEXTS)
def test_a_text_is_answered_when_it_says_something_and_fits(
    api: Api, person: tuple[str, str], text: str
) -> None:
    session_id, token = person
    before = api.counts()
    response = api.client.post(
        f"/api/chat/sessions/{session_id}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_well_formed(response)
    said = CONTROL_CHARS.sub("", text).strip()
    if not said:
        assert response.status_code == 422
    elif len(said) > MAX_TEXT:
        assert response.status_code == 413
        assert "2" in response.json()["error"], "the limit is said"
    else:
        assert response.status_code == 200, response.text
        if said not in HANDOFF_TEXTS and not said.startswith(NOT_UNDERSTOOD_PREFIX):
            (answer,) = response.json()["messages"]
            # The words we advertise for a person's rights ("delete my data") are sent as
            # the button would be: the engine gets the intent, not the words.
            command = advertised_command(InboundMessage(text=said))
            engine_got = f"/{command}" if command else said
            assert answer["text"] == f"echo: {engine_got}", "what the engine got is what was said"
            assert api.counts()[0] == before[0] + 2  # the message and its answer
        return
    assert api.counts() == before


@FUZZ
@given(
    session_id=SESSION_IDS,
    authorization=st.none() | HEADER_TEXT | HEADER_TEXT.map(lambda t: "Bearer " + t),
    whose=st.sampled_from(["random", "own id, wrong token", "other session's token"]),
    body=MESSAGE_BODIES,
)
def test_a_wrong_session_or_token_is_refused_and_changes_nothing(
    api: Api,
    person: tuple[str, str],
    other: tuple[str, str],
    session_id: str,
    authorization: str | None,
    whose: str,
    body: Any,
) -> None:
    own_id, other_token = person[0], other[1]
    if whose == "own id, wrong token":
        session_id = own_id
    elif whose == "other session's token":
        session_id, authorization = own_id, f"Bearer {other_token}"
    before = api.counts()
    headers = {} if authorization is None else {"Authorization": authorization}
    path = f"/api/chat/sessions/{quote(session_id, safe='')}"
    response = api.client.post(f"{path}/messages", json=body, headers=headers)
    assert_well_formed(response)
    assert 400 <= response.status_code < 500, response.text
    assert api.counts() == before
    events = api.client.get(f"{path}/events", headers=headers)
    assert_well_formed(events)
    assert 400 <= events.status_code < 500


@FUZZ
@given(
    body=st.none() | JSON_VALUES | st.fixed_dictionaries({"locale": JSON_VALUES | HEADER_TEXT}),
    raw=st.booleans(),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "", "application/x-www-form-urlencoded"]
    ),
)
def test_opening_a_session_with_any_body(api: Api, body: Any, raw: bool, content_type: str) -> None:
    before = api.counts()
    if raw:
        response = api.client.post(
            "/api/chat/sessions", content=malformed(body), headers={"Content-Type": content_type}
        )
    else:
        response = api.client.post("/api/chat/sessions", json=body)
    api.client.cookies.clear()
    assert_well_formed(response)
    after = api.counts()
    if response.status_code == 201:
        created = response.json()
        assert set(created) == {"session_id", "token"}
        assert after == (before[0], before[1] + 1, before[2] + 1)
    else:
        assert after == before


# --- the other public routes ---------------------------------------------------------
@FUZZ
@given(
    authorization=st.none() | HEADER_TEXT.map(lambda t: "Bearer " + t) | st.just(f"Bearer {ADMIN}"),
    body=st.fixed_dictionaries({"text": TEXTS}) | JSON_VALUES,
)
def test_the_nlu_check_refuses_in_words(api: Api, authorization: str | None, body: Any) -> None:
    before = api.counts()
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.client.post("/api/nlu/parse", json=body, headers=headers)
    assert_well_formed(response)
    if response.status_code == 200:
        assert set(response.json()) >= {"intent", "confidence", "handoff"}
    assert api.counts() == before


@pytest.fixture(scope="module")
def routes(api: Api) -> list[tuple[str, str]]:
    """Every (method, path) the app publishes in its OpenAPI description."""
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    return [
        (method.upper(), path)
        for path, operations in response.json()["paths"].items()
        for method in operations
    ]


@FUZZ
@given(
    data=st.data(),
    path_value=SESSION_IDS | st.integers().map(str),
    body=JSON_VALUES,
    raw=st.booleans(),
    authorization=st.none() | HEADER_TEXT.map(lambda t: "Bearer " + t),
    cookie=st.none() | HEADER_TEXT,
    csrf=st.none() | HEADER_TEXT,
)
def test_every_published_route_without_credentials(
    api: Api,
    routes: list[tuple[str, str]],
    data: st.DataObject,
    path_value: str,
    body: Any,
    raw: bool,
    authorization: str | None,
    cookie: str | None,
    csrf: str | None,
) -> None:
    method, template = data.draw(st.sampled_from(routes))
    if method == "GET" and template.endswith("/events") and authorization is None:
        authorization = "Bearer wrong"  # never a real session: a refused stream, not a wait
    filled = template
    while "{" in filled:
        start, end = filled.index("{"), filled.index("}")
        filled = filled[:start] + quote(path_value, safe="") + filled[end + 1 :]
    headers: dict[str, str] = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if cookie is not None:
        headers["Cookie"] = f"relais_console={cookie}; relais_chat_token={cookie}"
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    before = api.counts()
    if raw:
        headers["Content-Type"] = "application/json"
        response = api.client.request(method, filled, content=malformed(body), headers=headers)
    else:
        response = api.client.request(method, filled, json=body, headers=headers)
    if template == "/healthz":  # its own spec'd shape: 503 names the failing component
        assert response.status_code in (200, 503)
        assert set(response.json()["components"]) >= {"rasa", "actions", "db", "scheduler"}
        return
    assert_well_formed(response)
    if response.status_code >= 400:
        assert api.counts() == before
