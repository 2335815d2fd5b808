"""The scale path of ARCHITECTURE.md, for real: two whole instances on loopback (each its own
action server, Rasa server and gateway, as `make run` starts them) sharing one PostgreSQL
(application database and Rasa's tracker store) and one Redis (Rasa's lock store).

K conversations talk at the same time, each sending its M messages one after the other
(as a person does: the next after the answer), each message to gateway A or B in turn, so
that consecutive turns of one conversation are handled by different Rasa servers. A few
messages are sent to both gateways at once with the same ``client_message_id`` (a retry
racing its original). Then, from the stores themselves: every conversation's messages are
recorded once each, in the order sent, each with one set of replies; Rasa's tracker store
has each user message once, in order; both Rasa servers served turns, under one lock store.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.conversations.models import Conversation, Delivery, Direction, Message, User
from bot.db import make_engine
from bot.tracker_crypto import TrackerKeyring
from tests.conftest import TEST_TRACKER_KEY
from tests.utils.redis_server import command, command_calls, redis_server
from tests.utils.stack import Stack, running_stacks

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.timeout(900)]

CONVERSATIONS = 8  # K, all at once
RETRIED = {1, 4, 7}  # these conversations send one message to both gateways at once
RETRY_AT = 3  # which message of theirs
TRAFFIC_TIMEOUT = 300.0
GREETINGS = ["salut", "bonjour", "coucou", "slt"]
QUESTIONS = [
    "c koi l'alternance",
    "c'est quoi un CFA ?",
    "combien on est payé en apprentissage",
    "comment trouver une entreprise pour mon alternance",
    "c'est quoi le contrat d'apprentissage",
]
# Sanic's access log line of one turn through Rasa's REST channel.
WEBHOOK_TURN = re.compile(r"POST \S*/webhooks/rest/webhook\s+200\b")


def script(k: int) -> list[dict[str, str]]:
    """What conversation ``k`` sends (M = 6): the chat page's "/greet" first, then
    knowledge questions and greetings in turn, none twice within a conversation."""
    return [
        {"payload": "/greet"},
        {"text": QUESTIONS[k % 5]},
        {"text": GREETINGS[k % 4]},
        {"text": QUESTIONS[(k + 1) % 5]},
        {"text": GREETINGS[(k + 1) % 4]},
        {"text": QUESTIONS[(k + 2) % 5]},
    ]


@dataclass
class Sent:
    client_message_id: str
    engine_text: str  # what Rasa receives (and records as the user's text)
    gateways: list[int]  # which gateway(s) it was sent to: two for a raced retry
    answers: list[list[dict[str, Any]]]  # the messages of each HTTP response


@dataclass
class Talk:
    session_id: str
    sent: list[Sent] = field(default_factory=list)


@dataclass
class Run:
    stacks: list[Stack]
    database_url: str
    tracker_url: str
    redis_port: int
    talks: list[Talk]
    seconds: float

    def user_ids(self) -> dict[str, str]:
        """Rasa's sender id (our user id) of each web session."""
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                rows = session.execute(select(User.external_id, User.id)).all()
        finally:
            engine.dispose()
        return dict(rows)


async def post(
    client: httpx.AsyncClient, talk: Talk, token: str, body: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.post(
        f"/api/chat/sessions/{talk.session_id}/messages",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
    )
    assert response.status_code == 200, (client.base_url, response.status_code, response.text)
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def converse(clients: list[httpx.AsyncClient], k: int) -> Talk:
    """One person: a session opened on one gateway, then each message after the answer to
    the one before, to gateway A and B in turn."""
    opened = await clients[k % 2].post("/api/chat/sessions", json={"locale": "fr"})
    assert opened.status_code == 201, opened.text
    talk = Talk(opened.json()["session_id"])
    token = opened.json()["token"]
    for index, body in enumerate(script(k)):
        cid = f"scale-{k}-{index}"
        with_id = {**body, "client_message_id": cid}
        engine_text = body.get("payload") or body["text"]
        if k in RETRIED and index == RETRY_AT:
            # The page's retry of a send whose answer it did not get, arriving through the
            # other gateway while the original is still being handled.
            answers = await asyncio.gather(
                post(clients[0], talk, token, with_id), post(clients[1], talk, token, with_id)
            )
            talk.sent.append(Sent(cid, engine_text, [0, 1], list(answers)))
        else:
            gateway = (k + index) % 2
            answer = await post(clients[gateway], talk, token, with_id)
            talk.sent.append(Sent(cid, engine_text, [gateway], [answer]))
    return talk


async def drive(stacks: list[Stack]) -> list[Talk]:
    clients = [httpx.AsyncClient(base_url=s.base_url, timeout=60) for s in stacks]
    try:
        return list(
            await asyncio.wait_for(
                asyncio.gather(*(converse(clients, k) for k in range(CONVERSATIONS))),
                TRAFFIC_TIMEOUT,
            )
        )
    finally:
        for client in clients:
            await client.aclose()


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database on the test's PostgreSQL server (not the shared stack's)."""
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(text(f"CREATE DATABASE {name}"))
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def run(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    database_url = fresh_database(postgres_url, "relais_scale")
    tracker_url = fresh_database(postgres_url, "relais_scale_tracker")
    with redis_server() as redis_url:
        shared = {
            "DATABASE_URL": database_url,
            "TRACKER_STORE_URL": tracker_url,
            "LOCK_STORE_URL": redis_url,
            # Sanic's access log in Rasa's output: each server's turns can be counted.
            "LOG_LEVEL_LIBRARIES": "INFO",
        }
        tmp = tmp_path_factory.mktemp("scale")
        with running_stacks(tmp, [shared, shared]) as stacks:
            started = time.monotonic()
            talks = asyncio.run(drive(stacks))
            seconds = time.monotonic() - started
            redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
            yield Run(stacks, database_url, tracker_url, redis_port, talks, seconds)


def transcripts(run: Run) -> dict[str, list[Message]]:
    """Every web session's messages in the application database, in recorded order."""
    engine = make_engine(run.database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(User.external_id, Message)
                .join(Conversation, Conversation.user_id == User.id)
                .join(Message, Message.conversation_id == Conversation.id)
                .order_by(Message.id)
            ).all()
    finally:
        engine.dispose()
    found: dict[str, list[Message]] = {}
    for external_id, message in rows:
        found.setdefault(external_id, []).append(message)
    return found


def turns_in_log(stack: Stack) -> int:
    return sum(
        1
        for line in stack.log().splitlines()
        if line.startswith("rasa") and WEBHOOK_TURN.search(line)
    )


def test_every_message_is_recorded_once_in_the_order_sent(run: Run) -> None:
    recorded = transcripts(run)
    assert len(run.talks) == CONVERSATIONS
    for talk in run.talks:
        inbound = [m for m in recorded[talk.session_id] if m.direction is Direction.INBOUND]
        assert [m.client_message_id for m in inbound] == [s.client_message_id for s in talk.sent]
        assert [m.payload or m.text for m in inbound] == [s.engine_text for s in talk.sent]
        assert all(m.delivery is Delivery.DONE for m in inbound), "every one reached the bot"


def test_every_message_got_one_set_of_replies_right_after_it(run: Run) -> None:
    recorded = transcripts(run)
    for talk in run.talks:
        messages = recorded[talk.session_id]
        # The transcript reads inbound, its replies, inbound, its replies...: nothing
        # answered twice, nothing answered out of turn, no stray message.
        sets: list[list[Message]] = []
        for message in messages:
            if message.direction is Direction.INBOUND:
                sets.append([message])
            else:
                assert sets, message
                assert message.reply_to_id == sets[-1][0].id, message
                sets[-1].append(message)
        assert len(sets) == len(talk.sent)
        for (_inbound, *replies), sent in zip(sets, talk.sent, strict=True):
            assert replies, f"{sent.client_message_id} was not answered"
            # What the person was shown is what was recorded, once.
            original = max(sent.answers, key=len)
            assert [r.text for r in replies] == [a["text"] for a in original]
        greeting = talk.sent[0].answers[0]
        assert any("Relais" in (m["text"] or "") for m in greeting), "the trained model answered"


def test_a_retry_racing_its_original_through_the_other_gateway_is_handled_once(
    run: Run,
) -> None:
    raced = [t.sent[RETRY_AT] for k, t in enumerate(run.talks) if k in RETRIED]
    assert len(raced) == len(RETRIED)
    assert all(s.gateways == [0, 1] for s in raced)
    for sent in raced:
        first, second = sent.answers
        # The original got the bot's answer; its repeat, the same answer or (while the
        # original was still with the bot) nothing: never a second turn.
        original, repeat = (first, second) if len(first) >= len(second) else (second, first)
        assert original, sent.client_message_id
        assert repeat in ([], original), sent.client_message_id


def test_rasa_recorded_each_user_message_once_in_order(run: Run) -> None:
    user_ids = run.user_ids()
    engine = make_engine(run.tracker_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, sender_id, data FROM events WHERE type_name = 'user' ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    # Encrypted with the run's tracker key, which both instances were given.
    keyring = TrackerKeyring([TEST_TRACKER_KEY])
    said: dict[str, list[str]] = {}
    for row_id, sender_id, data in rows:
        assert data.startswith("gAAAAA"), "stored as a Fernet token"
        said.setdefault(sender_id, []).append(json.loads(keyring.read(data, row_id))["text"])
    for talk in run.talks:
        assert said[user_ids[talk.session_id]] == [s.engine_text for s in talk.sent]
    assert sum(map(len, said.values())) == CONVERSATIONS * len(script(0))


def test_both_rasa_servers_served_turns_under_one_redis_lock_store(run: Run) -> None:
    turns = [turns_in_log(stack) for stack in run.stacks]
    messages = sum(len(t.sent) for t in run.talks)
    # One turn per message across the two engines: the raced retries reached one only.
    assert sum(turns) == messages, turns
    assert min(turns) >= messages // 4, f"both engines share the load: {turns}"
    for stack in run.stacks:
        endpoints = yaml.safe_load((stack.var_dir / "endpoints.yml").read_text(encoding="utf-8"))
        assert endpoints["lock_store"]["type"] == "redis"
        assert endpoints["lock_store"]["port"] == run.redis_port
    calls = command_calls(run.redis_port)
    # Each turn takes a ticket (saved), finishes serving it (saved) and deletes the lock.
    assert calls.get("set", 0) >= 2 * messages, calls
    assert command(run.redis_port, "DBSIZE") == b":0\r\n", "every conversation lock released"
    raced = [t.sent[RETRY_AT].answers for k, t in enumerate(run.talks) if k in RETRIED]
    print(  # the figures of the run, shown with -s
        f"\nscale: {CONVERSATIONS} conversations, {messages} messages in {run.seconds:.1f} s;"
        f" turns per Rasa server {turns}; redis calls {calls};"
        f" raced retries answered empty by the loser: {sum([] in a for a in raced)}/{len(raced)}"
    )


def test_one_gateway_leads_the_reminders(run: Run) -> None:
    leading = [s for s in run.stacks if re.search(r"scheduler \w+ leads reminders", s.log())]
    assert len(leading) == 1, [s.base_url for s in leading]


def test_the_logs_are_clean(run: Run) -> None:
    for stack in run.stacks:
        log = stack.log()
        assert "Traceback" not in log, log[log.index("Traceback") - 2000 :][:6000]
        assert "exited with status" not in log
