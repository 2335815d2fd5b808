"""The NLU report's arithmetic on a small made-up `rasa test nlu` result folder."""

from __future__ import annotations

import json
from pathlib import Path

from nlu.report import evaluate, fallback_threshold, render


def _prediction(truth: str, predicted: str, confidence: float) -> dict[str, object]:
    return {
        "text": "...",
        "intent": truth,
        "intent_prediction": {"name": predicted, "confidence": confidence},
    }


def _write(folder: Path) -> Path:
    folder.mkdir()
    successes = [
        _prediction("urgent_violence", "urgent_violence", 0.9),
        _prediction("urgent_violence", "urgent_violence", 0.3),  # below the fallback
        _prediction("greet", "greet", 0.95),
        _prediction("greet", "greet", 0.5),
        _prediction("faq", "faq", 0.99),
    ]
    errors = [
        _prediction("urgent_no_shelter", "urgent_violence", 0.8),  # urgent, wrong kind
        _prediction("greet", "urgent_suicidal_thoughts", 0.74),  # a false urgent
        _prediction("faq", "greet", 0.4),
    ]
    intent_report = {
        "urgent_violence": {"f1-score": 0.8, "support": 2},
        "urgent_no_shelter": {"f1-score": 0.0, "support": 1},
        "greet": {"f1-score": 0.8, "support": 3},
        "faq": {"f1-score": 0.6, "support": 2},
        "accuracy": 0.6,
        "macro avg": {"f1-score": 0.55, "support": 8},
    }
    topics = {"faq/cv_help": {"f1-score": 1.0, "support": 1}, "accuracy": 1.0}
    for name, body in (
        ("intent_successes.json", successes),
        ("intent_errors.json", errors),
        ("intent_report.json", intent_report),
        ("response_selection_report.json", topics),
        ("response_selection_errors.json", []),
    ):
        (folder / name).write_text(json.dumps(body), encoding="utf-8")
    return folder


def test_urgent_recall_false_urgents_and_the_macro_f1(tmp_path: Path) -> None:
    ev = evaluate(_write(tmp_path / "nlu-heldout"))
    # "faq" itself is left out of the macro: its topics are scored instead.
    assert round(ev.macro_f1, 4) == round((0.8 + 0.0 + 0.8 + 1.0) / 4, 4)
    assert (ev.urgent_total, ev.urgent_same, ev.urgent_any) == (3, 2, 3)
    assert (ev.non_urgent_total, ev.false_urgent) == (5, 1)
    assert ev.confusions[("greet", "urgent_suicidal_thoughts")] == 1
    # As served at 0.45: the urgent message at 0.3 is asked about, not acted on.
    assert ev.served(0.45) == (2, 1)
    assert ev.served(0.8) == (2, 0)


def test_the_report_shows_the_served_threshold_and_the_sweep(tmp_path: Path) -> None:
    ev = evaluate(_write(tmp_path / "nlu-heldout"))
    text = render([ev], served_threshold=0.55)
    assert "| nlu-heldout | 0.650 | 0.667 / 1.000 | 0.2000 (1/5) | 0.667 / 0.2000 (1) |" in text
    assert "confidence >= 0.55 only" in text
    # Non-urgent rows: right at 0.95, 0.5, 0.99; wrong at 0.74 and 0.4.
    assert "| 0.55 | 0.333 | 0.500 |" in text
    assert "| 0.80 | 0.333 | 1.000 |" in text


def test_the_threshold_is_the_pipelines() -> None:
    assert 0.3 <= fallback_threshold() <= 0.9


def test_what_people_were_shown_comes_from_the_served_rankings(tmp_path: Path) -> None:
    folder = tmp_path / "nlu-blind"
    folder.mkdir()
    rows = [
        # (text, truth, predicted after rasa test undid the fallback, served ranking, mark)
        ("a", "urgent_violence", "urgent_violence", [["urgent_violence", 0.9]], None),
        # Not understood, the urgent intents 0.1 + 0.06 together: the danger question.
        (
            "b",
            "urgent_no_shelter",
            "faq",
            [
                ["nlu_fallback", 0.5],
                ["faq", 0.4],
                ["urgent_violence", 0.1],
                ["urgent_no_shelter", 0.06],
            ],
            None,
        ),
        # Read as a question with confidence, marked by the danger detector: asked.
        (
            "c",
            "urgent_suicidal_thoughts",
            "faq",
            [["nlu_fallback", 0.6], ["faq", 0.8], ["urgent_suicidal_thoughts", 0.05]],
            "urgent_suicidal_thoughts",
        ),
        # Answered as a question: missed.
        ("d", "urgent_no_food_money", "faq", [["faq", 0.9], ["urgent_no_food_money", 0.05]], None),
        ("e", "greet", "greet", [["greet", 0.9]], None),
        ("f", "greet", "urgent_violence", [["urgent_violence", 0.7], ["greet", 0.3]], None),
        ("g", "faq", "faq", [["nlu_fallback", 0.5], ["faq", 0.45], ["urgent_violence", 0.2]], None),
        # Not understood, no urgent intent to speak of: rephrase.
        ("h", "faq", "faq", [["nlu_fallback", 0.5], ["faq", 0.45], ["urgent_violence", 0.1]], None),
    ]
    successes = [
        {"text": t, "intent": truth, "intent_prediction": {"name": p, "confidence": 0.5}}
        for t, truth, p, _, _ in rows
    ]
    rankings = {t: {"lexicon": False, "ranking": r, "suspected": s} for t, _, _, r, s in rows}
    report = {truth: {"f1-score": 1.0, "support": 1} for _, truth, _, _, _ in rows}
    for name, body in (
        ("intent_successes.json", successes),
        ("intent_report.json", report),
        ("rankings.json", rankings),
    ):
        (folder / name).write_text(json.dumps(body), encoding="utf-8")
    served = evaluate(folder).as_served
    assert served is not None
    assert (served.dangers, served.answered, served.asked, served.missed) == (4, 1, 2, 1)
    assert (served.everyday, served.everyday_emergency, served.everyday_asked) == (4, 1, 1)
    assert "| nlu-blind | 1 / 2 / 1 of 4 (0.750) | 1 / 1 of 4 |" in render(
        [evaluate(folder)], served_threshold=0.5
    )
    # A run without rankings (an older folder) has no such line.
    assert evaluate(_write(tmp_path / "old")).as_served is None


def test_a_message_missing_from_the_rankings_is_counted_apart_not_as_missed() -> None:
    from nlu.report import Prediction, as_served

    predictions = [
        Prediction("urgent_violence", "urgent_violence", 0.9, "a"),
        Prediction("urgent_violence", "faq", 0.9, "b"),
    ]
    served = as_served(predictions, {"a": {"ranking": [["urgent_violence", 0.9]]}})
    assert served is not None
    assert (served.dangers, served.answered, served.missed, served.unknown) == (1, 1, 0, 1)
