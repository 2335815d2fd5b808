"""Appointment changes and their reminders, on SQLite and (``-m postgres``) PostgreSQL:
cancel and move change the reminders with the appointment, answers given twice count
once, a reminder is claimed once, stop_messages and usefulness are respected."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.appointments import buttons, payloads, sending, service, texts
from bot.appointments.models import (
    Appointment,
    AppointmentStatus,
    Mode,
    Reminder,
    ReminderKind,
    ReminderStatus,
)
from bot.appointments.payloads import Action
from bot.appointments.planning import PARIS
from bot.appointments.sending import Claim
from bot.appointments.service import AppointmentError, NoticeKind
from bot.db import session_scope
from tests.utils.reminder_worker import add_user

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
STARTS = dt.datetime(2026, 12, 2, 14, 30, tzinfo=PARIS)
render = texts.render(PARIS)


def rows(session: Session, appointment_id: str) -> dict[tuple[ReminderKind, int], Reminder]:
    found = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment_id))
    return {(r.kind, r.version): r for r in found}


def new_appointment(sessions: sessionmaker[Session], **changes: object) -> tuple[str, str]:
    with session_scope(sessions) as session:
        user_id = add_user(session)
        values: dict[str, object] = {"starts_at": STARTS, "mode": Mode.IN_PERSON, "now": NOW}
        values.update(changes)
        appointment = service.create(session, user_id=user_id, **values)  # type: ignore[arg-type]
        return user_id, appointment.id


def claim(sessions: sessionmaker[Session], reminder_id: str, now: dt.datetime) -> Claim | None:
    with session_scope(sessions) as session:
        return sending.claim_and_record(session, reminder_id, now, render)


def reminder_of(
    sessions: sessionmaker[Session], appointment_id: str, kind: ReminderKind
) -> Reminder:
    with session_scope(sessions) as session:
        found = [r for (k, _), r in rows(session, appointment_id).items() if k is kind]
        return max(found, key=lambda r: r.version)


def test_create_plans_its_reminders(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    with session_scope(sessions) as session:
        planned = rows(session, appointment_id)
        assert set(planned) == {
            (ReminderKind.DAY_BEFORE, 1),
            (ReminderKind.TWO_HOURS_BEFORE, 1),
            (ReminderKind.AFTER_CHECK, 1),
        }
        assert planned[ReminderKind.DAY_BEFORE, 1].due_at == dt.datetime(
            2026, 12, 1, 17, tzinfo=dt.UTC
        )
        assert all(r.status is ReminderStatus.PENDING for r in planned.values())


def test_an_appointment_in_the_past_is_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(AppointmentError):
        new_appointment(sessions, starts_at=NOW - dt.timedelta(hours=1))
    with pytest.raises(AppointmentError):
        new_appointment(sessions, starts_at=dt.datetime(2026, 12, 2, 14, 30))  # naive


def test_a_reminder_is_claimed_once(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    day_before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    at = day_before.due_at + dt.timedelta(seconds=1)
    first = claim(sessions, day_before.id, at)
    assert first is not None
    assert "demain" in (first.message.text or "")
    assert claim(sessions, day_before.id, at) is None
    assert claim(sessions, day_before.id, at + dt.timedelta(minutes=5)) is None


def test_a_reminder_is_not_claimed_before_it_is_due(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    day_before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    assert claim(sessions, day_before.id, day_before.due_at - dt.timedelta(seconds=1)) is None


def test_concurrent_claims_give_one_sender(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    day_before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    at = day_before.due_at + dt.timedelta(seconds=1)
    start = threading.Barrier(4)

    def race(_: int) -> bool:
        start.wait()
        return claim(sessions, day_before.id, at) is not None

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(race, range(4))) == [False, False, False, True]


def test_cancel_cancels_pending_reminders_and_keeps_sent_ones(
    sessions: sessionmaker[Session],
) -> None:
    _, appointment_id = new_appointment(sessions)
    day_before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    assert claim(sessions, day_before.id, day_before.due_at) is not None
    with session_scope(sessions) as session:
        assert service.cancel(session, appointment_id, NOW).changed
        assert not service.cancel(session, appointment_id, NOW).changed  # twice: harmless
    with session_scope(sessions) as session:
        statuses = {k: r.status for (k, _), r in rows(session, appointment_id).items()}
    assert statuses == {
        ReminderKind.DAY_BEFORE: ReminderStatus.SENT,
        ReminderKind.TWO_HOURS_BEFORE: ReminderStatus.CANCELLED,
        ReminderKind.AFTER_CHECK: ReminderStatus.CANCELLED,
    }


def test_move_replans_reminders_for_the_new_time(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    day_before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    assert claim(sessions, day_before.id, day_before.due_at) is not None
    later = dt.datetime(2026, 12, 9, 10, 0, tzinfo=PARIS)
    with session_scope(sessions) as session:
        change = service.move(session, appointment_id, later, day_before.due_at)
        assert change.appointment.version == 2
        assert change.appointment.status is AppointmentStatus.PROPOSED  # to confirm again
    with session_scope(sessions) as session:
        found = rows(session, appointment_id)
    assert found[ReminderKind.DAY_BEFORE, 1].status is ReminderStatus.SENT
    assert found[ReminderKind.TWO_HOURS_BEFORE, 1].status is ReminderStatus.CANCELLED
    assert found[ReminderKind.TWO_HOURS_BEFORE, 1].skip_reason == "moved"
    assert found[ReminderKind.DAY_BEFORE, 2].status is ReminderStatus.PENDING
    assert found[ReminderKind.DAY_BEFORE, 2].due_at == dt.datetime(2026, 12, 8, 17, tzinfo=dt.UTC)
    assert found[ReminderKind.TWO_HOURS_BEFORE, 2].due_at == dt.datetime(
        2026, 12, 9, 7, tzinfo=dt.UTC
    )


def test_stop_messages_skips_reminders(sessions: sessionmaker[Session]) -> None:
    user_id, appointment_id = new_appointment(sessions)
    with session_scope(sessions) as session:
        service.set_stopped(session, user_id, True)
        assert service.stopped(session, user_id)
    day_before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    assert claim(sessions, day_before.id, day_before.due_at) is None
    assert (
        reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE).skip_reason
        == "stop_messages"
    )
    with session_scope(sessions) as session:
        service.set_stopped(session, user_id, False)
        assert not service.stopped(session, user_id)


def test_a_reminder_too_late_is_skipped(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    two_hours = reminder_of(sessions, appointment_id, ReminderKind.TWO_HOURS_BEFORE)
    assert claim(sessions, two_hours.id, STARTS - dt.timedelta(minutes=10)) is None
    assert (
        reminder_of(sessions, appointment_id, ReminderKind.TWO_HOURS_BEFORE).skip_reason
        == "too_late"
    )


def test_after_a_long_outage_only_the_latest_reminder_goes(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    day_before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    two_hours = reminder_of(sessions, appointment_id, ReminderKind.TWO_HOURS_BEFORE)
    back = two_hours.due_at + dt.timedelta(minutes=20)  # down from the day before until now
    assert claim(sessions, day_before.id, back) is None
    assert (
        reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE).skip_reason == "superseded"
    )
    sent = claim(sessions, two_hours.id, back)
    assert sent is not None
    assert "aujourd'hui" in (sent.message.text or "")


def test_a_reminder_due_in_quiet_hours_waits_for_morning(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    two_hours = reminder_of(sessions, appointment_id, ReminderKind.TWO_HOURS_BEFORE)
    night = dt.datetime(2026, 12, 1, 23, 0, tzinfo=PARIS)  # a process catching up at night
    with session_scope(sessions) as session:
        session.get(Reminder, two_hours.id).due_at = night  # type: ignore[union-attr]
    assert claim(sessions, two_hours.id, night) is None
    moved = reminder_of(sessions, appointment_id, ReminderKind.TWO_HOURS_BEFORE)
    assert moved.status is ReminderStatus.PENDING
    assert moved.due_at == dt.datetime(2026, 12, 2, 8, 0, tzinfo=PARIS)


def test_after_check_is_skipped_once_done(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    with session_scope(sessions) as session:
        change = service.mark_done(session, appointment_id, STARTS + dt.timedelta(minutes=40))
        assert change.appointment.status is AppointmentStatus.DONE
        assert not change.notices
    after = reminder_of(sessions, appointment_id, ReminderKind.AFTER_CHECK)
    assert (after.status, after.skip_reason) == (ReminderStatus.SKIPPED, "done")


def test_after_check_goes_when_nobody_said(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    with session_scope(sessions) as session:
        service.confirm(
            session, appointment_id, session.get(Appointment, appointment_id).user_id, NOW
        )  # type: ignore[union-attr]
    after = reminder_of(sessions, appointment_id, ReminderKind.AFTER_CHECK)
    sent = claim(sessions, after.id, after.due_at)
    assert sent is not None
    assert "a bien eu lieu" in (sent.message.text or "")


def test_buttons_confirm_decline_and_answer_once(sessions: sessionmaker[Session]) -> None:
    user_id, appointment_id = new_appointment(sessions, referent_id=None)
    confirm = payloads.make(Action.CONFIRM, appointment_id)
    decline = payloads.make(Action.DECLINE, appointment_id)
    with session_scope(sessions) as session:
        first = buttons.answer(session, user_id, "fr", confirm, NOW)
        again = buttons.answer(session, user_id, "fr", confirm, NOW)
    assert [n.kind for n in first.notices] == [NoticeKind.CONFIRMED]
    assert not again.notices
    assert first.messages[0].text == "C'est noté 👍 Je te ferai un petit rappel avant."
    with session_scope(sessions) as session:
        declined = buttons.answer(session, user_id, "fr", decline, NOW)
        assert not buttons.answer(session, user_id, "fr", decline, NOW).notices
    assert [n.kind for n in declined.notices] == [NoticeKind.DECLINED]
    before = reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE)
    assert (before.status, before.skip_reason) == (ReminderStatus.CANCELLED, "declined")
    with session_scope(sessions) as session:  # "C'est noté" after all: reminders again
        buttons.answer(session, user_id, "fr", confirm, NOW)
    assert (
        reminder_of(sessions, appointment_id, ReminderKind.DAY_BEFORE).status
        is ReminderStatus.PENDING
    )


def test_someone_elses_appointment_is_out_of_reach(sessions: sessionmaker[Session]) -> None:
    _, appointment_id = new_appointment(sessions)
    with session_scope(sessions) as session:
        stranger = add_user(session)
        decline = payloads.make(Action.DECLINE, appointment_id)
        reply = buttons.answer(session, stranger, "en", decline, NOW)
    assert reply.messages[0].text == texts.say("appointment-unavailable", "en").text
    assert not reply.notices


def test_a_missed_appointment_tells_the_referent_and_offers_a_new_one(
    sessions: sessionmaker[Session],
) -> None:
    user_id, appointment_id = new_appointment(sessions)
    missed = payloads.make(Action.MISSED, appointment_id)
    with session_scope(sessions) as session:
        reply = buttons.answer(session, user_id, "fr", missed, STARTS + dt.timedelta(hours=2))
        assert not buttons.answer(session, user_id, "fr", missed, STARTS).notices
    assert [n.kind for n in reply.notices] == [NoticeKind.MISSED]
    assert payloads.parse(reply.messages[0].buttons[0].payload) == payloads.Parsed(
        Action.RESCHEDULE, appointment_id
    )
    with session_scope(sessions) as session:
        again = buttons.answer(
            session, user_id, "fr", reply.messages[0].buttons[0].payload or "", STARTS
        )
    assert [n.kind for n in again.notices] == [NoticeKind.RESCHEDULE_REQUESTED]


def test_picking_a_proposed_time_twice_is_harmless(sessions: sessionmaker[Session]) -> None:
    user_id, appointment_id = new_appointment(sessions)
    times = [dt.datetime(2026, 12, 7, 10, tzinfo=PARIS), dt.datetime(2026, 12, 8, 16, tzinfo=PARIS)]
    with session_scope(sessions) as session:
        options = service.propose_options(session, appointment_id, times, NOW)
        option_ids = [o.id for o in options]
    first = payloads.make(Action.PICK, option_ids[0])
    with session_scope(sessions) as session:
        picked = buttons.answer(session, user_id, "fr", first, NOW)
    with session_scope(sessions) as session:
        twice = buttons.answer(session, user_id, "fr", first, NOW)
        other = buttons.answer(
            session, user_id, "fr", payloads.make(Action.PICK, option_ids[1]), NOW
        )
    assert picked.messages[0].text == "C'est noté pour le lundi 7 décembre à 10 h 👍"
    assert [n.kind for n in picked.notices] == [NoticeKind.OPTION_PICKED]
    assert (
        twice.messages[0].text
        == other.messages[0].text
        == ("Ton rendez-vous est déjà fixé au lundi 7 décembre à 10 h.")
    )
    with session_scope(sessions) as session:
        appointment = session.get(Appointment, appointment_id)
        assert appointment is not None
        assert (appointment.status, appointment.version) == (AppointmentStatus.CONFIRMED, 2)
        assert appointment.starts_at == times[0]
        assert len(rows(session, appointment_id)) == 6  # two versions, one set each


def test_upcoming_lists_live_appointments_soonest_first(sessions: sessionmaker[Session]) -> None:
    user_id, first = new_appointment(sessions)
    with session_scope(sessions) as session:
        later = service.create(
            session,
            user_id=user_id,
            starts_at=STARTS + dt.timedelta(days=3),
            mode=Mode.PHONE,
            now=NOW,
        )
        cancelled = service.create(
            session,
            user_id=user_id,
            starts_at=STARTS + dt.timedelta(days=1),
            mode=Mode.PHONE,
            now=NOW,
        )
        service.cancel(session, cancelled.id, NOW)
        upcoming = service.list_upcoming(session, user_id, NOW)
        assert [a.id for a in upcoming] == [first, later.id]
        assert "2 décembre" in (texts.upcoming(upcoming, "fr", PARIS).text or "")


def test_a_check_in_is_cancelled_when_the_person_writes(sessions: sessionmaker[Session]) -> None:
    closed = dt.datetime(2026, 10, 1, 15, tzinfo=PARIS)
    with session_scope(sessions) as session:
        user_id = add_user(session)
        first = service.schedule_check_in(session, user_id, closed).id
        second = service.schedule_check_in(session, user_id, closed + dt.timedelta(days=1)).id
    with session_scope(sessions) as session:
        assert session.get(Reminder, first).status is ReminderStatus.CANCELLED  # type: ignore[union-attr]
        assert service.note_user_activity(session, user_id, closed + dt.timedelta(days=3)) == 1
        row = session.get(Reminder, second)
        assert row is not None
        assert (row.status, row.skip_reason) == (
            ReminderStatus.CANCELLED,
            "user_wrote",
        )


def test_a_check_in_goes_to_a_silent_person(sessions: sessionmaker[Session]) -> None:
    closed = dt.datetime(2026, 10, 1, 15, tzinfo=PARIS)
    with session_scope(sessions) as session:
        user_id = add_user(session, "en")
        check_in = service.schedule_check_in(session, user_id, closed)
    sent = claim(sessions, check_in.id, check_in.due_at)
    assert sent is not None
    assert sent.message.text is not None
    assert sent.message.text.startswith("Hi, it's Relais")
