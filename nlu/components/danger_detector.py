"""Rasa component: a second look for danger, which only ever makes the assistant ask.

Runs last, after the FallbackClassifier (nlu/config.yml). The intent classifiers and the
danger lexicon miss some dangers, most often written without the words the training data
uses for them ("jme brule les poignets avec un briquet le soir", "ça servirait à rien que je
sois là", "my boss threw a chair at me"): they are read as an everyday question, answered
with confidence, and the person gets a leaflet instead of the numbers. This component is a
classifier of one question only, danger or not, trained on the same examples (every
``urgent_*`` example against all the others) with the same features as the n-gram
classifier (``nlu.components.vector_svc``). When it gives a danger at least ``ask_above``
and the message was not read as urgent, the message is turned into "not understood" and
marked ``danger_suspected``: the fallback action then asks plainly whether the person is in
danger, with a button to the emergency answer of the likeliest danger (the urgent intent
ranked highest by the intent classifiers). It never gives the emergency answer itself.

Measured on the three folds of `make nlu-eval` (the saved results of relais-ced3c8cf, the
detector trained on each fold's training part, 2026-12-07): of 1,026 dangers, those neither
answered as urgent nor asked about went 33 -> 20 at 0.40, for 82 more everyday messages of
10,688 asked the danger question (279 -> 361). The threshold is the one that minimises
dangers still missed x 20 + everyday messages it newly asks, on folds 1-2 (0.40: 374; 0.30
407, 0.35 393, 0.45 383, 0.50 396, 0.60 402, no detector 480), checked on fold 3 (0.40:
108, none 180). A missed danger is counted as twenty needless questions: a needless question
costs a tap ("Non, ça va" gets the answer the message had been read as, see
``action_no_after_fallback``). It only acts when an urgent intent is in the message's
intent ranking (its first ten), which every caught danger of the folds had. The danger behind
the button is the classifiers' likeliest urgent intent: the right one for 10 of the 13
dangers it caught in the folds (a classifier over the four dangers alone: 11 of 13, but 947 of
1,026 against the ranking's 992 over all dangers; the lexicon named none of the 13).
"""

from __future__ import annotations

import logging
import pickle
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components import ngram_intent, vector_svc
from nlu.components.ngram_intent import classifier_input, read_saved, word_vector
from nlu.components.source_digest import source_digest
from nlu.components.vector_svc import MODEL_VERSION, VectorSvc

logger = logging.getLogger(__name__)

URGENT_PREFIX = "urgent_"
FALLBACK_INTENT = "nlu_fallback"
INTENT_RANKING = "intent_ranking"
RESPONSE_SELECTOR = "response_selector"
DANGER = "danger"
OTHER = "other"
MODEL_FILE = "danger_detector.pkl"
# On the parsed message (kept in the tracker, read by the fallback action; never the text):
# {"name": likeliest urgent intent, "confidence": the detector's, "understood": the intent
# the message was read as, "topic": its faq topic when it was one}.
SUSPECTED_KEY = "danger_suspected"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class DangerDetector(GraphComponent):
    """Danger or not, on n-grams and word vectors; asks about a danger the others missed."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "ask_above": 0.4,
            "C": 1.0,
            "random_seed": 42,
            "entity_markers": [],
            "retrieval_intent": "faq",
            # Never turned into the question: asking for a person gets a person (the urgent
            # answer is a button away in the handoff flow too), and "oui" / "non" / "stop"
            # answer what was just asked. None of the dangers the detector caught in the
            # cross-validation had been read as one of these.
            "never_replaces": ["request_human", "affirm", "deny", "stop_messages"],
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        detector: Optional[VectorSvc] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._detector = detector
        self._markers = [str(m) for m in self._config["entity_markers"] or []]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # Rasa's training cache keys a component by its config only (see NgramIntentClassifier).
        return source_digest(__file__, ngram_intent.__file__, vector_svc.__file__)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "DangerDetector":
        return cls(config, model_storage, resource)

    # --- training ---------------------------------------------------------------------
    def train(self, training_data: TrainingData) -> Resource:
        texts: List[str] = []
        vectors: List[np.ndarray] = []
        labels: List[str] = []
        for message in training_data.intent_examples:
            text = message.get(TEXT)
            intent = str(message.get(INTENT) or "")
            if text and intent:
                texts.append(classifier_input(text, message.get(ENTITIES) or [], self._markers))
                vectors.append(word_vector(message))
                labels.append(DANGER if intent.startswith(URGENT_PREFIX) else OTHER)
        if len(set(labels)) < 2:
            logger.warning("DangerDetector: no urgent examples (or only those), not trained.")
            return self._resource
        detector = VectorSvc(float(self._config["C"]), int(self._config["random_seed"]))
        detector.fit(texts, vectors, labels)
        self._detector = detector
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps({"detector": detector}))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "DangerDetector":
        saved = read_saved(model_storage, resource, MODEL_FILE)
        if saved is None:
            # Loud: without it, dangers the classifiers miss are answered as everyday
            # questions (the lexicon and the fallback's own danger question still work).
            logger.error("DangerDetector: no usable trained model, not checking for danger.")
            return cls(config, model_storage, resource)
        detector = saved.get("detector")
        if getattr(detector, "version", None) != MODEL_VERSION:
            logger.error("DangerDetector: a model of another version, not checking for danger.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, detector)

    # --- parsing ----------------------------------------------------------------------
    def process(self, messages: List[Message]) -> List[Message]:
        if self._detector is None:
            return messages
        for message in messages:
            self._check(message, self._detector)
        return messages

    def danger_probability(self, message: Message, detector: VectorSvc) -> float:
        """The detector's probability of a danger; 0 when it knows none of the words (its
        calibrated guess about "azerty qsdf" would be a coin toss, not a sign)."""
        read = classifier_input(str(message.get(TEXT)), message.get(ENTITIES) or [], self._markers)
        reading = detector.read([read], [word_vector(message)])
        if not reading.knows_a_word[0]:
            return 0.0
        column = list(detector.classes_).index(DANGER)
        return float(reading.probabilities[0][column])

    def _check(self, message: Message, detector: VectorSvc) -> None:
        if not message.get(TEXT):
            return
        intent = message.get(INTENT) or {}
        understood = str(intent.get(INTENT_NAME_KEY) or "")
        if understood.startswith(URGENT_PREFIX):
            return  # already the emergency answer
        if understood in self._config["never_replaces"]:
            return
        ranking = list(message.get(INTENT_RANKING) or [])
        urgent = [r for r in ranking if str(r.get(INTENT_NAME_KEY) or "").startswith(URGENT_PREFIX)]
        if not urgent:
            return  # no urgent intent ranked: nothing to offer behind the question's button
        probability = self.danger_probability(message, detector)
        if probability < float(self._config["ask_above"]):
            return
        likeliest = max(urgent, key=lambda r: float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0))
        message.set(
            SUSPECTED_KEY,
            {
                INTENT_NAME_KEY: str(likeliest[INTENT_NAME_KEY]),
                PREDICTED_CONFIDENCE_KEY: round(probability, 4),
                "understood": understood,
                "topic": self._topic(message)
                if understood == self._config["retrieval_intent"]
                else None,
            },
            add_to_output=True,
        )
        if understood == FALLBACK_INTENT:
            return  # already "not understood": the fallback action reads the mark
        # As the FallbackClassifier does: "not understood" first, the readings kept below it
        # (`rasa test nlu` undoes it the same way, so the intent scores stay the classifiers').
        fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: probability}
        message.set(INTENT, fallback, add_to_output=True)
        message.set(INTENT_RANKING, [fallback, *ranking], add_to_output=True)

    def _topic(self, message: Message) -> Optional[str]:
        retrieval_intent = str(self._config["retrieval_intent"])
        selector = (message.get(RESPONSE_SELECTOR) or {}).get(retrieval_intent) or {}
        key = (selector.get("response") or {}).get(INTENT_RESPONSE_KEY)
        return str(key) if key else None
