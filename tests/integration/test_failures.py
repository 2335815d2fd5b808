"""Components failing under the gateway: users are told plainly, nothing is lost.

These tests kill real processes; the supervisor restarts them.
"""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.conversations.models import Delivery, Message
from tests.utils.chat import ChatClient
from tests.utils.stack import Stack, kill_group, wait_component, wait_healthy


def test_engine_down_user_told_message_kept_conversation_continues(stack: Stack) -> None:
    chat = ChatClient(stack.base_url, locale="en")
    chat.send(payload="/greet")
    kill_group(stack.pid_of("rasa"))
    health = wait_component(stack, "rasa", "down")
    assert health["status"] != "ok"
    assert httpx.get(f"{stack.base_url}/healthz", timeout=10).status_code == 503

    reply = chat.send("are you there?")
    (notice,) = reply["messages"]
    assert notice["from"] == "system"
    assert "briefly unavailable" in notice["text"]
    engine = create_engine(f"sqlite:///{stack.var_dir / 'app.db'}")
    # Message texts are encrypted at rest (the stack has the tests' key): found in Python.
    with Session(engine) as session:
        (kept,) = [m for m in session.scalars(select(Message)) if m.text == "are you there?"]
        assert kept.delivery is Delivery.ENGINE_UNAVAILABLE
    engine.dispose()

    wait_healthy(stack.base_url)
    # The restarted engine read the tracker back from SQL: still in English.
    assert "I'm Relais" in chat.send(payload="/greet")["messages"][0]["text"]
    chat.close()


def test_action_server_down_is_reported(stack: Stack) -> None:
    chat = ChatClient(stack.base_url)
    kill_group(stack.pid_of("actions"))
    wait_component(stack, "actions", "down")
    reply = chat.send(payload="/nlu_fallback")  # needs a custom action
    assert reply["messages"], "the user must be told something"
    assert reply["messages"][0]["from"] == "system"
    wait_healthy(stack.base_url)
    # The conversation goes on: the next turns are answered normally.
    assert "Relais" in chat.send(payload="/greet")["messages"][0]["text"]
    assert "compris" in chat.send(payload="/nlu_fallback")["messages"][0]["text"]
    chat.close()
