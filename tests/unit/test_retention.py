"""The retention purge, with a fixed clock: exactly what is past its period goes."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.appointments.models import (
    Appointment,
    AppointmentOption,
    Mode,
    Reminder,
    ReminderKind,
    apscheduler_jobs,
)
from bot.conversations.models import (
    Channel,
    Conversation,
    Delivery,
    Direction,
    Message,
    Sender,
    User,
)
from bot.db import make_engine, session_scope
from bot.privacy import consents, links
from bot.privacy.models import Consent, Purpose
from bot.privacy.retention import RetentionPeriods, months_before, purge, purge_tracker
from bot.self_assessment.models import SelfAssessment
from handoff.models import Handoff, HandoffEvent, HandoffNote, HandoffStatus, Priority

NOW = dt.datetime(2027, 3, 15, 10, 0, tzinfo=dt.UTC)
PERIODS = RetentionPeriods()  # 12 months for conversations, 24 for the rest
TWELVE = months_before(NOW, 12)
TWENTY_FOUR = months_before(NOW, 24)
SECOND = dt.timedelta(seconds=1)


def test_months_are_calendar_months() -> None:
    assert months_before(NOW, 12) == dt.datetime(2026, 3, 15, 10, 0, tzinfo=dt.UTC)
    assert months_before(NOW, 3) == dt.datetime(2026, 12, 15, 10, 0, tzinfo=dt.UTC)
    end_of_march = dt.datetime(2027, 3, 31, tzinfo=dt.UTC)
    assert months_before(end_of_march, 1) == dt.datetime(2027, 2, 28, tzinfo=dt.UTC)
    assert months_before(end_of_march, 13) == dt.datetime(2026, 2, 28, tzinfo=dt.UTC)
    assert months_before(dt.datetime(2028, 3, 31, tzinfo=dt.UTC), 1).day == 29


def person(session: Session, name: str, last_seen: dt.datetime) -> User:
    user = User(
        channel=Channel.WEB,
        external_id=name,
        locale="fr",
        created_at=last_seen,
        last_seen_at=last_seen,
    )
    session.add(user)
    session.flush()
    return user


def conversation(session: Session, user: User, last: dt.datetime, said: str) -> Conversation:
    row = Conversation(user_id=user.id, opened_at=last, last_activity_at=last)
    session.add(row)
    session.flush()
    session.add(
        Message(
            conversation_id=row.id,
            direction=Direction.INBOUND,
            sender=Sender.USER,
            text=said,
            delivery=Delivery.DONE,
            created_at=last,
        )
    )
    session.flush()
    return row


def handoff(
    session: Session,
    conv: Conversation,
    status: HandoffStatus,
    closed_at: dt.datetime | None,
    note: str,
) -> Handoff:
    row = Handoff(
        conversation_id=conv.id,
        user_id=conv.user_id,
        status=status,
        priority=Priority.NORMAL,
        priority_rank=Priority.NORMAL.rank,
        reason="request_human",
        requested_at=(closed_at or NOW) - dt.timedelta(days=1),
        closed_at=closed_at,
    )
    session.add(row)
    session.flush()
    session.add(HandoffNote(handoff_id=row.id, text=note))
    session.add(HandoffEvent(handoff_id=row.id, kind="queued"))
    session.flush()
    return row


def appointment(session: Session, user: User, starts_at: dt.datetime) -> Appointment:
    row = Appointment(user_id=user.id, starts_at=starts_at, mode=Mode.PHONE, place="06 00")
    session.add(row)
    session.flush()
    session.add(AppointmentOption(appointment_id=row.id, starts_at=starts_at))
    reminder = Reminder(
        appointment_id=row.id,
        user_id=user.id,
        kind=ReminderKind.DAY_BEFORE,
        due_at=starts_at - dt.timedelta(days=1),
        useful_until=starts_at,
    )
    session.add(reminder)
    session.flush()
    session.execute(
        insert(apscheduler_jobs).values(
            id=f"reminder:{reminder.id}", next_run_time=1.0, job_state=b"state"
        )
    )
    return row


def texts(session: Session) -> set[str]:
    return {t for t in session.scalars(select(Message.text)) if t}


def notes(session: Session) -> set[str]:
    return set(session.scalars(select(HandoffNote.text)))


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_conversations_go_after_their_period_and_not_a_second_before(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        kept = person(session, "kept", TWELVE)
        conversation(session, kept, TWELVE, "exactly at the limit")
        gone = person(session, "gone", TWELVE - SECOND)
        conversation(session, gone, TWELVE - SECOND, "one second too old")
        recent = person(session, "recent", NOW)
        old = conversation(session, recent, TWELVE - dt.timedelta(days=30), "old but talked since")
        # A référent wrote in it recently: the conversation is still alive.
        session.add(
            Message(
                conversation_id=old.id,
                direction=Direction.OUTBOUND,
                sender=Sender.REFERENT,
                text="Tu es toujours là ?",
                created_at=NOW - dt.timedelta(days=2),
            )
        )
    with session_scope(sessions) as session:
        counts = purge(session, NOW, PERIODS)
    assert counts["messages"] == 1
    assert counts["conversations"] == 1
    with session_scope(sessions) as session:
        assert texts(session) == {
            "exactly at the limit",
            "old but talked since",
            "Tu es toujours là ?",
        }
        assert set(session.scalars(select(User.external_id))) == {"kept", "recent"}


def test_closed_handoffs_go_after_their_period_with_notes_and_events(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        user = person(session, "someone", NOW)
        for label, closed_at in (("at the limit", TWENTY_FOUR), ("too old", TWENTY_FOUR - SECOND)):
            conv = conversation(session, user, NOW, f"message {label}")
            handoff(session, conv, HandoffStatus.CLOSED, closed_at, f"note {label}")
        conv = conversation(session, user, NOW, "message open")
        handoff(session, conv, HandoffStatus.WAITING, None, "note open")
    with session_scope(sessions) as session:
        counts = purge(session, NOW, PERIODS)
    assert counts["handoffs"] == 1
    assert counts["handoff_notes"] == 1
    assert counts["handoff_events"] == 1
    with session_scope(sessions) as session:
        assert notes(session) == {"note at the limit", "note open"}
        assert count(session, HandoffEvent) == 2
        # The conversations are recent: all their messages stay.
        assert len(texts(session)) == 3


def test_a_handoff_kept_longer_keeps_its_conversation_row_but_not_its_messages(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        user = person(session, "someone", TWELVE - dt.timedelta(days=60))
        conv = conversation(session, user, TWELVE - dt.timedelta(days=60), "ancien message")
        handoff(session, conv, HandoffStatus.CLOSED, TWELVE - dt.timedelta(days=59), "note")
        waiting_conv = conversation(session, user, TWELVE - dt.timedelta(days=60), "attente")
        handoff(session, waiting_conv, HandoffStatus.WAITING, None, "note en attente")
    with session_scope(sessions) as session:
        counts = purge(session, NOW, PERIODS)
    assert counts["messages"] == 1
    assert counts["conversations"] == 0
    assert counts["users"] == 0
    with session_scope(sessions) as session:
        assert texts(session) == {"attente"}  # an open handoff keeps its messages
        assert notes(session) == {"note", "note en attente"}
        assert count(session, Conversation) == 2
    # Once the handoff is past its own period, the conversation and the person go too.
    later = NOW + dt.timedelta(days=366)
    with session_scope(sessions) as session:
        session.execute(
            update(Handoff)
            .where(Handoff.status == HandoffStatus.WAITING)
            .values(status=HandoffStatus.CLOSED, closed_at=TWELVE - dt.timedelta(days=59))
        )
    with session_scope(sessions) as session:
        counts = purge(session, later, PERIODS)
    assert counts["handoffs"] == 2
    assert counts["conversations"] == 2
    assert counts["users"] == 1


def test_self_assessments_go_after_their_period(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        for name, completed_at in (("at-limit", TWENTY_FOUR), ("too-old", TWENTY_FOUR - SECOND)):
            user = person(session, name, NOW)
            session.add(
                SelfAssessment(
                    user_id=user.id,
                    role="young",
                    answers={},
                    flags={},
                    shared=False,
                    completed_at=completed_at,
                )
            )
    with session_scope(sessions) as session:
        assert purge(session, NOW, PERIODS)["self_assessments"] == 1
    with session_scope(sessions) as session:
        owners = session.scalars(
            select(User.external_id).join(SelfAssessment, SelfAssessment.user_id == User.id)
        )
        assert list(owners) == ["at-limit"]


def test_appointments_go_after_their_period_with_reminders_and_jobs(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        user = person(session, "someone", NOW)
        kept = appointment(session, user, TWENTY_FOUR)
        appointment(session, user, TWENTY_FOUR - SECOND)
        session.add_all(
            [
                Reminder(
                    user_id=user.id,
                    kind=ReminderKind.FOLLOW_UP_CHECK_IN,
                    due_at=due,
                    useful_until=due + dt.timedelta(days=7),
                )
                for due in (TWENTY_FOUR, TWENTY_FOUR - SECOND)
            ]
        )
    with session_scope(sessions) as session:
        counts = purge(session, NOW, PERIODS)
    assert counts["appointments"] == 1
    assert counts["appointment_options"] == 1
    assert counts["reminders"] == 2
    assert counts["apscheduler_jobs"] == 1
    with session_scope(sessions) as session:
        assert list(session.scalars(select(Appointment.id))) == [kept.id]
        assert count(session, Reminder) == 2
        assert count(session, apscheduler_jobs) == 1


def test_used_and_expired_export_links_go(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        user = person(session, "someone", NOW)
        used = links.create_link(session, user.id, NOW - dt.timedelta(minutes=5))
        links.create_link(session, user.id, NOW - dt.timedelta(minutes=60))  # expires now
        valid = links.create_link(session, user.id, NOW - dt.timedelta(minutes=59))
    with session_scope(sessions) as session:
        assert links.redeem(session, used, NOW - dt.timedelta(minutes=1)) == user.id
    with session_scope(sessions) as session:
        assert purge(session, NOW, PERIODS)["export_links"] == 2
    with session_scope(sessions) as session:
        assert links.redeem(session, valid, NOW) == user.id


def test_people_long_gone_with_nothing_left_go_with_their_consents(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        gone = person(session, "gone", TWELVE - SECOND)
        consents.record(session, gone.id, Purpose.REMINDERS, True, "v1")
        at_limit = person(session, "at-limit", TWELVE)
        consents.record(session, at_limit.id, Purpose.REMINDERS, True, "v1")
        assessed = person(session, "assessed", TWELVE - SECOND)
        session.add(
            SelfAssessment(
                user_id=assessed.id,
                role="young",
                answers={},
                flags={},
                shared=False,
                completed_at=NOW - dt.timedelta(days=400),
            )
        )
        consents.record(session, assessed.id, Purpose.KEEP_SELF_ASSESSMENT, True, "v1")
    with session_scope(sessions) as session:
        counts = purge(session, NOW, PERIODS)
    assert counts["users"] == 1
    assert counts["consents"] == 1
    with session_scope(sessions) as session:
        assert set(session.scalars(select(User.external_id))) == {"at-limit", "assessed"}
        assert count(session, Consent) == 2


def test_nothing_to_purge_gives_zeros_and_one_log_line_without_personal_data(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with session_scope(sessions) as session:
        user = person(session, "secret-external-id", NOW)
        conversation(session, user, NOW, "texte secret")
    caplog.set_level(logging.INFO, logger="bot.privacy.retention")
    with session_scope(sessions) as session:
        counts = purge(session, NOW, PERIODS)
    assert set(counts.values()) == {0}
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.privacy.retention"]
    assert len(lines) == 1
    assert lines[0].startswith("retention purge: ")
    assert "secret" not in lines[0]
    assert user.id not in lines[0]


# --- Rasa's tracker store -----------------------------------------------------------

TRACKER_DDL = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)
"""


def test_old_tracker_events_go_unless_the_current_session_needs_them(database_url: str) -> None:
    # Any empty database does for Rasa's table: SQLite, and PostgreSQL like production.
    url = database_url
    cutoff = TWELVE.timestamp()
    day = 86400.0
    events = [
        # Gone for good: every event older than the cutoff.
        ("gone", "session_started", cutoff - 10 * day),
        ("gone", "user", cutoff - 10 * day),
        ("gone", "bot", cutoff - 1),
        # Came back: the old session goes, the new one stays.
        ("back", "session_started", cutoff - 30 * day),
        ("back", "user", cutoff - 30 * day),
        ("back", "session_started", cutoff + day),
        ("back", "user", cutoff + day),
        # A session that began before the cutoff and is still going: all of it stays.
        ("ongoing", "session_started", cutoff - 1),
        ("ongoing", "user", cutoff - 1),
        ("ongoing", "user", cutoff + 1),
        # Exactly at the cutoff: kept.
        ("limit", "user", cutoff),
    ]
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(TRACKER_DDL))
        for number, (sender_id, type_name, timestamp) in enumerate(events, start=1):
            connection.execute(
                text(
                    "INSERT INTO events (id, sender_id, type_name, timestamp, data)"
                    " VALUES (:id, :s, :t, :ts, :d)"
                ),
                {"id": number, "s": sender_id, "t": type_name, "ts": timestamp, "d": "{}"},
            )
    assert purge_tracker(url, TWELVE) == 5
    with engine.connect() as connection:
        left = connection.execute(text("SELECT sender_id, type_name FROM events ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in left] == [
        ("back", "session_started"),
        ("back", "user"),
        ("ongoing", "session_started"),
        ("ongoing", "user"),
        ("ongoing", "user"),
        ("limit", "user"),
    ]
