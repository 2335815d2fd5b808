"""Web chat sessions: one per browser conversation, each with its own secret token.

Only a hash of the token is stored, so a database leak does not open conversations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.conversations.models import User
from bot.db import Base, utcnow


class WebChatSession(Base):
    __tablename__ = "web_chat_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"WebChatSession(id={self.id!r})"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_credentials() -> tuple[str, str]:
    return secrets.token_hex(16), secrets.token_urlsafe(32)


def create(session: Session, session_id: str, user_id: str, token: str) -> WebChatSession:
    row = WebChatSession(id=session_id, user_id=user_id, token_hash=hash_token(token))
    session.add(row)
    session.flush()
    return row


def person_of(session: Session, session_id: str, token: str | None) -> tuple[str, str] | None:
    """(user id, locale) when the token is the session's own, else None (same answer for
    both failures). One query: it runs before every message."""
    if not token or len(session_id) > 64:
        return None
    row = session.execute(
        select(WebChatSession.user_id, WebChatSession.token_hash, User.locale)
        .join(User, User.id == WebChatSession.user_id)
        .where(WebChatSession.id == session_id)
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
        return None
    return row.user_id, row.locale
