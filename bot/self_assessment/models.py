"""Table owned by ``bot.self_assessment``: one kept self-assessment per person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.crypto import EncryptedJSON
from bot.db import Base, utcnow


class SelfAssessment(Base):
    """The latest kept assessment; a redone one replaces it. Answers are choice keys from
    ``dialogues/assessment/questions.yml`` (and the commune the person typed, if any)."""

    __tablename__ = "self_assessments"

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Who answered: the young person, or a parent about their child.
    role: Mapped[str] = mapped_column(String(8))
    # Encrypted at rest (bot/crypto.py): the JSON text is encrypted, a dict comes back.
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())
    flags: Mapped[dict[str, bool]] = mapped_column(JSON)
    # A référent may read it only while this is true (the person can change their mind).
    shared: Mapped[bool]
    completed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
