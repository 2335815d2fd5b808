"""The n-gram classifier's model on its own, in the engine's runtime (Python 3.10)."""

from __future__ import annotations

import json

import pytest

from tests.utils.engine_runtime import ENGINE_PYTHON, last_line_in_engine

SCRIPT = r"""
import json
import numpy as np
from nlu.components.vector_svc import VectorSvc, mean_vector

texts = {
    "greet": ["bonjour", "salut", "coucou", "bonsoir", "hello", "slt", "bjr", "yo", "y"],
    "faq/cfa_what": ["c'est quoi un cfa", "un cfa ça sert à quoi", "le cfa c'est quoi",
                     "cfa definition", "centre de formation d'apprentis c quoi",
                     "explique moi le cfa", "cfa kesako", "un cfa c'est quoi exactement"],
    "affirm": ["oui", "ouais", "ok", "d'accord", "carrément", "yes", "grave", "ok ça marche"],
}
x, v, y = [], [], []
# The same question in both classes but for its word vector, which is what tells them apart
# (two directions of the space standing for two meanings).
one, two = np.zeros(300), np.zeros(300)
one[0], two[1] = 1.0, 1.0
for label, examples in texts.items():
    for text in examples:
        x.append(text + "\x00none")
        v.append(one if label == "faq/cfa_what" else mean_vector([]))
        y.append(label)
# A label with one example (the calibration's inner folds need three of each).
x.append("bafa c'est quoi\x00none"); v.append(mean_vector([])); y.append("faq/bafa")
for i in range(8):
    x.append(f"je voudrais savoir {i}\x00none"); v.append(two); y.append("faq/mission_locale")
svc = VectorSvc().fit(x, v, y)
classes = list(svc.classes_)

def best(text, vector):
    reading = svc.read([text + "\x00none"], [vector])
    row = reading.probabilities[0]
    return classes[int(row.argmax())], float(row.max()), reading.knows_a_word[0]

out = {
    "greeting": best("bonjour", mean_vector([])),
    "gibberish": best("zorglub kwxq plimf", mean_vector([])),
    "keyboard": best("azerty qsdf", mean_vector([])),
    "one_letter": best("j t", mean_vector([])),
    "one_letter_alone": best("y !", mean_vector([])),
    "rare": best("bafa c'est quoi", mean_vector([])),
    "with_one": best("je voudrais savoir", one),
    "with_two": best("je voudrais savoir", two),
    "empty_vector": mean_vector([]).tolist(),
    "mean": [round(a, 3) for a in mean_vector([np.ones(300), np.ones(300)]).tolist()[:2]],
}
print(json.dumps(out))
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
def test_the_model_reads_words_vectors_and_leaves_unknown_words_unread() -> None:
    got = json.loads(last_line_in_engine(SCRIPT))
    assert got["greeting"][0] == "greet"
    assert got["greeting"][2] is True
    # A one-letter word seen in training is read when it is the whole message ("a+").
    assert got["one_letter_alone"][2] is True
    # No word of two letters or more seen in training: an even distribution (1 of 5 labels),
    # so the blend stays under the fallback threshold; never a "yes" to nothing.
    for case in ("gibberish", "keyboard", "one_letter"):
        _, confidence, knows = got[case]
        assert knows is False
        assert confidence == pytest.approx(0.2)
    # The same words, told apart by their meaning alone.
    assert got["with_one"][0] == "faq/cfa_what"
    assert got["with_two"][0] == "faq/mission_locale"
    assert got["rare"][0] == "faq/bafa"
    assert got["empty_vector"] == []
    assert got["mean"] == [pytest.approx(1 / 300**0.5, abs=1e-3)] * 2
