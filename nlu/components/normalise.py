"""French SMS spelling to plain French, with offsets kept for entity annotations.

Pure Python with no Rasa import, so it is unit-tested in either runtime.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Dict, List, Tuple

# Whole words only, compared lowercased. Kept short and unambiguous on purpose: a wrong
# expansion costs more than a missed one (character n-grams catch the rest).
SMS_WORDS: Dict[str, str] = {
    "jsuis": "je suis",
    "chui": "je suis",
    "chuis": "je suis",
    "jsui": "je suis",
    "jss": "je suis",
    "suis-je": "suis-je",
    "jsp": "je sais pas",
    "jsais": "je sais",
    "chai": "je sais",
    "jpeux": "je peux",
    "jveux": "je veux",
    "jvx": "je veux",
    "jvais": "je vais",
    "jai": "j'ai",
    "g": "j'ai",
    "jcrois": "je crois",
    "jpense": "je pense",
    "jtrouve": "je trouve",
    "jfais": "je fais",
    "c": "c'est",
    "cest": "c'est",
    "ct": "c'était",
    "sa": "ça",
    "koi": "quoi",
    "kwa": "quoi",
    "koa": "quoi",
    "quoa": "quoi",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pkoi": "pourquoi",
    "pourkoi": "pourquoi",
    "koment": "comment",
    "koman": "comment",
    "cmt": "comment",
    "cmmt": "comment",
    "kan": "quand",
    "qd": "quand",
    "kand": "quand",
    "ki": "qui",
    "ke": "que",
    "kel": "quel",
    "kelle": "quelle",
    "keske": "qu'est-ce que",
    "kesk": "qu'est-ce que",
    "stp": "s'il te plaît",
    "svp": "s'il vous plaît",
    "tkt": "t'inquiète",
    "bcp": "beaucoup",
    "bcq": "beaucoup",
    "slt": "salut",
    "bjr": "bonjour",
    "bsr": "bonsoir",
    "cc": "coucou",
    "mtn": "maintenant",
    "mnt": "maintenant",
    "rdv": "rendez-vous",
    "dc": "donc",
    "ds": "dans",
    "pr": "pour",
    "pa": "pas",
    "ps": "pas",
    "tt": "tout",
    "tjr": "toujours",
    "tjrs": "toujours",
    "vrmt": "vraiment",
    "vrm": "vraiment",
    "ya": "il y a",
    "yа": "il y a",
    "fo": "faut",
    "fau": "faut",
    "oqp": "occupé",
    "dsl": "désolé",
    "mrc": "merci",
    "mci": "merci",
    "pq?": "pourquoi",
    "msg": "message",
    "qqn": "quelqu'un",
    "qq1": "quelqu'un",
    "qqch": "quelque chose",
    "qqc": "quelque chose",
    "bi1": "bien",
    "b1": "bien",
    "rien2": "rien",
    "2m1": "demain",
    "dem1": "demain",
    "ajd": "aujourd'hui",
    "auj": "aujourd'hui",
    "jamè": "jamais",
    "jamé": "jamais",
    "tro": "trop",
    "tré": "très",
    "pb": "problème",
    "pbm": "problème",
    "taf": "travail",
    "boulo": "boulot",
    "apprentisage": "apprentissage",
    "aprentissage": "apprentissage",
    "alternence": "alternance",
    "altérnance": "alternance",
    "ml": "mission locale",
    "nn": "non",
    "noon": "non",
    "ouai": "ouais",
    "wi": "oui",
    "ui": "oui",
}

WORD = re.compile(r"[\w'?-]+", re.UNICODE)
# Three or more of the same letter ("merciiii", "nonnnn") become two.
REPEATS = re.compile(r"(\w)\1{2,}", re.UNICODE)

Span = Tuple[int, int]


def normalise(text: str) -> Tuple[str, List[Tuple[int, int]]]:
    """Return the normalised text and a map of (original offset, shift) breakpoints."""
    pieces: List[str] = []
    shifts: List[Tuple[int, int]] = []  # (original offset where a change ends, total shift)
    cursor = 0
    total = 0
    for match in WORD.finditer(text):
        word = match.group(0)
        key = word.lower().rstrip("?")
        replacement = SMS_WORDS.get(key)
        if replacement is None:
            squeezed = REPEATS.sub(r"\1\1", word)
            if squeezed == word:
                continue
            replacement = squeezed
        elif word.endswith("?") and not replacement.endswith("?"):
            replacement += "?"
        pieces.append(text[cursor : match.start()])
        pieces.append(replacement)
        cursor = match.end()
        total += len(replacement) - len(word)
        shifts.append((match.end(), total))
    pieces.append(text[cursor:])
    return "".join(pieces), shifts


def shift_offset(offset: int, shifts: List[Tuple[int, int]]) -> int:
    """Map an offset of the original text to the normalised text."""
    index = bisect_right([end for end, _ in shifts], offset) - 1
    return offset + (shifts[index][1] if index >= 0 else 0)
