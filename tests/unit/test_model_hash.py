"""What decides whether the model is retrained (the content hash of `make model`)."""

from __future__ import annotations

from pathlib import Path

from dialogues.build import build, model_input_files

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "nlu" / "components"


def test_the_code_that_shapes_training_is_hashed_and_the_run_time_lexicon_is_not() -> None:
    files = set(model_input_files())
    # The SMS normaliser rewrites the training text: a change must retrain.
    assert {COMPONENTS / "normalise.py", COMPONENTS / "sms_normaliser.py"} <= files
    assert ROOT / "requirements" / "engine.lock" in files
    # The lexicon and its component run only when parsing, from the source tree.
    assert COMPONENTS / "danger.py" not in files
    assert COMPONENTS / "danger_lexicon.py" not in files


def test_the_same_content_gives_the_same_hash(tmp_path: Path) -> None:
    first = build(tmp_path / "a" / "rasa")
    second = build(tmp_path / "b" / "rasa")
    assert first == second
    assert len(first) == 16
