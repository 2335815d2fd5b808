"""When reminders go: local wall-clock times across the DST changes, quiet hours that move
reminders without dropping them, nothing planned in the past."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.appointments.models import BEFORE_KINDS, ReminderKind
from bot.appointments.planning import (
    DEFAULT_CONFIG,
    PARIS,
    PlannedReminder,
    ReminderConfig,
    in_quiet,
    plan_appointment,
    plan_check_in,
    when_to_send,
)

HALF_HOUR = dt.timedelta(minutes=30)


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def by_kind(planned: list[PlannedReminder]) -> dict[ReminderKind, PlannedReminder]:
    return {p.kind: p for p in planned}


def plan(
    starts_at: dt.datetime, now: dt.datetime | None = None
) -> dict[ReminderKind, PlannedReminder]:
    now = now or starts_at - dt.timedelta(days=10)
    return by_kind(plan_appointment(starts_at, HALF_HOUR, now))


def local(moment: dt.datetime) -> tuple[int, int, int, int]:
    """(day, hour, minute, UTC offset in hours) of a moment in Paris."""
    value = moment.astimezone(PARIS)
    offset = value.utcoffset()
    assert offset is not None
    return value.day, value.hour, value.minute, int(offset.total_seconds() // 3600)


# 2026: summer time starts on Sunday 29 March, ends on Sunday 25 October.
@pytest.mark.parametrize(
    ("starts_at", "expected"),
    [
        (paris(2026, 3, 30, 14, 0), (29, 18, 0, 2)),  # reminder on the change day, after it
        (paris(2026, 3, 29, 14, 0), (28, 18, 0, 1)),  # appointment on the change day
        (paris(2026, 10, 26, 14, 0), (25, 18, 0, 1)),
        (paris(2026, 10, 25, 14, 0), (24, 18, 0, 2)),
    ],
)
def test_day_before_is_18h_local_on_both_sides_of_the_change(
    starts_at: dt.datetime, expected: tuple[int, int, int, int]
) -> None:
    assert local(plan(starts_at)[ReminderKind.DAY_BEFORE].due_at) == expected


def test_day_before_in_utc_shifts_by_an_hour_across_the_change() -> None:
    before = plan(paris(2026, 3, 28, 14, 0))[ReminderKind.DAY_BEFORE].due_at
    after = plan(paris(2026, 3, 30, 14, 0))[ReminderKind.DAY_BEFORE].due_at
    assert before == dt.datetime(2026, 3, 27, 17, 0, tzinfo=dt.UTC)
    assert after == dt.datetime(2026, 3, 29, 16, 0, tzinfo=dt.UTC)


def test_two_hours_before_is_two_real_hours() -> None:
    starts_at = paris(2026, 10, 25, 14, 0)
    due = plan(starts_at)[ReminderKind.TWO_HOURS_BEFORE].due_at
    assert starts_at - due == dt.timedelta(hours=2)
    assert local(due) == (25, 12, 0, 1)


def test_morning_after_the_spring_change_is_8h_summer_time() -> None:
    # 09:00 CEST on the change day: two hours before is 07:00 (quiet) -> 08:00 CEST.
    due = plan(paris(2026, 3, 29, 9, 0))[ReminderKind.TWO_HOURS_BEFORE].due_at
    assert local(due) == (29, 8, 0, 2)
    assert due == dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)


def test_a_9h_appointment_is_reminded_at_8h() -> None:
    planned = plan(paris(2026, 12, 1, 9, 0))
    assert local(planned[ReminderKind.TWO_HOURS_BEFORE].due_at)[1:3] == (8, 0)
    assert planned[ReminderKind.TWO_HOURS_BEFORE].skip_reason is None
    assert planned[ReminderKind.DAY_BEFORE].skip_reason is None  # 18:00 and 08:00: apart


def test_an_early_appointment_is_reminded_once_the_evening_before() -> None:
    # 08:30: 06:30 is quiet and 08:00 leaves less than an hour -> 20:30 the evening before;
    # the 18:00 reminder, 2 h 30 earlier, is merged into it.
    planned = plan(paris(2026, 12, 2, 8, 30))
    two_hours = planned[ReminderKind.TWO_HOURS_BEFORE]
    assert local(two_hours.due_at)[:3] == (1, 20, 30)
    assert two_hours.skip_reason is None
    assert planned[ReminderKind.DAY_BEFORE].skip_reason == "merged"


def test_a_late_evening_appointment_is_reminded_before_quiet_hours() -> None:
    planned = plan(paris(2026, 12, 2, 23, 0))
    assert local(planned[ReminderKind.TWO_HOURS_BEFORE].due_at)[:3] == (2, 20, 30)


def test_the_after_check_waits_for_the_morning() -> None:
    # Ends at 20:30, +1 h = 21:30 (quiet) -> 08:00 the next day.
    after = plan(paris(2026, 12, 2, 20, 0))[ReminderKind.AFTER_CHECK]
    assert local(after.due_at)[:3] == (3, 8, 0)


def test_the_after_check_comes_an_hour_after_the_end() -> None:
    after = plan(paris(2026, 12, 2, 14, 0))[ReminderKind.AFTER_CHECK]
    assert local(after.due_at)[1:3] == (15, 30)


def test_quiet_hours_move_every_reminder_and_drop_none() -> None:
    """Every half hour of two DST weeks and a winter week: each reminder that goes is out
    of quiet hours, before-reminders stay before the last call, none is lost."""
    starts = [
        start + dt.timedelta(minutes=30 * n)
        for start in (paris(2026, 3, 26, 0, 0), paris(2026, 10, 22, 0, 0), paris(2026, 12, 1))
        for n in range(7 * 48)
    ]
    for starts_at in starts:
        planned = plan(starts_at)
        going = [p for p in planned.values() if p.skip_reason is None]
        assert {p.kind for p in going} >= {ReminderKind.TWO_HOURS_BEFORE, ReminderKind.AFTER_CHECK}
        for p in going:
            assert not in_quiet(p.due_at, PARIS, DEFAULT_CONFIG), (starts_at, p)
            if p.kind in BEFORE_KINDS:
                assert p.due_at <= starts_at - DEFAULT_CONFIG.last_call, (starts_at, p)
            else:
                assert p.due_at > starts_at


def test_reminders_already_past_are_skipped_not_sent() -> None:
    # Set at 19:00 for tomorrow 10:00: the 18:00 reminder is past; 08:00 still goes.
    planned = plan(paris(2026, 12, 2, 10, 0), now=paris(2026, 12, 1, 19, 0))
    assert planned[ReminderKind.DAY_BEFORE].skip_reason == "past_at_creation"
    assert planned[ReminderKind.TWO_HOURS_BEFORE].skip_reason is None


def test_config_can_turn_reminders_and_quiet_hours_off() -> None:
    config = ReminderConfig(day_before_at=None, quiet_start=None)
    planned = by_kind(
        plan_appointment(paris(2026, 12, 2, 8, 0), HALF_HOUR, paris(2026, 11, 1), PARIS, config)
    )
    assert ReminderKind.DAY_BEFORE not in planned
    assert local(planned[ReminderKind.TWO_HOURS_BEFORE].due_at)[1:3] == (6, 0)


def test_a_check_in_is_weeks_later_in_the_daytime() -> None:
    planned = plan_check_in(paris(2026, 10, 1, 22, 15), dt.timedelta(weeks=6))
    assert local(planned.due_at)[1:3] == (8, 0)
    assert planned.due_at.astimezone(PARIS).date() == dt.date(2026, 11, 13)


def test_at_sending_time_quiet_hours_defer_and_late_reminders_die() -> None:
    useful_until = paris(2026, 12, 2, 13, 30)
    assert when_to_send(paris(2026, 12, 2, 10, 0), useful_until, PARIS, DEFAULT_CONFIG) == (
        paris(2026, 12, 2, 10, 0)
    )
    deferred = when_to_send(paris(2026, 12, 1, 22, 0), useful_until, PARIS, DEFAULT_CONFIG)
    assert deferred == paris(2026, 12, 2, 8, 0)
    assert when_to_send(paris(2026, 12, 2, 13, 45), useful_until, PARIS, DEFAULT_CONFIG) is None
    early = paris(2026, 12, 2, 7, 30)
    assert when_to_send(paris(2026, 12, 1, 22, 0), early, PARIS, DEFAULT_CONFIG) is None


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        plan_appointment(dt.datetime(2026, 12, 1, 9), HALF_HOUR, paris(2026, 11, 1))
