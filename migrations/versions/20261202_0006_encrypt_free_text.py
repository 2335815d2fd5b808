"""encrypt free text

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

Free-text columns encrypted at rest (bot/crypto.py, docs/privacy.md): messages.text,
handoff_notes.text, appointments.place, appointments.bring and self_assessments.answers
(JSON until now, TEXT holding an encrypted JSON text from now on). Every existing value is
encrypted with the first key of DATA_ENCRYPTION_KEYS; the downgrade decrypts them.

The tables are described here as they are at this revision (not imported from the models,
which will move on), and read in primary-key order in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import InvalidToken

from bot import crypto

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

BATCH = 500

# table: (primary key and its type, encrypted columns)
ENCRYPTED: dict[str, tuple[tuple[str, sa.types.TypeEngine[object]], tuple[str, ...]]] = {
    "messages": (("id", sa.Integer()), ("text",)),
    "handoff_notes": (("id", sa.Integer()), ("text",)),
    "appointments": (("id", sa.String(32)), ("place", "bring")),
    "self_assessments": (("user_id", sa.String(32)), ("answers",)),
}


def _rewrite(change: Callable[[str, str], str | None]) -> None:
    """Apply ``change(label, stored)`` to every non-null value of the encrypted columns;
    it returns the value to store, or None to leave the row as it is."""
    connection = op.get_bind()
    for name, ((key_name, key_type), columns) in ENCRYPTED.items():
        raw = sa.table(
            name, sa.column(key_name, key_type), *(sa.column(c, sa.Text()) for c in columns)
        )
        key = raw.c[key_name]
        changed = 0
        last: object = None
        while True:
            query = sa.select(key, *(raw.c[c] for c in columns)).order_by(key).limit(BATCH)
            if last is not None:
                query = query.where(key > last)
            batch = connection.execute(query).all()
            for row in batch:
                values = {
                    column: new
                    for column, stored in zip(columns, row[1:], strict=True)
                    if stored is not None
                    and (new := change(f"{name}.{column}", stored)) is not None
                }
                if values:
                    connection.execute(raw.update().where(key == row[0]).values(values))
                    changed += 1
            if len(batch) < BATCH:
                break
            last = batch[-1][0]
        logger.info("%s: %d rows rewritten", name, changed)


def upgrade() -> None:
    # The JSON column becomes TEXT first: it will hold a token, not JSON. PostgreSQL's json
    # keeps the text it was given, so ``::text`` is exactly what SQLAlchemy serialised.
    with op.batch_alter_table("self_assessments") as batch_op:
        batch_op.alter_column(
            "answers",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="answers::text",
        )
    ring = crypto.keyring()

    def encrypt(_label: str, stored: str) -> str | None:
        # A value some key already opens is left alone (a plaintext never does: a token
        # carries an HMAC): running this on a partly encrypted table is harmless.
        return None if ring.opens(stored) else ring.encrypt(stored)

    _rewrite(encrypt)


def downgrade() -> None:
    ring = crypto.keyring()

    def decrypt(label: str, stored: str) -> str:
        try:
            return ring.decrypt(stored)
        except InvalidToken:
            raise crypto.DecryptionError(
                f"cannot decrypt {label}: no key in DATA_ENCRYPTION_KEYS opens a value;"
                " nothing was downgraded"
            ) from None

    _rewrite(decrypt)
    with op.batch_alter_table("self_assessments") as batch_op:
        batch_op.alter_column(
            "answers",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using="answers::json",
        )
