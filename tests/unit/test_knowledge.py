"""The knowledge base and the content build: complete, sourced, short, bilingual."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dialogues.build import build, variations
from dialogues.knowledge.base import (
    MAX_ANSWER,
    KnowledgeError,
    fill_facts,
    load_facts,
    load_topics,
    rendered_answer,
    topic_of,
)
from handoff.levels import handoff_levels

SHARED_SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "taxonomy.yml"
TOPICS = load_topics()


def test_every_taxonomy_topic_has_an_entry() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip("shared/spec is not beside the repository")
    spec = yaml.safe_load(SHARED_SPEC.read_text(encoding="utf-8"))
    assert set(spec["faq"]) <= set(TOPICS)


@pytest.mark.parametrize("name", sorted(TOPICS))
def test_entry_has_source_date_both_languages_and_a_next_step(name: str) -> None:
    topic = TOPICS[name]
    assert topic.source_url.startswith("https://")
    assert topic.checked
    facts = load_facts()
    for language in ("fr", "en"):
        answer = rendered_answer(topic, language, False, facts)
        assert 0 < len(answer) <= MAX_ANSWER
        step = topic.next_step[language]
        assert step["title"]
        assert step.get("url", "").startswith("https://") or step.get("payload", "").startswith("/")


def test_facts_name_their_source_and_date() -> None:
    for fact in load_facts().values():
        assert fact.source_url.startswith("https://"), fact.key
        assert fact.checked, fact.key


def test_unknown_fact_is_an_error_not_a_blank() -> None:
    with pytest.raises(KnowledgeError):
        fill_facts("appelle le {fact:no_such_number}", load_facts(), "test")


def test_handoff_levels_match_the_taxonomy() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip("shared/spec is not beside the repository")
    spec = yaml.safe_load(SHARED_SPEC.read_text(encoding="utf-8"))
    expected = {
        name: entry["handoff"] for name, entry in spec["intents"].items() if entry.get("handoff")
    }
    assert handoff_levels() == expected


def test_responses_vary_by_language_and_register() -> None:
    texts = {"fr": "Salut", "en": "Hi", "parent_fr": "Bonjour", "parent_en": "Hello"}
    buttons = [{"fr": "Oui", "en": "Yes", "payload": "/affirm"}]
    result = variations(texts, buttons, {}, "utter_test")
    by_condition = {
        tuple(c["value"] for c in v["condition"]): (v["text"], v["buttons"][0]["title"])
        for v in result
        if "condition" in v
    }
    assert by_condition[("fr", "tu")] == ("Salut", "Oui")
    assert by_condition[("fr", "vous")] == ("Bonjour", "Oui")
    assert by_condition[("en", "vous")] == ("Hello", "Yes")
    assert result[-1]["text"] == "Salut"  # the unconditioned default


def test_build_is_reproducible(tmp_path: Path) -> None:
    first = build(tmp_path / "a" / "rasa")
    second = build(tmp_path / "b" / "rasa")
    assert first == second
    domain = yaml.safe_load((tmp_path / "a" / "rasa" / "domain.yml").read_text())
    urgent = domain["responses"]["utter_urgent_suicidal_thoughts"][0]["text"]
    assert urgent.index("3114") < 30


def test_every_button_leads_to_an_intent_the_assistant_knows(tmp_path: Path) -> None:
    build(tmp_path / "rasa")
    domain = yaml.safe_load((tmp_path / "rasa" / "domain.yml").read_text())
    intents = set(domain["intents"])
    topics = set(TOPICS)
    for name, variants in domain["responses"].items():
        for variant in variants:
            for button in variant.get("buttons", []):
                payload = button.get("payload")
                if payload is None:
                    assert button["url"].startswith(("https://", "{")), name
                    continue
                if payload.startswith("{"):  # filled by the action (utter_check_danger)
                    continue
                intent, _, entities = payload[1:].partition(":")
                assert intent in intents, f"{name}: {payload}"
                if intent == "ask_topic":
                    assert entities.removeprefix("topic=") in topics, f"{name}: {payload}"


@pytest.mark.parametrize(
    ("key", "topic"),
    [
        ("faq/cfa_what", "cfa_what"),
        ("faq/", None),
        ("faq", None),
        ("utter_faq/cfa_what", None),
        ("", None),
        (None, None),
    ],
)
def test_topic_of_a_response_selector_key(key: str | None, topic: str | None) -> None:
    assert topic_of(key) == topic
