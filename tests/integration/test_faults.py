"""Faults on the real stack, and texts at the edges through the trained model.

- texts at the edges (emoji only, exactly 2,000 characters, French and English mixed,
  control characters) are answered by the model;
- the application database locked by another process for a few seconds: people writing
  meanwhile are answered once it is free, each message recorded once;
- the gateway killed (SIGKILL) during handoffs: the supervisor restarts it; the requests,
  their queue positions and the référent's console session survive; the next messages
  still go to the référent; a message whose send was cut is recorded once when sent again;
- the Rasa server killed (SIGKILL) while several people write: each is told plainly, every
  message is in the database with its delivery state, and once the supervisor has
  restarted Rasa the same conversations go on.

A stack of its own for the whole module (these tests kill its processes; the shared one
stays untouched), started by the supervisor as ``make run`` does. Rasa loads in one to
two minutes: once at the start, once after it is killed (the last test).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.conversations.models import Delivery, Direction, Message, Sender
from bot.db import make_engine, make_session_factory, session_scope
from bot.i18n import gettext
from dialogues.knowledge.base import load_facts
from tests.utils.chat import ChatClient, ask_for_a_person
from tests.utils.console import ConsoleClient, create_referent
from tests.utils.dbfaults import sqlite_locked
from tests.utils.stack import (
    Stack,
    kill_group,
    running_stack,
    wait_component,
    wait_healthy,
)

pytestmark = pytest.mark.stack

# Loading Rasa (module set-up, and again after it is killed) takes 1-2 minutes on two
# cores, more when other tests run beside: these tests get more than the default bound.
SLOW = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("faults")) as stack:
        yield stack


@dataclass
class Sent:
    """One message sent by a person, and what came back."""

    person: int
    client_message_id: str
    text: str
    status: int
    reply: dict[str, Any]


def post(
    chat: ChatClient, text: str, client_message_id: str, timeout: float = 60
) -> httpx.Response:
    return chat.http.post(
        f"/api/chat/sessions/{chat.session_id}/messages",
        headers=chat.headers,
        json={"text": text, "client_message_id": client_message_id},
        timeout=timeout,
    )


def recorded(stack: Stack, client_message_id: str) -> list[Message]:
    """The inbound rows with this id (texts are encrypted at rest: read in Python)."""
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return list(
                session.scalars(
                    select(Message).where(Message.client_message_id == client_message_id)
                )
            )
    finally:
        engine.dispose()


def replies_to(stack: Stack, message_id: int) -> list[Message]:
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return list(
                session.scalars(
                    select(Message).where(Message.reply_to_id == message_id).order_by(Message.id)
                )
            )
    finally:
        engine.dispose()


def unavailable_words(locale: str) -> str:
    facts = load_facts()
    return gettext(
        locale,
        "engine-unavailable",
        emergency=facts["emergency_eu"].value,
        suicide_line=facts["emergency_suicide_prevention"].value,
    )


# --- texts at the edges, through the trained model ---------------------------------------
EDGE_TEXTS = {
    "emoji only": "🙂👍🎉",
    "exactly 2,000 characters": (
        "Bonjour, je cherche une alternance en boulangerie près de Lyon pour la rentrée. " * 30
    )[:2000],
    "French and English mixed": "Hello, je cherche an apprenticeship, c'est quoi un CFA please ?",
    "control characters": "bonjour\x00\x07 je cherche\x1b un CFA\x7f\x0b stp",
}


@SLOW
@pytest.mark.parametrize("kind", list(EDGE_TEXTS))
def test_texts_at_the_edges_are_answered_by_the_model(own_stack: Stack, kind: str) -> None:
    text = EDGE_TEXTS[kind]
    assert kind != "exactly 2,000 characters" or len(text) == 2000
    chat = ChatClient(own_stack.base_url)
    try:
        response = post(chat, text, f"edge-{kind}")
        assert response.status_code == 200, response.text
        messages = response.json()["messages"]
        assert messages, "an answer, every time"
        assert all(m["text"] for m in messages)
        assert all(m["from"] == "bot" for m in messages), "the model answered, not a notice"
        (kept,) = recorded(own_stack, f"edge-{kind}")
        assert kept.delivery is Delivery.DONE
        if kind == "control characters":
            assert kept.text == "bonjour je cherche un CFA stp", "kept without them"
    finally:
        chat.close()


# --- the database locked by another process, briefly ---------------------------------
LOCK_SECONDS = 3.0


def test_a_database_locked_for_a_few_seconds_is_waited_out(own_stack: Stack) -> None:
    people = [ChatClient(own_stack.base_url) for _ in range(3)]
    try:
        with sqlite_locked(own_stack.var_dir / "app.db") as lock:
            started = time.monotonic()
            with ThreadPoolExecutor(len(people)) as pool:
                pending = [
                    pool.submit(post, chat, "c'est quoi un CFA ?", f"locked-{i}")
                    for i, chat in enumerate(people)
                ]
                time.sleep(LOCK_SECONDS)
                assert not any(p.done() for p in pending), "writes wait for the lock"
                lock.release()
                responses = [p.result() for p in pending]
            waited = time.monotonic() - started
        assert waited >= LOCK_SECONDS
        for i, response in enumerate(responses):
            assert response.status_code == 200, response.text
            assert response.json()["messages"][0]["from"] == "bot"
            (kept,) = recorded(own_stack, f"locked-{i}")
            assert kept.delivery is Delivery.DONE
            assert len(replies_to(own_stack, kept.id)) == len(response.json()["messages"])
    finally:
        for chat in people:
            chat.close()


# --- the gateway killed during handoffs -----------------------------------------------
def queued(chat: ChatClient) -> dict[str, Any]:
    """Ask for a person and share the conversation: the request enters the queue."""
    ask_for_a_person(chat)
    reply = chat.send(payload="/handoff_share_yes")
    assert reply["handoff"]["status"] == "waiting", reply
    # A marker kept for the référent: it finds this request in the console's queue.
    assert chat.send(f"ticket {chat.session_id}")["messages"] == []
    return dict(reply["handoff"])


@SLOW
def test_the_gateway_killed_during_handoffs_loses_no_request_and_no_place(
    own_stack: Stack,
) -> None:
    create_referent(own_stack, "faults.referent@example.org", role="supervisor")
    referent = ConsoleClient(own_stack.base_url, "faults.referent@example.org")
    people = [ChatClient(own_stack.base_url) for _ in range(3)]
    try:
        states = [queued(chat) for chat in people]
        positions = [s["position"] for s in states]
        assert sorted(positions) == positions, "first come, first in the queue"
        requests = [referent.find(f"ticket {chat.session_id}") for chat in people]
        assert all(r["status"] == "waiting" for r in requests)
        waiting_before = [item["id"] for item in referent.queue()["waiting"]]

        # A message on its way when the gateway dies: its send is cut (or not), and the
        # chat page sends it again, with the same id, once the gateway answers.
        cut = people[0]
        in_flight = threading.Thread(
            target=lambda: _ignore_errors(post, cut, "ticket numéro deux Philibert", "cut-1", 30)
        )
        in_flight.start()
        time.sleep(0.05)
        gateway_pid = own_stack.pid_of("gateway")
        kill_group(gateway_pid)
        in_flight.join(timeout=40)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{own_stack.base_url}/healthz", timeout=2)
        wait_healthy(own_stack.base_url, timeout=120)  # restarted by the supervisor
        assert own_stack.pid_of("gateway") != gateway_pid
        assert "gateway exited with status" in own_stack.log()

        resent = post(cut, "ticket numéro deux Philibert", "cut-1")
        assert resent.status_code == 200, resent.text
        assert resent.json()["messages"] == [], "held for the référent, the bot silent"
        (kept,) = recorded(own_stack, "cut-1")
        assert kept.delivery is Delivery.HELD_FOR_HUMAN

        # Same requests, same places; the référent is still logged in (sessions are in
        # the database, not in the dead process).
        assert [item["id"] for item in referent.queue()["waiting"]] == waiting_before
        for i, chat in enumerate(people):
            reply = post(chat, f"ticket suite {i} Philibert", f"after-{i}")
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["messages"] == [], "still held for the référent"
            assert body["handoff"]["status"] == "waiting"
            assert body["handoff"]["position"] == positions[i], "the same place"
            transcript = [m["text"] for m in referent.conversation(requests[i]["id"])["messages"]]
            assert transcript[-1] == f"ticket suite {i} Philibert"
            (row,) = recorded(own_stack, f"after-{i}")
            assert row.delivery is Delivery.HELD_FOR_HUMAN
        assert "Philibert" not in own_stack.log(), "no message text in the log"
    finally:
        referent.close()
        for chat in people:
            chat.close()


def _ignore_errors(function: Any, *args: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the send cut by the kill: expected
        function(*args)


# --- the Rasa server killed while people write ------------------------------------------
WRITERS = ("fr", "fr", "en", "fr")
ROUNDS = 4
KNOWLEDGE_QUESTION = "c koi l'alternance"


@SLOW
def test_the_engine_killed_while_people_write(own_stack: Stack) -> None:
    people = [ChatClient(own_stack.base_url, locale=locale) for locale in WRITERS]
    sent: list[Sent] = []
    lock = threading.Lock()

    def write(i: int, chat: ChatClient) -> None:
        for n in range(ROUNDS):
            text = f"message {n} de Zéphyrine {i}"
            response = post(chat, text, f"w{i}-{n}")
            with lock:
                sent.append(Sent(i, f"w{i}-{n}", text, response.status_code, response.json()))
            time.sleep(0.4)

    try:
        threads = [threading.Thread(target=write, args=(i, c)) for i, c in enumerate(people)]
        for thread in threads:
            thread.start()
        time.sleep(0.6)  # some answered already, some on their way
        kill_group(own_stack.pid_of("rasa"))
        for thread in threads:
            thread.join(timeout=120)
        health = wait_component(own_stack, "rasa", "down")
        assert health["status"] == "degraded"

        assert len(sent) == len(WRITERS) * ROUNDS
        told = 0
        for item in sent:
            assert item.status == 200, item
            (row,) = recorded(own_stack, item.client_message_id)  # each kept, once
            assert row.direction is Direction.INBOUND
            assert row.text == item.text
            messages = item.reply["messages"]
            if messages and messages[0]["from"] == "system":
                # Told plainly, with the emergency numbers; the message kept.
                (notice,) = messages
                assert notice["text"] == unavailable_words(WRITERS[item.person])
                assert row.delivery is Delivery.ENGINE_UNAVAILABLE
                (answer,) = replies_to(own_stack, row.id)
                assert answer.sender is Sender.SYSTEM
                told += 1
            else:
                assert messages, "never silence"
                assert row.delivery is Delivery.DONE
        assert told >= len(WRITERS), "everyone wrote while the engine was down"
        assert {item.person for item in sent if item.reply["messages"][0]["from"] == "system"} == (
            set(range(len(WRITERS)))
        )

        # A danger written while the engine is down: its numbers first all the same, and
        # a person is called (the gateway reads it with the NLU's danger lexicon).
        endangered = ChatClient(own_stack.base_url, greet=False)
        people.append(endangered)
        danger = endangered.send("mes parents m'ont mis à la porte, je dors dehors ce soir")
        first = danger["messages"][0]["text"]
        assert first.startswith("📞"), danger
        assert "115" in first[:80]
        assert danger["handoff"]["priority"] == "urgent"

        # The supervisor restarts Rasa (loading the model again takes a minute or two);
        # the same conversations go on, in each person's language.
        wait_healthy(own_stack.base_url, timeout=600)
        for i, chat in enumerate(people[: len(WRITERS)]):
            greeting = chat.send(payload="/greet")["messages"]
            expected = "I'm Relais" if WRITERS[i] == "en" else "Relais"
            assert expected in greeting[0]["text"], greeting
            assert greeting[0]["from"] == "bot"
            answer = chat.send(KNOWLEDGE_QUESTION)["messages"][0]
            assert answer["from"] == "bot"
            assert "Source" in answer["text"], answer
            assert answer["buttons"]
        log = own_stack.log()
        assert "rasa exited with status" in log
        assert "Zéphyrine" not in log, "no message text in the log"
    finally:
        for chat in people:
            chat.close()
