"""The endpoints file Rasa is started with: tracker store and, when set, the lock store."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from bot import supervisor
from bot.config import Settings
from bot.engine_config import (
    TRACKER_STORE_TYPE,
    lock_store_config,
    tracker_store_config,
    write_endpoints,
)
from tests.conftest import TEST_TRACKER_KEY as KEY


def endpoints_of(tmp_path: Path, **settings: object) -> dict[str, object]:
    path = write_endpoints(Settings(var_dir=tmp_path, **settings))  # type: ignore[arg-type]
    loaded: dict[str, object] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def test_without_a_lock_store_url_rasa_keeps_its_in_memory_lock_store(tmp_path: Path) -> None:
    assert "lock_store" not in endpoints_of(tmp_path)


def test_a_redis_url_becomes_rasas_redis_lock_store(tmp_path: Path) -> None:
    endpoints = endpoints_of(tmp_path, lock_store_url="redis://127.0.0.1:6390/2")
    assert endpoints["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": 6390, "db": 2}


def test_redis_defaults_are_redis_own() -> None:
    assert lock_store_config("redis://cache.internal") == {
        "type": "redis",
        "url": "cache.internal",
        "port": 6379,
        "db": 0,
    }


def test_the_lock_store_password_stays_out_of_the_file(tmp_path: Path) -> None:
    url = "rediss://relais:s%40cret@cache.internal:6380/0"
    endpoints = endpoints_of(tmp_path, lock_store_url=url)
    assert endpoints["lock_store"] == {
        "type": "redis",
        "url": "cache.internal",
        "port": 6380,
        "db": 0,
        "username": "relais",
        "password": "${LOCK_STORE_PASSWORD}",
        "use_ssl": True,
    }
    assert "s@cret" not in (tmp_path / "endpoints.yml").read_text(encoding="utf-8")
    env = supervisor.child_env(Settings(lock_store_url=url))
    assert env["LOCK_STORE_PASSWORD"] == "s@cret"


@pytest.mark.parametrize("url", ["memcached://127.0.0.1", "redis://127.0.0.1/locks"])
def test_a_lock_store_url_rasa_cannot_use_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="lock store"):
        lock_store_config(url)


def test_the_endpoints_file_names_the_encrypted_store_and_holds_no_key(tmp_path: Path) -> None:
    # Rasa loads it by this class path (tests/unit/test_tracker_encryption.py checks it does).
    assert TRACKER_STORE_TYPE == "bot.tracker_store.EncryptedSQLTrackerStore"
    assert tracker_store_config("sqlite:////srv/relais/rasa-tracker.db") == {
        "type": TRACKER_STORE_TYPE,
        "dialect": "sqlite",
        "db": "/srv/relais/rasa-tracker.db",
    }
    assert tracker_store_config("postgresql+psycopg://rasa:s%40cret@db.internal/tracker") == {
        "type": TRACKER_STORE_TYPE,
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 5432,
        "db": "tracker",
        "username": "rasa",
        "password": "${TRACKER_DB_PASSWORD}",
    }
    settings = Settings(
        var_dir=tmp_path,
        tracker_encryption_keys=SecretStr(KEY),
        tracker_store_url="postgresql+psycopg://rasa:s%40cret@db.internal/tracker",
    )
    written = write_endpoints(settings).read_text(encoding="utf-8")
    assert KEY not in written
    assert "s@cret" not in written
