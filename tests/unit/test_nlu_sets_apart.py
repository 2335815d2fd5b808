"""The evaluation sets stay unseen: no message of the held-out, fresh or blind sets is also
a training example.

`make nlu-eval` reports held-out, fresh and blind figures as "never trained on"; a sentence
copied (or re-typed with other accents, case or punctuation) into the training data would
quietly turn them into training figures.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml

from dialogues.build import build

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = re.compile(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})")
NOT_A_LETTER = re.compile(r"[^\w]+")


def same_words(text: str) -> str:
    """Case, accents, entity annotations and punctuation removed: "Jsuis  nul !" and
    "jsuis nul" are one message."""
    text = ANNOTATION.sub(r"\1", text)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return NOT_A_LETTER.sub(" ", text).strip()


def messages(path: Path) -> dict[str, str]:
    """Each example of an NLU file (its words as above) with its intent."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: dict[str, str] = {}
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                found[same_words(line[2:])] = block["intent"]
    return found


def test_no_evaluation_message_is_a_training_example(tmp_path: Path) -> None:
    out = tmp_path / "rasa"
    build(out)
    training: dict[str, str] = {}
    for path in sorted((out / "data" / "nlu").glob("*.yml")):
        training.update(messages(path))
    evaluation_files = [
        *sorted((out.parent / "heldout").glob("*.yml")),
        *sorted((ROOT / "nlu" / "fresh").glob("*.yml")),
        *sorted((ROOT / "nlu" / "fresh2").glob("*.yml")),
        # Every blind set (nlu/blind*).
        *sorted(ROOT.glob("nlu/blind*/*.yml")),
    ]
    evaluated = 0
    seen = []
    for path in evaluation_files:
        for words, intent in messages(path).items():
            evaluated += 1
            if words in training:
                seen.append(f"{path.name}: {intent} / trained as {training[words]}: {words}")
    assert len(training) > 5000
    assert evaluated > 1000
    assert seen == []
