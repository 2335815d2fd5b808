"""Encryption at rest of free-text columns (docs/privacy.md, "Secrets and keys").

``EncryptedText`` and ``EncryptedJSON`` store a Fernet token (AES-128-CBC + HMAC-SHA256,
url-safe base64 text) instead of the value; the ORM and Core queries see plain values.
The keys come from ``DATA_ENCRYPTION_KEYS`` (``Settings.data_keys``): the first one
encrypts, every one decrypts (``MultiFernet``), so a key is rotated by putting a new one
first, restarting, running ``python -m bot.cli rotate-data-key`` and removing the old one.

One key set per process: a column type has no access to the engine or the settings when
it turns a value into a token, so entry points call ``configure(settings)`` (the gateway,
the CLIs, Alembic) and anything else gets the process settings on first use. Every
process that opens the application database must therefore get the same
``DATA_ENCRYPTION_KEYS`` (the supervisor hands it to the gateway only: Rasa and the action
server never open that database).

The ciphertext is random: SQL cannot compare, sort, group or search these columns, and
the types refuse such expressions (only ``IS NULL`` / ``IS NOT NULL``) instead of letting a
query silently match nothing. Filter them in Python after reading.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, Engine, MetaData, Table, Text, and_, column, event, select, table
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from bot.config import Settings, get_settings
from bot.fernet_keys import key_set, token_bytes

logger = logging.getLogger(__name__)

DEV_KEY_FILE = "dev-data-key"
# The development key of Rasa's tracker events (bot/tracker_crypto.py), made the same way.
TRACKER_DEV_KEY_FILE = "dev-tracker-key"
ROTATION_BATCH = 500


class DataKeyError(RuntimeError):
    """The data keys are missing or malformed (the message never holds a key)."""


class DecryptionError(RuntimeError):
    """A stored value that no configured key opens: a wrong or removed key, or a row
    written before encryption and never migrated. Never answered with garbage or None."""


class Keyring:
    """The process's data keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._primary, self._all = key_set(keys, "DATA_ENCRYPTION_KEYS", DataKeyError)

    def encrypt(self, plaintext: str) -> str:
        return self._primary.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext; ``InvalidToken`` when no key opens it."""
        return self._all.decrypt(token_bytes(token)).decode("utf-8")

    def opens(self, token: str) -> bool:
        try:
            self._all.decrypt(token_bytes(token))
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str | None:
        """The token re-encrypted with the first key, or None when it already is;
        ``InvalidToken`` when no key opens it."""
        raw = token_bytes(token)
        try:
            self._primary.decrypt(raw)
        except InvalidToken:
            return self._all.rotate(raw).decode("ascii")
        return None


_keyring: Keyring | None = None


def use_keys(keys: Sequence[str]) -> None:
    """Set this process's data keys (tests, and ``configure``)."""
    global _keyring
    _keyring = Keyring(keys)


def resolve_keys(settings: Settings) -> list[str]:
    """The keys from the settings; in development only, the local key when none is set."""
    keys = settings.data_keys
    if keys:
        return keys
    if settings.is_production:
        raise DataKeyError("DATA_ENCRYPTION_KEYS must be set in production")
    return [development_key(Path(settings.var_dir) / DEV_KEY_FILE)]


def resolve_tracker_keys(settings: Settings) -> list[str]:
    """The tracker keys (``TRACKER_ENCRYPTION_KEYS``), resolved like the data keys: in
    development only, the local key ``var/dev-tracker-key`` when none is set."""
    keys = settings.tracker_keys
    if keys:
        return keys
    if settings.is_production:
        raise DataKeyError("TRACKER_ENCRYPTION_KEYS must be set in production")
    return [
        development_key(
            Path(settings.var_dir) / TRACKER_DEV_KEY_FILE,
            variable="TRACKER_ENCRYPTION_KEYS",
            what="Rasa's tracker events",
        )
    ]


def configure(settings: Settings) -> None:
    """Set this process's data keys from its settings (entry points call this first, so
    a missing or malformed key stops the process at start, not at the first message)."""
    use_keys(resolve_keys(settings))


def keyring() -> Keyring:
    if _keyring is None:
        configure(get_settings())
    assert _keyring is not None
    return _keyring


def development_key(
    path: Path, variable: str = "DATA_ENCRYPTION_KEYS", what: str = "free texts"
) -> str:
    """A key generated once and kept in ``path`` (mode 0600), so that a local database
    stays readable across restarts and by every local process. Never for production.
    ``variable`` is the setting it stands in for, ``what`` what it encrypts (the warning)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked in place: two processes
        # starting at once end up with the same key, and none reads a half-written file.
        scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(Fernet.generate_key().decode("ascii") + "\n")
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    logger.warning(
        "%s is not set: %s are encrypted with the development key kept in %s (set %s in"
        " production)",
        variable,
        what,
        path,
        variable,
    )
    return path.read_text(encoding="ascii").strip()


# --- column types -----------------------------------------------------------------------

# What SQL may still do with an encrypted column: tell NULL from a value.
_ALLOWED_OPERATORS = {operators.is_, operators.is_not}


class _Encrypted(TypeDecorator[Any]):
    """A value stored as a Fernet token in a TEXT column."""

    impl = Text
    cache_ok = True
    # "table.column", set when the column joins its table (see _name_encrypted_columns):
    # a value that cannot be decrypted is reported with the column it came from.
    column_label = "an encrypted column"

    class Comparator(TypeDecorator.Comparator[Any]):
        def _refuse_most(self, op: Any) -> None:
            if op not in _ALLOWED_OPERATORS:
                label = getattr(self.type, "column_label", "an encrypted column")
                raise TypeError(
                    f"{label} is encrypted: SQL sees only random ciphertext, so it cannot be"
                    " compared, sorted or searched there; read the rows and filter them in"
                    " Python"
                )

        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            self._refuse_most(op)
            return super().operate(op, *other, **kwargs)

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            self._refuse_most(op)
            return super().reverse_operate(op, other, **kwargs)

    comparator_factory = Comparator

    def dump(self, value: Any) -> str:
        raise NotImplementedError

    def load(self, plaintext: str) -> Any:
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(self.dump(value))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        try:
            return self.load(keyring().decrypt(value))
        except InvalidToken:
            raise DecryptionError(
                f"cannot decrypt {self.column_label}: no key in DATA_ENCRYPTION_KEYS opens"
                " this value (a wrong or removed key, or a row never encrypted)"
            ) from None


class EncryptedText(_Encrypted):
    """A ``str`` column stored encrypted."""

    cache_ok = True  # SQLAlchemy reads it on each class, not inherited

    def dump(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{self.column_label} takes text, not {type(value).__name__}")
        return value

    def load(self, plaintext: str) -> str:
        return plaintext


class EncryptedJSON(_Encrypted):
    """A JSON value (dict, list...) stored as its encrypted JSON text; read back as the
    same Python value. Like ``sqlalchemy.JSON``, changes inside the value are not tracked:
    assign a new value."""

    cache_ok = True

    def dump(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def load(self, plaintext: str) -> Any:
        return json.loads(plaintext)


@event.listens_for(Column, "after_parent_attach")
def _name_encrypted_columns(target: Column[Any], parent: Any) -> None:
    if isinstance(target.type, _Encrypted) and isinstance(parent, Table):
        target.type.column_label = f"{parent.name}.{target.name}"


# --- key rotation -----------------------------------------------------------------------


@dataclass
class RotationCount:
    rows: int = 0  # rows with at least one encrypted value
    rotated: int = 0  # rows written back under the first key
    current: int = 0  # rows already under the first key (left alone)


def encrypted_columns(metadata: MetaData) -> dict[Table, list[Column[Any]]]:
    """The encrypted columns of every table, by table."""
    found: dict[Table, list[Column[Any]]] = {}
    for candidate in metadata.sorted_tables:
        columns = [c for c in candidate.columns if isinstance(c.type, _Encrypted)]
        if columns:
            found[candidate] = columns
    return found


def rotate(
    engine: Engine, metadata: MetaData, batch_size: int = ROTATION_BATCH
) -> dict[str, RotationCount]:
    """Re-encrypt every encrypted value with the first key, one batch per transaction
    (short locks while the gateway runs). Tokens are copied as they are, never turned into
    plaintext outside this function; a row the gateway changed meanwhile is left to it (it
    wrote it with the current keys). Running it twice is harmless: the second run finds
    every row current."""
    ring = keyring()
    counts: dict[str, RotationCount] = {}
    for source, columns in encrypted_columns(metadata).items():
        (key_column,) = source.primary_key.columns  # every encrypted table has one
        # The same table seen as raw text: what is stored, not what it decrypts to.
        raw = table(
            source.name,
            column(key_column.name, key_column.type),
            *(column(c.name, Text()) for c in columns),
        )
        key = raw.c[key_column.name]
        names = [c.name for c in columns]
        count = counts.setdefault(source.name, RotationCount())
        last: Any = None
        while True:
            with engine.begin() as connection:
                query = select(key, *(raw.c[n] for n in names)).order_by(key).limit(batch_size)
                if last is not None:
                    query = query.where(key > last)
                batch = connection.execute(query).all()
                for row in batch:
                    stored = dict(zip(names, row[1:], strict=True))
                    if all(v is None for v in stored.values()):
                        continue
                    count.rows += 1
                    try:
                        fresh = {
                            n: new
                            for n, v in stored.items()
                            if v is not None and (new := ring.rotate(v)) is not None
                        }
                    except InvalidToken:
                        raise DecryptionError(
                            f"cannot decrypt a value of {source.name} ({', '.join(names)}): no"
                            " key in DATA_ENCRYPTION_KEYS opens it; rotation stopped there"
                            " (run it again once every old key is in the list)"
                        ) from None
                    if not fresh:
                        count.current += 1
                        continue
                    unchanged = and_(*(raw.c[n] == stored[n] for n in fresh))
                    done = connection.execute(
                        raw.update().where(key == row[0], unchanged).values(fresh)
                    )
                    if done.rowcount:
                        count.rotated += 1
            if len(batch) < batch_size:
                break
            last = batch[-1][0]
    return counts
