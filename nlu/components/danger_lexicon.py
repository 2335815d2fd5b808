"""Rasa component: the danger lexicon as a safety net under the intent classifier.

Runs after the intent classifiers (DIET blended with the n-gram model) and before the
FallbackClassifier (see nlu/config.yml). When the words of
a message plainly say a danger (``nlu.components.danger``) and the classifier's top
intent is not urgent, the matching urgent intent is put first with a confidence above the
fallback threshold, so the urgent rule answers with the numbers and raises the handoff.
Weaker signs ("j'ai faim", "de force", "sans-abri") count only when the classifier is
unsure (top confidence below ``unsure_below``) or already ranks an urgent intent in its
first three.
When the classifier already chose an urgent intent and the words name another danger
(plainly, or by a weaker sign when nothing is plainly said) and not the chosen one, the
named one wins: the numbers must be that danger's. On every urgent example we have
(training, held-out, blind, fresh: 1,174 on 2026-12-07) the plain statements never named a
danger other than the example's own (746 named) and the weaker signs alone never did (122),
while the classifier chose the wrong danger at 0.9 or more (the cross-validation of
2026-12-06 read "I want to go to sleep and never wake up" as a night outside, "mon père m'a
chassé de la maison" as violence, "I'm starving and broke" as a night outside).
When the classifier chose an urgent intent with less than the lexicon's confidence and the
words say that danger (or only hint at one), that confidence is raised, so that a hesitant
reading of "j'ai pris toute la boîte de cachets" is not turned into "not understood" by the
fallback.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.components.danger import read

URGENT_PREFIX = "urgent_"
INTENT_RANKING = "intent_ranking"
# Set on the parsed message so that logs of a parse (never its text) say why it was urgent.
MATCHED_KEY = "danger_lexicon"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class DangerLexicon(GraphComponent):
    """Reads plainly stated dangers as their urgent intent."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Above the FallbackClassifier threshold, below a confident DIET prediction.
        return {"confidence": 0.9, "unsure_below": 0.7}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._confidence = float(config.get("confidence", 0.9))
        self._unsure_below = float(config.get("unsure_below", 0.7))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "DangerLexicon":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._check(message)
        return messages

    def _check(self, message: Message) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text:
            return
        intent = message.get(INTENT) or {}
        top = intent.get(INTENT_NAME_KEY) or ""
        top_confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        ranking = message.get(INTENT_RANKING) or []
        danger: Optional[str]
        words = read(text)
        if top.startswith(URGENT_PREFIX):
            # The urgent answer is given either way; what the words name decides whose
            # numbers come first (a plain statement before a weaker sign, see Reading).
            named = words.named
            if named and top not in named:
                danger = words.danger()  # the words name another danger: its numbers
            elif top_confidence >= self._confidence:
                return  # sure, and the words name this danger or none
            else:
                # A hesitant urgent reading (below the fallback threshold the person would
                # only be asked): when the words say or hint at this danger, it is made sure.
                danger = top if named else None
        else:
            unsure = top_confidence < self._unsure_below or any(
                str(r.get(INTENT_NAME_KEY) or "").startswith(URGENT_PREFIX) for r in ranking[:3]
            )
            danger = words.danger(strong_only=not unsure)
        if danger is None:
            return
        # The danger goes first at a fixed confidence; the rest keep their order and share
        # what is left, so the fallback's ambiguity check sees a clear first choice.
        chosen = {INTENT_NAME_KEY: danger, PREDICTED_CONFIDENCE_KEY: self._confidence}
        others = [r for r in ranking if r.get(INTENT_NAME_KEY) != danger]
        total = sum(float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for r in others)
        scale = (1.0 - self._confidence) / total if total > 0 else 0.0
        ranking = [
            {**r, PREDICTED_CONFIDENCE_KEY: float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0) * scale}
            for r in others
        ]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING, [chosen, *ranking], add_to_output=True)
        message.set(MATCHED_KEY, True, add_to_output=True)
