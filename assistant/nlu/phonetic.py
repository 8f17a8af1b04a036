"""A coarse sound key for words, so a misheard word can be mapped to the word we meant.

A speech recogniser only outputs words from its own lexicon, so a word it mishears comes out
as another real word that *sounds* alike ("stop" heard as "step", "should" as "child",
"what" as "wood"), and spelling similarity alone misses most of these. Two words with the
same key sound alike to a recogniser: consonant sounds in order, with voiced and voiceless
pairs merged (b/p, d/t, g/k, v/f, z/s: breathless, clipped speech blurs them), vowels
dropped except a leading one, and doubled sounds collapsed. It is a small metaphone-like
code, not a dictionary: the caller decides which keyed words are close enough.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from functools import lru_cache

_RULES: tuple[tuple[str, str], ...] = (
    (r"^[kgp](?=n)|^w(?=r)", ""),
    (r"wh", "w"),
    (r"tch", "X"),
    (r"sch", "sk"),
    (r"ch|sh", "X"),
    (r"ph", "f"),
    (r"th", "0"),
    (r"ck", "k"),
    (r"dg", "j"),
    (r"gh", ""),
    (r"c(?=[eiy])", "s"),
    (r"g(?=[eiy])", "j"),
    (r"tion|sion", "Xn"),
    (r"q", "k"),
    (r"x", "ks"),
)
"""Spelling -> sound rewrites, applied in order (letters stand for sounds afterwards)."""

_MERGE = str.maketrans({"b": "p", "d": "t", "g": "k", "v": "f", "z": "s", "c": "k", "j": "X"})
"""Voiced and voiceless pairs (and c/k, j/ch) become one sound."""

_VOWELS = re.compile(r"[aeiouy]")


@lru_cache(maxsize=8192)
def sound_key(word: str) -> str:
    """The word's sound key: "stop" and "step" -> "stp"; "should" and "child" -> "xlt".

    A leading vowel is kept as a marker ("a"), so "als" and "else" share a key but "ice"
    and "size" do not. Letters outside a-z are ignored; "" when nothing is left.
    """
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return ""
    for pattern, replacement in _RULES:
        w = re.sub(pattern, replacement, w)
    if not w:
        return ""  # "gh"
    lead = "a" if w[0] in "aeiouy" else ""
    # w and h only sound before a vowel ("what", "how"; not "knowledge" or "yeah").
    w = re.sub(r"[wh](?![aeiouy])", "", w)
    body = _VOWELS.sub("", w[1:] if lead else w).translate(_MERGE)
    collapsed = re.sub(r"(.)\1+", r"\1", body)
    return (lead + collapsed).lower()
