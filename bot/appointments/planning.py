"""When each reminder goes: pure functions of the appointment, the timezone and a config.

Rules (each one is tested in ``tests/unit/test_appointments_planning.py``):

- **Wall clock for "the day before at 18:00"**: built from the local date and time, so it
  is 18:00 in Paris on both sides of a daylight saving change. **Elapsed time for "two
  hours before"**: two real hours before the start, whatever the clock did in between.
- **Quiet hours (21:00-08:00) move a reminder, never drop it.** A reminder *before* the
  appointment that falls in quiet hours goes at the end of the quiet period (08:00) when
  that still leaves ``morning_min_lead`` (1 h) before the start, otherwise the evening
  before, ``evening_margin`` (30 min) before the quiet period begins (20:30): a 09:00
  appointment is reminded at 08:00, an 08:30 one at 20:30 the evening before. A reminder
  *after* the appointment (the "did it happen?" check, a check-in) waits for 08:00.
- **One message, not two**: when the two reminders before an appointment would arrive less
  than ``merge_window`` (3 h) apart (an early appointment whose "two hours before" moved to
  the evening before), only the later one, the closer to the appointment, is sent; the
  earlier is skipped as ``merged``.
- **Nothing already past**: a reminder whose time has passed when the appointment is
  created is skipped (``past_at_creation``): the person has just received the appointment
  itself, which says the same thing.
- **Still useful?** A reminder before the appointment is useful until ``last_call`` (30 min)
  before the start; the after-check for ``after_check_useful_for`` after it was due; a
  check-in for ``check_in_useful_for``. A reminder that finds itself in quiet hours at
  sending time (a late process) is moved by the same rule, or skipped if no longer useful.

Every time here is aware; arithmetic is done in UTC and wall-clock times are built from
local dates, because adding a timedelta to a local datetime ignores the DST change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.appointments.models import ReminderKind

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class ReminderConfig:
    """Defaults serve a young person: one evening reminder, one on the day, quiet nights."""

    day_before_at: dt.time | None = dt.time(18, 0)  # None: no day-before reminder
    hours_before: dt.timedelta | None = dt.timedelta(hours=2)  # None: no same-day reminder
    quiet_start: dt.time | None = dt.time(21, 0)  # None: no quiet hours
    quiet_end: dt.time = dt.time(8, 0)
    evening_margin: dt.timedelta = dt.timedelta(minutes=30)
    morning_min_lead: dt.timedelta = dt.timedelta(hours=1)
    merge_window: dt.timedelta = dt.timedelta(hours=3)
    last_call: dt.timedelta = dt.timedelta(minutes=30)
    after_check_delay: dt.timedelta = dt.timedelta(hours=1)
    after_check_useful_for: dt.timedelta = dt.timedelta(days=3)
    check_in_after: dt.timedelta = dt.timedelta(weeks=6)
    check_in_useful_for: dt.timedelta = dt.timedelta(days=7)


DEFAULT_CONFIG = ReminderConfig()


def config_from(
    day_before_at: str | None, hours_before: float | None, quiet_hours: str | None, weeks: int
) -> ReminderConfig:
    """The configured reminders (Settings: REMINDER_DAY_BEFORE_AT "18:00" or empty for none,
    REMINDER_HOURS_BEFORE 2 or 0 for none, QUIET_HOURS "21:00-08:00" or empty for none,
    CHECK_IN_WEEKS 6)."""
    quiet_start: dt.time | None = None
    quiet_end = DEFAULT_CONFIG.quiet_end
    if quiet_hours:
        start, end = quiet_hours.split("-", 1)
        quiet_start, quiet_end = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
    return ReminderConfig(
        day_before_at=dt.time.fromisoformat(day_before_at) if day_before_at else None,
        hours_before=dt.timedelta(hours=hours_before) if hours_before else None,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        check_in_after=dt.timedelta(weeks=weeks),
    )


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    kind: ReminderKind
    due_at: dt.datetime  # UTC
    useful_until: dt.datetime  # UTC
    skip_reason: str | None = field(default=None)


def _require_aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: every time in reminders is aware")
    return moment.astimezone(dt.UTC)


def at_local(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a local date. A time that does not exist
    (the hour skipped in March) is read with the offset before the change, as zoneinfo does."""
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def _around(moment: dt.datetime, tz: dt.tzinfo) -> list[dt.date]:
    local_day = moment.astimezone(tz).date()
    return [local_day + dt.timedelta(days=delta) for delta in (-1, 0, 1)]


def in_quiet(moment: dt.datetime, tz: dt.tzinfo, config: ReminderConfig) -> bool:
    """True inside quiet hours (start included, end excluded), in local wall-clock time."""
    if config.quiet_start is None:
        return False
    start, end = config.quiet_start, config.quiet_end
    time_of_day = moment.astimezone(tz).time()
    if start <= end:
        return start <= time_of_day < end
    return time_of_day >= start or time_of_day < end


def quiet_end_after(moment: dt.datetime, tz: dt.tzinfo, config: ReminderConfig) -> dt.datetime:
    """The first end of quiet hours after ``moment`` (UTC)."""
    moment = _require_aware(moment)
    return min(
        end
        for end in (at_local(day, config.quiet_end, tz) for day in _around(moment, tz))
        if end > moment
    )


def quiet_start_before(moment: dt.datetime, tz: dt.tzinfo, config: ReminderConfig) -> dt.datetime:
    """The start of the quiet period ``moment`` is in (UTC)."""
    assert config.quiet_start is not None
    moment = _require_aware(moment)
    quiet_start = config.quiet_start
    return max(
        start
        for start in (at_local(day, quiet_start, tz) for day in _around(moment, tz))
        if start <= moment
    )


def before_appointment(
    candidate: dt.datetime, starts_at: dt.datetime, tz: dt.tzinfo, config: ReminderConfig
) -> dt.datetime:
    """Move a reminder before an appointment out of quiet hours (see the module's rules)."""
    candidate = _require_aware(candidate)
    if not in_quiet(candidate, tz, config):
        return candidate
    morning = quiet_end_after(candidate, tz, config)
    if morning <= _require_aware(starts_at) - config.morning_min_lead:
        return morning
    return quiet_start_before(candidate, tz, config) - config.evening_margin


def after_appointment(candidate: dt.datetime, tz: dt.tzinfo, config: ReminderConfig) -> dt.datetime:
    """Move a message sent after the appointment out of quiet hours: it waits for morning."""
    candidate = _require_aware(candidate)
    return quiet_end_after(candidate, tz, config) if in_quiet(candidate, tz, config) else candidate


def plan_appointment(
    starts_at: dt.datetime,
    duration: dt.timedelta,
    now: dt.datetime,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> list[PlannedReminder]:
    """Every reminder of one appointment (one version of it), with its time and its fate."""
    starts_at, now = _require_aware(starts_at), _require_aware(now)
    last_useful = starts_at - config.last_call
    before: list[PlannedReminder] = []
    if config.day_before_at is not None:
        local_day = starts_at.astimezone(tz).date() - dt.timedelta(days=1)
        due = before_appointment(
            at_local(local_day, config.day_before_at, tz), starts_at, tz, config
        )
        before.append(PlannedReminder(ReminderKind.DAY_BEFORE, due, last_useful))
    if config.hours_before is not None:
        due = before_appointment(starts_at - config.hours_before, starts_at, tz, config)
        before.append(PlannedReminder(ReminderKind.TWO_HOURS_BEFORE, due, last_useful))
    before = _merge_close(before, config)

    after_due = after_appointment(starts_at + duration + config.after_check_delay, tz, config)
    planned = [
        *before,
        PlannedReminder(
            ReminderKind.AFTER_CHECK, after_due, after_due + config.after_check_useful_for
        ),
    ]
    return [
        _with_skip(p, "past_at_creation") if p.skip_reason is None and p.due_at <= now else p
        for p in planned
    ]


def _merge_close(before: list[PlannedReminder], config: ReminderConfig) -> list[PlannedReminder]:
    if len(before) < 2:
        return before
    earlier, later = sorted(before, key=lambda p: p.due_at)
    if later.due_at - earlier.due_at >= config.merge_window:
        return before
    return [_with_skip(p, "merged") if p is earlier else p for p in before]


def _with_skip(planned: PlannedReminder, reason: str) -> PlannedReminder:
    return PlannedReminder(planned.kind, planned.due_at, planned.useful_until, reason)


def plan_check_in(
    closed_at: dt.datetime,
    after: dt.timedelta,
    tz: dt.tzinfo = PARIS,
    config: ReminderConfig = DEFAULT_CONFIG,
) -> PlannedReminder:
    """A check-in ``after`` the close of a handoff, out of quiet hours."""
    due = after_appointment(_require_aware(closed_at) + after, tz, config)
    return PlannedReminder(ReminderKind.FOLLOW_UP_CHECK_IN, due, due + config.check_in_useful_for)


def when_to_send(
    now: dt.datetime, useful_until: dt.datetime, tz: dt.tzinfo, config: ReminderConfig
) -> dt.datetime | None:
    """At sending time: ``now`` if it may go now; the end of quiet hours if ``now`` is in
    them and the reminder is still useful then (a late process at night); None when it is
    no longer useful."""
    now, useful_until = _require_aware(now), _require_aware(useful_until)
    if now > useful_until:
        return None
    if not in_quiet(now, tz, config):
        return now
    later = quiet_end_after(now, tz, config)
    return later if later <= useful_until else None
