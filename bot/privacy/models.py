"""Table owned by ``bot.privacy``: consents, one row per answer the person gave."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, str_enum, utcnow


class Purpose(enum.StrEnum):
    """What a consent is for: each is asked, recorded and revoked on its own."""

    KEEP_SELF_ASSESSMENT = "keep_self_assessment"
    SHARE_SELF_ASSESSMENT = "share_self_assessment"
    REMINDERS = "reminders"
    # A request for a person: the référent reads the conversation from the request on...
    SHARE_WITH_REFERENT = "share_with_referent"
    # ...and what was written before it only on this yes.
    SHARE_HISTORY = "share_history"
    # Under 15: the young person says a parent agrees to the sharing (their declaration).
    PARENT_AGREEMENT = "parent_agreement"


class Consent(Base):
    """Append-only: a revocation is a new row with ``granted = False``, so the history of
    what the person agreed to, with which wording, stays provable."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_user_purpose", "user_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[Purpose] = mapped_column(str_enum(Purpose, 32))
    granted: Mapped[bool]
    # The version of the words the person answered (e.g. "sa-2026-11-22").
    wording_version: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
