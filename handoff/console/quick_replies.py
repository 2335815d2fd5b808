"""Quick replies of the console, per language of the young person (quick_replies.yml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

QUICK_REPLIES_FILE = Path(__file__).resolve().parent / "quick_replies.yml"


@cache
def _all() -> dict[str, list[dict[str, str]]]:
    data = yaml.safe_load(QUICK_REPLIES_FILE.read_text(encoding="utf-8")) or {}
    return {
        lang: [{"title": r["title"], "text": r["text"]} for r in rows]
        for lang, rows in data.items()
    }


def quick_replies(locale: str) -> list[dict[str, str]]:
    return _all().get(locale) or _all().get("fr", [])
