"""The person's rights: export everything, erase everything (database and tracker), and
the one-time export link."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

import bot.models  # noqa: F401 (every table in the metadata)
from bot.appointments import preferences
from bot.appointments.models import (
    Appointment,
    AppointmentOption,
    Mode,
    Reminder,
    ReminderKind,
    apscheduler_jobs,
)
from bot.conversations import store
from bot.conversations.models import Channel, User
from bot.db import Base, make_engine, session_scope
from bot.messages import OutboundMessage
from bot.privacy import consents, links, rights
from bot.privacy.links import ExportLink
from bot.privacy.models import Purpose
from bot.self_assessment.models import SelfAssessment
from bot.web import sessions as web_sessions
from handoff import accounts
from handoff.models import (
    Handoff,
    HandoffEvent,
    HandoffNote,
    HandoffStatus,
    Outcome,
    Priority,
    Referent,
)

NOW = dt.datetime(2027, 3, 15, 10, 0, tzinfo=dt.UTC)


@dataclass
class Person:
    """A person with a row in every table that can hold something about them."""

    user_id: str
    # Strings only this person's rows hold: none may survive their erasure.
    traces: list[str] = field(default_factory=list)


def make_referent(session: Session) -> Referent:
    return accounts.create_referent(
        session, email="ref@example.org", display_name="Camille", password="a-long-password-1"
    )


def make_person(session: Session, name: str, referent: Referent) -> Person:
    external_id = web_sessions.new_session_credentials()[0]
    user = store.get_or_create_user(session, Channel.WEB, external_id, "fr")
    web_sessions.create(session, external_id, user.id, f"token-{name}")
    conversation = store.current_conversation(session, user)
    said = f"{name} : mon père me frappe"
    inbound = store.record_inbound(session, conversation, text=said, payload=None)
    store.record_outbound(
        session,
        conversation.id,
        [OutboundMessage(text=f"Je suis là, {name}.")],
        reply_to_id=inbound.id,
    )
    store.record_inbound(session, conversation, text=None, payload=f"/affirm_{name}")
    handoff = Handoff(
        conversation_id=conversation.id,
        user_id=user.id,
        status=HandoffStatus.CLOSED,
        priority=Priority.URGENT,
        priority_rank=Priority.URGENT.rank,
        reason="urgent_violence",
        referent_id=referent.id,
        share_history=True,
        closed_at=NOW,
        outcome=Outcome.FOLLOW_UP,
    )
    session.add(handoff)
    session.flush()
    note = f"Note sur {name} : signalement envisagé"
    session.add(HandoffNote(handoff_id=handoff.id, referent_id=referent.id, text=note))
    session.add_all(
        [
            HandoffEvent(handoff_id=handoff.id, kind="requested", detail={"priority": "urgent"}),
            HandoffEvent(handoff_id=handoff.id, kind="opened", referent_id=referent.id),
            HandoffEvent(
                handoff_id=handoff.id,
                kind="transferred",
                referent_id=referent.id,
                detail={"to": referent.id},
            ),
        ]
    )
    commune = f"Commune-{name}"
    session.add(
        SelfAssessment(
            user_id=user.id,
            role="young",
            answers={"situation": "lycee", "place": commune},
            flags={"under_16": False},
            shared=True,
        )
    )
    consents.record(session, user.id, Purpose.KEEP_SELF_ASSESSMENT, True, "sa-test")
    consents.record(session, user.id, Purpose.REMINDERS, False, "rem-test")
    place = f"12 rue {name}, Lille"
    appointment = Appointment(
        user_id=user.id,
        referent_id=referent.id,
        starts_at=NOW + dt.timedelta(days=3),
        mode=Mode.IN_PERSON,
        place=place,
    )
    session.add(appointment)
    session.flush()
    session.add(AppointmentOption(appointment_id=appointment.id, starts_at=NOW))
    reminder = Reminder(
        appointment_id=appointment.id,
        user_id=user.id,
        kind=ReminderKind.DAY_BEFORE,
        due_at=NOW + dt.timedelta(days=2),
        useful_until=NOW + dt.timedelta(days=3),
    )
    follow_up = Reminder(
        appointment_id=None,
        user_id=user.id,
        kind=ReminderKind.FOLLOW_UP_CHECK_IN,
        due_at=NOW + dt.timedelta(days=20),
        useful_until=NOW + dt.timedelta(days=27),
    )
    session.add_all([reminder, follow_up])
    session.flush()
    session.execute(
        insert(apscheduler_jobs).values(
            id=f"reminder:{reminder.id}",
            next_run_time=1.0,
            job_state=f"fire_reminder reminder {reminder.id}".encode(),
        )
    )
    preferences.set_stopped(session, user.id, True)
    links.create_link(session, user.id, NOW)
    session.flush()
    return Person(
        user.id,
        [
            user.id,
            external_id,
            conversation.id,
            said,
            f"/affirm_{name}",
            note,
            commune,
            place,
            appointment.id,
            reminder.id,
            follow_up.id,
        ],
    )


@pytest.fixture
def two_people(sessions: sessionmaker[Session]) -> tuple[Person, Person]:
    with session_scope(sessions) as session:
        referent = make_referent(session)
        return make_person(session, "Inès", referent), make_person(session, "Noah", referent)


def traces_left(session: Session, needles: list[str]) -> list[tuple[str, str]]:
    """(table, needle) for every needle found in any column of any row of any table.

    Read through the tables' column types, so encrypted columns (bot/crypto.py) are
    scanned decrypted: a text left behind is found whether or not it is encrypted."""
    found: list[tuple[str, str]] = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for value in row:
                if value is None:
                    continue
                if isinstance(value, bytes):
                    blob = value.decode("utf-8", "replace")
                elif isinstance(value, dict | list):
                    blob = json.dumps(value, ensure_ascii=False)
                else:
                    blob = str(value)
                found.extend((table.name, n) for n in needles if n in blob)
    return found


def test_the_needles_are_found_before_erasure(
    sessions: sessionmaker[Session], two_people: tuple[Person, Person]
) -> None:
    person, _other = two_people
    with session_scope(sessions) as session:
        tables = {table for table, _ in traces_left(session, person.traces)}
    # The encrypted columns among them (messages, notes, assessments, appointments) too.
    assert {
        "users",
        "messages",
        "handoff_notes",
        "self_assessments",
        "appointments",
        "apscheduler_jobs",
    } <= tables


def test_erasure_leaves_no_trace_of_the_person_and_spares_the_others(
    sessions: sessionmaker[Session], two_people: tuple[Person, Person]
) -> None:
    person, other = two_people
    with session_scope(sessions) as session:
        counts = rights.erase(session, person.user_id)
    assert counts["users"] == 1
    assert counts["messages"] == 3
    assert counts["handoff_notes"] == 1
    assert counts["handoff_events"] == 3
    assert counts["reminders"] == 2
    assert counts["apscheduler_jobs"] == 1
    assert counts["consents"] == 2
    assert counts["export_links"] == 1
    with session_scope(sessions) as session:
        assert traces_left(session, person.traces) == []
        left = {needle for _table, needle in traces_left(session, other.traces)}
        assert left == set(other.traces)
        assert session.get(Referent, session.scalar(select(Referent.id))) is not None


def test_erasing_someone_unknown_deletes_nothing(
    sessions: sessionmaker[Session], two_people: tuple[Person, Person]
) -> None:
    with session_scope(sessions) as session:
        counts = rights.erase(session, "no-such-person")
    assert set(counts.values()) == {0}


def test_every_table_that_refers_to_a_person_is_erased(
    sessions: sessionmaker[Session],
) -> None:
    """A table added later with a path to ``users`` must be added to ``erase``."""
    about_a_person = {"users"}
    changed = True
    while changed:
        changed = False
        for table in Base.metadata.sorted_tables:
            refers = any(
                fk.column.table.name in about_a_person
                for column in table.columns
                for fk in column.foreign_keys
            )
            if refers and table.name not in about_a_person:
                about_a_person.add(table.name)
                changed = True
    assert ExportLink.__tablename__ in about_a_person
    with session_scope(sessions) as session:
        erased = set(rights.erase(session, "no-such-person"))
    assert about_a_person - erased == set()


def test_the_export_holds_everything_readable(
    sessions: sessionmaker[Session], two_people: tuple[Person, Person]
) -> None:
    person, other = two_people
    with session_scope(sessions) as session:
        data = rights.export(session, person.user_id)
    json.dumps(data)  # plain JSON values only
    assert data["profile"]["channel"] == "web"
    assert data["profile"]["channel_id"] == person.traces[1]
    messages = data["conversations"][0]["messages"]
    assert [m["from"] for m in messages] == ["user", "bot", "user"]
    assert messages[0]["text"] == "Inès : mon père me frappe"
    assert messages[2]["button"] == "/affirm_Inès"
    handoff = data["handoffs"][0]
    assert handoff["outcome"] == "follow_up"
    assert handoff["referent_notes"][0]["text"] == "Note sur Inès : signalement envisagé"
    assert [e["what"] for e in handoff["history"]] == ["requested", "opened", "transferred"]
    assert data["self_assessment"]["answers"]["place"] == "Commune-Inès"
    assert [c["purpose"] for c in data["consents"]] == ["keep_self_assessment", "reminders"]
    assert data["appointments"][0]["place"] == "12 rue Inès, Lille"
    assert len(data["appointments"][0]["proposed_times"]) == 1
    assert {r["kind"] for r in data["reminders"]} == {"day_before", "follow_up_check_in"}
    assert data["contact_preference"]["stop_messages"] is True
    assert len(data["web_chat_sessions"]) == 1
    # Nothing of the other person, and no référent's name, email or id.
    blob = json.dumps(data, ensure_ascii=False)
    assert all(trace not in blob for trace in other.traces)
    with session_scope(sessions) as session:
        referent = session.scalars(select(Referent)).one()
        for secret in (referent.id, referent.email, referent.display_name):
            assert secret not in blob


def test_exporting_someone_unknown_says_so(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session, pytest.raises(rights.UnknownPersonError):
        rights.export(session, "no-such-person")


def test_the_readable_summary_names_the_kinds_of_data(
    sessions: sessionmaker[Session], two_people: tuple[Person, Person]
) -> None:
    person, _other = two_people
    with session_scope(sessions) as session:
        data = rights.export(session, person.user_id)
    french = rights.readable_summary(data, "fr")
    assert french.startswith("Voici ce que Relais garde sur toi :")
    assert "1 conversation, 3 messages (depuis le " in french
    assert "1 note de référent·e sur toi" in french
    assert "ton auto-évaluation « Trouver ma voie »" in french
    assert "2 réponses à nos demandes d'accord" in french
    assert "Inès" not in french  # counts and kinds, never the content
    english = rights.readable_summary(data, "en-GB")
    assert "1 conversation, 3 messages (since " in english
    assert "your choice to receive no more messages from us" in english


def test_a_new_person_summary_has_only_the_profile(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        user = store.get_or_create_user(session, Channel.TELEGRAM, "123456", "fr")
        data = rights.export(session, user.id)
    assert rights.readable_summary(data, "fr").splitlines() == [
        "Voici ce que Relais garde sur toi :",
        "• ton identifiant Telegram et ta langue",
    ]


def test_an_export_link_works_once(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        user = store.get_or_create_user(session, Channel.WEB, "web-1", "fr")
        token = links.create_link(session, user.id, NOW)
        stored = session.scalars(select(ExportLink.token_hash)).one()
    assert stored != token
    assert token not in stored
    with session_scope(sessions) as session:
        assert links.redeem(session, token, NOW + dt.timedelta(minutes=5)) == user.id
    with session_scope(sessions) as session:
        assert links.redeem(session, token, NOW + dt.timedelta(minutes=6)) is None


def test_an_export_link_expires(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        user = store.get_or_create_user(session, Channel.WEB, "web-1", "fr")
        late = links.create_link(session, user.id, NOW, dt.timedelta(minutes=10))
        just_in_time = links.create_link(session, user.id, NOW, dt.timedelta(minutes=10))
    with session_scope(sessions) as session:
        assert links.redeem(session, late, NOW + dt.timedelta(minutes=10)) is None
        almost = NOW + dt.timedelta(minutes=10) - dt.timedelta(microseconds=1)
        assert links.redeem(session, just_in_time, almost) == user.id
        assert links.redeem(session, "made-up", NOW) is None
        assert links.redeem(session, "", NOW) is None


# --- Rasa's tracker store -----------------------------------------------------------

# Rasa 3.6's SQLTrackerStore table, column for column (rasa/core/tracker_store.py).
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


def tracker_store(url: str, events: list[tuple[str, str, str]]) -> str:
    """Rasa's table in an empty database (SQLite, or PostgreSQL like production)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(TRACKER_DDL))
        for number, (sender_id, type_name, said) in enumerate(events, start=1):
            connection.execute(
                text(
                    "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, data)"
                    " VALUES (:id, :s, :t, 1.0, 'greet', :d)"
                ),
                {"id": number, "s": sender_id, "t": type_name, "d": json.dumps({"text": said})},
            )
    engine.dispose()
    return url


def test_the_tracker_events_of_the_person_are_deleted(database_url: str) -> None:
    url = tracker_store(
        database_url,
        [
            ("person", "action", ""),
            ("person", "user", "mon père me frappe"),
            ("person", "bot", "Je suis là."),
            ("someone-else", "user", "bonjour"),
        ],
    )
    assert rights.erase_tracker(url, "person") == 3
    assert rights.erase_tracker(url, "person") == 0
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, data FROM events")).all()
    engine.dispose()
    assert [sender for sender, _data in rows] == ["someone-else"]
    assert all("frappe" not in data for _sender, data in rows)


def test_a_tracker_store_rasa_never_wrote_to_has_nothing_to_erase(tmp_path: Path) -> None:
    assert rights.erase_tracker(f"sqlite:///{tmp_path / 'empty.db'}", "person") == 0


def test_erasing_everyone_leaves_no_trace_of_anyone(
    sessions: sessionmaker[Session], two_people: tuple[Person, Person]
) -> None:
    person, other = two_people
    with session_scope(sessions) as session:
        rights.erase(session, person.user_id)
        rights.erase(session, other.user_id)
    with session_scope(sessions) as session:
        assert session.scalars(select(User)).all() == []
        assert traces_left(session, person.traces + other.traces) == []
