"""Summarise `rasa test nlu` results: per-intent and per-topic F1, confusions, urgency.

Usage: python -m nlu.report RESULTS_DIR [RESULTS_DIR ...] --out reports/nlu-eval.md
Each RESULTS_DIR is the ``--out`` folder of one ``rasa test nlu`` run (cross-validation or
held-out); it must hold intent_report.json and intent_errors.json (written by default), and
response_selection_report.json / response_selection_errors.json when faq topics were tested.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dialogues.actions.conversation import (
    DANGER_DOUBT,
    FALLBACK_INTENT,
    SUSPECTED_KEY,
    danger_to_ask_about,
)

URGENT_PREFIX = "urgent_"
GOALS = {"macro_f1": 0.90, "urgent_recall": 0.98, "false_urgent_rate": 0.02}
SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}
CONFIG = Path(__file__).resolve().parent / "config.yml"


def fallback_threshold(config: Path = CONFIG) -> float:
    """The FallbackClassifier threshold of the pipeline: `rasa test nlu` undoes its decision
    before scoring; in service, a prediction below it is "not understood" (and, when an
    urgent intent scored above DANGER_DOUBT, the assistant asks whether the person is in
    danger)."""
    pipeline = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("pipeline") or []
    step = next(c for c in pipeline if c.get("name") == "FallbackClassifier")
    return float(step["threshold"])


@dataclass(frozen=True)
class Prediction:
    """One tested message's intent: its truth, the prediction and its confidence."""

    truth: str
    predicted: str
    confidence: float
    text: str = ""

    @property
    def right(self) -> bool:
        return self.truth == self.predicted


@dataclass(frozen=True)
class AsServed:
    """What the assistant did with each tested message, read from the intent ranking it
    served (after the fallback and the danger detector): an urgent message got the emergency
    answer, the danger question, or neither; an everyday one got either, or neither."""

    dangers: int
    answered: int
    asked: int
    everyday: int
    everyday_emergency: int
    everyday_asked: int
    # Tested messages with no entry in rankings.json (a folder saved by an older version):
    # counted apart rather than as missed.
    unknown: int = 0

    @property
    def missed(self) -> int:
        return self.dangers - self.answered - self.asked

    @property
    def caught(self) -> float:
        return (self.answered + self.asked) / self.dangers if self.dangers else 0.0


def served_action(served: dict[str, Any]) -> str:
    """ "emergency", "asked" or "other" for one message's entry of rankings.json, as the
    fallback action decides (dialogues/actions/conversation.py)."""
    ranking = served.get("ranking") or []
    first = str(ranking[0][0]) if ranking else ""
    if first.startswith(URGENT_PREFIX):
        return "emergency"
    if first != FALLBACK_INTENT:
        return "other"
    # The fallback action's own rule, on the served parse rebuilt from the saved entry.
    parse = {
        "intent_ranking": [{"name": name, "confidence": c} for name, c in ranking],
        SUSPECTED_KEY: {"name": served.get("suspected")},
    }
    return "asked" if danger_to_ask_about(parse) is not None else "other"


def as_served(predictions: list[Prediction], rankings: dict[str, Any]) -> AsServed | None:
    if not rankings:
        return None
    counts: Counter[str] = Counter()
    for p in predictions:
        if p.text not in rankings:
            counts["unknown"] += 1
            continue
        action = served_action(rankings[p.text])
        kind = "danger" if p.truth.startswith(URGENT_PREFIX) else "everyday"
        counts[kind] += 1
        counts[f"{kind}:{action}"] += 1
    return AsServed(
        dangers=counts["danger"],
        answered=counts["danger:emergency"],
        asked=counts["danger:asked"],
        everyday=counts["everyday"],
        everyday_emergency=counts["everyday:emergency"],
        everyday_asked=counts["everyday:asked"],
        unknown=counts["unknown"],
    )


@dataclass
class Evaluation:
    name: str
    f1: dict[str, float]
    support: dict[str, int]
    confusions: Counter[tuple[str, str]]
    urgent_total: int
    urgent_same: int
    urgent_any: int
    non_urgent_total: int
    false_urgent: int
    # Every intent prediction of the run (needs --successes): the as-served counts and the
    # fallback threshold sweep are computed from them.
    predictions: list[Prediction]
    # What people were shown, from the run's rankings.json (None when it has none).
    as_served: AsServed | None = None

    def served(self, threshold: float) -> tuple[int, int]:
        """(urgent messages acted on, non-urgent messages queued as urgent) when urgent
        predictions count only at or above the fallback threshold, as in service."""
        urgent = false_urgent = 0
        for p in self.predictions:
            acted = p.predicted.startswith(URGENT_PREFIX) and p.confidence >= threshold
            if p.truth.startswith(URGENT_PREFIX):
                urgent += acted
            else:
                false_urgent += acted
        return urgent, false_urgent

    @property
    def macro_f1(self) -> float:
        scored = [v for k, v in self.f1.items() if k != "faq"]
        return sum(scored) / len(scored) if scored else 0.0


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def evaluate(results: Path) -> Evaluation:
    intents = _load(results / "intent_report.json") or {}
    topics = _load(results / "response_selection_report.json") or {}
    f1: dict[str, float] = {}
    support: dict[str, int] = {}
    for report in (intents, topics):
        for label, row in report.items():
            if label in SUMMARY_KEYS or not isinstance(row, dict) or label == "nlu_fallback":
                continue
            f1[label] = float(row.get("f1-score", 0.0))
            support[label] = int(row.get("support", 0))

    errors = _load(results / "intent_errors.json") or []
    successes = _load(results / "intent_successes.json") or []
    predictions = [
        Prediction(
            truth=str(item.get("intent", "")),
            predicted=str((item.get("intent_prediction") or {}).get("name") or "none"),
            confidence=float((item.get("intent_prediction") or {}).get("confidence") or 0.0),
            text=str(item.get("text") or ""),
        )
        for item in successes + errors
    ]
    confusions: Counter[tuple[str, str]] = Counter()
    urgent_missed_any = 0
    urgent_missed_same = 0
    false_urgent = 0
    for p in predictions:
        if p.right:
            continue
        confusions[(p.truth, p.predicted)] += 1
        if p.truth.startswith(URGENT_PREFIX):
            urgent_missed_same += 1
            if not p.predicted.startswith(URGENT_PREFIX):
                urgent_missed_any += 1
        elif p.predicted.startswith(URGENT_PREFIX):
            false_urgent += 1
    for error in _load(results / "response_selection_errors.json") or []:
        truth = error.get("intent_response_key_target") or "?"
        predicted = (error.get("intent_response_key_prediction") or {}).get("name") or "none"
        confusions[(truth, predicted)] += 1

    urgent_total = sum(n for k, n in support.items() if k.startswith(URGENT_PREFIX))
    all_total = sum(n for k, n in support.items() if "/" not in k)
    return Evaluation(
        name=results.name,
        f1=f1,
        support=support,
        confusions=confusions,
        urgent_total=urgent_total,
        urgent_same=urgent_total - urgent_missed_same,
        urgent_any=urgent_total - urgent_missed_any,
        non_urgent_total=all_total - urgent_total,
        false_urgent=false_urgent,
        predictions=predictions,
        as_served=as_served(predictions, _load(results / "rankings.json") or {}),
    )


SWEEP = (0.35, 0.4, 0.42, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)


def threshold_sweep(ev: Evaluation) -> list[str]:
    """What each fallback threshold would do on this run: the share of right answers it
    would turn into "not understood" against the share of wrong ones it would catch.

    Below the threshold in use, Rasa already answered ``nlu_fallback``: the sweep starts
    there. Urgent messages are left out: the urgent rule answers them at any confidence.
    """
    rows = [
        (p.right, p.confidence)
        for p in ev.predictions
        if not p.truth.startswith(URGENT_PREFIX) and p.predicted != "nlu_fallback"
    ]
    rights = [c for ok, c in rows if ok]
    wrongs = [c for ok, c in rows if not ok]
    if not rights:
        return []
    lines = [
        "",
        f"Fallback threshold sweep ({len(rights)} right, {len(wrongs)} wrong, non-urgent):",
        "",
        "| threshold | right answers lost | wrong answers caught |",
        "|---|---|---|",
    ]
    for t in SWEEP:
        lost = sum(c < t for c in rights) / len(rights)
        caught = sum(c < t for c in wrongs) / len(wrongs) if wrongs else 0.0
        lines.append(f"| {t:.2f} | {lost:.3f} | {caught:.3f} |")
    return lines


def render(evaluations: list[Evaluation], served_threshold: float) -> str:
    lines = ["# NLU evaluation", ""]
    lines += [
        "| run | macro-F1 (intents + faq topics) | urgent recall (same / any urgent) "
        "| false urgent rate | as served: urgent recall / false urgent rate |",
        "|---|---|---|---|---|",
    ]
    for ev in evaluations:
        recall_same = ev.urgent_same / ev.urgent_total if ev.urgent_total else 0.0
        recall_any = ev.urgent_any / ev.urgent_total if ev.urgent_total else 0.0
        false_rate = ev.false_urgent / ev.non_urgent_total if ev.non_urgent_total else 0.0
        urgent_served, false_urgent_served = ev.served(served_threshold)
        served_recall = urgent_served / ev.urgent_total if ev.urgent_total else 0.0
        served_false = false_urgent_served / ev.non_urgent_total if ev.non_urgent_total else 0.0
        lines.append(
            f"| {ev.name} | {ev.macro_f1:.3f} | {recall_same:.3f} / {recall_any:.3f} "
            f"| {false_rate:.4f} ({ev.false_urgent}/{ev.non_urgent_total}) "
            f"| {served_recall:.3f} / {served_false:.4f} ({false_urgent_served}) |"
        )
    lines += [
        "",
        f"Goals: macro-F1 >= {GOALS['macro_f1']}, urgent recall >= "
        f"{GOALS['urgent_recall']}, false urgent rate <= {GOALS['false_urgent_rate']}. "
        f"'As served' counts urgent predictions at confidence >= {served_threshold} only "
        "(rasa test undoes the fallback; below it the person is asked, not queued). "
        "Successes are needed for it (--successes).",
        "",
    ]
    served = [ev for ev in evaluations if ev.as_served is not None]
    if served:
        lines += [
            "What people were shown (from each run's rankings.json, as served by the model "
            "that made the run: its fallback threshold and components then; saved "
            "cross-validation folds keep theirs): for a danger, the emergency answer, the "
            "question whether they are in danger (an unclear message with the urgent "
            f"intents at {DANGER_DOUBT} or more together, or marked by the danger detector), "
            "or neither; for an everyday message, the same.",
            "",
            "| run | dangers: emergency answer / asked / missed (caught) "
            "| everyday messages: emergency answer / asked |",
            "|---|---|---|",
        ]
        for ev in served:
            a = ev.as_served
            assert a is not None
            lines.append(
                f"| {ev.name} | {a.answered} / {a.asked} / {a.missed} of {a.dangers} "
                f"({a.caught:.3f}) | {a.everyday_emergency} / {a.everyday_asked} of {a.everyday}"
                + (f" ({a.unknown} tested messages not in rankings.json)" if a.unknown else "")
                + " |"
            )
        lines.append("")
    for ev in evaluations:
        lines += [f"## {ev.name}", "", "Most confused pairs (truth -> predicted, count):", ""]
        lines += [f"- {t} -> {p}: {n}" for (t, p), n in ev.confusions.most_common(15)]
        lines += ["", "| intent or topic | F1 | support |", "|---|---|---|"]
        lines += [
            f"| {k} | {v:.3f} | {ev.support.get(k, 0)} |"
            for k, v in sorted(ev.f1.items(), key=lambda kv: kv[1])
        ]
        lines += threshold_sweep(ev)
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args()
    evaluations = [evaluate(path) for path in args.results]
    text = render(evaluations, fallback_threshold(args.config))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text.split("\n## ")[0])
    for ev in evaluations:
        worst = sorted(ev.f1.items(), key=lambda kv: kv[1])[:8]
        print(f"{ev.name}: lowest F1: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))


if __name__ == "__main__":
    main()
