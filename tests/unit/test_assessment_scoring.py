"""The self-assessment's rules: reading typed answers, flags, strengths and next steps."""

from __future__ import annotations

import pytest

from dialogues.assessment import scoring
from dialogues.assessment.scoring import SKIPPED, load_content, read_answer

Q = load_content().questions


@pytest.mark.parametrize(
    ("question", "text", "kind", "value"),
    [
        ("situation", "lycée", "answer", "lycee"),
        ("situation", "chui en 3e", "answer", "college"),
        ("situation", "Au lycée", "answer", "lycee"),  # a button title typed back
        ("situation", "en alternance dans un garage", "answer", "apprentissage"),
        ("age_band", "j'ai 17 ans", "answer", "16_17"),
        ("age_band", "14", "answer", "under_15"),
        ("age_band", "15 ans", "answer", "15"),
        ("age_band", "23", "answer", "22_25"),
        ("interests", "sport, cuisine", "answer", ["sport", "cuisine"]),
        ("interests", "le numérique et les animaux", "answer", ["numerique", "nature"]),
        ("experiences", "du bénévolat dans une asso", "answer", ["benevolat"]),
        ("experiences", "rien", "answer", ["aucune"]),
        ("confidence", "😟", "answer", "1"),
        ("confidence", "bof", "answer", "2"),
        ("barriers", "rien de spécial à part l'argent", "answer", ["argent"]),
        ("barriers", "le permis et mes parents", "answer", ["transport", "famille"]),
        ("wants", "parler à quelqu'un", "answer", ["parler"]),
        ("place", "Trifouillis-les-Oies", "answer", "Trifouillis-les-Oies"),
        ("situation", "passer", "skip", None),
        ("interests", "jsp", "skip", None),
        ("wants", "stop", "stop", None),
        ("confidence", "laisse tomber", "stop", None),
        ("situation", "bonjour", "unclear", None),
        ("interests", "🙃", "unclear", None),
        ("place", "x" * 200, "unclear", None),
    ],
)
def test_typed_answers_are_read(question: str, text: str, kind: str, value: object) -> None:
    reading = read_answer(Q[question], text)
    assert (reading.kind, reading.value) == (kind, value)


def test_a_long_sentence_is_not_taken_for_a_choice() -> None:
    text = "en fait je voudrais savoir comment on trouve un patron pour l'apprentissage cette année"
    assert read_answer(Q["wants"], text).kind == "unclear"


def test_buttons_are_read_by_key_and_unknown_keys_are_unclear() -> None:
    assert scoring.read_choice(Q["interests"], "cuisine").value == ["cuisine"]
    assert scoring.read_choice(Q["situation"], "lycee").value == "lycee"
    assert scoring.read_choice(Q["situation"], "skip").kind == "skip"
    assert scoring.read_choice(Q["situation"], "cuisine").kind == "unclear"


def test_flags() -> None:
    worried = {
        "age_band": "15",
        "confidence": "1",
        "barriers": ["transport", "argent"],
        "wants": ["parler", "job"],
    }
    assert scoring.flags(worried).as_dict() == {
        "several_barriers": True,
        "low_confidence": True,
        "wants_to_talk": True,
        "under_16": True,
    }
    calm = {"age_band": "18_21", "confidence": "4", "barriers": ["aucun"], "wants": ["job"]}
    assert not any(scoring.flags(calm).as_dict().values())
    assert not any(scoring.flags({"confidence": SKIPPED, "barriers": SKIPPED}).as_dict().values())


def test_priority_rises_with_two_shared_concerns_and_never_falls() -> None:
    two = scoring.flags({"confidence": "2", "wants": ["parler"]})
    one = scoring.flags({"confidence": "2"})
    assert scoring.handoff_priority("normal", two) == "high"
    assert scoring.handoff_priority("normal", one) == "normal"
    assert scoring.handoff_priority("urgent", one) == "urgent"
    assert scoring.handoff_priority("high", scoring.flags({})) == "high"


def test_age_for_routing_marks_under_16() -> None:
    assert scoring.age_for_routing({"age_band": "under_15"}) == "14"
    assert scoring.age_for_routing({"age_band": "16_17"}) == "16"
    assert scoring.age_for_routing({"age_band": SKIPPED}) is None


def test_strengths_come_from_experiences_then_interests_in_the_persons_language() -> None:
    answers = {"experiences": ["bafa", "aucune"], "interests": ["cuisine", "sport"]}
    assert scoring.strengths(answers, "fr") == ["BAFA, animation", "Cuisine", "Sport, animation"]
    assert scoring.strengths(answers, "en")[0] == "Youth leader (BAFA)"
    assert scoring.strengths({"experiences": SKIPPED}, "fr") == []


def test_next_steps_put_what_blocks_and_a_person_first() -> None:
    answers = {
        "confidence": "1",
        "barriers": ["transport", "logement"],
        "wants": ["apprentissage"],
    }
    steps = [s.key for s in scoring.next_steps(answers, place_known=True)]
    assert steps == ["talk", "mobility_aid", "housing_young"]


def test_next_steps_follow_what_they_want_and_where_they_are() -> None:
    answers = {"situation": "rien", "wants": ["apprentissage"], "barriers": ["aucun"]}
    steps = [s.key for s in scoring.next_steps(answers, place_known=True)]
    assert steps == ["apprenticeship_find_employer", "cfa_what", "cej"]
    young = {"age_band": "15", "situation": "college", "wants": ["formation"]}
    assert [s.key for s in scoring.next_steps(young, False)] == [
        "after_3e_options",
        "under_16",
        "which_service",
    ]
    assert len(scoring.next_steps({}, place_known=True)) == 2  # nearest, job discovery
    assert scoring.next_steps({}, place_known=True)[0].payload == (
        "/ask_topic:topic=nearest_service"
    )


def test_every_next_step_opens_a_real_topic() -> None:
    from dialogues.knowledge.base import load_topics

    topics = load_topics()
    for step in load_content().next_steps.values():
        if step.payload.startswith("/ask_topic:topic="):
            assert step.payload.split("=", 1)[1] in topics, step.key
        assert {"fr", "en"} <= step.titles.keys()


def test_a_parent_is_never_asked_the_sensitive_questions() -> None:
    asked = {q.name for q in scoring.questions_for("parent")}
    assert "confidence" not in asked
    assert "barriers" not in asked
    assert len(scoring.questions_for("young")) == 8


def test_referent_view_uses_french_labels() -> None:
    view = scoring.summary_for_referent(
        {"situation": "lycee", "interests": ["cuisine"], "place": SKIPPED}, "young"
    )
    assert view["Situation"] == "Au lycée"
    assert view["Ce qui attire"] == "Cuisine"
    assert view["Commune"] == "passée"


def test_choice_keys_are_the_strings_written() -> None:
    """YAML reads 18_21 as the number 1821: every key must stay the text written."""
    keys = {c.key for c in Q["age_band"].choices}
    assert keys == {"under_15", "15", "16_17", "18_21", "22_25", "over_25"}
    for question in Q.values():
        for choice in question.choices:
            assert scoring.read_choice(question, choice.key).kind == "answer"
