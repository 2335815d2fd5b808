"""Encryption at rest of Rasa's tracker store: ``events.data`` as Fernet tokens.

Rasa's SQL tracker store keeps every event of a conversation in the table ``events``, its
JSON in ``data``: what people wrote, how it was read, what was answered, the slots. The
engine's tracker store (``bot/tracker_store.py``, inside the Rasa server) writes that JSON
as a Fernet token (AES-128-CBC + HMAC-SHA256) and reads it back; ``python -m bot.cli
rotate-tracker-key`` (the gateway's runtime) encrypts the rows written before and
re-encrypts the rows under an old key. Both use this module, so it imports only what both
runtimes have: the standard library, ``cryptography`` and SQLAlchemy Core as 1.4 (the
engine) and 2 (the gateway) both run it. Never ``bot.config``: pydantic-settings is not in
the engine's runtime.

The keys are ``TRACKER_ENCRYPTION_KEYS`` (comma-separated Fernet keys, the first encrypts,
all decrypt), separate from ``DATA_ENCRYPTION_KEYS``: the Rasa server gets these and only
these, the gateway only the others (``bot/supervisor.py``).

Rows written before this existed hold plain JSON (it starts with "{"; a Fernet token starts
with "gAAAAA"): they are still read, and the rotation command encrypts them. A token no key
opens is a ``TrackerDecryptionError`` naming the row, never an empty or garbled event.

``intent_name`` and ``action_name`` are left empty (NULL): an intent name such as
``urgent_suicidal_thoughts`` beside a sender id and a time says what that person disclosed,
and ``action_name`` holds action names (``utter_urgent_...``) and slot names. Rasa never
queries them (only ``sender_id``, ``type_name``, ``timestamp`` and ``id``); the event's
JSON, encrypted, still holds them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

from bot.fernet_keys import key_set, parse_keys, token_bytes

logger = logging.getLogger(__name__)

KEYS_VARIABLE = "TRACKER_ENCRYPTION_KEYS"
# Rasa's SQL tracker store table (erasure and the retention purge delete from it too).
EVENTS_TABLE = "events"  # Rasa's own name; the SQL statements below spell it out
# Rasa writes ``json.dumps`` of a dict: plain JSON starts with "{", never a Fernet token
# (url-safe base64 of the version byte 0x80: "g").
PLAINTEXT_START = "{"
ROTATION_BATCH = 500


class TrackerKeyError(RuntimeError):
    """The tracker keys are missing or malformed (the message never holds a key).

    A ``RuntimeError``, never an ``ImportError`` or ``AttributeError``: Rasa answers those
    from a custom tracker store by falling back to its in-memory store with a warning."""


class TrackerDecryptionError(RuntimeError):
    """A stored event no configured key opens (a wrong key, or an old key removed before
    the rotation ran). Never answered with garbage, an empty event or a dropped one."""


def undecryptable(row_id: object) -> TrackerDecryptionError:
    return TrackerDecryptionError(
        f"cannot decrypt tracker event {row_id} (events.data): no key in {KEYS_VARIABLE}"
        " opens it (a wrong key, or an old key removed before `python -m bot.cli"
        " rotate-tracker-key` ran): put the missing key back in the list"
    )


class TrackerKeyring:
    """The tracker keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._primary, self._all = key_set(keys, KEYS_VARIABLE, TrackerKeyError)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> TrackerKeyring:
        keys = parse_keys(environ.get(KEYS_VARIABLE))
        if not keys:
            raise TrackerKeyError(
                f"{KEYS_VARIABLE} is not set: Rasa's tracker store encrypts every event and"
                " refuses to start without its keys (python -m bot.supervisor hands them to"
                " the Rasa server)"
            )
        return cls(keys)

    def encrypt(self, plaintext: str) -> str:
        return self._primary.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def read(self, stored: object, row_id: object) -> str:
        """An event's JSON from its stored ``data``: a token decrypted, or a row written
        before encryption as it is. ``TrackerDecryptionError`` when no key opens it."""
        if isinstance(stored, str) and stored.startswith(PLAINTEXT_START):
            return stored
        try:
            return self._all.decrypt(token_bytes(stored)).decode("utf-8")
        except InvalidToken:
            raise undecryptable(row_id) from None

    def rotate(self, stored: str, row_id: object) -> str | None:
        """The value to store instead (plain JSON encrypted, a token under an old key
        re-encrypted with the first one), or None when it is already under the first key.
        ``TrackerDecryptionError`` when no key opens it."""
        if stored.startswith(PLAINTEXT_START):
            return self.encrypt(stored)
        raw = token_bytes(stored)
        try:
            self._primary.decrypt(raw)
        except InvalidToken:
            try:
                return self._all.rotate(raw).decode("ascii")
            except InvalidToken:
                raise undecryptable(row_id) from None
        return None


def tracker_engine(url: str) -> Engine:
    """An engine on Rasa's tracker database for the gateway's side (erasure, retention
    purge, rotation): SQLite waits up to 30 s for Rasa's writes to finish rather than
    failing at once; the database's own settings (journal mode) are left as Rasa made them."""
    connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
    return create_engine(url, connect_args=connect_args)


# --- start-up check ----------------------------------------------------------------------

_ENDS = (
    # The oldest and the newest encrypted events: a removed old key shows on the first, a
    # wrong key on both. ``id`` is the primary key: each query stops at its first match.
    "SELECT id, data FROM events WHERE data NOT LIKE '{%' ORDER BY id LIMIT 1",
    "SELECT id, data FROM events WHERE data NOT LIKE '{%' ORDER BY id DESC LIMIT 1",
)


def check_keys_open_stored_events(connection: Connection, keyring: TrackerKeyring) -> None:
    """Refuse keys that do not open the oldest and the newest stored events, so that a
    wrong or prematurely removed key stops the engine at start, with its reason, rather
    than leaving every returning conversation without its history."""
    for query in _ENDS:
        row = connection.execute(text(query)).first()
        if row is not None:
            keyring.read(row[1], row[0])


# --- rotation -----------------------------------------------------------------------------


@dataclass
class TrackerRotation:
    encrypted: int = 0  # plain JSON (written before encryption), now encrypted
    rotated: int = 0  # under an old key, now under the first one
    current: int = 0  # already under the first key (left alone)
    names_cleared: int = 0  # rows whose intent_name / action_name were emptied
    gone: int = 0  # deleted (erasure, retention) between the read and the write
    table: bool = True  # False when Rasa never created its table


_BATCH = text(
    "SELECT id, data, intent_name, action_name FROM events WHERE id > :last ORDER BY id"
    " LIMIT :limit"
)
_UPDATE = text(
    "UPDATE events SET data = :data, intent_name = NULL, action_name = NULL"
    " WHERE id = :id AND data = :old"
)


def rotate(
    engine: Engine, keyring: TrackerKeyring, batch_size: int = ROTATION_BATCH
) -> TrackerRotation:
    """Bring every event under the first key, one batch per transaction (short locks while
    Rasa runs): plain JSON is encrypted, tokens under an old key re-encrypted, and the
    intent and action names emptied. Rasa only ever adds rows; a row changed or deleted
    meanwhile is left alone. Idempotent: a second run finds every row current. Stops with
    ``TrackerDecryptionError`` at a row no key opens (the batches before it are kept)."""
    count = TrackerRotation()
    if not inspect(engine).has_table(EVENTS_TABLE):
        count.table = False
        return count
    last = 0
    while True:
        with engine.begin() as connection:
            batch = connection.execute(_BATCH, {"last": last, "limit": batch_size}).all()
            for row_id, data, intent_name, action_name in batch:
                if data is None:
                    continue  # Rasa never writes one; nothing to protect
                fresh = keyring.rotate(data, row_id)
                named = intent_name is not None or action_name is not None
                if fresh is None and not named:
                    count.current += 1
                    continue
                done = connection.execute(
                    _UPDATE,
                    {"data": fresh if fresh is not None else data, "id": row_id, "old": data},
                )
                if not done.rowcount:
                    count.gone += 1
                    continue
                if fresh is None:
                    count.current += 1
                elif data.startswith(PLAINTEXT_START):
                    count.encrypted += 1
                else:
                    count.rotated += 1
                count.names_cleared += int(named)
        if len(batch) < batch_size:
            return count
        last = batch[-1][0]
