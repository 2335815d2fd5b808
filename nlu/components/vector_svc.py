"""The n-gram classifier's model: n-grams and the mean word vector, a calibrated linear SVM.

No Rasa import: trained and read on strings (``classifier_input``: the text and the entity
kinds it names) and dense vectors (the mean spaCy word vector of the text), so it is tested
on its own in the engine runtime.

Why a linear SVM with the word vectors, against the logistic regression on n-grams alone it
replaces (the same three folds as `make nlu-eval`, n-gram side alone, no DIET and no danger
lexicon, 11,714 examples, 2026-12-07): macro-F1 over intents and topics 0.847 -> 0.861, any
urgent intent read for an urgent message 0.834 -> 0.855, everyday messages read as urgent
175 -> 163 of 10,688, and a fit in a minute instead of four. The word vectors carry words
never seen in training ("salaire" near "paie"). Probabilities come from a sigmoid
calibration of one SVM's scores over three shuffled inner folds, as the blend and the
fallback threshold need them (three calibrated SVMs averaged: 0.851, 178 false urgents, a
model three times the size).

A message with no word of two letters or more seen in training ("zorglub kwxq", "azerty
qsdf"; a one-word message counts its word: "a+" is a goodbye) gets an even distribution:
the SVM's margins are then only the bias and a few character n-grams, and its calibrated
probabilities were sure of readings with nothing behind them (a "yes" to whatever was just
asked). Even, the blend stays below the fallback threshold whatever DIET reads (its share
is 0.25 at the weight of nlu/config.yml), and the person is asked to rephrase.
"""

from __future__ import annotations

import unicodedata
from typing import List, NamedTuple, Sequence

import numpy as np
import scipy.sparse as sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, make_union
from sklearn.svm import LinearSVC

# Single-letter words count as features ("j", "t", "y"): SMS French is full of them.
WORD_PATTERN = r"(?u)\b\w+\b"
KIND_PATTERN = r"\S+"
# The classifier's input is one string: the text, this separator, the entity kinds named.
ENTITY_SEPARATOR = "\x00"
NO_ENTITY = "none"
# Shorter known words do not make a message read ("j", "t", "y" are in every message),
# unless the message is that one word ("a+": goodbye).
KNOWN_WORD_MIN_LENGTH = 2
CALIBRATION_FOLDS = 3
# Saved with the model and checked on loading: raise it whenever what is pickled changes.
MODEL_VERSION = 2


def fold(text: str) -> str:
    """Lowercase without accents: "Mécanique" and "mecanique" are the same word here."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def text_part(value: str) -> str:
    return fold(value.split(ENTITY_SEPARATOR, 1)[0])


def entity_part(value: str) -> str:
    _, _, kinds = value.partition(ENTITY_SEPARATOR)
    return kinds or NO_ENTITY


def mean_vector(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The unit-length mean of word vectors (an empty vector when there are none: read as
    zeros of the model's size)."""
    if not vectors:
        return np.zeros(0, dtype=np.float32)
    mean = np.mean(np.asarray(vectors, dtype=np.float32), axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else mean


class Reading(NamedTuple):
    """What the model reads in each message: label probabilities, whether a word is known."""

    probabilities: np.ndarray
    knows_a_word: List[bool]


class VectorSvc:
    """Character and word n-grams, entity kinds and the mean word vector; a linear SVM."""

    def __init__(self, c: float = 1.0, random_state: int = 42) -> None:
        self._features: FeatureUnion = make_union(
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
        # One SVM on all the data, its scores calibrated on three shuffled inner folds (the
        # examples come in file order, variants written together): the default ensemble
        # would pickle three SVMs of 80 x ~90,000 weights each.
        self._model = CalibratedClassifierCV(
            LinearSVC(C=c, class_weight="balanced", random_state=random_state),
            cv=StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=random_state),
            method="sigmoid",
            ensemble=False,
        )
        self._known_words: frozenset[str] = frozenset()
        self._vector_size = 0
        self.version = MODEL_VERSION

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self._model.classes_)

    def _matrix(
        self, texts: Sequence[str], vectors: Sequence[np.ndarray], fit: bool
    ) -> sparse.csr_matrix:
        ngrams = self._features.fit_transform(texts) if fit else self._features.transform(texts)
        if fit:
            self._vector_size = max((len(v) for v in vectors), default=0)
        dense = np.zeros((len(texts), self._vector_size), dtype=np.float32)
        for row, vector in enumerate(vectors):
            if len(vector) == self._vector_size:
                dense[row] = vector
            elif len(vector):
                raise ValueError(
                    f"a word vector of {len(vector)} values for a model of {self._vector_size}"
                )
        return sparse.hstack([ngrams, sparse.csr_matrix(dense)]).tocsr()

    def fit(
        self, texts: Sequence[str], vectors: Sequence[np.ndarray], labels: Sequence[str]
    ) -> "VectorSvc":
        # An array, not a list: scikit-learn 1.1 counts each class's examples with
        # ``y == label``, which a list answers with one False (so "fewer than 3").
        targets = np.asarray(labels)
        matrix = self._matrix(texts, vectors, fit=True)
        # The calibration's inner folds need each label three times: a rarer label (never in
        # the real data, which has 25 or more of each) is repeated, and read over-confidently.
        names, counts = np.unique(targets, return_counts=True)
        scarce = set(names[counts < CALIBRATION_FOLDS])
        rare = [i for i, label in enumerate(targets) if label in scarce]
        if rare:
            again = rare * CALIBRATION_FOLDS
            matrix = sparse.vstack([matrix, matrix[again]]).tocsr()
            targets = np.concatenate([targets, targets[again]])
        self._model.fit(matrix, targets)
        words = self._features.transformer_list[1][1].vocabulary_
        self._known_words = frozenset(w for w in words if " " not in w)
        return self

    def _knows_a_word(self, words: Sequence[str]) -> bool:
        """A word seen in training: of two letters or more, or the message's only word."""
        unigrams = [word for word in words if " " not in word]
        return any(
            word in self._known_words and (len(word) >= KNOWN_WORD_MIN_LENGTH or len(unigrams) == 1)
            for word in unigrams
        )

    def read(self, texts: Sequence[str], vectors: Sequence[np.ndarray]) -> Reading:
        probabilities = self._model.predict_proba(self._matrix(texts, vectors, fit=False))
        # The word vectorizer's own tokens (folded, uni- and bigrams), as the model saw them.
        analyse = self._features.transformer_list[1][1].build_analyzer()
        known = [self._knows_a_word(analyse(text)) for text in texts]
        even = np.full(probabilities.shape[1], 1.0 / probabilities.shape[1])
        for row, knows in enumerate(known):
            if not knows:
                probabilities[row] = even
        return Reading(probabilities, known)
