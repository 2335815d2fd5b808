"""The gateway process: one object holding what every channel shares."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from bot import crypto, services
from bot.appointments.planning import DEFAULT_CONFIG, ReminderConfig, config_from
from bot.appointments.scheduler import ReminderScheduler
from bot.config import Settings
from bot.conversations.models import Channel, User
from bot.db import make_engine, make_session_factory, session_scope, utcnow
from bot.engine_client import EngineClient
from bot.events import EventBus
from bot.messages import HandoffState, OutboundMessage
from bot.privacy import conversation as privacy_conversation
from bot.privacy import retention
from bot.router import ConversationRouter
from bot.services import AppointmentDesk
from handoff.desk import HandoffDesk
from handoff.notify import Notifier

logger = logging.getLogger(__name__)

ESCALATION_CHECK_SECONDS = 30
# After a request failed because the database was unavailable, /healthz reports "db" down
# for this long, unless a write succeeds first. ``SELECT 1`` alone misses a SQLite file
# locked by another writer (reads still work, every write fails).
DB_FAILURE_MEMORY_SECONDS = 30.0


@dataclass
class Gateway:
    settings: Settings
    db_engine: Engine
    sessions: sessionmaker[Session]
    engine: EngineClient
    router: ConversationRouter
    bus: EventBus
    scheduler: AsyncIOScheduler
    desk: HandoffDesk
    # Appointment reminders: every gateway competes for the lease, one sends (the leader).
    reminders: ReminderScheduler
    appointments: AppointmentDesk | None = None
    reminder_config: ReminderConfig = DEFAULT_CONFIG
    telegram: Any = None  # telegram.ext.Application when the channel is on
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=3.0))
    _db_failed_at: float | None = None  # monotonic time of the last "database unavailable"

    @classmethod
    def build(cls, settings: Settings, engine: EngineClient | None = None) -> Gateway:
        """Assemble the gateway; unit tests pass a stand-in engine."""
        crypto.configure(settings)  # the free-text columns' keys, before any database use
        db_engine = make_engine(settings.database_url)
        sessions = make_session_factory(db_engine)
        engine = engine or EngineClient(
            settings.engine_url, settings.rasa_token, settings.rasa_timeout_seconds
        )
        notifier = Notifier(
            settings.console_url,
            settings.referents_telegram_chat_id,
            settings.supervisors_telegram_chat_id,
        )
        desk = HandoffDesk(
            sessions, engine, EventBus(), notifier, settings.tz, settings.working_hours
        )
        router = ConversationRouter(sessions, engine, desk)
        appointments = services.register(router, desk.bus, settings.tz)
        privacy_conversation.register(router, settings)
        bus = EventBus()
        scheduler = AsyncIOScheduler(timezone=settings.tz)
        reminder_config = config_from(
            settings.reminder_day_before_at,
            settings.reminder_hours_before,
            settings.quiet_hours,
            settings.check_in_weeks,
        )
        desk.reminder_config = reminder_config
        appointments.config = reminder_config
        reminders = ReminderScheduler(sessions, router.push, tz=settings.tz, config=reminder_config)
        gateway = cls(
            settings, db_engine, sessions, engine, router, bus, scheduler, desk, reminders
        )
        gateway.appointments = appointments
        gateway.reminder_config = reminder_config
        desk.attach(router.push, gateway.show_handoff)
        router.register_channel(Channel.WEB, gateway.push_web)
        router.actions_ok = gateway.actions_ok
        event.listen(sessions, "after_flush", gateway._database_written)
        return gateway

    def note_database_unavailable(self) -> None:
        """A request failed because the database could not be used (bot/web/errors.py)."""
        self._db_failed_at = time.monotonic()

    def _database_written(self, _session: Session, _context: object) -> None:
        self._db_failed_at = None  # a write reached the database: it is back

    async def start(self) -> None:
        # Waiting too long (urgent over 5 min, others over 24 h) is escalated to supervisors.
        self.scheduler.add_job(
            self.desk.escalate,
            "interval",
            seconds=ESCALATION_CHECK_SECONDS,
            id="handoff-escalation",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        # Personal data past its retention period goes, every night (idempotent: several
        # gateways doing it is harmless).
        self.scheduler.add_job(
            self.purge_expired,
            "cron",
            hour=3,
            minute=17,
            id="privacy-retention",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        # What a channel did not take (Telegram down) goes again, oldest first; only this
        # instance's channels are tried, so the one holding the Telegram token does it.
        self.scheduler.add_job(
            self.router.redelivery.run_once,
            "interval",
            seconds=self.settings.redelivery_every_seconds,
            id="redelivery",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.start()
        # The channels first: a reminder due at start goes out on its channel at once.
        if self.settings.telegram_bot_token:
            from bot.telegram.channel import start_telegram

            self.telegram = await start_telegram(self)
            self.desk.notifier.bot = self.telegram.bot
        await self.reminders.start()

    async def stop(self) -> None:
        await self.router.redelivery.aclose()  # before the channel and database go
        if self.telegram is not None:
            from bot.telegram.channel import stop_telegram

            await stop_telegram(self.telegram)
        await self.reminders.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.engine.aclose()
        await self._http.aclose()
        self.db_engine.dispose()

    async def purge_expired(self) -> None:
        with session_scope(self.sessions) as session:
            retention.run(self.settings, session, utcnow())

    async def push_web(self, user: User, message: OutboundMessage, message_id: int) -> bool:
        event = {**message.to_dict(), "from": message.sender, "id": message_id}
        return self.bus.publish(user.id, event) > 0

    def show_handoff(self, user_id: str, state: HandoffState) -> None:
        """Update the web chat's status bar (queue position) without a chat message; other
        channels have no such bar and get nothing."""
        self.bus.publish(user_id, {"handoff": state.to_dict()})

    async def health(self) -> dict[str, str]:
        """State of each component, as /healthz reports it."""
        components = {
            "rasa": "ok" if await self.engine.is_ready() else "down",
            "actions": "ok" if await self.actions_ok() else "down",
            "db": "ok" if self._db_ok() and not self._db_recently_failed() else "down",
            "scheduler": "ok" if self.scheduler.running else "down",
        }
        if self.settings.telegram_bot_token:
            components["telegram"] = "ok" if self._telegram_ok() else "down"
        return components

    async def actions_ok(self) -> bool:
        try:
            response = await self._http.get(f"{self.settings.action_server_url}/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _db_ok(self) -> bool:
        try:
            with self.db_engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # any driver error means "down"; the cause goes to the log
            logger.warning("database health check failed", exc_info=True)
            return False
        return True

    def _db_recently_failed(self) -> bool:
        failed_at = self._db_failed_at
        return failed_at is not None and time.monotonic() - failed_at < DB_FAILURE_MEMORY_SECONDS

    def _telegram_ok(self) -> bool:
        updater = getattr(self.telegram, "updater", None)
        return bool(self.telegram is not None and updater is not None and updater.running)
