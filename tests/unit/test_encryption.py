"""Encryption at rest of free-text columns (bot/crypto.py), on SQLite and (``-m postgres``)
PostgreSQL: what the database holds is a Fernet token, what the code reads is the text;
key rotation; a wrong key is an error naming the column; the migration encrypts the rows
written before it; the keys reach only the processes that open the database."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import JSON, Engine, Text, column, insert, select, table, text
from sqlalchemy.orm import Session, sessionmaker

from bot import crypto, supervisor
from bot.appointments import service
from bot.appointments.models import Appointment, Mode
from bot.config import PROJECT_ROOT, Settings
from bot.conversations import store
from bot.conversations.models import Channel, Conversation, Message
from bot.db import session_scope
from bot.models import Base
from bot.self_assessment import store as assessments
from bot.self_assessment.models import SelfAssessment
from handoff import accounts, queue
from handoff.models import HandoffNote, Priority
from tests.conftest import TEST_DATA_KEY

NOW = dt.datetime(2027, 1, 11, 9, 0, tzinfo=dt.UTC)
SAID = "Zébulon : mon beau-père me frappe, j'ai peur de rentrer"
NOTE = "Note : Zébulon dort chez sa tante, rappeler jeudi"
PLACE = "Mission locale, 12 rue Zébulon, Roubaix"
BRING = "carte Vitale de Zébulon"
COMMUNE = "Wattrelos-Zébulon"
# Every value stored is a Fernet token: version byte 0x80, url-safe base64.
TOKEN_PREFIX = "gAAAAA"


def write_everything(session: Session) -> dict[str, object]:
    """One value in each encrypted column, through the code that writes it in production."""
    user = store.get_or_create_user(session, Channel.WEB, "web-session-1", "fr")
    conversation = store.current_conversation(session, user)
    message = store.record_inbound(session, conversation, text=SAID, payload=None)
    referent = accounts.create_referent(
        session, email="ref@example.org", display_name="Camille", password="a-long-password-1"
    )
    handoff, _ = queue.request(
        session, queue.Request(conversation.id, user.id, Priority.URGENT, "urgent_violence")
    )
    note = queue.add_note(session, handoff, referent, NOTE)
    appointment = service.create(
        session,
        user_id=user.id,
        referent_id=referent.id,
        starts_at=NOW + dt.timedelta(days=2),
        mode=Mode.IN_PERSON,
        place=PLACE,
        bring=BRING,
        now=NOW,
    )
    answers = {"situation": "lycee", "barriers": ["transport"], "place": COMMUNE}
    assessments.save(session, user.id, {"role": "young", "share": True, "answers": answers})
    return {
        "message": message.id,
        "note": note.id,
        "appointment": appointment.id,
        "user": user.id,
        "conversation": conversation.id,
        "answers": answers,
    }


RAW_COLUMNS = {
    "messages": ("text",),
    "handoff_notes": ("text",),
    "appointments": ("place", "bring"),
    "self_assessments": ("answers",),
}


def raw_values(engine: Engine) -> dict[str, list[str]]:
    """What the database itself holds in the encrypted columns (plain SQL, no types)."""
    found: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for name, columns in RAW_COLUMNS.items():
            for col in columns:
                rows = connection.execute(text(f"SELECT {col} FROM {name}")).scalars()
                found[f"{name}.{col}"] = [str(v) for v in rows if v is not None]
    return found


def test_free_texts_are_tokens_in_the_database_and_text_in_the_code(
    db_engine: Engine, sessions: sessionmaker[Session], database_url: str
) -> None:
    with session_scope(sessions) as session:
        ids = write_everything(session)

    stored = raw_values(db_engine)
    assert all(len(values) == 1 for values in stored.values()), stored
    fernet = Fernet(TEST_DATA_KEY)
    for label, (value,) in stored.items():
        assert value.startswith(TOKEN_PREFIX), label
        assert "Zébulon" not in value, label
        fernet.decrypt(value)  # a real token of the key in use
    assert fernet.decrypt(stored["messages.text"][0]).decode() == SAID
    if database_url.startswith("sqlite"):
        # Nowhere in the file either (nor in its write-ahead log).
        path = Path(database_url.removeprefix("sqlite:///"))
        for part in (path, path.with_name(path.name + "-wal")):
            if part.exists():
                assert "Zébulon".encode() not in part.read_bytes(), part.name

    with session_scope(sessions) as session:
        assert session.get(Message, ids["message"]).text == SAID  # type: ignore[union-attr]
        assert session.get(HandoffNote, ids["note"]).text == NOTE  # type: ignore[union-attr]
        appointment = session.get(Appointment, ids["appointment"])
        assert appointment is not None
        assert (appointment.place, appointment.bring) == (PLACE, BRING)
        kept = session.get(SelfAssessment, ids["user"])
        assert kept is not None
        assert kept.answers == ids["answers"]
        assert isinstance(kept.answers, dict)
        # IS NULL still works in SQL (statistics count texts that are there).
        assert session.scalar(select(Message.id).where(Message.text.is_not(None))) == ids["message"]


def test_sql_cannot_compare_sort_or_search_an_encrypted_column() -> None:
    with pytest.raises(TypeError, match=r"messages\.text is encrypted"):
        _ = Message.text == SAID
    with pytest.raises(TypeError, match=r"handoff_notes\.text is encrypted"):
        HandoffNote.text.like("%Zébulon%")
    with pytest.raises(TypeError, match=r"appointments\.place is encrypted"):
        Appointment.place.desc()
    with pytest.raises(TypeError, match=r"self_assessments\.answers is encrypted"):
        SelfAssessment.answers.in_([{}])


def test_a_value_no_key_opens_is_an_error_naming_the_column(
    db_engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with session_scope(sessions) as session:
        ids = write_everything(session)
    crypto.use_keys([Fernet.generate_key().decode()])
    with session_scope(sessions) as session, pytest.raises(crypto.DecryptionError) as caught:
        session.get(Message, ids["message"])
    assert "messages.text" in str(caught.value)
    assert "Zébulon" not in str(caught.value)
    with session_scope(sessions) as session, pytest.raises(crypto.DecryptionError) as caught:
        session.get(SelfAssessment, ids["user"])
    assert "self_assessments.answers" in str(caught.value)

    # A plaintext row (never encrypted) is refused the same way, not read as it is.
    crypto.use_keys([TEST_DATA_KEY])
    with db_engine.begin() as connection:
        connection.execute(text("UPDATE handoff_notes SET text = 'écrit en clair'"))
    with session_scope(sessions) as session, pytest.raises(crypto.DecryptionError) as caught:
        session.scalars(select(HandoffNote)).all()
    assert "handoff_notes.text" in str(caught.value)
    assert "écrit en clair" not in str(caught.value)


def test_rotation_re_encrypts_every_row_with_the_new_key(
    db_engine: Engine, sessions: sessionmaker[Session]
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto.use_keys([old])
    with session_scope(sessions) as session:
        ids = write_everything(session)
        conversation = session.get(Conversation, ids["conversation"])
        assert conversation is not None
        for number in range(4):  # several batches, and a message without text
            store.record_inbound(session, conversation, text=f"message {number}", payload=None)
        store.record_inbound(session, conversation, text=None, payload="/affirm")
    before = raw_values(db_engine)

    crypto.use_keys([new, old])
    counts = crypto.rotate(db_engine, Base.metadata, batch_size=2)
    assert {name: (c.rows, c.rotated, c.current) for name, c in counts.items()} == {
        "messages": (5, 5, 0),
        "handoff_notes": (1, 1, 0),
        "appointments": (1, 1, 0),
        "self_assessments": (1, 1, 0),
    }
    after = raw_values(db_engine)
    for label, values in after.items():
        assert not set(values) & set(before[label]), label
        assert all(Fernet(new).decrypt(v) for v in values), label

    # Nothing left for the old key: it can go.
    crypto.use_keys([new])
    with session_scope(sessions) as session:
        texts = [m.text for m in session.scalars(select(Message).order_by(Message.id))]
        assert texts == [SAID, "message 0", "message 1", "message 2", "message 3", None]
        assert session.get(HandoffNote, ids["note"]).text == NOTE  # type: ignore[union-attr]
        appointment = session.get(Appointment, ids["appointment"])
        assert (appointment.place, appointment.bring) == (PLACE, BRING)  # type: ignore[union-attr]
        assert session.get(SelfAssessment, ids["user"]).answers == ids["answers"]  # type: ignore[union-attr]

    # A second run finds every row current and rewrites nothing.
    again = crypto.rotate(db_engine, Base.metadata, batch_size=2)
    assert {name: (c.rotated, c.current) for name, c in again.items()} == {
        "messages": (0, 5),
        "handoff_notes": (0, 1),
        "appointments": (0, 1),
        "self_assessments": (0, 1),
    }
    assert raw_values(db_engine) == after

    # The old key alone no longer opens anything.
    crypto.use_keys([old])
    with session_scope(sessions) as session, pytest.raises(crypto.DecryptionError):
        session.get(Message, ids["message"])


def test_rotation_stops_on_a_value_no_key_opens(
    db_engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with session_scope(sessions) as session:
        write_everything(session)
    crypto.use_keys([Fernet.generate_key().decode()])  # the key in use was left out
    with pytest.raises(crypto.DecryptionError, match="rotation stopped"):
        crypto.rotate(db_engine, Base.metadata)


def test_the_rotate_command_prints_counts_and_no_text(
    database_url: str, db_engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with session_scope(sessions) as session:
        ids = write_everything(session)
    new = Fernet.generate_key().decode()
    done = rotate(database_url, f"{new},{TEST_DATA_KEY}", "--batch-size", "1")
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == [
        "appointments: 1 re-encrypted, 0 already with the first key",
        "handoff_notes: 1 re-encrypted, 0 already with the first key",
        "messages: 1 re-encrypted, 0 already with the first key",
        "self_assessments: 1 re-encrypted, 0 already with the first key",
    ]
    output = done.stdout + done.stderr
    assert "Zébulon" not in output
    assert new not in output
    assert TEST_DATA_KEY not in output
    crypto.use_keys([new])
    with session_scope(sessions) as session:
        assert session.get(Message, ids["message"]).text == SAID  # type: ignore[union-attr]


def test_the_rotate_command_refuses_a_malformed_key(database_url: str) -> None:
    done = rotate(database_url, f"{TEST_DATA_KEY},changeme-not-a-key")
    assert done.returncode == 2
    assert "key 2 is not a Fernet key" in done.stderr
    assert "changeme-not-a-key" not in done.stderr


# --- the migration ----------------------------------------------------------------------

BEFORE = "0005"  # the revision before the encryption


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def insert_plain(connection: object, name: str, **values: object) -> None:
    """A row as written before the migration: free texts in clear, answers as JSON."""
    types = {c.name: c.type for c in Base.metadata.tables[name].columns}
    for name_, type_ in types.items():
        if isinstance(type_, crypto.EncryptedJSON):
            types[name_] = JSON()
        elif isinstance(type_, crypto.EncryptedText):
            types[name_] = Text()
    raw = table(name, *(column(k, types[k]) for k in values))
    connection.execute(insert(raw).values(values))  # type: ignore[attr-defined]


def test_the_migration_encrypts_the_rows_written_before_it_and_back(
    database_url: str, db_engine: Engine, sessions: sessionmaker[Session]
) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, BEFORE)
    answers = {"situation": "lycee", "place": COMMUNE}
    with db_engine.begin() as connection:
        insert_plain(
            connection,
            "users",
            id="u1",
            channel="web",
            external_id="s1",
            locale="fr",
            created_at=NOW,
            last_seen_at=NOW,
        )
        insert_plain(
            connection,
            "conversations",
            id="c1",
            user_id="u1",
            opened_at=NOW,
            last_activity_at=NOW,
        )
        for number, said in enumerate([SAID, None, "deuxième message"], start=1):
            insert_plain(
                connection,
                "messages",
                id=number,
                conversation_id="c1",
                direction="inbound",
                sender="user",
                text=said,
                delivery="done",
                not_understood=False,
                created_at=NOW,
            )
        insert_plain(
            connection,
            "handoffs",
            id=1,
            conversation_id="c1",
            user_id="u1",
            status="closed",
            priority="urgent",
            priority_rank=0,
            reason="urgent_violence",
            under_16=False,
            requested_at=NOW,
        )
        insert_plain(connection, "handoff_notes", id=1, handoff_id=1, text=NOTE, created_at=NOW)
        insert_plain(
            connection,
            "appointments",
            id="a1",
            user_id="u1",
            starts_at=NOW,
            duration_minutes=30,
            mode="in_person",
            place=PLACE,
            bring=None,
            status="done",
            version=1,
            created_at=NOW,
            updated_at=NOW,
        )
        insert_plain(
            connection,
            "self_assessments",
            user_id="u1",
            role="young",
            answers=answers,
            flags={"under_16": False},
            shared=False,
            completed_at=NOW,
        )

    command.upgrade(config, "head")
    stored = raw_values(db_engine)
    assert {label: len(values) for label, values in stored.items()} == {
        "messages.text": 2,
        "handoff_notes.text": 1,
        "appointments.place": 1,
        "appointments.bring": 0,
        "self_assessments.answers": 1,
    }
    for label, values in stored.items():
        for value in values:
            assert value.startswith(TOKEN_PREFIX), label
            assert "Zébulon" not in value, label
            assert "deuxième" not in value, label
    with session_scope(sessions) as session:
        texts = [m.text for m in session.scalars(select(Message).order_by(Message.id))]
        assert texts == [SAID, None, "deuxième message"]
        assert session.get(HandoffNote, 1).text == NOTE  # type: ignore[union-attr]
        appointment = session.get(Appointment, "a1")
        assert (appointment.place, appointment.bring) == (PLACE, None)  # type: ignore[union-attr]
        assert session.get(SelfAssessment, "u1").answers == answers  # type: ignore[union-attr]

    # Downgraded, the texts are in clear again and the answers JSON again.
    command.downgrade(config, BEFORE)
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT text FROM handoff_notes")).scalar_one() == NOTE
        assert connection.execute(text("SELECT place FROM appointments")).scalar_one() == PLACE
        plain = table("self_assessments", column("answers", JSON()))
        assert connection.execute(select(plain.c.answers)).scalar_one() == answers
    command.upgrade(config, "head")
    with session_scope(sessions) as session:
        assert session.get(SelfAssessment, "u1").answers == answers  # type: ignore[union-attr]


def test_the_downgrade_refuses_values_no_key_opens(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    with session_scope(sessions) as session:
        write_everything(session)
    crypto.use_keys([Fernet.generate_key().decode()])
    with pytest.raises(crypto.DecryptionError, match=r"messages\.text"):
        command.downgrade(alembic_config(database_url), BEFORE)


# --- keys: settings, development key, the processes that get them ----------------------


def test_production_refuses_missing_or_malformed_keys() -> None:
    strong = {"admin_api_token": "a" * 32, "rasa_token": "b" * 32}
    good = Settings(environment="production", data_encryption_keys=TEST_DATA_KEY, **strong)
    good.check_secrets()
    missing = Settings(environment="production", data_encryption_keys=None, **strong)
    with pytest.raises(ValueError, match="DATA_ENCRYPTION_KEYS must be set"):
        missing.check_secrets()
    with pytest.raises(crypto.DataKeyError, match="must be set in production"):
        crypto.resolve_keys(missing)
    placeholder = Settings(
        environment="production",
        data_encryption_keys=f"{TEST_DATA_KEY},changeme",  # type: ignore[arg-type]
        **strong,
    )
    with pytest.raises(ValueError, match="key 2 is not a Fernet key") as caught:
        placeholder.check_secrets()
    assert "changeme" not in str(caught.value)
    assert TEST_DATA_KEY not in repr(placeholder), "the keys never show in a repr"


def test_keys_are_read_in_order_and_a_malformed_one_is_named_by_position() -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings(data_encryption_keys=f" {first} , {second},")  # type: ignore[arg-type]
    assert settings.data_keys == [first, second]
    with pytest.raises(crypto.DataKeyError, match="key 2 is not a Fernet key") as caught:
        crypto.use_keys([first, "x" * 44])
    assert "x" * 44 not in str(caught.value)


def test_development_uses_one_local_key_kept_across_restarts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(environment="development", data_encryption_keys=None, var_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="bot.crypto"):
        (key,) = crypto.resolve_keys(settings)
    path = tmp_path / crypto.DEV_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.resolve_keys(settings) == [key], "the same key at the next start"
    Fernet(key)
    assert "DATA_ENCRYPTION_KEYS is not set" in caplog.text
    assert key not in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == [crypto.DEV_KEY_FILE]


def test_only_the_gateway_gets_the_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", TEST_DATA_KEY)
    settings = Settings(environment="test")
    assert "DATA_ENCRYPTION_KEYS" not in supervisor.child_env(settings)  # Rasa, actions
    assert supervisor.child_env(settings, database=True)["DATA_ENCRYPTION_KEYS"] == TEST_DATA_KEY

    # Without DATA_ENCRYPTION_KEYS in development, the supervisor reads the local key once
    # and hands that very key to the gateway (and to each of its restarts).
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS")
    local = supervisor.with_data_keys(Settings(environment="development", var_dir=tmp_path))
    key = (tmp_path / crypto.DEV_KEY_FILE).read_text().strip()
    assert supervisor.child_env(local, database=True)["DATA_ENCRYPTION_KEYS"] == key
    assert "DATA_ENCRYPTION_KEYS" not in supervisor.child_env(local)
    assert isinstance(local.data_encryption_keys, SecretStr)
    assert key not in repr(local)


def rotate(database_url: str, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot.cli rotate-data-key`` as an operator would, with these keys."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "rotate-data-key", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "DATA_ENCRYPTION_KEYS": keys,
            "PYTHONPATH": str(PROJECT_ROOT),
        },
        check=False,
        timeout=120,
    )
