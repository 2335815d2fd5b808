"""Tables owned by ``handoff``: référents, their console sessions, handoffs, notes, events.

Only ``handoff.accounts`` writes référents and console sessions; only ``handoff.queue``
writes handoffs, their notes and their events.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import new_id
from bot.crypto import EncryptedText
from bot.db import Base, str_enum, utcnow

DEFAULT_CAPACITY = 50  # active conversations per référent (domain.md: caseload of ~50)


class Role(enum.StrEnum):
    REFERENT = "referent"
    SUPERVISOR = "supervisor"


class Referent(Base):
    """A person who answers young people from the console."""

    __tablename__ = "referents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16), default=Role.REFERENT)
    # Territory ids of the partner directory this référent answers for.
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # School / CIO référents take the under-16s (domain.md: not the Mission locale).
    serves_under_16: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAPACITY)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR

    def __repr__(self) -> str:
        return f"Referent(id={self.id!r}, role={self.role.value!r})"


class ConsoleSession(Base):
    """A logged-in console browser. Only a hash of the cookie's token is stored."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    referent_id: Mapped[str] = mapped_column(
        ForeignKey("referents.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()

    def __repr__(self) -> str:
        return f"ConsoleSession(referent_id={self.referent_id!r})"


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """Queue order: lower is served first."""
        return {"urgent": 0, "high": 1, "normal": 2}[self.value]


class HandoffStatus(enum.StrEnum):
    REQUESTED = "requested"  # asked for, waiting for the person's consent answer
    WAITING = "waiting"  # in the queue
    ASSIGNED = "assigned"  # a référent holds the conversation
    CLOSED = "closed"  # over: closed by a référent, cancelled, or returned to the bot


OPEN_STATUSES = (HandoffStatus.REQUESTED, HandoffStatus.WAITING, HandoffStatus.ASSIGNED)
HELD_STATUSES = (HandoffStatus.WAITING, HandoffStatus.ASSIGNED)


class Outcome(enum.StrEnum):
    INFORMATION_GIVEN = "information_given"
    ORIENTED_TO_SERVICE = "oriented_to_service"
    APPOINTMENT_SET = "appointment_set"
    URGENT_SERVICE_CONTACTED = "urgent_service_contacted"
    FOLLOW_UP = "follow_up"
    NO_ANSWER = "no_answer"
    RETURNED_TO_BOT = "returned_to_bot"
    CANCELLED_BY_USER = "cancelled_by_user"
    DECLINED = "declined"  # the person said no at the consent question


# What a référent may choose when closing (the others are set by the system).
REFERENT_OUTCOMES = (
    Outcome.INFORMATION_GIVEN,
    Outcome.ORIENTED_TO_SERVICE,
    Outcome.APPOINTMENT_SET,
    Outcome.URGENT_SERVICE_CONTACTED,
    Outcome.FOLLOW_UP,
    Outcome.NO_ANSWER,
)


class Handoff(Base):
    """One request for a person, from the request to its close."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_queue", "status", "priority_rank", "queued_at"),
        # At most one open handoff per conversation, enforced by the database itself.
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('requested', 'waiting', 'assigned')"),
            postgresql_where=text("status IN ('requested', 'waiting', 'assigned')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[HandoffStatus] = mapped_column(str_enum(HandoffStatus, 16))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, 16))
    priority_rank: Mapped[int] = mapped_column(Integer)
    # Why: the intent that led here (e.g. urgent_violence, request_human, nlu_fallback).
    reason: Mapped[str] = mapped_column(String(64))
    territory_id: Mapped[str | None] = mapped_column(String(64))
    under_16: Mapped[bool] = mapped_column(Boolean, default=False)
    # The age band the person gave before a non-urgent request (``handoff.age``), or None
    # when it was not asked (urgent, a parent, an age already known from the dialogue).
    age_band: Mapped[str | None] = mapped_column(String(16))
    # Under 15: the person said a parent agrees to sharing with a référent (French law,
    # loi Informatique et Libertés art. 45). None: not asked.
    parent_agreed: Mapped[bool | None] = mapped_column(Boolean)
    # None: not answered yet; False: the référent sees only what is written from now on.
    share_history: Mapped[bool | None] = mapped_column(Boolean)
    # The first message the référent may read when the history is not shared.
    first_message_id: Mapped[int | None] = mapped_column(Integer)
    # The last message of the handoff, set at close: what comes after is not theirs to read.
    last_message_id: Mapped[int | None] = mapped_column(Integer)
    referent_id: Mapped[str | None] = mapped_column(
        ForeignKey("referents.id", ondelete="SET NULL"), index=True
    )
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[dt.datetime | None] = mapped_column()
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, 32))
    escalated_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"Handoff(id={self.id}, status={self.status.value!r})"


class HandoffNote(Base):
    """An internal note of a référent: never shown to the young person."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), index=True
    )
    referent_id: Mapped[str | None] = mapped_column(ForeignKey("referents.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(EncryptedText())  # encrypted at rest (bot/crypto.py)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"HandoffNote(id={self.id})"


class HandoffEvent(Base):
    """What happened to a handoff and who did it: the audit trail and the statistics."""

    __tablename__ = "handoff_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    referent_id: Mapped[str | None] = mapped_column(ForeignKey("referents.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"HandoffEvent(id={self.id}, kind={self.kind!r})"
