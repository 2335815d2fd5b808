"""The danger detector as a Rasa component, in the engine's own runtime (Python 3.10).

Trained on a few examples into a real model storage, loaded back, then run on messages as
the FallbackClassifier leaves them (nlu/config.yml's settings).
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
from rasa.nlu.classifiers.fallback_classifier import undo_fallback_prediction
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.danger_detector import DangerDetector

config = yaml.safe_load(open("nlu/config.yml"))
settings = {c["name"].split(".")[-1]: c for c in config["pipeline"]}["DangerDetector"]

examples = {
    "urgent_suicidal_thoughts": [
        "je veux mourir", "j'ai envie d'en finir", "je me scarifie les bras",
        "je me fais du mal le soir", "je veux plus vivre", "je pense au suicide",
        "je me coupe avec une lame", "j'ai pris des cachets pour plus me reveiller"],
    "urgent_no_shelter": [
        "je dors dehors ce soir", "on m'a mis a la porte je sais pas ou dormir",
        "je suis a la rue", "j'ai nulle part ou dormir", "je dors dans la gare"],
    "greet": ["bonjour", "salut", "coucou", "bonsoir", "hello", "slt"],
    "faq": ["c'est quoi un cfa", "un cfa ça sert à quoi", "c'est quoi la mission locale",
            "comment trouver un patron", "combien gagne un apprenti", "c'est quoi l'alternance",
            "comment faire un cv", "les horaires de la mission locale"],
}
messages = [Message(data={"text": t, "intent": label})
            for label, texts in examples.items() for t in texts]
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
resource = Resource("danger")
component = DangerDetector.create(settings, storage, resource, None)
component.train(TrainingData(training_examples=messages))
loaded = DangerDetector.load(settings, storage, resource, None)

out = []
for text, ranking in json.loads(sys.argv[1]):
    message = Message(data={"text": text, "entities": []})
    message.set("intent", dict(ranking[0]), add_to_output=True)
    message.set("intent_ranking", ranking, add_to_output=True)
    message.set("response_selector", {"faq": {"response": {
        "intent_response_key": "faq/cfa_what", "confidence": 0.8}}}, add_to_output=True)
    loaded.process([message])
    result = {"intent": message.get("intent"), "intent_ranking": message.get("intent_ranking")}
    out.append({"served": message.get("intent")["name"],
                "suspected": message.get("danger_suspected"),
                "undone": undo_fallback_prediction(result)["intent"]["name"]})
print(json.dumps(out))
"""

SURE_FAQ = [
    {"name": "faq", "confidence": 0.8},
    {"name": "greet", "confidence": 0.15},
    {"name": "urgent_suicidal_thoughts", "confidence": 0.03},
    {"name": "urgent_no_shelter", "confidence": 0.02},
]
# Asking for a person, typed: never turned into the question.
REQUEST_HUMAN = [{"name": "request_human", "confidence": 0.8}, *SURE_FAQ[1:]]
SURE_URGENT = [{"name": "urgent_suicidal_thoughts", "confidence": 0.9}, SURE_FAQ[0]]
FALLBACK = [{"name": "nlu_fallback", "confidence": 0.5}, *SURE_FAQ]
NO_URGENT_RANKED = SURE_FAQ[:2]

CASES = [
    # Read as a knowledge question; the words are a danger's: asked, the likeliest
    # urgent intent of the ranking behind the button, the topic kept for "no".
    ("je me scarifie le soir avec une lame", SURE_FAQ),
    # An everyday question stays answered.
    ("c'est quoi un cfa", SURE_FAQ),
    # Already urgent: nothing to add.
    ("je me scarifie le soir avec une lame", SURE_URGENT),
    # Already not understood: marked, not doubled.
    ("je me scarifie le soir avec une lame", FALLBACK),
    # No word it has seen: no sign of anything.
    ("zorglub kwxq plimf", SURE_FAQ),
    # No urgent intent in the ranking: nothing to put behind the question's button.
    ("je me scarifie le soir avec une lame", NO_URGENT_RANKED),
    ("je me scarifie le soir avec une lame, je veux parler a quelqu'un", REQUEST_HUMAN),
]


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_detector_asks_about_a_danger_the_classifiers_missed_and_only_then() -> None:
    got = json.loads(last_line_in_engine(SCRIPT, json.dumps(CASES)))
    missed, everyday, urgent, unclear, gibberish, nothing_ranked, person = got
    assert missed["served"] == "nlu_fallback"
    assert missed["suspected"]["name"] == "urgent_suicidal_thoughts"  # the ranking's likeliest
    assert missed["suspected"]["understood"] == "faq"
    assert missed["suspected"]["topic"] == "faq/cfa_what"
    assert missed["suspected"]["confidence"] >= 0.4
    # `rasa test nlu` undoes it as it undoes the FallbackClassifier: the scores stay the
    # classifiers'.
    assert missed["undone"] == "faq"
    assert (everyday["served"], everyday["suspected"]) == ("faq", None)
    assert (urgent["served"], urgent["suspected"]) == ("urgent_suicidal_thoughts", None)
    assert unclear["served"] == "nlu_fallback"
    assert unclear["suspected"]["understood"] == "nlu_fallback"
    assert unclear["suspected"]["topic"] is None
    assert unclear["undone"] == "faq", "one fallback at the top, not two"
    assert (gibberish["served"], gibberish["suspected"]) == ("faq", None)
    assert (nothing_ranked["served"], nothing_ranked["suspected"]) == ("faq", None)
    assert (person["served"], person["suspected"]) == ("request_human", None)


FINGERPRINT_SCRIPT = r"""
from nlu.components.danger_detector import DangerDetector
print(DangerDetector.fingerprint_addon({}))
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_detector_code_is_part_of_the_training_cache_key() -> None:
    sha = hashlib.sha256()
    for name in ("danger_detector.py", "ngram_intent.py", "vector_svc.py"):
        sha.update((ROOT / "nlu" / "components" / name).read_bytes())
    assert last_line_in_engine(FINGERPRINT_SCRIPT) == sha.hexdigest()


UNTRAINED_SCRIPT = r"""
import tempfile
from pathlib import Path

from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from nlu.components.danger_detector import DangerDetector

storage = LocalModelStorage(Path(tempfile.mkdtemp()))
loaded = DangerDetector.load({}, storage, Resource("danger"), None)
message = Message(data={"text": "je veux mourir", "entities": []})
message.set("intent", {"name": "faq", "confidence": 0.9}, add_to_output=True)
message.set("intent_ranking", [{"name": "faq", "confidence": 0.9}], add_to_output=True)
loaded.process([message])
print(message.get("intent")["name"])
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_a_missing_detector_leaves_the_message_as_it_was() -> None:
    assert last_line_in_engine(UNTRAINED_SCRIPT) == "faq"
