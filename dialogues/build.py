"""Assemble the Rasa project the engine trains on, in ``build/rasa/``.

Sources: ``nlu/config.yml``, ``nlu/data/``, ``dialogues/domain.yml``, ``dialogues/responses/``,
``dialogues/rules/``, ``dialogues/stories/`` and the knowledge base. The knowledge base is
the single source of the ``faq/<topic>`` training examples and answers; bilingual responses
become variations conditioned on the ``language`` and ``register`` slots.

Run: ``python -m dialogues.build`` (prints the content hash of the result).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path
from typing import Any

import yaml

from dialogues.assessment.scoring import load_content as load_assessment
from dialogues.knowledge.base import (
    Fact,
    Topic,
    fill_facts,
    load_facts,
    load_topics,
    rendered_answer,
)

ROOT = Path(__file__).resolve().parent.parent
DIALOGUES = ROOT / "dialogues"
NLU = ROOT / "nlu"
LANGUAGES = ("fr", "en")
REGISTERS = ("tu", "vous")
SOURCE_LABEL = {"fr": "Source", "en": "Source"}
# What else decides the trained model: the custom components and the engine's versions.
MODEL_INPUTS = [NLU / "components", ROOT / "requirements" / "engine.lock"]
# The component that learns nothing (DangerLexicon) and the lexicon it reads: Rasa runs
# it only when parsing, from this source tree, so a change takes effect at the next start
# of the engine, with no new model.
RUNTIME_ONLY = {NLU / "components" / "danger.py", NLU / "components" / "danger_lexicon.py"}


class _Dumper(yaml.SafeDumper):
    """Readable YAML: multi-line strings as blocks, keys in the order written."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump(data: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000),
        encoding="utf-8",
    )


def variations(
    texts: dict[str, str], buttons: list[dict[str, str]], facts: dict[str, Fact], name: str
) -> list[dict[str, Any]]:
    """One variation per language and register, plus an unconditioned French default."""
    result: list[dict[str, Any]] = []
    for language in LANGUAGES:
        for register in REGISTERS:
            key = (
                f"parent_{language}"
                if register == "vous" and texts.get(f"parent_{language}")
                else language
            )
            variant: dict[str, Any] = {
                "text": fill_facts(str(texts[key]).strip(), facts, f"{name}.{key}")
            }
            localized = [_button(b, language) for b in buttons]
            if localized:
                variant["buttons"] = localized
            variant["condition"] = [
                {"type": "slot", "name": "language", "value": language},
                {"type": "slot", "name": "register", "value": register},
            ]
            result.append(variant)
    default = {k: v for k, v in result[0].items() if k != "condition"}
    return [*result, default]


def _button(button: dict[str, str], language: str) -> dict[str, str]:
    out = {"title": str(button[language])}
    if "payload" in button:
        out["payload"] = str(button["payload"])
    if "url" in button:
        out["url"] = str(button["url"])
    return out


def hand_written_responses(facts: dict[str, Fact]) -> dict[str, list[dict[str, Any]]]:
    responses: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((DIALOGUES / "responses").glob("*.yml")):
        for name, entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if name in responses:
                raise ValueError(f"{path.name}: response {name} defined twice")
            responses[name] = variations(entry, entry.get("buttons") or [], facts, name)
    return responses


def assessment_responses(facts: dict[str, Fact]) -> dict[str, list[dict[str, Any]]]:
    """``utter_ask_sa_<question>`` for each self-assessment question, its choices as buttons
    (a question's own name in the payload, so a late press is recognised) and "skip"."""
    content = load_assessment()
    responses: dict[str, list[dict[str, Any]]] = {}
    for question in content.questions.values():
        buttons = [
            {
                **choice.labels,
                "payload": f"/sa_answer:sa_question={question.name},sa_choice={choice.key}",
            }
            for choice in question.choices
        ]
        buttons.append(
            {
                **content.skip_labels,
                "payload": f"/sa_answer:sa_question={question.name},sa_choice=skip",
            }
        )
        name = f"utter_ask_{question.slot}"
        responses[name] = variations(question.texts, buttons, facts, name)
    return responses


def knowledge_responses(
    topics: dict[str, Topic], facts: dict[str, Fact]
) -> dict[str, list[dict[str, Any]]]:
    responses: dict[str, list[dict[str, Any]]] = {}
    for topic in topics.values():
        texts: dict[str, str] = {}
        for language in LANGUAGES:
            source = (
                f"\n{SOURCE_LABEL[language]} : {topic.source_name}"
                if language == "fr"
                else f"\n{SOURCE_LABEL[language]}: {topic.source_name}"
            )
            texts[language] = rendered_answer(topic, language, False, facts) + source
            texts[f"parent_{language}"] = rendered_answer(topic, language, True, facts) + source
        step_button = {lang: topic.next_step[lang]["title"] for lang in LANGUAGES}
        # One button per language: the next step may differ (a French or English page).
        name = f"utter_faq/{topic.name}"
        variants = variations(texts, [], facts, name)
        for variant in variants:
            language = next(
                (c["value"] for c in variant.get("condition", []) if c["name"] == "language"), "fr"
            )
            step = topic.next_step[language]
            button = {"title": step_button[language]}
            button.update({k: step[k] for k in ("payload", "url") if k in step})
            variant["buttons"] = [button]
        responses[name] = variants
    return responses


def knowledge_nlu(topics: dict[str, Topic], heldout: bool = False) -> dict[str, Any]:
    """Rasa NLU data for ``faq/<topic>``: the training questions, or the held-out ones."""
    blocks = []
    for topic in topics.values():
        questions = topic.heldout if heldout else topic.questions
        examples = [q for lang in LANGUAGES for q in questions.get(lang, [])]
        if examples:
            blocks.append(
                {"intent": f"faq/{topic.name}", "examples": "".join(f"- {q}\n" for q in examples)}
            )
    return {"version": "3.1", "nlu": blocks}


def build(out: Path) -> str:
    facts = load_facts()
    topics = load_topics()
    if out.exists():
        shutil.rmtree(out)
    (out / "data").mkdir(parents=True)
    shutil.copy(NLU / "config.yml", out / "config.yml")
    # One domain file: Rasa counts the retrieval intent once per file that implies it.
    domain = yaml.safe_load((DIALOGUES / "domain.yml").read_text(encoding="utf-8"))
    domain["responses"] = {
        **hand_written_responses(facts),
        **assessment_responses(facts),
        **knowledge_responses(topics, facts),
    }
    dump(domain, out / "domain.yml")
    for folder in ("rules", "stories"):
        shutil.copytree(DIALOGUES / folder, out / "data" / folder)
    shutil.copytree(NLU / "data", out / "data" / "nlu")
    dump(knowledge_nlu(topics), out / "data" / "nlu" / "knowledge.yml")
    # Held-out evaluation data (never trained on): hand-written intents + knowledge base.
    heldout = out.parent / "heldout"
    if heldout.exists():
        shutil.rmtree(heldout)
    shutil.copytree(NLU / "heldout", heldout)
    dump(knowledge_nlu(topics, heldout=True), heldout / "knowledge.yml")
    digest = content_hash(out)
    (out / "HASH").write_text(digest + "\n", encoding="utf-8")
    return digest


def model_input_files() -> list[Path]:
    """The source files, besides the built Rasa data, that the trained model depends on."""
    files: list[Path] = []
    for extra in MODEL_INPUTS:
        paths = sorted(extra.rglob("*.py")) if extra.is_dir() else [extra]
        files += [p for p in paths if p not in RUNTIME_ONLY]
    return files


def content_hash(out: Path) -> str:
    """Hash of everything that decides the model: same hash, same model, no retraining."""
    sha = hashlib.sha256()
    named = [(p.relative_to(out), p) for p in out.rglob("*") if p.is_file() and p.name != "HASH"]
    named += [(p.relative_to(ROOT), p) for p in model_input_files()]
    for name, path in sorted(named):
        sha.update(str(name).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "rasa")
    args = parser.parse_args()
    print(build(args.out))


if __name__ == "__main__":
    main()
