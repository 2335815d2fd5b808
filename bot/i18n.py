"""Gateway strings and all date and number formatting, per user locale (Babel).

Catalogs are the ``.po`` files under ``bot/locales``; they are compiled in memory at
start, so there is no build step and no stale ``.mo`` file.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
SUPPORTED_LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
DOMAIN = "messages"


def normalise_locale(value: str | None) -> str:
    """Map anything a client sends ("en-GB", "FR", None) to a supported locale."""
    if not value:
        return DEFAULT_LOCALE
    short = value.replace("_", "-").split("-")[0].lower()
    return short if short in SUPPORTED_LOCALES else DEFAULT_LOCALE


@cache
def translations(locale: str) -> Translations:
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(locale: str, message: str, **params: object) -> str:
    """Translate a gateway string; ``params`` fill ``%(name)s`` placeholders."""
    text = translations(normalise_locale(locale)).gettext(message)
    return text % params if params else text


def format_when(moment: dt.datetime, locale: str, tz: dt.tzinfo) -> str:
    """ "mardi 3 décembre à 14 h 30" / "Tuesday 3 December at 2:30 PM"."""
    local = moment.astimezone(tz)
    if normalise_locale(locale) == "fr":
        day = babel_format_datetime(local, "EEEE d MMMM", locale="fr")
        minutes = f" {local.minute:02d}" if local.minute else ""
        return f"{day} à {local.hour} h{minutes}"
    return babel_format_datetime(local, "EEEE d MMMM 'at' h:mm a", locale="en")


def format_number(value: float, locale: str) -> str:
    return format_decimal(value, locale=Locale.parse(normalise_locale(locale)))
