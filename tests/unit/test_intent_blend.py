"""The blend of DIET's reading and the n-gram model's reading (nlu/components/intent_blend.py)."""

from __future__ import annotations

import pytest

from nlu.components.intent_blend import (
    blend,
    diet_distribution,
    intent_of,
    intent_ranking,
    topic_ranking,
)

DIET_INTENTS = [
    {"name": "faq", "confidence": 0.6},
    {"name": "greet", "confidence": 0.3},
    {"name": "urgent_violence", "confidence": 0.1},
]
DIET_TOPICS = [
    {"intent_response_key": "faq/cfa_what", "confidence": 0.75},
    {"intent_response_key": "faq/mission_locale", "confidence": 0.25},
]


def test_intent_of_a_topic_is_its_retrieval_intent() -> None:
    assert intent_of("faq/cfa_what") == "faq"
    assert intent_of("greet") == "greet"


def test_diet_shares_the_retrieval_intent_over_its_topics() -> None:
    diet = diet_distribution(DIET_INTENTS, DIET_TOPICS, "faq")
    assert diet == pytest.approx(
        {"faq/cfa_what": 0.45, "faq/mission_locale": 0.15, "greet": 0.3, "urgent_violence": 0.1}
    )


def test_diet_without_a_selection_keeps_the_ordinary_intents() -> None:
    assert diet_distribution(DIET_INTENTS, [], "faq") == pytest.approx(
        {"greet": 0.3, "urgent_violence": 0.1}
    )


def test_blend_is_the_weighted_mean_best_first() -> None:
    linear = {"greet": 0.8, "faq/cfa_what": 0.2}
    diet = {"greet": 0.2, "faq/cfa_what": 0.6, "urgent_violence": 0.2}
    ranked = blend(linear, diet, 0.75)
    assert ranked[0] == ("greet", pytest.approx(0.65))
    assert dict(ranked) == pytest.approx(
        {"greet": 0.65, "faq/cfa_what": 0.3, "urgent_violence": 0.05}
    )
    assert blend(linear, diet, 0.0)[0][0] == "faq/cfa_what"
    assert blend(linear, diet, 1.0)[0][0] == "greet"


def test_blend_weight_is_clamped() -> None:
    assert blend({"a": 1.0}, {"b": 1.0}, 7.0)[0] == ("a", 1.0)
    assert blend({"a": 1.0}, {"b": 1.0}, -1.0)[0] == ("b", 1.0)


def test_intent_ranking_gives_the_retrieval_intent_its_best_topic() -> None:
    ranked = [("faq/cfa_what", 0.4), ("faq/mission_locale", 0.35), ("greet", 0.25)]
    # Not 0.75: the fallback must see the confidence in the answer actually given.
    assert intent_ranking(ranked, 10) == [("faq", 0.4), ("greet", 0.25)]
    assert intent_ranking(ranked, 1) == [("faq", 0.4)]


def test_topic_ranking_renormalises_the_topics() -> None:
    ranked = [("greet", 0.5), ("faq/cfa_what", 0.3), ("faq/mission_locale", 0.2)]
    assert topic_ranking(ranked, "faq", 10) == [
        ("faq/cfa_what", pytest.approx(0.6)),
        ("faq/mission_locale", pytest.approx(0.4)),
    ]
    assert topic_ranking([("greet", 1.0)], "faq", 10) == []
