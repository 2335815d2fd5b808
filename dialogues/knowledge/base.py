"""Load and check the knowledge base (topics/*.yml) and the facts (facts/*.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent
FACT_REF = re.compile(r"\{fact:([a-z0-9_]+)\}")
MAX_ANSWER = 600
# The retrieval intent whose sub-intents are the topics ("faq/cfa_what").
RETRIEVAL_INTENT = "faq"
LANGUAGES = ("fr", "en")


class KnowledgeError(ValueError):
    """The knowledge base breaks one of its rules; the message says where."""


@dataclass(frozen=True)
class Fact:
    key: str
    value: str
    source_name: str
    source_url: str
    checked: str


@dataclass(frozen=True)
class Topic:
    name: str
    audience: str
    questions: dict[str, list[str]]
    heldout: dict[str, list[str]]
    answer: dict[str, str]
    parent_answer: dict[str, str] | None
    next_step: dict[str, dict[str, str]]
    source_name: str
    source_url: str
    checked: str
    seeds: tuple[str, ...]


@cache
def load_facts(directory: Path = KNOWLEDGE_DIR / "facts") -> dict[str, Fact]:
    facts: dict[str, Fact] = {}
    for path in sorted(directory.glob("*.yml")):
        for key, entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in facts:
                raise KnowledgeError(f"{path.name}: fact {key!r} is defined twice")
            try:
                facts[key] = Fact(
                    key=key,
                    value=str(entry["value"]),
                    source_name=str(entry["source"]["name"]),
                    source_url=str(entry["source"]["url"]),
                    checked=str(entry["checked"]),
                )
            except (KeyError, TypeError) as exc:
                raise KnowledgeError(f"{path.name}: fact {key!r} lacks {exc}") from exc
    return facts


def fill_facts(text: str, facts: dict[str, Fact], where: str) -> str:
    """Replace every ``{fact:key}``; an unknown key is an error, never a silent blank."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in facts:
            raise KnowledgeError(f"{where}: unknown fact {key!r}")
        return facts[key].value

    return FACT_REF.sub(value, text)


def _per_language(entry: dict[str, Any], field: str, where: str) -> dict[str, Any]:
    value = entry.get(field)
    if not isinstance(value, dict) or any(lang not in value for lang in LANGUAGES):
        raise KnowledgeError(f"{where}: {field} needs both 'fr' and 'en'")
    return value


def _topic_from(path: Path) -> Topic:
    entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    if not isinstance(entry, dict) or entry.get("topic") != path.stem:
        raise KnowledgeError(f"{where}: 'topic' must equal the file name")
    source = entry.get("source") or {}
    if not source.get("name") or not str(source.get("url", "")).startswith("https://"):
        raise KnowledgeError(f"{where}: source needs a name and an https URL")
    if not entry.get("checked"):
        raise KnowledgeError(f"{where}: 'checked' date missing")
    next_step = _per_language(entry, "next_step", where)
    for lang, step in next_step.items():
        if (
            not isinstance(step, dict)
            or not step.get("title")
            or not (step.get("url") or step.get("payload"))
        ):
            raise KnowledgeError(f"{where}: next_step.{lang} needs a title and a url or payload")
    return Topic(
        name=path.stem,
        audience=str(entry.get("audience", "young")),
        questions={k: [str(q) for q in v] for k, v in (entry.get("questions") or {}).items()},
        heldout={k: [str(q) for q in v] for k, v in (entry.get("heldout") or {}).items()},
        answer=_per_language(entry, "answer", where),
        parent_answer=entry.get("parent_answer"),
        next_step=next_step,
        source_name=str(source["name"]),
        source_url=str(source["url"]),
        checked=str(entry["checked"]),
        seeds=tuple(str(s) for s in entry.get("seeds") or ()),
    )


@cache
def topic_of(response_key: str | None) -> str | None:
    """The topic in a ResponseSelector key ("faq/cfa_what" -> "cfa_what"); None for
    anything else."""
    prefix = f"{RETRIEVAL_INTENT}/"
    key = response_key or ""
    return key[len(prefix) :] if key.startswith(prefix) and len(key) > len(prefix) else None


def load_topics(directory: Path = KNOWLEDGE_DIR / "topics") -> dict[str, Topic]:
    return {path.stem: _topic_from(path) for path in sorted(directory.glob("*.yml"))}


def rendered_answer(topic: Topic, language: str, parent: bool, facts: dict[str, Fact]) -> str:
    """The answer a person reads, facts filled in, checked against the phone-screen limit."""
    texts = topic.parent_answer if parent and topic.parent_answer else topic.answer
    text = fill_facts(str(texts[language]).strip(), facts, f"{topic.name}.{language}")
    if len(text) > MAX_ANSWER:
        raise KnowledgeError(f"{topic.name}: {language} answer is {len(text)} > {MAX_ANSWER} chars")
    return text


RESPONSES_DIR = KNOWLEDGE_DIR.parent / "responses"


@cache
def _hand_written() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(RESPONSES_DIR.glob("*.yml")):
        found.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return found


def response_text(name: str, language: str, parent: bool = False) -> str:
    """One hand-written response (dialogues/responses/) with its facts filled in: what the
    dialogue says, for the gateway to say the same words when the engine cannot."""
    entry = _hand_written()[name]
    language = language if language in LANGUAGES else LANGUAGES[0]
    key = f"parent_{language}" if parent and entry.get(f"parent_{language}") else language
    return fill_facts(str(entry[key]).strip(), load_facts(), f"{name}.{key}")
