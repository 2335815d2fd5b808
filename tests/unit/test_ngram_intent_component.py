"""The n-gram classifier as a Rasa component, in the engine's own runtime (Python 3.10).

Trained on a few examples into a real model storage, loaded back, then run on messages
shaped as DIET and the ResponseSelector leave them, followed by Rasa's FallbackClassifier
as nlu/config.yml configures it.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

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
FAIRLY_SURE_GREET = [{"name": "greet", "confidence": 0.7}, {"name": "faq", "confidence": 0.3}]

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
    # No word it has seen: not read by the n-grams (an even share for each of its 4 labels),
    # and DIET's greeting at 0.7 alone does not carry it over the fallback threshold (the
    # person is asked to rephrase).
    ("zorglub kwxq plimf", FAIRLY_SURE_GREET, TOPICS_ML_FIRST, []),
]


SETTINGS = {
    c["name"].split(".")[-1]: c
    for c in yaml.safe_load((ROOT / "nlu" / "config.yml").read_text())["pipeline"]
}["NgramIntentClassifier"]


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_component_blends_trains_loads_and_selects_the_topic() -> None:
    got = json.loads(last_line_in_engine(SCRIPT, json.dumps(CASES)))
    agree, corrected, greeting, with_place, without_place, gibberish = got
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
    assert gibberish["served"] == "nlu_fallback"
    weight = SETTINGS["linear_weight"]
    assert gibberish["confidence"] == pytest.approx(weight / 4 + (1 - weight) * 0.7)
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
    for name in ("ngram_intent.py", "intent_blend.py", "vector_svc.py"):
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

from nlu.components.ngram_intent import MODEL_FILE, NgramIntentClassifier

# A classifier saved by an earlier version of the component (a logistic regression on text,
# no "input" key): not read; the message stays as DIET left it.
old = make_pipeline(TfidfVectorizer(), LogisticRegression())
old.fit(["salut", "c'est quoi un cfa"], ["greet", "faq/cfa_what"])
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
resource = Resource("ngram")
with storage.write_to(resource) as directory:
    (directory / MODEL_FILE).write_bytes(pickle.dumps({"classifier": old, "responses": {}}))
settings = {"linear_weight": 1.0, "entity_markers": ["place"]}
loaded = NgramIntentClassifier.load(settings, storage, resource, None)
message = Message(data={"text": "salut", "entities": []})
message.set("intent", {"name": "faq", "confidence": 1.0}, add_to_output=True)
message.set("intent_ranking", [{"name": "faq", "confidence": 1.0}], add_to_output=True)
loaded.process([message])
print(message.get("intent")["name"])
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_a_classifier_of_an_earlier_version_is_not_read() -> None:
    assert last_line_in_engine(LEGACY_SCRIPT) == "faq"


VECTOR_SCRIPT = r"""
import json
import numpy as np
import spacy
from rasa.shared.nlu.training_data.message import Message
from nlu.components.ngram_intent import SPACY_DOC, word_vector

nlp = spacy.load("fr_core_news_md")
out = {}
for text in ("mon salaire", "?!", "salaire"):
    message = Message(data={"text": text})
    message.set(SPACY_DOC, nlp(text))
    out[text] = float(np.linalg.norm(word_vector(message)))
out["no document"] = float(np.linalg.norm(word_vector(Message(data={"text": "salaire"}))))
print(json.dumps(out))
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_word_vector_is_read_from_spacy_s_document() -> None:
    # The document SpacyNLP leaves on the message, under the key Rasa gives it.
    norms = json.loads(last_line_in_engine(VECTOR_SCRIPT))
    assert norms["mon salaire"] == pytest.approx(1.0, abs=1e-5)
    assert norms["salaire"] == pytest.approx(1.0, abs=1e-5)
    assert norms["?!"] == 0.0
    assert norms["no document"] == 0.0
