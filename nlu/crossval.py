"""Cross-validation of the NLU pipeline over the training data, in the engine runtime.

Usage (engine runtime, repository root on PYTHONPATH):
    python -m nlu.crossval --config build/rasa/config.yml --nlu build/rasa/data/nlu \
        --domain build/rasa/domain.yml --folds 3 --out reports/nlu-cv

Why not `rasa test nlu --cross-validation`: it also parses every fold's training part (two
thirds of ~7,000 messages, to print a training accuracy nobody reads), which made a run last
over two hours on two cores. This script trains the same pipeline on each fold with Rasa's
own trainer, parses only the held-back part with Rasa's own evaluation code, and writes the
same report files (intent_report.json, intent_errors.json, intent_successes.json,
response_selection_*.json) that `nlu.report` reads. The folds are stratified over full
labels (intents and `faq/` topics) with a fixed seed, so two runs on the same data compare.
Each finished fold is saved under OUT/folds/, and a run that was stopped resumes there.

With ``--model MODEL`` instead of ``--config``, it tests that trained model on ``--nlu`` and
writes the same files (`make nlu-heldout`: what `rasa test nlu --model` does, without its
slow copies of spaCy documents; see ``_WithoutSpacyDocs``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pickle
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger("nlu.crossval")


def _folds(data: Any, n_folds: int, seed: int) -> list[tuple[Any, Any]]:
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    examples = data.intent_examples
    labels = [example.get_full_intent() for example in examples]
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)

    def part(indices: Any) -> TrainingData:
        return TrainingData(
            training_examples=[examples[i] for i in indices],
            entity_synonyms=data.entity_synonyms,
            regex_features=data.regex_features,
            lookup_tables=data.lookup_tables,
            responses=data.responses,
        )

    return [(part(train), part(test)) for train, test in splitter.split(examples, labels)]


class _WithoutSpacyDocs:
    """A processor whose parse results leave out the spaCy documents.

    Rasa's evaluation asks for every property of a parse (the tokens, for entities) and,
    when the FallbackClassifier fired, deep-copies the result to undo it: with spaCy's
    documents inside, that copies the whole vocabulary and its vectors, about 5 s a message
    (measured: 60 messages in 160 s, 155 s of it in ``undo_fallback_prediction``). Nothing
    the evaluation reads is in those documents.
    """

    def __init__(self, processor: Any) -> None:
        self._processor = processor
        self.rankings: Rankings = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._processor, name)

    async def parse_message(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._processor.parse_message(*args, **kwargs)
        for key in [k for k in result if k.endswith("_spacy_doc")]:
            del result[key]
        self.rankings[str(result.get("text"))] = ranking_of(result)
        return result


# Each tested message's full intent ranking as served (after the danger lexicon and the
# fallback): Rasa's results keep only the first intent, and a decision rule over the whole
# ranking (e.g. the four urgent intents' summed probability) can then be measured on the
# saved folds without training again.
Rankings = dict[str, dict[str, Any]]


def ranking_of(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "lexicon": bool(result.get("danger_lexicon")),
        # The danger detector's mark: the person is asked whether they are in danger.
        "suspected": (result.get("danger_suspected") or {}).get("name"),
        "ranking": [
            [str(r.get("name")), round(float(r.get("confidence") or 0.0), 5)]
            for r in result.get("intent_ranking") or []
        ],
    }


async def evaluate_model(model: str, test: Any) -> tuple[tuple[Any, Any, Any], Rankings]:
    """Intent, response selection and entity results of ``test`` parsed by ``model``, and
    each message's intent ranking."""
    from rasa.core.agent import Agent
    from rasa.nlu.test import get_eval_data

    processor = _WithoutSpacyDocs(Agent.load(model).processor)
    results = await get_eval_data(processor, test)
    return results, processor.rankings


def _run_fold(
    config: str, train: Any, test: Any, work: Path
) -> tuple[tuple[Any, Any, Any], Rankings]:
    import rasa.model_training
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    training_file = work / "training_data.yml"
    RasaYAMLWriter().dump(training_file, train)
    model = rasa.model_training.train_nlu(config, str(training_file), str(work))
    if model is None:
        raise SystemExit("training failed: see the log above")
    return asyncio.run(evaluate_model(model, test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="the pipeline to cross-validate")
    parser.add_argument(
        "--model", help="instead: test this trained model on --nlu (as `rasa test nlu --model`)"
    )
    parser.add_argument("--nlu", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--key",
        default="",
        help="the model inputs' hash (build/rasa/HASH): saved folds are "
        "reused only for the same data, config and components",
    )
    args = parser.parse_args()
    if (args.config is None) == (args.model is None):
        parser.error("give --config (cross-validation) or --model (a test of that model)")

    import rasa.utils.common
    from rasa.nlu.test import (
        _get_active_entity_extractors,
        drop_intents_below_freq,
        evaluate_entities,
        evaluate_intents,
        evaluate_response_selections,
    )
    from rasa.shared.importers.importer import TrainingDataImporter

    rasa.utils.common.configure_logging_and_warnings(logging.WARNING)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    importer = TrainingDataImporter.load_from_dict(
        training_data_paths=[args.nlu], domain_path=args.domain
    )
    args.out.mkdir(parents=True, exist_ok=True)
    if args.model is not None:
        started = time.monotonic()
        (intents, responses, entities), rankings = asyncio.run(
            evaluate_model(args.model, importer.get_nlu_data())
        )
        logger.info("tested %d messages in %.0f s", len(intents), time.monotonic() - started)
    else:
        data = drop_intents_below_freq(importer.get_nlu_data(), cutoff=args.folds)
        (intents, responses, entities), rankings = _cross_validate(args, data)

    (args.out / "rankings.json").write_text(json.dumps(rankings, ensure_ascii=False))
    out = str(args.out)
    evaluate_intents(intents, out, True, True, True, report_as_dict=True)
    if responses:
        evaluate_response_selections(responses, out, True, True, True, report_as_dict=True)
    if entities:
        extractors = _get_active_entity_extractors(entities)
        evaluate_entities(entities, extractors, out, True, True, True, report_as_dict=True)
    logger.info("reports written to %s", out)


def _cross_validate(
    args: argparse.Namespace, data: Any
) -> tuple[tuple[list[Any], list[Any], list[Any]], Rankings]:
    saved = args.out / "folds"
    saved.mkdir(parents=True, exist_ok=True)
    intents: list[Any] = []
    responses: list[Any] = []
    entities: list[Any] = []
    rankings: Rankings = {}
    for number, (train, test) in enumerate(_folds(data, args.folds, args.seed), start=1):
        # A fold is reused only for the same split of the same data and pipeline.
        key = f"{args.key}-{args.folds}-{args.seed}-{hash_texts(train)}-{hash_texts(test)}"
        fold_file = saved / f"fold{number}.pickle"
        results = None
        fold_rankings: Rankings = {}
        if fold_file.exists():
            # Our own file, written by this script a few lines below.
            stored = pickle.loads(fold_file.read_bytes())  # noqa: S301
            if stored.get("key") == key:
                results = stored["results"]
                fold_rankings = stored.get("rankings") or {}  # folds saved before: none
                logger.info("fold %d of %d: reused %s", number, args.folds, fold_file)
        if results is None:
            started = time.monotonic()
            work = Path(tempfile.mkdtemp(prefix="relais-cv-"))
            try:
                results, fold_rankings = _run_fold(args.config, train, test, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            fold_file.write_bytes(
                pickle.dumps({"key": key, "results": results, "rankings": fold_rankings})
            )
            logger.info(
                "fold %d of %d: trained on %d, tested %d messages in %.0f s",
                number,
                args.folds,
                len(train.intent_examples),
                len(test.intent_examples),
                time.monotonic() - started,
            )
        intents += results[0]
        responses += results[1]
        entities += results[2]
        rankings.update(fold_rankings)
    return (intents, responses, entities), rankings


def hash_texts(data: Any) -> str:
    import hashlib

    digest = hashlib.sha256()
    for example in data.intent_examples:
        digest.update(f"{example.get_full_intent()}\t{example.get('text')}\n".encode())
    return digest.hexdigest()[:16]


if __name__ == "__main__":
    main()
