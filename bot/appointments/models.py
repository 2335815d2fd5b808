"""Tables owned by ``bot.appointments``: appointments, their proposed times, reminders,
the scheduler's leader lease, contact preferences, and APScheduler's job table.

Only this package writes the first five (``service``, ``reminders``, ``sending``,
``preferences``, ``leader``); APScheduler writes its own job table (declared here so that
Alembic creates it and ``alembic check`` knows it, instead of APScheduler creating it
behind the migrations' back).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Unicode,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

import handoff.models  # noqa: F401  (the referents table, which appointments refer to)
from bot.conversations.models import new_id
from bot.crypto import EncryptedText
from bot.db import Base, str_enum, utcnow

# APScheduler's SQLAlchemyJobStore table name (its default).
JOBS_TABLE = "apscheduler_jobs"


class Mode(enum.StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"


class AppointmentStatus(enum.StrEnum):
    PROPOSED = "proposed"  # set by a référent, not yet confirmed by the young person
    CONFIRMED = "confirmed"  # "C'est noté"
    CANCELLED = "cancelled"
    DONE = "done"  # it happened (the référent or the young person said so)
    MISSED = "missed"  # it did not happen


# An appointment still ahead of the person: reminders go, it can be moved or cancelled.
LIVE_STATUSES = (AppointmentStatus.PROPOSED, AppointmentStatus.CONFIRMED)


class ReminderKind(enum.StrEnum):
    DAY_BEFORE = "day_before"
    TWO_HOURS_BEFORE = "two_hours_before"
    AFTER_CHECK = "after_check"  # "did it happen?", when the référent has not said
    FOLLOW_UP_CHECK_IN = "follow_up_check_in"  # weeks after a handoff closed with a follow-up


# Reminders that announce the appointment: useless once it has started.
BEFORE_KINDS = (ReminderKind.DAY_BEFORE, ReminderKind.TWO_HOURS_BEFORE)


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"  # claimed for sending: never sent again, whatever happens next
    SKIPPED = "skipped"  # not sent on purpose (too late, stop_messages...): see skip_reason
    CANCELLED = "cancelled"  # its appointment was cancelled or moved, or the person wrote


class Appointment(Base):
    """A meeting between a young person and a référent."""

    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    referent_id: Mapped[str | None] = mapped_column(
        ForeignKey("referents.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[dt.datetime] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode, 16))
    # An address, a phone number to call or a video link: shown to the person, never logged,
    # encrypted at rest (bot/crypto.py) like what to bring.
    place: Mapped[str | None] = mapped_column(EncryptedText())
    bring: Mapped[str | None] = mapped_column(EncryptedText())
    status: Mapped[AppointmentStatus] = mapped_column(
        str_enum(AppointmentStatus, 16), default=AppointmentStatus.PROPOSED
    )
    # Bumped at each move: reminders belong to one version (one start time) of the appointment.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The person said "Je ne peux pas" (or asked for another time): new times are awaited.
    declined_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    def __repr__(self) -> str:
        return f"Appointment(id={self.id!r}, status={self.status.value!r})"


class AppointmentOption(Base):
    """A new time a référent proposes; the young person picks one with a button."""

    __tablename__ = "appointment_options"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[dt.datetime] = mapped_column()
    chosen_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"AppointmentOption(id={self.id!r})"


class Reminder(Base):
    """One message to send at one time. This table, not the scheduler's memory nor its job
    store, is the truth: a reminder is sent when its row goes from pending to sent."""

    __tablename__ = "reminders"
    __table_args__ = (
        # A reminder exists once per appointment time (a move makes a new version).
        UniqueConstraint("appointment_id", "kind", "version"),
        Index("ix_reminders_status_due_at", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # None for a follow-up check-in, which belongs to no appointment.
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, 24))
    version: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[dt.datetime] = mapped_column()
    # The latest moment it is still worth sending (before the appointment, for instance).
    useful_until: Mapped[dt.datetime] = mapped_column()
    status: Mapped[ReminderStatus] = mapped_column(
        str_enum(ReminderStatus, 16), default=ReminderStatus.PENDING
    )
    skip_reason: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    # Set once the sink (the router) took the message; a sent row without it after a crash
    # is reported, not sent again: at most once wins over at least once.
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    # The due time of the scheduler job registered for it (None: no job yet). A job is only
    # a wake-up call: the row decides.
    wake_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Reminder(id={self.id!r}, kind={self.kind.value!r}, status={self.status.value!r})"


class SchedulerLease(Base):
    """The leader lock: only the holder of an unexpired lease runs reminders."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column()

    def __repr__(self) -> str:
        return f"SchedulerLease(name={self.name!r}, holder={self.holder!r})"


class ContactPreference(Base):
    """What a person asked about messages they did not start (reminders, check-ins)."""

    __tablename__ = "contact_preferences"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    stop_messages: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"ContactPreference(user_id={self.user_id!r})"


# APScheduler 3's SQLAlchemyJobStore schema, column for column (it builds the same table in
# a MetaData of its own and creates it only if missing).
apscheduler_jobs = Table(
    JOBS_TABLE,
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)

__all__ = [
    "BEFORE_KINDS",
    "JOBS_TABLE",
    "LIVE_STATUSES",
    "Appointment",
    "AppointmentOption",
    "AppointmentStatus",
    "ContactPreference",
    "Mode",
    "Reminder",
    "ReminderKind",
    "ReminderStatus",
    "SchedulerLease",
    "apscheduler_jobs",
]
