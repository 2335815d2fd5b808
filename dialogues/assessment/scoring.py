"""The self-assessment's rules, pure and tested on their own: reading typed answers,
deriving flags, choosing strengths and next steps.

Answers are choice keys from ``questions.yml`` (lists for ``multi`` questions), the text of
the place, or ``SKIPPED``. Nothing here talks to Rasa or to a database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

QUESTIONS_FILE = Path(__file__).resolve().parent / "questions.yml"
SKIPPED = "skipped"
SLOT_PREFIX = "sa_"
MAX_PLACE = 80
# A typed answer longer than this is a sentence, not a choice: it is read as a question or
# a remark (the form answers it and asks again) unless a whole choice is clearly named.
MAX_ANSWER_WORDS = 8
MAX_NEXT_STEPS = 3

Role = Literal["young", "parent"]


@dataclass(frozen=True, slots=True)
class Choice:
    key: str
    labels: dict[str, str]
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Question:
    name: str
    kind: Literal["single", "multi", "text"]
    texts: dict[str, str]
    choices: tuple[Choice, ...]
    for_parent: bool

    @property
    def slot(self) -> str:
        return SLOT_PREFIX + self.name

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


@dataclass(frozen=True, slots=True)
class NextStep:
    key: str
    titles: dict[str, str]
    payload: str


@dataclass(frozen=True, slots=True)
class Content:
    consent_version: str
    questions: dict[str, Question]
    skip_labels: dict[str, str]
    stop_labels: dict[str, str]
    skip_words: tuple[str, ...]
    stop_words: tuple[str, ...]
    next_steps: dict[str, NextStep]


@cache
def load_content(path: Path = QUESTIONS_FILE) -> Content:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions: dict[str, Question] = {}
    for name, entry in raw["questions"].items():
        choices = tuple(
            Choice(
                key=str(key),
                labels={"fr": str(c["fr"]), "en": str(c["en"])},
                keywords=tuple(simplify(str(k)) for k in c.get("keywords") or []),
            )
            for key, c in (entry.get("choices") or {}).items()
        )
        texts = {k: str(entry[k]) for k in ("fr", "en", "parent_fr", "parent_en") if k in entry}
        questions[name] = Question(
            name, entry["kind"], texts, choices, for_parent=entry.get("parent", True)
        )
    steps: dict[str, NextStep] = {}
    for key, entry in raw["next_steps"].items():
        payload = entry.get("payload") or f"/ask_topic:topic={entry['topic']}"
        titles = {k: str(entry[k]) for k in ("fr", "en", "parent_fr", "parent_en") if k in entry}
        steps[key] = NextStep(key, titles, str(payload))
    return Content(
        consent_version=str(raw["consent_version"]),
        questions=questions,
        skip_labels=dict(raw["skip"]),
        stop_labels=dict(raw["stop"]),
        skip_words=tuple(simplify(w) for w in raw["skip_words"]),
        stop_words=tuple(simplify(w) for w in raw["stop_words"]),
        next_steps=steps,
    )


def simplify(text: str) -> str:
    """Lowercase, accents removed, apostrophes and punctuation as spaces, spaces squeezed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"[’'`,;:!?.()\[\]/+&-]", " ", plain)
    return re.sub(r"\s+", " ", plain).strip()


def questions_for(role: Role) -> list[Question]:
    """The questions asked of a young person, or of a parent (no sensitive ones)."""
    return [q for q in load_content().questions.values() if role == "young" or q.for_parent]


def answer_slots(role: Role = "young") -> list[str]:
    return [q.slot for q in questions_for(role)]


# --- reading a typed answer ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """What a typed message means for the question asked."""

    kind: Literal["answer", "skip", "stop", "unclear"]
    value: str | list[str] | None = None


def _has_phrase(text: str, phrase: str) -> bool:
    """A keyword matches whole words, or the start of a word for stems ("benevol")."""
    if not phrase:
        return False
    if not phrase.isascii() or not phrase[0].isalnum():  # an emoji: anywhere
        return phrase in text
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}", text) is not None


def _age_band(text: str) -> str | None:
    match = re.search(r"(?<!\d)(\d{1,2})(?!\d)", text)
    if match is None:
        return None
    age = int(match.group(1))
    if age < 10:
        return None
    if age < 15:
        return "under_15"
    if age == 15:
        return "15"
    if age <= 17:
        return "16_17"
    if age <= 21:
        return "18_21"
    if age <= 25:
        return "22_25"
    return "over_25"


def read_answer(question: Question, text: str) -> Reading:
    """Understand a typed answer: choices named, skip, stop, or unclear."""
    plain = simplify(text)
    content = load_content()
    if not plain and not text.strip():
        return Reading("unclear")
    if plain in content.stop_words:
        return Reading("stop")
    if plain in content.skip_words:
        return Reading("skip")
    if question.kind == "text":
        cleaned = text.strip()
        if not cleaned or len(cleaned) > MAX_PLACE or cleaned.startswith("/"):
            return Reading("unclear")
        return Reading("answer", cleaned)
    if question.name == "age_band":
        band = _age_band(plain)
        if band is not None:
            return Reading("answer", band)
    if len(plain.split()) > MAX_ANSWER_WORDS:
        return Reading("unclear")
    named = [c.key for c in question.choices if _named(c, plain)]
    if not named:
        return Reading("unclear")
    if question.kind == "single":
        return Reading("answer", named[0])
    return Reading("answer", _without_none(named))


def _named(choice: Choice, plain: str) -> bool:
    labels = [simplify(strip_symbols(label)) for label in choice.labels.values()]
    return plain in labels or any(_has_phrase(plain, k) for k in choice.keywords)


NONE_CHOICES = ("aucune", "aucun")


def _without_none(keys: list[str]) -> list[str]:
    """ "rien" next to real choices means those choices ("rien de spécial à part l'argent")."""
    real = [k for k in keys if k not in NONE_CHOICES]
    return real or keys[:1]


def read_choice(question: Question, key: str) -> Reading:
    """A button press: the choice key, skip, or stop."""
    if key == "skip":
        return Reading("skip")
    if key == "stop":
        return Reading("stop")
    if question.choice(key) is None:
        return Reading("unclear")
    return Reading("answer", [key] if question.kind == "multi" else key)


# --- what the answers say ----------------------------------------------------------------

Answers = dict[str, Any]  # question name -> choice key(s), place text, or SKIPPED


def given(answers: Answers, name: str) -> list[str]:
    """The choice keys given for a question (empty when skipped or not asked)."""
    value = answers.get(name)
    if value is None or value == SKIPPED:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v != SKIPPED]


@dataclass(frozen=True, slots=True)
class Flags:
    """What the référent (with consent) and the handoff routing need to know."""

    several_barriers: bool
    low_confidence: bool
    wants_to_talk: bool
    under_16: bool

    def as_dict(self) -> dict[str, bool]:
        return {
            "several_barriers": self.several_barriers,
            "low_confidence": self.low_confidence,
            "wants_to_talk": self.wants_to_talk,
            "under_16": self.under_16,
        }

    @property
    def concerns(self) -> int:
        return sum((self.several_barriers, self.low_confidence, self.wants_to_talk))


def flags(answers: Answers) -> Flags:
    barriers = [b for b in given(answers, "barriers") if b not in NONE_CHOICES]
    confidence = given(answers, "confidence")
    return Flags(
        several_barriers=len(barriers) >= 2,
        low_confidence=bool(confidence) and confidence[0] in ("1", "2"),
        wants_to_talk="parler" in given(answers, "wants"),
        under_16=bool(set(given(answers, "age_band")) & {"under_15", "15"}),
    )


def handoff_priority(priority: str, found: Flags) -> str:
    """A normal request becomes high when the person shared at least two concerns (several
    barriers, low confidence, wanting to talk): they should not wait behind simple
    questions. Urgent and high stay as they are; nothing is ever lowered."""
    if priority == "normal" and found.concerns >= 2:
        return "high"
    return priority


def age_for_routing(answers: Answers) -> str | None:
    """An age the handoff routing understands (under 16 goes to référents who serve them)."""
    band = given(answers, "age_band")
    ages = {
        "under_15": "14",
        "15": "15",
        "16_17": "16",
        "18_21": "18",
        "22_25": "22",
        "over_25": "26",
    }
    return ages.get(band[0]) if band else None


def is_empty(answers: Answers, role: Role = "young") -> bool:
    """True when every question was skipped or left unanswered."""
    return not any(
        given(answers, q.name) or (q.kind == "text" and answers.get(q.name) not in (None, SKIPPED))
        for q in questions_for(role)
    )


def strengths(answers: Answers, language: str) -> list[str]:
    """What the person already does and likes, in their words: strengths first."""
    questions = load_content().questions
    found: list[str] = []
    for name in ("experiences", "interests"):
        for key in given(answers, name):
            if key in NONE_CHOICES:
                continue
            choice = questions[name].choice(key)
            if choice is not None:
                label = strip_symbols(choice.labels.get(language, choice.labels["fr"]))
                if label not in found:
                    found.append(label)
    return found


def barriers(answers: Answers, language: str) -> list[str]:
    question = load_content().questions["barriers"]
    labels = []
    for key in given(answers, "barriers"):
        choice = question.choice(key)
        if choice is not None and key not in NONE_CHOICES:
            labels.append(strip_symbols(choice.labels.get(language, choice.labels["fr"])))
    return labels


def strip_symbols(label: str) -> str:
    """A button label without its leading emoji: "🚌 Transport" -> "Transport"."""
    return re.sub(r"^[^\w«(]+", "", label).strip()


def next_steps(answers: Answers, place_known: bool) -> list[NextStep]:
    """Two or three next steps, the most pressing first: what may block them, then what
    they want, then where to go. Each opens a knowledge answer or a person."""
    steps = load_content().next_steps
    wanted: list[str] = []
    found = flags(answers)
    barrier_steps = {
        "transport": "mobility_aid",
        "logement": "housing_young",
        "argent": "money_grants",
        "sante": "health_access",
    }
    for barrier in given(answers, "barriers"):
        if barrier in barrier_steps:
            wanted.append(barrier_steps[barrier])
    if found.wants_to_talk or (found.low_confidence and found.several_barriers):
        wanted.insert(0, "talk")
    situation = given(answers, "situation")
    wants = given(answers, "wants")
    want_steps = {
        "apprentissage": "apprenticeship_find_employer",
        "formation": "after_3e_options" if situation[:1] == ["college"] else "return_to_education",
        "reprendre": "return_to_education",
        "stage": "internship_search",
        "job": "cv_help",
        "informer": "job_discovery",
    }
    for want in wants:
        if want in want_steps:
            wanted.append(want_steps[want])
    if "apprentissage" in wants:
        wanted.append("cfa_what")
    if found.under_16:
        wanted.append("under_16")
    elif situation[:1] == ["rien"]:
        wanted.append("cej")
    if set(given(answers, "experiences")) & {"bafa", "benevolat", "petits_boulots"}:
        wanted.append("skills_recognition")
    wanted.append("nearest" if place_known else "which_service")
    wanted.append("job_discovery")
    chosen: list[NextStep] = []
    for key in wanted:
        if key in steps and steps[key] not in chosen:
            chosen.append(steps[key])
        if len(chosen) == MAX_NEXT_STEPS:
            break
    return chosen


def join_words(words: list[str], language: str) -> str:
    """ "a, b et c" / "a, b and c"."""
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    last = " et " if language == "fr" else " and "
    return ", ".join(words[:-1]) + last + words[-1]


def summary_for_referent(answers: Answers, role: Role) -> dict[str, str]:
    """The shared self-assessment as the console shows it: French labels, nothing else."""
    titles = {
        "situation": "Situation",
        "age_band": "Âge",
        "interests": "Ce qui attire",
        "experiences": "Expériences",
        "confidence": "Confiance en l'avenir (1 à 4)",
        "barriers": "Freins possibles",
        "wants": "Souhaite",
        "place": "Commune",
    }
    view: dict[str, str] = {"Rempli par": "un parent" if role == "parent" else "la personne"}
    for question in questions_for(role):
        value = answers.get(question.name)
        if value is None:
            continue
        if value == SKIPPED:
            shown = "passée"
        elif question.kind == "text":
            shown = str(value)
        else:
            labels = []
            for key in given(answers, question.name):
                choice = question.choice(key)
                labels.append(strip_symbols(choice.labels["fr"]) if choice else key)
            shown = ", ".join(labels)
        view[titles.get(question.name, question.name)] = shown
    return view
