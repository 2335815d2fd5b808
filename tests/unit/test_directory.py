"""The partner directory: format checks and finding services for a place."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogues.directory.partners import (
    DirectoryError,
    find_partners,
    known_place_in,
    load_directory,
    load_territory,
    simplify,
    territory_of,
)


def test_demo_territory_is_marked_fictional() -> None:
    (demo,) = [t for t in load_directory() if t.id == "demo"]
    assert demo.fictional
    assert all(p.postcodes and p.postcodes[0].startswith("99") for p in demo.partners)


def test_demo_postcode_finds_the_demo_mission_locale() -> None:
    (found,) = find_partners("99110", "mission_locale")
    assert found.name.startswith("Mission locale du Val-de-Relais")


@pytest.mark.parametrize("written", ["Saint-Démo", "st demo", "SAINT DEMO", " saint-démo "])
def test_communes_match_however_they_are_written(written: str) -> None:
    assert [p.type for p in find_partners(written, "cio")] == ["cio"]


def test_department_finds_every_partner_there() -> None:
    assert len(find_partners("99", "mission_locale")) == 2


def test_unknown_place_finds_nothing() -> None:
    assert find_partners("Lyon") == []
    assert territory_of("69003") is None
    assert territory_of("Bourg-Essai") == "demo"


def test_simplify() -> None:
    assert simplify("Sainte-Foy-lès-Lyon") == "st foy les lyon"


def test_broken_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("territory: {id: x, name: X}\npartners:\n  - {type: cio, name: A}\n")
    with pytest.raises(DirectoryError, match="lacks"):
        load_territory(path)


def test_places_are_found_inside_sentences() -> None:
    assert known_place_in("elle est ou la mission locale a st demo svp") == "Saint-Démo"
    assert known_place_in("je suis vers 99130 moi") == "99130"
    assert known_place_in("je cherche un cfa") is None
