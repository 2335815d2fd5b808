"""Rasa component: a linear n-gram classifier blended with DIET and the ResponseSelector.

Runs after the ResponseSelector and before the danger lexicon and the FallbackClassifier
(nlu/config.yml). It trains a logistic regression on TF-IDF character n-grams (2 to 5,
within words) and word uni- and bigrams, accents and case folded, over full labels
("greet", "faq/cfa_what"), then replaces the message's intent, intent ranking and faq
selection with the weighted mean of its probabilities and DIET's (``linear_weight``).
Entities stay DIET's.

The training text is the SMS normaliser's output (it runs first), as at parse time. Besides
the words, the classifier sees which kinds of entity the message names
(``entity_markers``: the annotated ones in training, DIET's at parse time): "mission locale
Créteil horaires" names a place, which is what tells "where is it" from "what is it"
(measured on the cross-validation folds with the annotated entities, n-grams alone:
nearest_service F1 0.83 -> 0.90, mission_locale 0.78 -> 0.80, macro 0.839 -> 0.843).
"""

from __future__ import annotations

import logging
import pickle
import unicodedata
from typing import Any, Dict, List, Optional, Text

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
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union

from nlu.components import intent_blend
from nlu.components.intent_blend import (
    blend,
    diet_distribution,
    intent_ranking,
    topic_ranking,
)
from nlu.components.source_digest import source_digest

logger = logging.getLogger(__name__)

INTENT_RANKING = "intent_ranking"
RESPONSE_SELECTOR = "response_selector"
MODEL_FILE = "ngram_intent.pkl"
# Single-letter words count ("j", "t", "y"): SMS French is full of them.
WORD_PATTERN = r"(?u)\b\w+\b"
KIND_PATTERN = r"\S+"
# The classifier's input is one string: the text, this separator, the entity kinds named.
ENTITY_SEPARATOR = "\x00"
NO_ENTITY = "none"
# Saved with the model: a model saved before the entity kinds were read takes the text alone.
INPUT_FORMAT = "text+entity-kinds"


def fold(text: str) -> str:
    """Lowercase without accents: "Mécanique" and "mecanique" are the same word here."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def classifier_input(text: str, entities: List[Dict[str, Any]], markers: List[str]) -> str:
    """The text and the kinds of entity it names among ``markers`` ("place", "day")."""
    kinds = sorted({str(e.get("entity")) for e in entities} & set(markers))
    words = text.replace(ENTITY_SEPARATOR, " ")
    return f"{words}{ENTITY_SEPARATOR}{' '.join(kinds) or NO_ENTITY}"


def text_part(value: str) -> str:
    return fold(value.split(ENTITY_SEPARATOR, 1)[0])


def entity_part(value: str) -> str:
    _, _, kinds = value.partition(ENTITY_SEPARATOR)
    return kinds or NO_ENTITY


def build_classifier(c: float, random_state: int) -> Pipeline:
    features = make_union(
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=text_part
        ),
        TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            preprocessor=text_part,
            token_pattern=WORD_PATTERN,
        ),
        # Never empty ("none" when no entity), so the vocabulary always exists.
        CountVectorizer(preprocessor=entity_part, binary=True, token_pattern=KIND_PATTERN),
    )
    classifier = LogisticRegression(
        C=c, max_iter=3000, class_weight="balanced", random_state=random_state
    )
    return make_pipeline(features, classifier)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class NgramIntentClassifier(GraphComponent):
    """Character and word n-grams, logistic regression, blended with DIET."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "linear_weight": 0.5,
            "C": 20.0,
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
        classifier: Optional[Pipeline] = None,
        responses: Optional[Dict[Text, Any]] = None,
        reads_entities: bool = True,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._classifier = classifier
        self._responses: Dict[Text, Any] = responses or {}
        self._reads_entities = reads_entities
        self._markers = [str(m) for m in self._config["entity_markers"] or []]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # Rasa's training cache keys a component by its config only: without this, editing
        # the features or the blend would restore the classifier trained with the old code.
        return source_digest(__file__, intent_blend.__file__)

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
        labels: List[str] = []
        for message in training_data.intent_examples:
            text = message.get(TEXT)
            label = message.get(INTENT_RESPONSE_KEY) or message.get(INTENT)
            if text and label:
                texts.append(classifier_input(text, message.get(ENTITIES) or [], self._markers))
                labels.append(str(label))
        if len(set(labels)) < 2:
            logger.warning("NgramIntentClassifier: fewer than two intents, not trained.")
            return self._resource
        classifier = build_classifier(float(self._config["C"]), int(self._config["random_seed"]))
        classifier.fit(texts, labels)
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
        try:
            with model_storage.read_from(resource) as directory:
                # Our own file, written by train() into the model archive.
                saved = pickle.loads((directory / MODEL_FILE).read_bytes())  # noqa: S301
        except (ValueError, FileNotFoundError, AttributeError, ImportError):
            # AttributeError / ImportError: a classifier pickled by another version of this
            # module (a rollback): DIET alone rather than no model at all.
            logger.warning("NgramIntentClassifier: no usable trained model, DIET alone.")
            return cls(config, model_storage, resource)
        return cls(
            config,
            model_storage,
            resource,
            saved["classifier"],
            saved["responses"],
            reads_entities=saved.get("input") == INPUT_FORMAT,
        )

    # --- parsing ----------------------------------------------------------------------
    def process(self, messages: List[Message]) -> List[Message]:
        if self._classifier is None:
            return messages
        for message in messages:
            self._blend(message, self._classifier)
        return messages

    def _blend(self, message: Message, classifier: Pipeline) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text:
            return
        retrieval_intent = str(self._config["retrieval_intent"])
        length = int(self._config["ranking_length"])
        entities = message.get(ENTITIES) or []
        read = classifier_input(text, entities, self._markers) if self._reads_entities else text
        probabilities = classifier.predict_proba([read])[0]
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
