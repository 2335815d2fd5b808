"""Gateway strings and date formatting per locale (Babel)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, SUPPORTED_LOCALES, format_when, gettext, normalise_locale

PARIS = ZoneInfo("Europe/Paris")


def catalog_ids(locale: str) -> set[str]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {m.id for m in read_po(po) if m.id and m.string}


def test_every_string_exists_in_every_language() -> None:
    french, english = catalog_ids("fr"), catalog_ids("en")
    assert french == english


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_strings_are_translated_not_keys(locale: str) -> None:
    assert gettext(locale, "error-empty-message") != "error-empty-message"


@pytest.mark.parametrize(
    ("given", "expected"), [("en-GB", "en"), ("FR", "fr"), ("de", "fr"), (None, "fr")]
)
def test_locales_are_normalised(given: str | None, expected: str) -> None:
    assert normalise_locale(given) == expected


def test_french_dates_read_naturally() -> None:
    moment = dt.datetime(2026, 12, 1, 13, 30, tzinfo=dt.UTC)
    assert format_when(moment, "fr", PARIS) == "mardi 1 décembre à 14 h 30"
    assert format_when(moment.replace(minute=0), "fr", PARIS) == "mardi 1 décembre à 14 h"


def test_local_time_follows_daylight_saving() -> None:
    summer = dt.datetime(2026, 10, 24, 12, 0, tzinfo=dt.UTC)  # UTC+2
    winter = dt.datetime(2026, 10, 26, 12, 0, tzinfo=dt.UTC)  # UTC+1
    assert format_when(summer, "fr", PARIS).endswith("14 h")
    assert format_when(winter, "fr", PARIS).endswith("13 h")
    assert format_when(winter, "en", PARIS) == "Monday 26 October at 1:00 PM"
