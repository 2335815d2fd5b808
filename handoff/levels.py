"""What each intent asks of the human side: the taxonomy's ``handoff`` levels.

``shared/spec/taxonomy.yml`` is the specification; ``levels.yml`` is the product's copy, and
a test keeps the two equal.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml

HandoffLevel = Literal["none", "offer", "high", "urgent"]
LEVELS_FILE = Path(__file__).resolve().parent / "levels.yml"


@cache
def handoff_levels() -> dict[str, HandoffLevel]:
    data = yaml.safe_load(LEVELS_FILE.read_text(encoding="utf-8"))
    return {intent: level for level, intents in data.items() for intent in intents}


def level_of(intent: str | None) -> HandoffLevel:
    """The handoff level of an intent; ``none`` for every intent not listed."""
    if not intent:
        return "none"
    return handoff_levels().get(intent, "none")
