"""Stand-ins for one piece at a time in unit tests (integration tests use the real engine)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.config import Settings
from bot.conversations.models import User
from bot.db import session_scope
from bot.engine_client import EngineUnavailableError
from bot.gateway import Gateway
from bot.messages import Button, OutboundMessage
from bot.web.app import create_app
from tests.utils.chat import ChatClient

# Texts the stand-in answers by asking for a person, like the real dialogue does.
HANDOFF_TEXTS = {
    "/urgent_violence": ("urgent", "urgent_violence"),
    "/request_human": ("normal", "request_human"),
    "/mental_health_struggle": ("high", "mental_health_struggle"),
}


# Texts the stand-in does not understand (as action_handle_fallback reports it).
NOT_UNDERSTOOD_PREFIX = "zorglub"


class FakeEngine:
    """Answers every turn with an echo and a button; can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.silent = False  # answers 200 with no message, as Rasa does when an action fails
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        self.triggered: list[tuple[str, str, dict[str, Any]]] = []
        self.silent_handoff = False  # the handoff instruction without an answer before it
        # The age the dialogue knows when it asks for a person (None: the desk asks it).
        self.handoff_age: str | None = "17"
        self.handoff_role = "young"
        # What the NLU reads in a text (``parse``), for the texts a test chooses.
        self.parsed_as: dict[str, str] = {}
        # Texts answered with a custom instruction only (as action_ask_gateway does, or the
        # self-assessment's end): text -> custom JSON.
        self.custom_for: dict[str, dict[str, Any]] = {}

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any]
    ) -> tuple[list[OutboundMessage], dict[str, Any]]:
        if not self.up:
            raise EngineUnavailableError
        self.received.append((sender_id, text, metadata))
        if self.silent:
            return [], {}
        if text in HANDOFF_TEXTS:
            # As action_request_handoff does: the answer, then the instruction to the desk.
            priority, reason = HANDOFF_TEXTS[text]
            custom = {
                "handoff": {
                    "priority": priority,
                    "reason": reason,
                    "place": None,
                    "age": self.handoff_age,
                    "role": self.handoff_role,
                }
            }
            if self.silent_handoff:
                return [], custom
            return [OutboundMessage(text=f"answer to {reason}")], custom
        if text in self.custom_for:
            return [], self.custom_for[text]
        if text.startswith(NOT_UNDERSTOOD_PREFIX):
            return [OutboundMessage(text="pas compris")], {"not_understood": True}
        reply = OutboundMessage(text=f"echo: {text}", buttons=(Button("Oui", "/affirm"),))
        return [reply], {}

    async def trigger_intent(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> tuple[list[OutboundMessage], dict[str, Any]]:
        if not self.up:
            raise EngineUnavailableError
        self.triggered.append((sender_id, intent, entities or {}))
        if intent.startswith("urgent_"):
            # The urgent rule: the numbers, then the handoff raised to urgent.
            custom = {"handoff": {"priority": "urgent", "reason": intent, "place": None}}
            return [OutboundMessage(text="📞 3114")], custom
        return [OutboundMessage(text=f"back: {intent}")], {}

    async def parse(self, text: str) -> dict[str, Any]:
        if not self.up:
            raise EngineUnavailableError
        name = self.parsed_as.get(text) or (
            "urgent_suicidal_thoughts" if "mourir" in text else "greet"
        )
        return {"intent": {"name": name, "confidence": 0.9}, "entities": []}

    async def is_ready(self) -> bool:
        return self.up

    async def aclose(self) -> None:
        return None


def gateway_with(
    settings: Settings, engine: FakeEngine, first_contact_notice: bool = False
) -> Gateway:
    gateway = Gateway.build(settings, engine)  # type: ignore[arg-type]
    gateway.router.actions_ok = None  # no action server behind the stand-in engine
    if not first_contact_notice:
        # Tests of one flow start from a person already past their first contact
        # (tests/unit/test_first_contact.py checks the notice itself).
        gateway.router.first_contact_notice = None
    return gateway


def user_id_of(client: TestClient, person: ChatClient) -> str:
    """The pseudonymous id of a web chat person (their external id is the session id)."""
    with session_scope(client.gateway.sessions) as session:  # type: ignore[attr-defined]
        return str(session.scalar(select(User.id).where(User.external_id == person.session_id)))


@contextmanager
def served(
    settings: Settings, engine: FakeEngine, first_contact_notice: bool = False
) -> Iterator[TestClient]:
    """The real web app and gateway around a stand-in engine; the client carries the
    gateway and the database URL for the test's own checks."""
    gateway = gateway_with(settings, engine, first_contact_notice)
    with TestClient(create_app(settings, gateway)) as client:
        client.gateway = gateway  # type: ignore[attr-defined]
        client.database_url = settings.database_url  # type: ignore[attr-defined]
        yield client
