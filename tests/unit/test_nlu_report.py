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
