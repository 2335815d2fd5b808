"""`make nlu-eval`'s cross-validation (nlu/crossval.py) on a tiny pipeline and data set, in
the engine's own runtime: every example is tested once, in Rasa's report format that
`nlu.report` reads, and a finished fold is reused by a second run on the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nlu import report
from tests.utils.engine_runtime import ENGINE_PYTHON, run_in_engine

EXAMPLES = {
    "greet": ["bonjour", "salut", "coucou", "bonsoir", "hello", "slt"],
    "goodbye": ["au revoir", "a plus", "bye", "salut a demain", "bonne soiree", "ciao"],
    "urgent_no_shelter": [
        "je dors dehors",
        "je suis a la rue",
        "on m'a mis dehors",
        "j'ai nulle part ou dormir",
        "je dors dans ma voiture",
        "plus de logement ce soir",
    ],
    "faq/cfa_what": [
        "c'est quoi un cfa",
        "un cfa ça sert à quoi",
        "le cfa c'est quoi",
        "cfa definition",
        "centre de formation d'apprentis c quoi",
        "what is a cfa",
    ],
    "faq/mission_locale": [
        "c'est quoi la mission locale",
        "la mission locale ça sert à quoi",
        "mission locale c quoi",
        "à quoi sert la mission locale",
        "what is the mission locale",
        "mission locale definition",
    ],
}
CONFIG = {
    "recipe": "default.v1",
    "language": "fr",
    "assistant_id": "crossval-test",
    "pipeline": [
        {"name": "WhitespaceTokenizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 3},
        {"name": "DIETClassifier", "epochs": 2, "random_seed": 1},
        {"name": "ResponseSelector", "retrieval_intent": "faq", "epochs": 2, "random_seed": 1},
    ],
    "policies": [],
}


def _write_inputs(folder: Path) -> None:
    nlu: dict[str, list[dict[str, str]]] = {"nlu": []}
    for label, texts in EXAMPLES.items():
        nlu["nlu"].append({"intent": label, "examples": "".join(f"- {t}\n" for t in texts)})
    (folder / "data").mkdir()
    (folder / "data" / "nlu.yml").write_text(yaml.safe_dump(nlu, allow_unicode=True))
    domain = {
        "version": "3.1",
        "intents": ["greet", "goodbye", "urgent_no_shelter", "faq"],
        "responses": {
            "utter_faq/cfa_what": [{"text": "Un CFA forme les apprentis."}],
            "utter_faq/mission_locale": [{"text": "La Mission locale accompagne."}],
        },
    }
    (folder / "domain.yml").write_text(yaml.safe_dump(domain, allow_unicode=True))
    (folder / "config.yml").write_text(yaml.safe_dump(CONFIG))


def _crossval(folder: Path, *mode: str) -> str:
    mode = mode or ("--folds", "2", "--config", str(folder / "config.yml"), "--key", "test")
    out = folder / ("out" if "--folds" in mode else "tested")
    return _in_engine(
        "-m",
        "nlu.crossval",
        *mode,
        "--nlu",
        str(folder / "data"),
        "--domain",
        str(folder / "domain.yml"),
        "--out",
        str(out),
    )


def _in_engine(*args: str) -> str:
    result = run_in_engine(*args, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_every_example_is_tested_once_and_a_finished_fold_is_reused(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    log = _crossval(tmp_path)
    assert "fold 1 of 2: trained on 15, tested 15 messages" in log

    evaluation = report.evaluate(tmp_path / "out")
    assert len(evaluation.predictions) == sum(len(t) for t in EXAMPLES.values())
    assert set(evaluation.support) == {
        "greet",
        "goodbye",
        "urgent_no_shelter",
        "faq",
        "faq/cfa_what",
        "faq/mission_locale",
    }
    assert evaluation.urgent_total == len(EXAMPLES["urgent_no_shelter"])
    assert sorted(p.name for p in (tmp_path / "out" / "folds").iterdir()) == [
        "fold1.pickle",
        "fold2.pickle",
    ]

    # Every tested message's whole ranking is kept, for rules over more than the first intent.
    rankings = json.loads((tmp_path / "out" / "rankings.json").read_text())
    texts = {t for examples in EXAMPLES.values() for t in examples}
    assert set(rankings) == texts
    assert all(r["ranking"] and isinstance(r["lexicon"], bool) for r in rankings.values())

    again = _crossval(tmp_path)
    assert "fold 1 of 2: reused" in again
    assert "fold 2 of 2: reused" in again
    assert len(report.evaluate(tmp_path / "out").predictions) == len(evaluation.predictions)
    assert json.loads((tmp_path / "out" / "rankings.json").read_text()) == rankings


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_a_trained_model_is_tested_on_a_data_set(tmp_path: Path) -> None:
    # `make nlu-heldout`: the same report files as `rasa test nlu --model`.
    _write_inputs(tmp_path)
    _in_engine(
        "-m",
        "rasa",
        "train",
        "nlu",
        "--config",
        str(tmp_path / "config.yml"),
        "--nlu",
        str(tmp_path / "data"),
        "--domain",
        str(tmp_path / "domain.yml"),
        "--out",
        str(tmp_path / "models"),
    )
    (model,) = (tmp_path / "models").glob("*.tar.gz")
    log = _crossval(tmp_path, "--model", str(model))
    total = sum(len(t) for t in EXAMPLES.values())
    assert f"tested {total} messages" in log
    evaluation = report.evaluate(tmp_path / "tested")
    assert len(evaluation.predictions) == total
    assert "faq/cfa_what" in evaluation.support
