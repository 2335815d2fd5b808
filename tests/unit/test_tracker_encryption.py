"""Rasa's tracker store encrypted (bot/tracker_store.py, bot/tracker_crypto.py): the store
in the engine's runtime (Python 3.10, Rasa 3.6), as Rasa loads it from the endpoints file;
the erasure and the retention purge on what it writes; ``python -m bot.cli
rotate-tracker-key`` on SQLite and (``-m postgres``) PostgreSQL; the keys' settings."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import text

from bot import crypto, supervisor
from bot.config import PROJECT_ROOT, Settings
from bot.db import make_engine
from bot.engine_config import TRACKER_STORE_TYPE, write_endpoints
from bot.privacy import rights
from bot.privacy.retention import purge_tracker
from bot.supervisor import rasa_command
from bot.tracker_crypto import TrackerKeyError, TrackerKeyring
from tests.conftest import TEST_DATA_KEY, TEST_TRACKER_KEY
from tests.unit.test_privacy_rights import TRACKER_DDL
from tests.utils.engine_runtime import ENGINE_PYTHON, last_line_in_engine, run_in_engine
from tests.utils.ports import free_port

# ASCII on purpose: Rasa's json.dumps escapes accents, so only an ASCII text proves that
# the plain JSON is not there. The accented one checks the round trip.
SAID = "Quorvelid Blantrix: je veux en finir ce soir"
SAID_ACCENTED = "Zébulon : j'ai pensé à me tuer"
TOKEN_PREFIX = "gAAAAA"  # a Fernet token: version byte 0x80, url-safe base64
needs_engine = pytest.mark.skipif(
    not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up"
)

ENGINE_SCRIPT = r"""
import asyncio, json, logging, os, sqlite3, sys
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from bot.tracker_store import EncryptedSQLTrackerStore
from bot.tracker_crypto import KEYS_VARIABLE, TrackerDecryptionError

args = json.loads(sys.argv[1])
folder, key_a, key_b = args["dir"], args["key_a"], args["key_b"]
domain = Domain.from_yaml('''
version: "3.1"
intents: [greet, urgent_suicidal_thoughts]
slots:
  language:
    type: text
    mappings: [{type: custom}]
''')


def store(keys, db, cls=EncryptedSQLTrackerStore):
    if keys is None:
        os.environ.pop(KEYS_VARIABLE, None)
    else:
        os.environ[KEYS_VARIABLE] = keys
    return cls(domain=domain, dialect="sqlite", db=f"{folder}/{db}")


def conversation(sender, said):
    intent = {"name": "urgent_suicidal_thoughts", "confidence": 0.97}
    return DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_session_start"), SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered(said, intent, parse_data={"text": said, "intent": intent, "entities": []}),
        ActionExecuted("utter_urgent_suicidal_thoughts"), BotUttered("Appelle le 3114"),
        SlotSet("language", "fr"), ActionExecuted("action_listen"),
    ], domain.slots)


def events(tracker):
    return None if tracker is None else [e.as_dict() for e in tracker.events]


def raw(db):
    with sqlite3.connect(f"{folder}/{db}") as connection:
        return connection.execute(
            "SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data"
            " FROM events ORDER BY id"
        ).fetchall()


def error_of(call):
    try:
        result = call()
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    except Exception as error:
        return [type(error).__name__, str(error)]
    return None


warned = []
announcer = logging.Handler()
announcer.emit = lambda record: warned.append(record.getMessage())
logging.getLogger("bot.tracker_store").addHandler(announcer)
out = {}
# 1. Saved encrypted; read back as Rasa's own SQL store reads the same tracker (its
#    retrieve() keeps the latest session only); appended to, the same again.
a = store(key_a, "one.db")
stock = store(None, "stock.db", cls=SQLTrackerStore)
person = conversation("person", args["said"])
for target in (a, stock):
    asyncio.run(target.save(person))
out["first_save"] = raw("one.db")


def same_as_rasa(sender, ours, theirs):
    read = events(asyncio.run(ours.retrieve(sender)))
    full = events(asyncio.run(ours.retrieve_full_tracker(sender)))
    return (
        read is not None
        and read == events(asyncio.run(theirs.retrieve(sender)))
        and full == events(asyncio.run(theirs.retrieve_full_tracker(sender)))
    )


out["equal"] = same_as_rasa("person", a, stock)
out["texts"] = [e.get("text") for e in events(asyncio.run(a.retrieve("person")))]


def append(sender, stores, *new):
    # As Rasa does at each turn: the tracker read, updated, saved.
    for target in stores:
        tracker = asyncio.run(target.retrieve(sender))
        for event in new:
            tracker.update(event)
        asyncio.run(target.save(tracker))


append(
    "person",
    (a, stock),
    UserUttered(args["accented"], {"name": "greet", "confidence": 0.9}),
    ActionExecuted("action_listen"),
)
out["equal_after_append"] = same_as_rasa("person", a, stock)
out["texts_after_append"] = [e.get("text") for e in events(asyncio.run(a.retrieve("person")))]
out["rows_after_append"] = len(raw("one.db"))
out["warned_without_plain_rows"] = list(warned)

# 2. Rows Rasa wrote in plain JSON before: read, and what follows them is encrypted.
plain = store(None, "plain.db", cls=SQLTrackerStore)
before = conversation("before", args["said"])
asyncio.run(plain.save(before))
asyncio.run(stock.save(before))
b = store(key_a, "plain.db")
out["plain_read"] = same_as_rasa("before", b, plain)
append("before", (b, stock), UserUttered("et maintenant", {"name": "greet", "confidence": 0.9}))
out["mixed_read"] = same_as_rasa("before", b, stock)
out["mixed_raw"] = [row[6][:6] for row in raw("plain.db")]
out["warned_with_plain_rows"] = list(warned)

# 3. Rotation: a new key first, the old one after it; then the old one removed too early.
rotated = store(f"{key_b},{key_a}", "one.db")
out["old_key_read"] = same_as_rasa("person", rotated, stock)
later = conversation("later", "plus tard")
asyncio.run(rotated.save(later))
out["start_without_old_key"] = error_of(lambda: store(key_b, "one.db"))
out["start_with_new_key_only_on_new_rows"] = error_of(lambda: store(key_a, "one.db"))
out["start_with_a_stranger_key"] = error_of(lambda: store(args["key_c"], "one.db"))

# 4. A conversation under a removed key, between readable ones: a clear error, through
#    Rasa's FailSafeTrackerStore (what the agent wraps every store in) too, and nothing
#    appended after events that cannot be read.
x = store(key_a, "mixed.db")
asyncio.run(x.save(conversation("x", "bonjour")))
asyncio.run(store(f"{key_b},{key_a}", "mixed.db").save(conversation("y", args["said"])))
x_tracker = conversation("x2", "bonjour encore")
asyncio.run(x.save(x_tracker))
x = store(key_a, "mixed.db")  # starts: the oldest and the newest events are under key A
y_rows = len(raw("mixed.db"))
asyncio.run(stock.save(x_tracker))
out["readable_still_read"] = same_as_rasa("x2", x, stock)
out["unreadable_retrieve"] = error_of(lambda: x.retrieve("y"))
out["unreadable_save"] = error_of(lambda: x.save(conversation("y", "encore")))
out["rows_unchanged"] = len(raw("mixed.db")) == y_rows
logged = []
handler = logging.Handler()
handler.emit = lambda record: logged.append(record.getMessage())
logging.getLogger("rasa.core.tracker_store").addHandler(handler)
out["failsafe_retrieve"] = asyncio.run(FailSafeTrackerStore(x).retrieve("y")) is None
out["failsafe_logged"] = logged

# 5. Loaded by Rasa from the endpoints file the supervisor writes; never silently in memory.
endpoints = AvailableEndpoints.read_endpoints(args["endpoints"])
os.environ[KEYS_VARIABLE] = key_a
out["created"] = type(TrackerStore.create(endpoints.tracker_store, domain=domain)).__name__
os.environ.pop(KEYS_VARIABLE)
out["created_without_keys"] = error_of(
    lambda: TrackerStore.create(endpoints.tracker_store, domain=domain)
)
os.environ[KEYS_VARIABLE] = "not-a-key"
out["created_with_a_bad_key"] = error_of(
    lambda: TrackerStore.create(endpoints.tracker_store, domain=domain)
)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The engine script once (Rasa takes seconds to import): its findings, by step."""
    folder = tmp_path_factory.mktemp("tracker")
    endpoints = write_endpoints(
        Settings(var_dir=folder, tracker_store_url=f"sqlite:///{folder / 'endpoints.db'}")
    )
    keys = [Fernet.generate_key().decode() for _ in range(3)]
    arguments = {
        "dir": str(folder),
        "said": SAID,
        "accented": SAID_ACCENTED,
        "key_a": keys[0],
        "key_b": keys[1],
        "key_c": keys[2],
        "endpoints": str(endpoints),
    }
    found: dict[str, Any] = json.loads(last_line_in_engine(ENGINE_SCRIPT, json.dumps(arguments)))
    found["folder"] = folder
    found["keys"] = keys
    return found


@needs_engine
def test_the_store_writes_tokens_and_reads_the_same_events(engine_run: dict[str, Any]) -> None:
    rows = engine_run["first_save"]
    assert [r[2] for r in rows] == [
        "action",
        "session_started",
        "action",
        "user",
        "action",
        "bot",
        "slot",
        "action",
    ]
    for _id, sender_id, _type, timestamp, intent_name, action_name, data in rows:
        # What Rasa's queries, the erasure and the purge use is as Rasa writes it...
        assert sender_id == "person"
        assert isinstance(timestamp, float)
        # ...the names that say what was disclosed are not kept, and the event is a token.
        assert (intent_name, action_name) == (None, None)
        assert data.startswith(TOKEN_PREFIX)
        key_a = Fernet(engine_run["keys"][0])
        assert json.loads(key_a.decrypt(data.encode()))["event"] == _type
    stored = json.dumps(rows)
    for fragment in ("Quorvelid", "finir", "urgent_suicidal", "3114", "language"):
        assert fragment not in stored
    # Read back as Rasa's own store reads the same tracker, the texts in clear.
    assert engine_run["equal"]
    assert engine_run["texts"] == [None, None, SAID, None, "Appelle le 3114", None, None]
    assert engine_run["equal_after_append"], "a later turn's events are read in order"
    assert engine_run["texts_after_append"][-2:] == [SAID_ACCENTED, None]
    assert engine_run["rows_after_append"] == len(rows) + 2


@needs_engine
def test_events_written_in_plain_json_before_are_still_read(engine_run: dict[str, Any]) -> None:
    assert engine_run["plain_read"]
    assert engine_run["mixed_read"]
    prefixes = engine_run["mixed_raw"]
    assert prefixes[:-1] == ['{"even'] * (len(prefixes) - 1), "Rasa's own rows, as they were"
    assert prefixes[-1] == TOKEN_PREFIX, "what follows is encrypted"
    # The engine says once that such rows are there, and what to run.
    assert engine_run["warned_without_plain_rows"] == []
    (warning,) = engine_run["warned_with_plain_rows"]
    assert "rotate-tracker-key" in warning


@needs_engine
def test_rotation_reads_old_keys_and_refuses_to_start_without_them(
    engine_run: dict[str, Any],
) -> None:
    assert engine_run["old_key_read"]
    for step in (
        "start_without_old_key",
        "start_with_new_key_only_on_new_rows",
        "start_with_a_stranger_key",
    ):
        name, message = engine_run[step]
        assert name == "TrackerDecryptionError", step
        assert "cannot decrypt tracker event" in message
        assert "TRACKER_ENCRYPTION_KEYS" in message
        assert "rotate-tracker-key" in message
        assert not any(key in message for key in engine_run["keys"])


@needs_engine
def test_an_event_no_key_opens_is_a_clear_error_and_nothing_is_appended_to_it(
    engine_run: dict[str, Any],
) -> None:
    assert engine_run["readable_still_read"]
    name, message = engine_run["unreadable_retrieve"]
    assert name == "TrackerDecryptionError"
    assert "no key in TRACKER_ENCRYPTION_KEYS opens it" in message
    name, message = engine_run["unreadable_save"]
    assert name == "TrackerDecryptionError"
    assert "not saving" in message
    assert engine_run["rows_unchanged"]
    # Inside the Rasa server the agent's FailSafeTrackerStore logs it (its message in the
    # line) instead of answering a 500: the log names the problem.
    assert engine_run["failsafe_retrieve"]
    assert any("cannot decrypt tracker event" in line for line in engine_run["failsafe_logged"])
    assert not any(SAID in line for line in engine_run["failsafe_logged"])


@needs_engine
def test_rasa_loads_the_store_from_the_endpoints_file_and_never_falls_back_to_memory(
    engine_run: dict[str, Any],
) -> None:
    assert engine_run["created"] == "EncryptedSQLTrackerStore"
    # Rasa answers an ImportError or AttributeError of a custom store with its in-memory
    # store: a missing or bad key must be an error of its own.
    name, message = engine_run["created_without_keys"]
    assert (name, "TRACKER_ENCRYPTION_KEYS is not set" in message) == ("TrackerKeyError", True)
    name, message = engine_run["created_with_a_bad_key"]
    assert (name, "key 1 is not a Fernet key" in message) == ("TrackerKeyError", True)
    assert "not-a-key" not in message


@needs_engine
def test_erasure_and_retention_work_on_the_encrypted_events(engine_run: dict[str, Any]) -> None:
    folder: Path = engine_run["folder"]
    url = f"sqlite:///{folder / 'one.db'}"
    # "person" (10 events) and "later" (8), written by the store.
    assert rights.erase_tracker(url, "person") == 10
    with sqlite3.connect(folder / "one.db") as connection:
        left = connection.execute("SELECT DISTINCT sender_id FROM events").fetchall()
    assert left == [("later",)]
    assert purge_tracker(url, dt.datetime.now(dt.UTC) + dt.timedelta(days=1)) == 8


# --- python -m bot.cli rotate-tracker-key ------------------------------------------------


def event(kind: str, timestamp: float, **fields: object) -> str:
    return json.dumps({"event": kind, "timestamp": timestamp, **fields})


# A conversation as Rasa wrote it before encryption (plain JSON, the names filled in)...
PLAIN_ROWS = [
    ("action", None, "action_session_start", event("action", 1.0, name="action_session_start")),
    ("session_started", None, None, event("session_started", 2.0)),
    ("action", None, "action_listen", event("action", 3.0, name="action_listen")),
    (
        "user",
        "urgent_suicidal_thoughts",
        None,
        event(
            "user",
            4.0,
            text=SAID,
            parse_data={"intent": {"name": "urgent_suicidal_thoughts", "confidence": 0.9}},
        ),
    ),
]
# ...then one event under the old key, one under the new one (both written encrypted).
OLD_ROW = event("bot", 5.0, text="Appelle le 3114")
NEW_ROW = event("action", 6.0, name="action_listen")


def fill_tracker(url: str, old: str, new: str) -> None:
    engine = make_engine(url)
    rows: list[tuple[str, str | None, str | None, str]] = [
        *PLAIN_ROWS,
        ("bot", None, None, Fernet(old).encrypt(OLD_ROW.encode()).decode()),
        ("action", None, None, Fernet(new).encrypt(NEW_ROW.encode()).decode()),
    ]
    with engine.begin() as connection:
        connection.execute(text(TRACKER_DDL))
        for number, (type_name, intent_name, action_name, data) in enumerate(rows, start=1):
            connection.execute(
                text(
                    "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name,"
                    " action_name, data) VALUES (:id, 'person', :t, :ts, :i, :a, :d)"
                ),
                {"id": number, "t": type_name, "ts": float(number), "i": intent_name}
                | {"a": action_name, "d": data},
            )
    engine.dispose()


def stored(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, intent_name, action_name, data FROM events ORDER BY id")
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def rotate_tracker(
    url: str, keys: str | None, *args: str, environment: str = "test"
) -> subprocess.CompletedProcess[str]:
    """``python -m bot.cli rotate-tracker-key`` as an operator runs it (the gateway's
    environment, the tracker store's URL and keys)."""
    env = {
        **os.environ,
        "TRACKER_STORE_URL": url,
        "ENVIRONMENT": environment,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    env.pop("TRACKER_ENCRYPTION_KEYS", None)
    if keys is not None:
        env["TRACKER_ENCRYPTION_KEYS"] = keys
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "rotate-tracker-key", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        check=False,
        timeout=120,
    )


def test_the_command_encrypts_plain_events_and_re_encrypts_old_ones(database_url: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    fill_tracker(database_url, old, new)
    done = rotate_tracker(database_url, f"{new},{old}", "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "events: 4 encrypted (were plain text), 1 re-encrypted, 1 already with the first key;"
        " intent and action names removed from 3"
    )
    rows = stored(database_url)
    plain = [data for *_, data in PLAIN_ROWS] + [OLD_ROW, NEW_ROW]
    for (_id, intent_name, action_name, data), original in zip(rows, plain, strict=True):
        assert (intent_name, action_name) == (None, None)
        # The first key alone opens every row now: the old one can go.
        assert Fernet(new).decrypt(data.encode()).decode() == original
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(data.encode())
    assert not any(SAID in str(row) or "urgent_" in str(row) for row in rows)
    assert SAID not in done.stdout + done.stderr
    assert new not in done.stdout + done.stderr

    again = rotate_tracker(database_url, f"{new},{old}")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        "events: 0 encrypted (were plain text), 0 re-encrypted, 6 already with the first key"
    )
    assert stored(database_url) == rows, "idempotent: nothing rewritten"


def test_the_command_stops_at_an_event_no_key_opens(database_url: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    fill_tracker(database_url, old, new)
    before = stored(database_url)
    # The old key left out: the plain rows are encrypted, then row 5 stops it, named.
    done = rotate_tracker(database_url, new, "--batch-size", "10")
    assert done.returncode == 1
    assert "Stopped: cannot decrypt tracker event 5" in done.stderr
    assert "put the missing key back" in done.stderr
    assert stored(database_url) == before, "the batch that failed was not written"
    assert new not in done.stderr
    assert old not in done.stderr


def test_the_command_refuses_bad_or_missing_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    malformed = rotate_tracker(url, f"{TEST_TRACKER_KEY},changeme")
    assert malformed.returncode == 2
    assert "key 2 is not a Fernet key" in malformed.stderr
    assert "changeme" not in malformed.stderr
    missing = rotate_tracker(url, None, environment="production")
    assert missing.returncode == 2
    assert "TRACKER_ENCRYPTION_KEYS must be set in production" in missing.stderr
    nothing = rotate_tracker(url, TEST_TRACKER_KEY)
    assert nothing.returncode == 0, nothing.stderr
    assert "no table yet" in nothing.stdout


ENGINE_READ = r"""
import asyncio, json, os, sys
from rasa.shared.core.domain import Domain
from bot.tracker_store import EncryptedSQLTrackerStore
os.environ["TRACKER_ENCRYPTION_KEYS"] = sys.argv[2]
store = EncryptedSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=sys.argv[1])
tracker = asyncio.run(store.retrieve("person"))
print(json.dumps([e.as_dict().get("text") for e in tracker.events]))
"""


@needs_engine
def test_after_the_command_the_engine_reads_everything_with_the_new_key_alone(
    tmp_path: Path,
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    path = tmp_path / "tracker.db"
    fill_tracker(f"sqlite:///{path}", old, new)
    assert rotate_tracker(f"sqlite:///{path}", f"{new},{old}").returncode == 0
    texts = json.loads(last_line_in_engine(ENGINE_READ, str(path), new))
    # The latest session, as Rasa reads it: from session_started on.
    assert texts == [None, None, SAID, "Appelle le 3114", None]


ENGINE_POSTGRES = r"""
import asyncio, json, os, sys
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

endpoints = AvailableEndpoints.read_endpoints(sys.argv[1])
said, key, stranger = sys.argv[2:5]
os.environ["TRACKER_ENCRYPTION_KEYS"] = key
store = TrackerStore.create(endpoints.tracker_store, domain=Domain.empty())
tracker = DialogueStateTracker.from_events("person", [
    SessionStarted(), ActionExecuted("action_listen"),
    UserUttered(said, {"name": "urgent_suicidal_thoughts", "confidence": 0.9}),
])
asyncio.run(store.save(tracker))
read = asyncio.run(store.retrieve("person"))
os.environ["TRACKER_ENCRYPTION_KEYS"] = stranger
try:
    TrackerStore.create(endpoints.tracker_store, domain=Domain.empty())
    refused = None
except Exception as error:
    refused = type(error).__name__
print(json.dumps({
    "store": type(store).__name__,
    "texts": [e.as_dict().get("text") for e in read.events],
    "refused": refused,
}))
"""


@needs_engine
@pytest.mark.postgres
def test_the_store_on_postgresql_as_the_endpoints_file_configures_it(
    postgres_url: str, tmp_path: Path
) -> None:
    server = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS relais_tracker_store_test"))
        connection.execute(text("CREATE DATABASE relais_tracker_store_test"))
    server.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/relais_tracker_store_test"
    endpoints = write_endpoints(Settings(var_dir=tmp_path, tracker_store_url=url))
    key, stranger = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    found = json.loads(last_line_in_engine(ENGINE_POSTGRES, str(endpoints), SAID, key, stranger))
    assert found == {
        "store": "EncryptedSQLTrackerStore",
        "texts": [None, None, SAID],
        "refused": "TrackerDecryptionError",
    }
    rows = stored(url)
    assert len(rows) == 3
    for _id, intent_name, action_name, data in rows:
        assert (intent_name, action_name) == (None, None)
        assert data.startswith(TOKEN_PREFIX)
    assert SAID not in str(rows)


@needs_engine
def test_the_rasa_server_does_not_start_with_keys_that_do_not_open_its_events(
    tmp_path: Path,
) -> None:
    # The real server, as the supervisor starts it: the tracker store is built before the
    # model is loaded, so no model is needed to see it refuse (and exit: the supervisor
    # then stops the group after its restarts).
    old, given = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    fill_tracker(f"sqlite:///{tmp_path / 'tracker.db'}", old, old)
    endpoints = write_endpoints(
        Settings(var_dir=tmp_path, tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}")
    )
    command = rasa_command(tmp_path / "no-model.tar.gz", endpoints, free_port())
    result = run_in_engine(
        *command[1:],
        env={"RASA_TOKEN": "a-token-for-this-test", "TRACKER_ENCRYPTION_KEYS": given},
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "cannot decrypt tracker event 5" in output, output[-2000:]
    assert given not in output
    assert old not in output


# --- keys: settings, development key, who gets them, the endpoints file -------------------


def test_only_the_rasa_server_gets_the_tracker_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = supervisor.with_tracker_keys(Settings(environment="test", var_dir=tmp_path))
    assert settings.tracker_keys == [TEST_TRACKER_KEY]
    rasa = supervisor.child_env(settings, tracker=True)
    gateway = supervisor.child_env(settings, database=True)
    actions = supervisor.child_env(settings)
    assert rasa["TRACKER_ENCRYPTION_KEYS"] == TEST_TRACKER_KEY
    assert "DATA_ENCRYPTION_KEYS" not in rasa
    assert "TRACKER_ENCRYPTION_KEYS" not in gateway
    assert gateway["DATA_ENCRYPTION_KEYS"] == TEST_DATA_KEY
    assert "TRACKER_ENCRYPTION_KEYS" not in actions
    assert "DATA_ENCRYPTION_KEYS" not in actions

    # Without it in development: one local key, made once by the supervisor (never logged),
    # handed to Rasa; the rotation command finds the same file.
    monkeypatch.delenv("TRACKER_ENCRYPTION_KEYS")
    local = supervisor.with_tracker_keys(Settings(environment="development", var_dir=tmp_path))
    path = tmp_path / crypto.TRACKER_DEV_KEY_FILE
    key = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert supervisor.child_env(local, tracker=True)["TRACKER_ENCRYPTION_KEYS"] == key
    assert crypto.resolve_tracker_keys(Settings(environment="development", var_dir=tmp_path)) == [
        key
    ]
    assert key not in repr(local)
    TrackerKeyring([key])


def test_the_supervisor_starts_rasa_with_the_tracker_keys_and_no_one_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.tar.gz"
    model.touch()
    monkeypatch.setattr(supervisor, "model_path", lambda _settings: model)
    settings = supervisor.with_tracker_keys(
        supervisor.with_data_keys(Settings(environment="test", var_dir=tmp_path))
    )
    children = {child.name: child.env for child in supervisor.plan(settings)}
    assert children["rasa"]["TRACKER_ENCRYPTION_KEYS"] == TEST_TRACKER_KEY
    assert "TRACKER_ENCRYPTION_KEYS" not in children["gateway"]
    assert "TRACKER_ENCRYPTION_KEYS" not in children["actions"]
    endpoints = (tmp_path / "endpoints.yml").read_text(encoding="utf-8")
    assert TRACKER_STORE_TYPE in endpoints
    assert TEST_TRACKER_KEY not in endpoints


def test_the_development_key_is_announced_without_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACKER_ENCRYPTION_KEYS")
    settings = Settings(environment="development", var_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="bot.crypto"):
        (key,) = crypto.resolve_tracker_keys(settings)
    assert "TRACKER_ENCRYPTION_KEYS is not set: Rasa's tracker events are encrypted" in caplog.text
    assert key not in caplog.text


def test_production_refuses_missing_malformed_or_shared_tracker_keys() -> None:
    other = Fernet.generate_key().decode()
    strong: dict[str, Any] = {
        "environment": "production",
        "admin_api_token": "a" * 32,
        "rasa_token": "b" * 32,
        "data_encryption_keys": SecretStr(TEST_DATA_KEY),
    }
    Settings(**strong, tracker_encryption_keys=SecretStr(other)).check_secrets()
    missing = Settings(**strong, tracker_encryption_keys=None)
    with pytest.raises(ValueError, match="TRACKER_ENCRYPTION_KEYS must be set in production"):
        missing.check_secrets()
    with pytest.raises(crypto.DataKeyError, match="TRACKER_ENCRYPTION_KEYS must be set"):
        crypto.resolve_tracker_keys(missing)
    bad = Settings(**strong, tracker_encryption_keys=SecretStr(f"{other},xxx"))
    with pytest.raises(ValueError, match="TRACKER_ENCRYPTION_KEYS: key 2 is not") as caught:
        bad.check_secrets()
    assert "xxx" not in str(caught.value)
    shared = Settings(**strong, tracker_encryption_keys=SecretStr(f"{other},{TEST_DATA_KEY}"))
    with pytest.raises(ValueError, match="must not reuse a key of DATA_ENCRYPTION_KEYS"):
        shared.check_secrets()
    with pytest.raises(TrackerKeyError, match="key 1 is not a Fernet key"):
        TrackerKeyring(["x" * 44])
