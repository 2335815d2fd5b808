"""Plain words that end with the emergency numbers (the facts file is their one source)."""

from __future__ import annotations

from bot.i18n import gettext
from dialogues.knowledge.base import load_facts


def with_emergency_numbers(locale: str, key: str) -> str:
    """The catalog message ``key``, with the European emergency number and the suicide
    prevention line filled in: said whenever something fails and the person may be alone."""
    facts = load_facts()
    return gettext(
        locale,
        key,
        emergency=facts["emergency_eu"].value,
        suicide_line=facts["emergency_suicide_prevention"].value,
    )
