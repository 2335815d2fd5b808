"""The n-gram classifier as a Rasa component, in the engine's own runtime (Python 3.10).

Trained on a few examples into a real model storage, loaded back, then run on messages
shaped as DIET and the ResponseSelector leave them, followed by Rasa's FallbackClassifier
as nlu/config.yml configures it.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.utils.engine_runtime import ENGINE_PYTHON, ROOT, last_line_in_engine

SCRIPT = r"""
import json, sys, tempfile
from pathlib import Path

import yaml
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.ngram_intent import NgramIntentClassifier

config = yaml.safe_load(open("nlu/config.yml"))
pipeline = {c["name"].split(".")[-1]: c for c in config["pipeline"]}
settings = pipeline["NgramIntentClassifier"]

examples = {
    "greet": ["bonjour", "salut", "coucou", "bonsoir", "hello", "slt"],
    "faq/cfa_what": ["c'est quoi un cfa", "un cfa ça sert à quoi", "le cfa c'est quoi",
                     "cfa definition", "centre de formation d'apprentis c quoi"],
    "faq/mission_locale": ["c'est quoi la mission locale", "la mission locale ça sert à quoi",
                           "mission locale c quoi", "à quoi sert la mission locale"],
}
# Where one is: the same words, and a place (annotated as in the training data).
placed = [("mission locale Créteil", "Créteil"), ("la mission locale de Lille", "Lille"),
          ("mission locale 94000", "94000"), ("mission locale à Lyon horaires", "Lyon"),
          ("adresse mission locale Rennes", "Rennes"), ("mission locale Nantes", "Nantes")]
messages = []
for label, texts in examples.items():
    for text in texts:
        data = {"text": text, "intent": label.split("/")[0]}
        if "/" in label:
            data["intent_response_key"] = label
        messages.append(Message(data=data))
for text, place in placed:
    start = text.index(place)
    entity = {"entity": "place", "start": start, "end": start + len(place), "value": place}
    messages.append(Message(data={
        "text": text, "intent": "faq", "intent_response_key": "faq/nearest_service",
        "entities": [entity]}))
responses = {"utter_faq/cfa_what": [{"text": "Un CFA forme les apprentis."}],
             "utter_faq/mission_locale": [{"text": "La Mission locale accompagne les 16-25 ans."}],
             "utter_faq/nearest_service": [{"text": "La plus proche de chez toi :"}]}
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
resource = Resource("ngram")
component = NgramIntentClassifier.create(settings, storage, resource, None)
component.train(TrainingData(training_examples=messages, responses=responses))
loaded = NgramIntentClassifier.load(settings, storage, resource, None)
fallback = FallbackClassifier({**FallbackClassifier.get_default_config(),
                               **pipeline["FallbackClassifier"]})

out = []
for text, diet_intents, diet_topics, entities in json.loads(sys.argv[1]):
    message = Message(data={"text": text, "entities": entities})
    message.set("intent", dict(diet_intents[0]), add_to_output=True)
    message.set("intent_ranking", diet_intents, add_to_output=True)
    message.set("response_selector", {"all_retrieval_intents": ["faq"], "faq": {
        "response": {"intent_response_key": diet_topics[0]["intent_response_key"],
                     "confidence": diet_topics[0]["confidence"], "responses": None,
                     "utter_action": "utter_" + diet_topics[0]["intent_response_key"]},
        "ranking": diet_topics}}, add_to_output=True)
    loaded.process([message])
    blended = message.get("intent")
    fallback.process([message])
    selection = message.get("response_selector")["faq"]
    response = selection["response"]
    out.append({"blended": blended["name"], "confidence": blended["confidence"],
                "served": message.get("intent")["name"],
                "topic": response["intent_response_key"], "utter": response["utter_action"],
                "answer": (response["responses"] or [{}])[0].get("text"),
                "ranking_total": sum(r["confidence"] for r in selection["ranking"])})
print(json.dumps(out))
"""

SURE_FAQ = [{"name": "faq", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}]
TOPICS_CFA_FIRST = [
    {"intent_response_key": "faq/cfa_what", "confidence": 0.6},
    {"intent_response_key": "faq/mission_locale", "confidence": 0.4},
]
TOPICS_ML_FIRST = list(reversed(TOPICS_CFA_FIRST))
SURE_GREET = [{"name": "greet", "confidence": 0.95}, {"name": "faq", "confidence": 0.05}]

PANTIN = [{"entity": "place", "start": 15, "end": 21, "value": "Pantin"}]
TOPICS_EVEN = [
    {"intent_response_key": "faq/mission_locale", "confidence": 0.5},
    {"intent_response_key": "faq/nearest_service", "confidence": 0.5},
]

CASES = [
    # Both readings agree.
    ("c'est quoi un cfa", SURE_FAQ, TOPICS_CFA_FIRST, []),
    # DIET hesitates between two topics the wrong way round; the n-grams know the words.
    ("la mission locale c'est quoi", SURE_FAQ, TOPICS_CFA_FIRST, []),
    # A greeting DIET is sure of stays a greeting.
    ("bonjour", SURE_GREET, TOPICS_ML_FIRST, []),
    # The same unseen words with and without a place found in them: where, or what.
    ("mission locale Pantin", SURE_FAQ, TOPICS_EVEN, PANTIN),
    ("mission locale Pantin", SURE_FAQ, TOPICS_EVEN, []),
]


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_component_blends_trains_loads_and_selects_the_topic() -> None:
    got = json.loads(last_line_in_engine(SCRIPT, json.dumps(CASES)))
    agree, corrected, greeting, with_place, without_place = got
    assert agree["served"] == "faq"
    assert agree["topic"] == "faq/cfa_what"
    assert agree["utter"] == "utter_faq/cfa_what"
    assert agree["answer"] == "Un CFA forme les apprentis."
    assert corrected["blended"] == "faq"
    assert corrected["topic"] == "faq/mission_locale"
    assert corrected["answer"] == "La Mission locale accompagne les 16-25 ans."
    assert greeting["served"] == "greet"
    assert with_place["topic"] == "faq/nearest_service"
    assert without_place["topic"] == "faq/mission_locale"
    for case in got:
        assert case["ranking_total"] == pytest.approx(1.0)


FINGERPRINT_SCRIPT = r"""
from nlu.components.ngram_intent import NgramIntentClassifier
print(NgramIntentClassifier.fingerprint_addon({}))
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_classifier_code_is_part_of_the_training_cache_key() -> None:
    # Rasa reuses a cached component when its fingerprint is unchanged: editing the features
    # or the blend must change it.
    sha = hashlib.sha256()
    for name in ("ngram_intent.py", "intent_blend.py"):
        sha.update((ROOT / "nlu" / "components" / name).read_bytes())
    assert last_line_in_engine(FINGERPRINT_SCRIPT) == sha.hexdigest()


LEGACY_SCRIPT = r"""
import pickle, tempfile
from pathlib import Path

from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from nlu.components.ngram_intent import MODEL_FILE, NgramIntentClassifier, fold

# A classifier saved before the entity kinds were read: text in, no "input" key.
# Each whole message is one token: a message it was not trained on (such as "salut" with an
# entity part) gets the majority label, faq/cfa_what; "salut" itself is a greeting.
whole = TfidfVectorizer(analyzer="word", token_pattern=r".+", preprocessor=fold)
old = make_pipeline(whole, LogisticRegression(C=100.0))
old.fit(["salut", "c'est quoi un cfa", "un cfa ça sert à quoi", "cfa définition"],
        ["greet", "faq/cfa_what", "faq/cfa_what", "faq/cfa_what"])
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
resource = Resource("ngram")
with storage.write_to(resource) as directory:
    (directory / MODEL_FILE).write_bytes(pickle.dumps({"classifier": old, "responses": {}}))
settings = {"linear_weight": 1.0, "entity_markers": ["place"]}
loaded = NgramIntentClassifier.load(settings, storage, resource, None)
message = Message(data={"text": "salut", "entities": [{"entity": "place"}]})
message.set("intent_ranking", [{"name": "faq", "confidence": 1.0}], add_to_output=True)
loaded.process([message])
print(message.get("intent")["name"])
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_a_classifier_saved_before_the_entity_kinds_reads_the_text_alone() -> None:
    # Its vectorizers would read the entity part as text: it must be given the text alone.
    assert last_line_in_engine(LEGACY_SCRIPT) == "greet"
