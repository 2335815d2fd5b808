"""Load partner directories (one file per territory) and find the services for a place.

A place is what a person writes: a postcode ("69003"), a commune ("Villeurbanne",
"st demo"), or a department ("69"). Matching ignores case, accents, hyphens and "saint/st".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TERRITORIES_DIR = Path(__file__).resolve().parent / "territories"
PARTNER_TYPES = (
    "mission_locale",
    "cio",
    "cfa",
    "france_travail",
    "psad",
    "e2c",
    "epide",
    "info_jeunes",
)
POSTCODE = re.compile(r"^\d{5}$")
DEPARTMENT = re.compile(r"^(\d{2}|2[ab]|97\d)$")


class DirectoryError(ValueError):
    """A directory file breaks the format; the message says where."""


@dataclass(frozen=True)
class Partner:
    type: str
    name: str
    address: str
    communes: tuple[str, ...]
    postcodes: tuple[str, ...]
    phone: str
    hours: str
    url: str
    territory: str


@dataclass(frozen=True)
class Territory:
    id: str
    name: str
    fictional: bool
    working_hours: dict[str, str]
    partners: tuple[Partner, ...]


def simplify(place: str) -> str:
    """'Saint-Démo ' -> 'st demo': the form both sides are compared in."""
    text = unicodedata.normalize("NFKD", place).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[-'’_.,]", " ", text)
    text = re.sub(r"\bsainte?\b", "st", text)
    return re.sub(r"\s+", " ", text).strip()


def _partner(entry: dict[str, Any], territory: str, where: str) -> Partner:
    missing = [k for k in ("type", "name", "address", "phone", "hours", "url") if not entry.get(k)]
    if missing:
        raise DirectoryError(f"{where}: partner lacks {', '.join(missing)}")
    if entry["type"] not in PARTNER_TYPES:
        raise DirectoryError(f"{where}: unknown partner type {entry['type']!r}")
    postcodes = tuple(str(p) for p in entry.get("postcodes") or ())
    if not postcodes and not entry.get("communes"):
        raise DirectoryError(f"{where}: {entry['name']} serves no commune or postcode")
    return Partner(
        type=entry["type"],
        name=entry["name"],
        address=entry["address"],
        communes=tuple(entry.get("communes") or ()),
        postcodes=postcodes,
        phone=str(entry["phone"]),
        hours=entry["hours"],
        url=entry["url"],
        territory=territory,
    )


def load_territory(path: Path) -> Territory:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    info = data.get("territory") or {}
    if not info.get("id") or not info.get("name"):
        raise DirectoryError(f"{path.name}: territory needs an id and a name")
    partners = tuple(
        _partner(entry, info["id"], f"{path.name} partner {i + 1}")
        for i, entry in enumerate(data.get("partners") or [])
    )
    return Territory(
        info["id"],
        info["name"],
        bool(info.get("fictional")),
        dict(info.get("working_hours") or {}),
        partners,
    )


@cache
def load_directory(directory: Path = TERRITORIES_DIR) -> tuple[Territory, ...]:
    return tuple(load_territory(p) for p in sorted(directory.glob("*.yml")))


def find_partners(
    place: str, partner_type: str | None = None, territories: tuple[Territory, ...] | None = None
) -> list[Partner]:
    """Partners serving the place, best match first (postcode, commune, department)."""
    wanted = simplify(place)
    if not wanted:
        return []
    exact: list[Partner] = []
    department: list[Partner] = []
    for territory in territories if territories is not None else load_directory():
        for partner in territory.partners:
            if partner_type and partner.type != partner_type:
                continue
            if wanted in partner.postcodes or wanted in {simplify(c) for c in partner.communes}:
                exact.append(partner)
            elif DEPARTMENT.match(wanted) and any(p.startswith(wanted) for p in partner.postcodes):
                department.append(partner)
    return exact or department


def known_place_in(text: str, territories: tuple[Territory, ...] | None = None) -> str | None:
    """A postcode, or a commune of the directory, written somewhere in a sentence."""
    postcode = re.search(r"\b\d{5}\b", text)
    if postcode:
        return postcode.group(0)
    sentence = f" {simplify(text)} "
    for territory in territories if territories is not None else load_directory():
        for partner in territory.partners:
            for commune in partner.communes:
                if f" {simplify(commune)} " in sentence:
                    return commune
    return None


def territory_of(place: str, territories: tuple[Territory, ...] | None = None) -> str | None:
    """The territory serving a place (for routing a handoff), if the directory knows it."""
    partners = find_partners(place, territories=territories)
    return partners[0].territory if partners else None
