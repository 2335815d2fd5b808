"""The danger lexicon as a Rasa component, in the engine's own runtime (Python 3.10).

Run in a subprocess of ``.venv-rasa``: the component, then Rasa's FallbackClassifier as the
pipeline has them (nlu/config.yml), on messages shaped as DIET leaves them.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.utils.engine_runtime import ENGINE_PYTHON, ROOT, last_line_in_engine

SCRIPT = r"""
import json, sys
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message
from nlu.components.danger_lexicon import DangerLexicon

import yaml

# The two components as nlu/config.yml configures them.
config = yaml.safe_load(open("nlu/config.yml"))
pipeline = {c["name"].split(".")[-1]: c for c in config["pipeline"]}
lexicon = DangerLexicon(pipeline["DangerLexicon"])
defaults = FallbackClassifier.get_default_config()
fallback = FallbackClassifier({**defaults, **pipeline["FallbackClassifier"]})
out = []
for text, top, confidence, second in json.loads(sys.argv[1]):
    ranking = [
        {"name": top, "confidence": confidence},
        {"name": second, "confidence": 1 - confidence},
    ]
    message = Message(data={"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking})
    lexicon.process([message])
    fallback.process([message])
    intent = message.get("intent")
    total = sum(r["confidence"] for r in message.get("intent_ranking"))
    out.append([intent["name"], round(intent["confidence"], 3), round(total, 3)])
print(json.dumps(out))
"""

CASES = [
    # A plain statement overrides even a confident classifier.
    ("bonjour je cherche un cap, de toute façon je veux mourir", "faq", 0.99, "greet"),
    # The classifier's own urgent choice stands when the words say the same danger...
    ("mon beau-père me frappe", "urgent_violence", 0.95, "faq"),
    # ...but a danger named by the words gets its own numbers, however sure the classifier
    # was: a weaker sign when nothing is plainly said ("starving" with "broke")...
    ("I'm starving and broke", "urgent_no_shelter", 0.9, "faq"),
    # ...but not when they also name the danger the classifier chose (order alone would
    # have picked suicide for "faut pas me chercher").
    ("j'ai faim, plus un rond, faut pas me chercher", "urgent_no_food_money", 0.95, "faq"),
    # ...or a plain statement.
    ("I want to go to sleep and never wake up", "urgent_no_shelter", 0.93, "faq"),
    ("my dad threw me out last night", "urgent_violence", 0.9, "faq"),
    # A weaker sign counts only when the classifier is unsure...
    ("j'ai faim", "thank", 0.5, "greet"),
    # ...not when it is sure of something else.
    ("j'ai faim", "out_of_scope", 0.95, "greet"),
    # The classifier read a danger but hesitates: the words make it sure.
    ("j'ai pris toute la boîte de cachets", "urgent_suicidal_thoughts", 0.35, "faq"),
    # A hesitant urgent reading with no danger in the words is left to the fallback.
    ("bonjour tout le monde", "urgent_suicidal_thoughts", 0.4, "greet"),
    # Nothing said: nothing changed.
    ("c'est quoi l'alternance", "faq", 0.97, "greet"),
]


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_component_reads_dangers_and_the_fallback_does_not_undo_it() -> None:
    got = json.loads(last_line_in_engine(SCRIPT, json.dumps(CASES)))
    assert got[0] == ["urgent_suicidal_thoughts", 0.9, 1.0]
    assert got[1] == ["urgent_violence", 0.95, 1.0]
    assert got[2] == ["urgent_no_food_money", 0.9, 1.0]
    assert got[3] == ["urgent_no_food_money", 0.95, 1.0]
    assert got[4] == ["urgent_suicidal_thoughts", 0.9, 1.0]
    assert got[5] == ["urgent_no_shelter", 0.9, 1.0]
    assert got[6] == ["urgent_no_food_money", 0.9, 1.0]
    assert got[7][0] == "out_of_scope"
    assert got[8] == ["urgent_suicidal_thoughts", 0.9, 1.0]
    assert got[9][0] == "nlu_fallback"
    assert got[10][0] == "faq"


FINGERPRINT_SCRIPT = r"""
from nlu.components.sms_normaliser import SmsNormaliser
print(SmsNormaliser.fingerprint_addon({}))
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_normaliser_rules_are_part_of_the_training_cache_key() -> None:
    # Rasa reuses a cached component when its fingerprint is unchanged; editing the SMS
    # spelling rules must change it, or a retraining would keep the old normalised text.
    rules = (ROOT / "nlu" / "components" / "normalise.py").read_bytes()
    assert last_line_in_engine(FINGERPRINT_SCRIPT) == hashlib.sha256(rules).hexdigest()
