"""Working hours: open or closed, and the next opening, across the daylight saving change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from handoff.hours import HoursError, WorkingHours

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = WorkingHours.parse({"mon-fri": "09:00-12:30,13:30-17:30", "sat": "09:00-12:00"})


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_open_inside_a_range_and_closed_at_lunch_and_on_sunday() -> None:
    assert WEEKDAYS.is_open(paris(2026, 11, 23, 10, 0), PARIS)
    assert not WEEKDAYS.is_open(paris(2026, 11, 23, 12, 45), PARIS)
    assert WEEKDAYS.is_open(paris(2026, 11, 28, 11, 59), PARIS)
    assert not WEEKDAYS.is_open(paris(2026, 11, 22, 10, 0), PARIS)


def test_next_opening_after_lunch_and_after_the_weekend() -> None:
    assert WEEKDAYS.next_opening(paris(2026, 11, 23, 12, 45), PARIS) == paris(2026, 11, 23, 13, 30)
    assert WEEKDAYS.next_opening(paris(2026, 11, 28, 12, 0), PARIS) == paris(2026, 11, 30, 9, 0)


def test_next_opening_across_the_spring_daylight_saving_change() -> None:
    # Clocks go forward on Sunday 28 March 2027: Monday 9:00 is 07:00 UTC, not 08:00.
    friday_evening = paris(2027, 3, 26, 18, 0)
    opening = WEEKDAYS.next_opening(friday_evening, PARIS)
    assert opening is not None
    assert opening.astimezone(dt.UTC) == dt.datetime(2027, 3, 27, 8, 0, tzinfo=dt.UTC)
    monday = WEEKDAYS.next_opening(paris(2027, 3, 27, 13, 0), PARIS)
    assert monday == dt.datetime(2027, 3, 29, 7, 0, tzinfo=dt.UTC)


def test_a_week_wrapping_range_and_no_hours_at_all() -> None:
    weekend = WorkingHours.parse({"sat-mon": "10:00-11:00"})
    assert weekend.is_open(paris(2026, 11, 22, 10, 30), PARIS)  # Sunday
    assert not weekend.is_open(paris(2026, 11, 24, 10, 30), PARIS)  # Tuesday


@pytest.mark.parametrize(
    "spec",
    [{"lun": "09:00-17:00"}, {"mon": "9h-17h"}, {"mon": "17:00-09:00"}, {"mon": "25:00-26:00"}],
)
def test_unreadable_hours_are_refused_with_the_part_named(spec: dict[str, str]) -> None:
    with pytest.raises(HoursError):
        WorkingHours.parse(spec)
