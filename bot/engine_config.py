"""Files and commands the engine (Rasa server) is started with, derived from settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from bot.config import PROJECT_ROOT, Settings

BUILD_HASH_FILE = PROJECT_ROOT / "build" / "rasa" / "HASH"
# Rasa's SQL tracker store with every event encrypted (bot/tracker_store.py): Rasa loads a
# tracker store by its class path and gives it the SQL store's keys.
TRACKER_STORE_TYPE = "bot.tracker_store.EncryptedSQLTrackerStore"


def model_path(settings: Settings) -> Path:
    """The trained model for the current content hash (``make model`` creates it)."""
    digest = BUILD_HASH_FILE.read_text(encoding="utf-8").strip()
    return settings.model_dir / f"relais-{digest}.tar.gz"


def tracker_store_config(url: str) -> dict[str, object]:
    """The encrypted SQL tracker store's settings (Rasa's SQL store's keys) from a
    SQLAlchemy URL.

    Neither the password nor the encryption keys are written to disk: the Rasa server reads
    the password from ``TRACKER_DB_PASSWORD`` and the store its keys from
    ``TRACKER_ENCRYPTION_KEYS``.
    """
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy reads them.
        return {"type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": unquote(parts.path[1:])}
    if parts.scheme.startswith("postgresql"):
        config: dict[str, object] = {
            "type": TRACKER_STORE_TYPE,
            "dialect": "postgresql",
            "url": parts.hostname or "localhost",
            "port": parts.port or 5432,
            "db": parts.path.lstrip("/"),
            "username": unquote(parts.username or ""),
        }
        if parts.password:
            config["password"] = "${TRACKER_DB_PASSWORD}"  # noqa: S105 (a reference, not a secret)
        return config
    raise ValueError(f"unsupported tracker store URL scheme {parts.scheme!r}")


def tracker_password(url: str) -> str:
    return unquote(urlsplit(url).password or "")


def lock_store_config(url: str) -> dict[str, object]:
    """Rasa's Redis lock store settings (``RedisLockStore``) from a Redis URL.

    ``redis://[[user]:password@]host[:port][/db]``; ``rediss://`` for TLS. The database
    defaults to 0 as in every Redis client (Rasa's own default, 1, would surprise). Like
    the tracker store's, the password is not written to disk: Rasa reads it from
    ``LOCK_STORE_PASSWORD``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported lock store URL scheme {parts.scheme!r}: use redis://")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"the lock store's Redis database must be a number, not {db!r}")
    config: dict[str, object] = {
        "type": "redis",
        "url": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(db),
    }
    if parts.username:
        config["username"] = unquote(parts.username)
    if parts.password:
        config["password"] = "${LOCK_STORE_PASSWORD}"  # noqa: S105 (a reference, not a secret)
    if parts.scheme == "rediss":
        config["use_ssl"] = True
    return config


def lock_store_password(url: str | None) -> str:
    return unquote(urlsplit(url).password or "") if url else ""


def write_endpoints(settings: Settings) -> Path:
    """Write ``var/endpoints.yml``: action server, encrypted SQL tracker store and, when
    several Rasa servers share that tracker store, the Redis lock store."""
    endpoints: dict[str, object] = {
        "action_endpoint": {"url": f"{settings.action_server_url}/webhook"},
        "tracker_store": tracker_store_config(settings.tracker_store_url),
    }
    if settings.lock_store_url:
        endpoints["lock_store"] = lock_store_config(settings.lock_store_url)
    path = settings.var_dir / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path
