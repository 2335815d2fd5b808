"""Blend two readings of a message into one: DIET (+ ResponseSelector) and a linear model.

Pure Python with no Rasa import, so it is unit-tested in either runtime.

Labels are "full" labels: an ordinary intent ("greet", "urgent_violence") or a topic of the
retrieval intent ("faq/cfa_what"). DIET gives an intent ranking where "faq" is one intent,
and the ResponseSelector a ranking of the faq topics; their product is DIET's probability
of each topic. The linear model (character and word n-grams) reads full labels directly.

Why two: on the same split of the training data the linear model generalised better to
unseen wording (macro-F1 0.81 against 0.77 for DIET, and 0.985 against 0.954 on the fresh
set), while DIET reads some paraphrases the n-grams miss (see nlu/config.yml for the
figures of the blend that chose the weight).
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Tuple

RETRIEVAL_SEPARATOR = "/"


def intent_of(label: str) -> str:
    """The intent of a full label: "faq/cfa_what" -> "faq"."""
    return label.split(RETRIEVAL_SEPARATOR, 1)[0]


def diet_distribution(
    intent_ranking: Iterable[Mapping[str, object]],
    topic_ranking: Iterable[Mapping[str, object]],
    retrieval_intent: str,
) -> Dict[str, float]:
    """DIET's probability of each full label.

    ``intent_ranking``: [{"name", "confidence"}]; ``topic_ranking``: the ResponseSelector's
    ranking, [{"intent_response_key", "confidence"}]. A retrieval intent's share is split
    over its topics by the selector's confidences (which sum to at most 1).
    """
    topics = [(str(t.get("intent_response_key") or ""), _confidence(t)) for t in topic_ranking]
    out: Dict[str, float] = {}
    for entry in intent_ranking:
        name = str(entry.get("name") or "")
        confidence = _confidence(entry)
        if not name:
            continue
        if name == retrieval_intent:
            for key, share in topics:
                if key:
                    out[key] = out.get(key, 0.0) + confidence * share
        else:
            out[name] = out.get(name, 0.0) + confidence
    return out


def blend(
    linear: Mapping[str, float], diet: Mapping[str, float], linear_weight: float
) -> List[Tuple[str, float]]:
    """Weighted mean of the two distributions, best first (ties by label, for stable output)."""
    weight = min(max(linear_weight, 0.0), 1.0)
    labels = set(linear) | set(diet)
    scored = [
        (label, weight * linear.get(label, 0.0) + (1.0 - weight) * diet.get(label, 0.0))
        for label in labels
    ]
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))


def intent_ranking(blended: List[Tuple[str, float]], length: int) -> List[Tuple[str, float]]:
    """The intent ranking of a blended full-label ranking.

    A retrieval intent stands for its best topic, with that topic's probability: the
    confidence the fallback sees is the confidence in the answer actually given.
    """
    seen: Dict[str, float] = {}
    for label, score in blended:
        intent = intent_of(label)
        if intent not in seen:
            seen[intent] = score
    ranked = sorted(seen.items(), key=lambda pair: (-pair[1], pair[0]))
    return ranked[:length]


def topic_ranking(
    blended: List[Tuple[str, float]], retrieval_intent: str, length: int
) -> List[Tuple[str, float]]:
    """The retrieval intent's topics in blended order, their scores renormalised to sum 1."""
    prefix = retrieval_intent + RETRIEVAL_SEPARATOR
    topics = [(label, score) for label, score in blended if label.startswith(prefix)]
    total = sum(score for _, score in topics)
    if total <= 0:
        return topics[:length]
    return [(label, score / total) for label, score in topics[:length]]


def _confidence(entry: Mapping[str, object]) -> float:
    value: Optional[object] = entry.get("confidence")
    try:
        return float(value) if value is not None else 0.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
