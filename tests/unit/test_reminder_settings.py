"""Reminder timing comes from the settings (REMINDER_*, QUIET_HOURS, CHECK_IN_WEEKS)."""

from __future__ import annotations

import datetime as dt

from bot.appointments.planning import DEFAULT_CONFIG, config_from
from bot.config import Settings
from bot.gateway import Gateway


def test_the_defaults_are_the_documented_ones() -> None:
    settings = Settings()
    built = config_from(
        settings.reminder_day_before_at,
        settings.reminder_hours_before,
        settings.quiet_hours,
        settings.check_in_weeks,
    )
    assert built == DEFAULT_CONFIG


def test_each_setting_changes_the_plan_and_empty_turns_one_off() -> None:
    config = config_from("19:30", 0, "", 4)
    assert config.day_before_at == dt.time(19, 30)
    assert config.hours_before is None
    assert config.quiet_start is None
    assert config.check_in_after == dt.timedelta(weeks=4)
    night = config_from(None, 3, "22:00-07:30", 6)
    assert night.day_before_at is None
    assert night.hours_before == dt.timedelta(hours=3)
    assert (night.quiet_start, night.quiet_end) == (dt.time(22, 0), dt.time(7, 30))


def test_the_gateway_hands_the_configured_plan_to_every_piece(tmp_path: object) -> None:
    settings = Settings(
        database_url="sqlite://", quiet_hours="22:00-07:00", reminder_hours_before=1
    )
    gateway = Gateway.build(settings)
    expected = config_from("18:00", 1, "22:00-07:00", 6)
    assert gateway.reminder_config == expected
    assert gateway.reminders.config == expected
    assert gateway.desk.reminder_config == expected
    assert gateway.appointments is not None
    assert gateway.appointments.config == expected
    gateway.db_engine.dispose()
