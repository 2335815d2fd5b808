"""Fixtures shared by every test: databases (SQLite, and PostgreSQL when asked)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import crypto
from bot.config import PROJECT_ROOT
from bot.db import make_engine, make_session_factory
from tests.utils.chat import WRITTEN_TEXTS, ChatClient
from tests.utils.stack import Stack

WANT_POSTGRES = os.environ.get("RELAIS_TEST_POSTGRES") == "1"

# The encrypted columns' key of this test run (bot/crypto.py), set before any settings are
# read: this process, and every process the tests start (CLI, reminder worker, the stack),
# use it, never a developer's own key nor the development key file in var/.
TEST_DATA_KEY = Fernet.generate_key().decode()
os.environ["DATA_ENCRYPTION_KEYS"] = TEST_DATA_KEY
# Likewise the tracker store's key (bot/tracker_crypto.py): every stack of the run (the
# instances of the scale test share one tracker store) and the rotation command use it.
TEST_TRACKER_KEY = Fernet.generate_key().decode()
os.environ["TRACKER_ENCRYPTION_KEYS"] = TEST_TRACKER_KEY


@pytest.fixture(autouse=True)
def _test_data_key() -> Iterator[None]:
    """Each test starts with the run's key (a rotation test may change this process's keys)."""
    crypto.use_keys([TEST_DATA_KEY])
    yield
    crypto.use_keys([TEST_DATA_KEY])


def migrate(url: str) -> None:
    """Bring a database to the latest schema with the project's own migrations."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not WANT_POSTGRES:
        pytest.skip("PostgreSQL tests run with `make postgres-tests`")
    from tests.utils.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        migrate(url)
        yield url
        return
    base_url = request.getfixturevalue("postgres_url")
    engine = make_engine(base_url)
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    migrate(base_url)
    yield base_url


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


# --- the real stack, shared by the integration and end-to-end tests ------------------
TELEGRAM_TEST_TOKEN = "123456:relais-test-token"
REFERENTS_CHAT_ID = 777000  # the référents' Telegram group, in the emulator


@pytest.fixture(scope="session")
def telegram_base_url() -> Iterator[str]:
    from tests.utils.telegram import telegram_emulator

    with telegram_emulator() as url:
        yield url


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    telegram_base_url: str,
) -> Iterator[Stack]:
    """Action server, Rasa server (trained model) and gateway, started by the supervisor
    once per test run, with the Telegram channel pointed at the emulator."""
    from tests.utils.stack import running_stack

    env = {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TEST_TOKEN,
        "TELEGRAM_BASE_URL": telegram_base_url,
        "REFERENTS_TELEGRAM_CHAT_ID": str(REFERENTS_CHAT_ID),
    }
    if WANT_POSTGRES:
        # The same stack on PostgreSQL: application tables and Rasa's tracker store.
        url = request.getfixturevalue("postgres_url")
        env["DATABASE_URL"] = url
        env["TRACKER_STORE_URL"] = url.rsplit("/", 1)[0] + "/relais_tracker"
    with running_stack(tmp_path_factory.mktemp("stack"), env) as running:
        yield running
        # Privacy: of everything people wrote in this run, nothing is in the log of the
        # gateway, Rasa or the action server (a failure here is an error of the run).
        log = running.log()
        leaked = sorted(text for text in WRITTEN_TEXTS if text in log)
        assert not leaked, f"{len(leaked)} written messages are in the stack log: {leaked[:3]}"


@pytest.fixture
def chat(stack: Stack) -> Iterator[ChatClient]:
    client = ChatClient(stack.base_url)
    yield client
    client.close()
