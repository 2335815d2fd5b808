"""The French SMS-spelling normaliser, on its own (it runs first in the Rasa pipeline)."""

from __future__ import annotations

import pytest

from nlu.components.normalise import normalise, shift_offset


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("jsuis perdu", "je suis perdu"),
        ("c koi l'alternance", "c'est quoi l'alternance"),
        ("jsp quoi faire", "je sais pas quoi faire"),
        ("pk g pas de patron", "pourquoi j'ai pas de patron"),
        ("Chui en CAP", "je suis en CAP"),
        ("mercIIIII", "mercII"),
        ("koi?", "quoi?"),
    ],
)
def test_sms_spelling_becomes_plain_french(written: str, plain: str) -> None:
    assert normalise(written)[0] == plain


def test_plain_french_is_left_alone() -> None:
    text = "Bonjour, je cherche un apprentissage en boulangerie à Lyon."
    assert normalise(text) == (text, [])


def test_entity_offsets_follow_the_text() -> None:
    text = "g 17 ans et jsuis a Lyon"
    normalised, shifts = normalise(text)
    for value in ("17", "Lyon"):
        start = text.index(value)
        new_start = shift_offset(start, shifts)
        new_end = shift_offset(start + len(value), shifts)
        assert normalised[new_start:new_end] == value


def test_words_inside_other_words_are_not_touched() -> None:
    assert normalise("cfa") == ("cfa", [])
    assert normalise("gâteau")[0] == "gâteau"
