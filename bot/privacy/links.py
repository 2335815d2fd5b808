"""One-time links to a person's data export (table ``export_links``, owned here).

The raw token exists only in the link given to the person; the table keeps its SHA-256,
so a database leak opens no export. A link works once, before it expires: redeeming it
is one conditional ``UPDATE``, so two clicks at the same moment give one export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db import Base

DEFAULT_LIFETIME = dt.timedelta(minutes=60)
# Tokens longer than this are refused before any hashing or query.
MAX_TOKEN_LENGTH = 128


class ExportLink(Base):
    __tablename__ = "export_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"ExportLink(expires_at={self.expires_at.isoformat()!r})"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    session: Session, user_id: str, now: dt.datetime, lifetime: dt.timedelta = DEFAULT_LIFETIME
) -> str:
    """A new one-time token for the person's export; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        ExportLink(
            token_hash=hash_token(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def redeem(session: Session, token: str, now: dt.datetime) -> str | None:
    """The person's id the first time an unexpired token is presented, else None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    token_hash = hash_token(token)
    result = session.execute(
        update(ExportLink)
        .where(
            ExportLink.token_hash == token_hash,
            ExportLink.used_at.is_(None),
            ExportLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.scalar(select(ExportLink.user_id).where(ExportLink.token_hash == token_hash))
