"""Rasa component: a linear n-gram classifier blended with DIET and the ResponseSelector.

Runs after the ResponseSelector and before the danger lexicon and the FallbackClassifier
(nlu/config.yml). It trains a calibrated linear SVM (``nlu.components.vector_svc``) on TF-IDF
character n-grams (2 to 5, within words), word uni- and bigrams, accents and case folded,
and the mean spaCy word vector of the message, over full labels ("greet", "faq/cfa_what"),
then replaces the message's intent, intent ranking and faq selection with the weighted mean
of its probabilities and DIET's (``linear_weight``). Entities stay DIET's.

The training text is the SMS normaliser's output (it runs first), as at parse time, and the
word vectors are those of the spaCy document SpacyNLP made of it. Besides the words, the
classifier sees which kinds of entity the message names (``entity_markers``: the annotated
ones in training, DIET's at parse time): "mission locale Créteil horaires" names a place,
which is what tells "where is it" from "what is it" (measured on the cross-validation folds
with the annotated entities, n-grams alone: nearest_service F1 0.83 -> 0.90, mission_locale
0.78 -> 0.80, macro 0.839 -> 0.843).
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
from rasa.nlu.constants import SPACY_DOCS
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

from nlu.components import intent_blend, vector_svc
from nlu.components.intent_blend import (
    blend,
    diet_distribution,
    intent_ranking,
    topic_ranking,
)
from nlu.components.source_digest import source_digest
from nlu.components.vector_svc import (
    ENTITY_SEPARATOR,
    MODEL_VERSION,
    NO_ENTITY,
    VectorSvc,
    mean_vector,
)

logger = logging.getLogger(__name__)

INTENT_RANKING = "intent_ranking"
RESPONSE_SELECTOR = "response_selector"
MODEL_FILE = "ngram_intent.pkl"
# Saved with the model: a model saved by an earlier version of this component (another
# classifier, other inputs) is not read; DIET answers alone until the next training.
INPUT_FORMAT = "text+entity-kinds+word-vector"
# Set by SpacyNLP on every message, in training and at parse time.
SPACY_DOC = SPACY_DOCS[TEXT]


def classifier_input(text: str, entities: List[Dict[str, Any]], markers: List[str]) -> str:
    """The text and the kinds of entity it names among ``markers`` ("place", "day")."""
    kinds = sorted({str(e.get("entity")) for e in entities} & set(markers))
    words = text.replace(ENTITY_SEPARATOR, " ")
    return f"{words}{ENTITY_SEPARATOR}{' '.join(kinds) or NO_ENTITY}"


def word_vector(message: Message) -> np.ndarray:
    """The unit-length mean vector of the message's words that have one (spaCy's document)."""
    doc = message.get(SPACY_DOC)
    if doc is None:
        # No SpacyNLP before this component: the n-grams alone (the vector part stays 0).
        return mean_vector([])
    return mean_vector([t.vector for t in doc if t.has_vector and not t.is_punct])


def read_saved(model_storage: ModelStorage, resource: Resource, filename: str) -> Optional[Any]:
    """A component's own pickle, written by its train() into the model archive; None when
    the file cannot be read or holds classes this code no longer has (AttributeError /
    ImportError). The caller checks the version of what it gets."""
    try:
        with model_storage.read_from(resource) as directory:
            return pickle.loads((directory / filename).read_bytes())  # noqa: S301
    except (
        ValueError,
        FileNotFoundError,
        AttributeError,
        ImportError,
        EOFError,
        pickle.UnpicklingError,
    ):
        return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class NgramIntentClassifier(GraphComponent):
    """Character and word n-grams and word vectors, a linear SVM, blended with DIET."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "linear_weight": 0.5,
            "C": 1.0,
            "retrieval_intent": "faq",
            "ranking_length": 10,
            "random_seed": 42,
            "entity_markers": [],
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: Optional[VectorSvc] = None,
        responses: Optional[Dict[Text, Any]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._classifier = classifier
        self._responses: Dict[Text, Any] = responses or {}
        self._markers = [str(m) for m in self._config["entity_markers"] or []]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # Rasa's training cache keys a component by its config only: without this, editing
        # the features or the blend would restore the classifier trained with the old code.
        return source_digest(__file__, intent_blend.__file__, vector_svc.__file__)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "NgramIntentClassifier":
        return cls(config, model_storage, resource)

    # --- training ---------------------------------------------------------------------
    def train(self, training_data: TrainingData) -> Resource:
        texts: List[str] = []
        vectors: List[np.ndarray] = []
        labels: List[str] = []
        for message in training_data.intent_examples:
            text = message.get(TEXT)
            label = message.get(INTENT_RESPONSE_KEY) or message.get(INTENT)
            if text and label:
                texts.append(classifier_input(text, message.get(ENTITIES) or [], self._markers))
                vectors.append(word_vector(message))
                labels.append(str(label))
        if len(set(labels)) < 2:
            logger.warning("NgramIntentClassifier: fewer than two intents, not trained.")
            return self._resource
        classifier = VectorSvc(float(self._config["C"]), int(self._config["random_seed"]))
        classifier.fit(texts, vectors, labels)
        self._classifier = classifier
        self._responses = dict(training_data.responses or {})
        with self._model_storage.write_to(self._resource) as directory:
            saved = {
                "classifier": classifier,
                "responses": self._responses,
                "input": INPUT_FORMAT,
            }
            (directory / MODEL_FILE).write_bytes(pickle.dumps(saved))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "NgramIntentClassifier":
        saved = read_saved(model_storage, resource, MODEL_FILE)
        if saved is None:
            # DIET alone rather than no model at all. A pickle that loads is checked for its
            # version below.
            logger.warning("NgramIntentClassifier: no usable trained model, DIET alone.")
            return cls(config, model_storage, resource)
        classifier = saved.get("classifier")
        if saved.get("input") != INPUT_FORMAT or getattr(classifier, "version", None) != (
            MODEL_VERSION
        ):
            logger.warning("NgramIntentClassifier: a model of another version, DIET alone.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, classifier, saved["responses"])

    # --- parsing ----------------------------------------------------------------------
    def process(self, messages: List[Message]) -> List[Message]:
        if self._classifier is None:
            return messages
        for message in messages:
            self._blend(message, self._classifier)
        return messages

    def _blend(self, message: Message, classifier: VectorSvc) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text:
            return
        retrieval_intent = str(self._config["retrieval_intent"])
        length = int(self._config["ranking_length"])
        entities = message.get(ENTITIES) or []
        read = classifier_input(text, entities, self._markers)
        probabilities = classifier.read([read], [word_vector(message)]).probabilities[0]
        linear = {
            str(label): float(p)
            for label, p in zip(classifier.classes_, probabilities, strict=True)
        }
        selector = (message.get(RESPONSE_SELECTOR) or {}).get(retrieval_intent) or {}
        diet = diet_distribution(
            message.get(INTENT_RANKING) or [], selector.get("ranking") or [], retrieval_intent
        )
        blended = blend(linear, diet, float(self._config["linear_weight"]))
        if not blended:
            return
        ranking = [
            {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score}
            for name, score in intent_ranking(blended, length)
        ]
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING, ranking, add_to_output=True)
        topics = topic_ranking(blended, retrieval_intent, length)
        if topics:
            best = topics[0][0]
            self._select_topic(message, retrieval_intent, topics, dict(blended)[best])

    def _select_topic(
        self, message: Message, retrieval_intent: str, topics: List[Any], confidence: float
    ) -> None:
        """The faq selection as the ResponseSelector shapes it, with the blended choice.

        ``confidence`` is the best topic's blended probability (``topics`` are renormalised
        over the topics): the same number the intent carries when the topic wins.
        """
        best, _ = topics[0]
        utter_action = f"utter_{best}"
        properties = dict(message.get(RESPONSE_SELECTOR) or {})
        previous = properties.get(retrieval_intent) or {}
        properties[retrieval_intent] = {
            **previous,
            "response": {
                "responses": self._responses.get(utter_action)
                or (previous.get("response") or {}).get("responses"),
                PREDICTED_CONFIDENCE_KEY: confidence,
                INTENT_RESPONSE_KEY: best,
                "utter_action": utter_action,
            },
            "ranking": [
                {PREDICTED_CONFIDENCE_KEY: score, INTENT_RESPONSE_KEY: label}
                for label, score in topics
            ],
        }
        message.set(RESPONSE_SELECTOR, properties, add_to_output=True)
