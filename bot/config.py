"""One typed settings object, read from the environment once.

No other module reads ``os.environ``: processes receive a ``Settings`` instance.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.fernet_keys import parse_keys

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "token", "xxx"}


class Settings(BaseSettings):
    """Configuration of every Relais process (see shared/spec/http-api.md)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: str = Field(default="development", description="development | test | production")
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'app.db'}"
    # Secrets: generated for a local run (the supervisor prints the admin token), required
    # and checked in production.
    admin_api_token: str | None = None
    rasa_token: str | None = None
    telegram_bot_token: str | None = None
    telegram_base_url: str | None = None
    # Fernet keys of the encrypted free-text columns (bot/crypto.py), comma-separated: the
    # first encrypts, all decrypt (rotation). Required in production; in development an
    # unset value means a key generated once in var/dev-data-key. A SecretStr so that no
    # repr of the settings ever prints it.
    data_encryption_keys: SecretStr | None = None
    # Fernet keys of Rasa's tracker events (bot/tracker_crypto.py), same format and rules,
    # kept apart from the data keys: the supervisor hands these to the Rasa server only,
    # the data keys to the gateway only. In development an unset value means a key
    # generated once in var/dev-tracker-key.
    tracker_encryption_keys: SecretStr | None = None
    timezone: str = "Europe/Paris"

    # Engine topology: the supervisor starts Rasa and the action server on these ports.
    rasa_port: int = 5005
    actions_port: int = 5055
    rasa_url: str | None = None
    actions_url: str | None = None
    # Rasa's SQL tracker store (a separate database: Rasa owns its schema).
    tracker_store_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'rasa-tracker.db'}"
    # Rasa's lock store (``redis://[:password@]host[:port][/db]``): needed as soon as several
    # Rasa servers share the tracker store, so that one conversation's turns are processed
    # one at a time whichever server receives them. Unset: Rasa's in-memory lock store,
    # right for a single Rasa server (and nothing needs Redis).
    lock_store_url: str | None = None
    model_dir: Path = PROJECT_ROOT / "models"
    var_dir: Path = PROJECT_ROOT / "var"

    # Human handoff: where référents and supervisors are alerted (a Telegram group id each),
    # the working hours used when a territory has none, and the console's public address.
    referents_telegram_chat_id: int | None = None
    supervisors_telegram_chat_id: int | None = None
    working_hours: dict[str, str] = Field(default_factory=lambda: {"mon-fri": "09:00-17:30"})
    public_url: str | None = None
    # Who runs this service, named in the first-contact notice (the data controller, e.g.
    # "la Mission locale de Villeurbanne"); unset: a demonstration, said as such.
    service_operator: str | None = None

    rasa_timeout_seconds: float = 30.0
    # A ``Server-Timing`` header on the web chat's message replies (durations per stage,
    # no content; bot/timing.py): off by default, on in the stack benchmark.
    server_timing: bool = False
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @property
    def data_keys(self) -> list[str]:
        """The configured data keys, in order (empty when unset)."""
        if self.data_encryption_keys is None:
            return []
        return parse_keys(self.data_encryption_keys.get_secret_value())

    @property
    def tracker_keys(self) -> list[str]:
        """The configured tracker keys, in order (empty when unset)."""
        if self.tracker_encryption_keys is None:
            return []
        return parse_keys(self.tracker_encryption_keys.get_secret_value())

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def engine_url(self) -> str:
        return (self.rasa_url or f"http://127.0.0.1:{self.rasa_port}").rstrip("/")

    @property
    def console_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/") + "/console"

    @property
    def action_server_url(self) -> str:
        return (self.actions_url or f"http://127.0.0.1:{self.actions_port}").rstrip("/")

    def check_secrets(self) -> None:
        """Refuse missing or placeholder secrets outside development and tests."""
        if not self.is_production:
            return
        for name in ("admin_api_token", "rasa_token"):
            value = getattr(self, name)
            if not value or value.lower() in PLACEHOLDER_SECRETS or len(value) < 16:
                raise ValueError(f"{name.upper()} must be set to a strong secret in production")
        for variable, keys in (
            ("DATA_ENCRYPTION_KEYS", self.data_keys),
            ("TRACKER_ENCRYPTION_KEYS", self.tracker_keys),
        ):
            if not keys:
                raise ValueError(
                    f"{variable} must be set in production (Fernet keys, comma-separated)"
                )
            # A placeholder or a truncated key is refused here, before any process starts;
            # the message gives the key's position, never the key.
            for position, key in enumerate(keys, start=1):
                if not is_fernet_key(key):
                    raise ValueError(
                        f"{variable}: key {position} is not a Fernet key"
                        " (32 bytes, url-safe base64)"
                    )
        # Two key sets so that the Rasa server holds nothing that opens the application
        # database, and the gateway nothing that opens the tracker store.
        if set(self.data_keys) & set(self.tracker_keys):
            raise ValueError("TRACKER_ENCRYPTION_KEYS must not reuse a key of DATA_ENCRYPTION_KEYS")

    def with_generated_secrets(self) -> Settings:
        """Return a copy where unset local secrets are generated (development only)."""
        updates: dict[str, str] = {}
        if not self.admin_api_token:
            updates["admin_api_token"] = secrets.token_urlsafe(24)
        if not self.rasa_token:
            updates["rasa_token"] = secrets.token_urlsafe(24)
        return self.model_copy(update=updates) if updates else self

    # Privacy and hardening (bot/web/ratelimit.py, bot/privacy/, docs/privacy.md).
    # Rate limits of the public API, per minute (0 turns one off). Addresses are shared by a
    # whole school or Mission locale behind one NAT, hence per-address limits well above one
    # person's.
    rate_limit_session_messages_per_minute: int = 30
    rate_limit_ip_messages_per_minute: int = 300
    rate_limit_ip_sessions_per_minute: int = 30
    rate_limit_ip_logins_per_minute: int = 10
    # Retention, in months: messages after the conversation's last activity, closed
    # handoffs (with notes and events) after their close, kept self-assessments after
    # completion, appointments after their start.
    retention_conversation_months: int = 12
    retention_closed_handoff_months: int = 24
    retention_self_assessment_months: int = 24
    retention_appointment_months: int = 24
    # How long a one-time link to a personal data export stays valid.
    export_link_minutes: int = 60
    # Appointment reminders (bot/appointments/planning.py): the day before at this local
    # time ("" for none), this many hours before (0 for none), never in quiet hours (moved,
    # not dropped; "" for none), and one check-in after this many silent weeks.
    reminder_day_before_at: str = "18:00"
    reminder_hours_before: float = 2.0
    quiet_hours: str = "21:00-08:00"
    check_in_weeks: int = 6
    # How often messages a channel did not take are sent again (bot/conversations/redelivery.py).
    redelivery_every_seconds: float = 60.0


def is_fernet_key(key: str) -> bool:
    """What ``cryptography.fernet.Fernet`` accepts, checked without importing it."""
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
