"""Stand-ins for one piece at a time in unit tests (integration tests use the real engine)."""

from __future__ import annotations

from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.conversations.models import Channel
from bot.db import make_engine, make_session_factory
from bot.engine_client import EngineUnavailableError
from bot.events import EventBus
from bot.gateway import Gateway
from bot.messages import Button, OutboundMessage
from bot.router import ConversationRouter


class FakeEngine:
    """Answers every turn with an echo and a button; can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.silent = False  # answers 200 with no message, as Rasa does when an action fails
        self.received: list[tuple[str, str, dict[str, Any]]] = []

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any]
    ) -> tuple[list[OutboundMessage], dict[str, Any]]:
        if not self.up:
            raise EngineUnavailableError
        self.received.append((sender_id, text, metadata))
        if self.silent:
            return [], {}
        reply = OutboundMessage(text=f"echo: {text}", buttons=(Button("Oui", "/affirm"),))
        return [reply], {}

    async def parse(self, text: str) -> dict[str, Any]:
        if not self.up:
            raise EngineUnavailableError
        return {"intent": {"name": "greet", "confidence": 0.9}, "entities": []}

    async def is_ready(self) -> bool:
        return self.up

    async def aclose(self) -> None:
        return None


def gateway_with(settings: Settings, engine: FakeEngine) -> Gateway:
    db_engine = make_engine(settings.database_url)
    sessions: sessionmaker[Session] = make_session_factory(db_engine)
    router = ConversationRouter(sessions, engine)  # type: ignore[arg-type]
    gateway = Gateway(
        settings,
        db_engine,
        sessions,
        engine,
        router,
        EventBus(),  # type: ignore[arg-type]
        AsyncIOScheduler(timezone=settings.tz),
    )
    router.register_channel(Channel.WEB, gateway.push_web)
    return gateway
