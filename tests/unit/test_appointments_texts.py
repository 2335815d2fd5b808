"""What the person reads: dates said the way people say them, in their language; buttons
whose payloads fit Telegram and say which appointment they answer."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.appointments import payloads, texts
from bot.appointments.models import Appointment, AppointmentOption, Mode, Reminder, ReminderKind
from bot.appointments.payloads import Action
from bot.appointments.planning import PARIS
from bot.conversations.models import new_id


def appointment(**changes: object) -> Appointment:
    values: dict[str, object] = {
        "id": new_id(),
        "user_id": new_id(),
        "starts_at": dt.datetime(2026, 12, 1, 13, 30, tzinfo=dt.UTC),  # 14:30 in Paris
        "duration_minutes": 45,
        "mode": Mode.IN_PERSON,
        "place": "Mission locale, 3 rue Nationale",
        "bring": "ta carte Vitale",
        "version": 1,
    }
    values.update(changes)
    return Appointment(**values)


def test_french_reminder_the_day_before() -> None:
    message = texts.reminder(
        appointment(), "fr", PARIS, dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)
    )
    assert message.text == (
        "📅 Petit rappel : ton rendez-vous, c'est demain, mardi 1 décembre à 14 h 30. "
        "📍 Mission locale, 3 rue Nationale. 🎒 Pense à prendre : ta carte Vitale."
    )
    assert [b.title for b in message.buttons] == ["C'est noté", "Je ne peux pas"]


def test_english_reminder_on_the_day_says_the_time() -> None:
    meeting = appointment(mode=Mode.PHONE, place=None, bring=None)
    message = texts.reminder(meeting, "en", PARIS, dt.datetime(2026, 12, 1, 11, 30, tzinfo=dt.UTC))
    assert message.text == "⏰ It's today: your appointment is at 2:30 PM. 📞 By phone."
    assert [b.title for b in message.buttons] == ["Got it", "I can't make it"]


def test_a_reminder_sent_late_never_says_tomorrow_on_the_day() -> None:
    late = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    assert "aujourd'hui" in (texts.reminder(appointment(), "fr", PARIS, late).text or "")


@pytest.mark.parametrize(
    ("locale", "expected"), [("fr", "14 h 30"), ("en", "2:30 PM"), ("fr-FR", "14 h 30")]
)
def test_times_read_naturally(locale: str, expected: str) -> None:
    assert (
        texts.format_time(dt.datetime(2026, 12, 1, 13, 30, tzinfo=dt.UTC), locale, PARIS)
        == expected
    )
    assert texts.format_time(dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC), "fr", PARIS) == "14 h"


def test_a_new_appointment_asks_for_an_answer() -> None:
    message = texts.proposed(appointment(mode=Mode.VIDEO, place=None, bring=None), "fr", PARIS)
    assert message.text == (
        "📅 Un rendez-vous t'est proposé le mardi 1 décembre à 14 h 30 (45 min). "
        "💻 En visio. Ça te va ?"
    )


def test_after_check_asks_whether_it_happened() -> None:
    meeting = appointment()
    message = texts.after_check(meeting, "fr", PARIS)
    assert message.text == "Ton rendez-vous du mardi 1 décembre à 14 h 30 a bien eu lieu ?"
    assert [(b.title, payloads.parse(b.payload)) for b in message.buttons] == [
        ("Oui", payloads.Parsed(Action.ATTENDED, meeting.id)),
        ("Non", payloads.Parsed(Action.MISSED, meeting.id)),
    ]


def test_render_picks_the_text_of_each_kind() -> None:
    render = texts.render(PARIS)
    meeting = appointment()
    now = dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)
    check = Reminder(kind=ReminderKind.AFTER_CHECK)
    assert "a bien eu lieu" in (render(check, meeting, "fr", now).text or "")
    check_in = render(Reminder(kind=ReminderKind.FOLLOW_UP_CHECK_IN), None, "en", now)
    assert check_in.buttons[1].payload == "/request_human"


def test_options_are_buttons_with_the_times() -> None:
    options = [
        AppointmentOption(id=new_id(), starts_at=dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)),
        AppointmentOption(id=new_id(), starts_at=dt.datetime(2026, 12, 4, 15, tzinfo=dt.UTC)),
    ]
    message = texts.options(options, "en", PARIS)
    assert [b.title for b in message.buttons] == [
        "Thursday 3 December at 10:00 AM",
        "Friday 4 December at 4:00 PM",
    ]
    assert payloads.parse(message.buttons[0].payload) == payloads.Parsed(Action.PICK, options[0].id)


@pytest.mark.parametrize("action", list(Action))
def test_payloads_fit_telegram_and_round_trip(action: Action) -> None:
    target = None if action is Action.CHECK_IN_FINE else new_id()
    payload = payloads.make(action, target)
    assert len(payload.encode()) <= 64
    assert payloads.parse(payload) == payloads.Parsed(action, target)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "/affirm",
        '/appointment_confirm{"id":"nothex"}',
        '/appointment_confirm{"option":"' + "a" * 32 + '"}',
        "/appointment_confirm",
        '/appointment_confirm{"id":"' + "a" * 32 + '"} ',
    ],
)
def test_other_payloads_are_not_ours(payload: str | None) -> None:
    assert payloads.parse(payload) is None
