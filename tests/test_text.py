"""Normalisation and stemming (assistant.nlu.text): what every later stage compares."""

from __future__ import annotations

import random
import re
import time

import pytest

from assistant.nlu.text import MAX_TOKENS, clean, stem, tokens, words

TOKEN = re.compile(r"^[^\W_]+$")
"""A token is a run of Unicode letters and digits: never empty, no spaces or punctuation."""


# -- contractions and possessives ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what's causing it", ["what", "is", "causing", "it"]),
        ("i can't sleep", ["i", "can", "not", "sleep"]),
        ("i cannot sleep", ["i", "can", "not", "sleep"]),
        ("it doesn't stop", ["it", "does", "not", "stop"]),
        ("it won't stop", ["it", "will", "not", "stop"]),
        ("i'm tired", ["i", "am", "tired"]),
        ("i've been running", ["i", "have", "been", "running"]),
        ("they're twitching", ["they", "are", "twitching"]),
        ("i'd like to know", ["i", "would", "like", "to", "know"]),
        ("gonna stop", ["going", "to", "stop"]),
        ("haven't slept", ["have", "not", "slept"]),
    ],
)
def test_contractions_expand(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize("apostrophe", ["'", "\u2019", "\u2018", "`"])
def test_every_apostrophe_style_is_the_same(apostrophe: str) -> None:
    assert words(f"it{apostrophe}s my eyelid") == ["it", "is", "my", "eyelid"]
    assert words(f"i can{apostrophe}t breathe") == ["i", "can", "not", "breathe"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lou gehrig's disease", ["lou", "gehrig", "disease"]),
        ("my doctor's advice", ["my", "doctor", "advice"]),
        ("caffeine's effect", ["caffeine", "effect"]),
    ],
)
def test_possessive_s_is_dropped(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_possessive_and_plain_word_give_the_same_token() -> None:
    assert tokens("gehrig's") == tokens("gehrig")


# -- stemming --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "forms",
    [
        "twitch twitches twitching twitched twitchy",
        "cause causes causing caused",
        "muscle muscles",
        "eyelid eyelids",
        "calf calves",
        "stop stops stopped stopping",
        "cramp cramps cramping cramped",
        "jump jumps jumping jumped",
        "flicker flickers flickering flickered",
        "eye eyes",
        "leg legs",
        "remedy remedies",
        "symptom symptoms",
        "fasciculation fasciculations",
        "run runs running ran",
        "sleep sleeping slept",
        "tingle tingles tingling",
        "help helps helping helped",
    ],
)
def test_inflections_meet(forms: str) -> None:
    stems = set(tokens(forms))
    assert len(stems) == 1, f"{forms!r} stem to {sorted(stems)}"


def test_inflections_meet_for_ied() -> None:
    assert tokens("worried") == tokens("worry")
    assert tokens("tried") == tokens("try")


@pytest.mark.parametrize(
    "word", ["is", "was", "this", "has", "als", "bfs", "always", "news", "b12", "ms", "gp"]
)
def test_function_words_and_acronyms_are_not_stemmed(word: str) -> None:
    assert stem(word) == word


def test_stem_is_stable_on_short_and_numeric_words() -> None:
    assert stem("a") == "a"
    assert stem("12") == "12"
    assert stem("b12") == "b12"


# -- cleaning ------------------------------------------------------------------------------
def test_case_and_punctuation_are_ignored() -> None:
    assert words("What CAUSES twitching?!") == ["what", "causes", "twitching"]
    assert words("twitching... (again), really; yes") == [
        "twitching",
        "again",
        "really",
        "yes",
    ]


@pytest.mark.parametrize("control", ["\x00", "\x07", "\t", "\r\n", "\x0b", "\x1f", "\x7f"])
def test_control_characters_separate_words(control: str) -> None:
    assert words(f"what{control}causes{control}twitching") == ["what", "causes", "twitching"]


def test_empty_and_punctuation_only_text_gives_no_words() -> None:
    assert words("") == []
    assert words("   \n\t ") == []
    assert words("?!... ,;:") == []
    assert tokens("") == []


def test_unicode_compatibility_forms_are_folded() -> None:
    assert words("ＴＷＩＴＣＨＩＮＧ") == ["twitching"]  # fullwidth
    assert words("\ufb01ne") == ["fine"]  # the "fi" ligature
    assert words("hello\u200bworld") == ["hello", "world"]  # zero-width space


def test_other_scripts_are_words_and_emoji_are_not() -> None:
    assert words("안녕하세요 twitching 😀 калий") == ["안녕하세요", "twitching", "калий"]


def test_accented_words_stay_whole_in_either_unicode_form() -> None:
    assert words("naïve question") == ["naïve", "question"]
    assert words("nai\u0308ve question") == words("naïve question")  # decomposed form
    assert words("CAFÉ") == ["café"]


def test_clean_lowercases_and_normalises_apostrophes() -> None:
    assert clean("It\u2019s MY Eyelid") == "it's my eyelid"


# -- bounded work --------------------------------------------------------------------------
def test_100000_character_input_is_bounded_and_fast() -> None:
    text = "what causes muscle twitching " * 3500  # ~100 000 characters
    assert len(text) >= 100_000
    started = time.perf_counter()
    result = tokens(text)
    elapsed = time.perf_counter() - started
    assert 0 < len(result) <= MAX_TOKENS
    assert result[:4] == ["what", "caus", "muscl", "twitch"]
    assert elapsed < 0.05


def test_100000_character_single_word_is_bounded_and_fast() -> None:
    started = time.perf_counter()
    result = words("a" * 100_000)
    assert time.perf_counter() - started < 0.05
    assert len(result) == 1
    assert len(result[0]) <= 2000


def test_random_unicode_never_breaks_normalisation() -> None:
    rng = random.Random(1234)
    alphabet = (
        [chr(c) for c in range(0, 0x250)]
        + ["\u2019", "\u200b", "\ufeff", "\ud7ff", "\udcff", "😀", "ﬁ", "Ａ", "\u0301"]
        + list("what causes twitch ")
    )
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        result = tokens(text)
        assert len(result) <= MAX_TOKENS
        assert all(TOKEN.match(tok) for tok in result), (text, result)
