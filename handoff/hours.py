"""Working hours of a territory's référents, and when someone will next be there.

Written as in the partner directory: ``{"mon-fri": "09:00-17:30", "sat": "09:00-12:00"}``.
Times are local to ``TIMEZONE``; a day may have several ranges separated by commas.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
DEFAULT_HOURS = {"mon-fri": "09:00-17:30"}


class HoursError(ValueError):
    """Working hours written in a way we cannot read; the message says which part."""


@dataclass(frozen=True, slots=True)
class WorkingHours:
    # For each weekday (0 = Monday), the open ranges as (start, end) local times.
    ranges: tuple[tuple[tuple[dt.time, dt.time], ...], ...]

    @classmethod
    def parse(cls, spec: dict[str, str] | None) -> WorkingHours:
        days: list[list[tuple[dt.time, dt.time]]] = [[] for _ in DAYS]
        for key, value in (spec or DEFAULT_HOURS).items():
            for day in _days(key):
                for part in str(value).split(","):
                    days[day].append(_range(part.strip(), key))
        return cls(tuple(tuple(sorted(d)) for d in days))

    def is_open(self, moment: dt.datetime, tz: ZoneInfo) -> bool:
        local = moment.astimezone(tz)
        now = local.time()
        return any(start <= now < end for start, end in self.ranges[local.weekday()])

    def next_opening(self, moment: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
        """The next time someone is there (``moment`` itself when open); None if never."""
        if self.is_open(moment, tz):
            return moment
        local = moment.astimezone(tz)
        for offset in range(8):
            day = local.date() + dt.timedelta(days=offset)
            for start, _end in self.ranges[day.weekday()]:
                # Build from the wall-clock time so the daylight saving change is right.
                candidate = dt.datetime.combine(day, start, tzinfo=tz)
                if candidate > local:
                    return candidate.astimezone(dt.UTC)
        return None


def _days(key: str) -> list[int]:
    first, _, last = key.strip().lower().partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise HoursError(f"unknown day range {key!r} (use mon, tue, ... sun, e.g. mon-fri)")
    start = DAYS.index(first)
    end = DAYS.index(last) if last else start
    return list(range(start, end + 1)) if end >= start else [*range(start, 7), *range(end + 1)]


def _range(text: str, key: str) -> tuple[dt.time, dt.time]:
    match = RANGE.match(text)
    if match is None:
        raise HoursError(f"{key}: {text!r} is not a range like 09:00-17:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError as exc:
        raise HoursError(f"{key}: {text!r} is not a valid time range") from exc
    if end <= start:
        raise HoursError(f"{key}: {text!r} ends before it starts")
    return start, end
