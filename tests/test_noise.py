"""The recogniser-noise simulator (bench/noise.py): deterministic per seed, and it makes
about as many word errors as asked for."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.noise import (  # noqa: E402
    DELETE,
    INSERT,
    MERGE,
    SPLIT,
    SUBSTITUTE,
    Noise,
    corpus_wer,
    corrupt,
    phonetic_key,
    word_errors,
)

RATES = (0.05, 0.10, 0.20, 0.30, 0.40)


def _sentences() -> list[str]:
    raw = yaml.safe_load((ROOT / "tests" / "eval" / "cases.yaml").read_text(encoding="utf-8"))
    return [case["say"] for case in raw["cases"] if "say" in case]


SENTENCES = _sentences()


@pytest.fixture(scope="module")
def noise() -> Noise:
    vocabulary = {w for s in SENTENCES for w in s.split()}
    return Noise(vocabulary)


def test_word_errors_is_word_level_edit_distance() -> None:
    assert word_errors("a b c", "a b c") == 0
    assert word_errors("a b c", "a x c") == 1
    assert word_errors("a b c", "a c") == 1
    assert word_errors("a b c", "a b b c") == 1
    assert word_errors("eye lid", "eyelid") == 2
    assert word_errors("caffeine", "coffee in") == 2
    assert word_errors("", "um") == 1
    assert corpus_wer([("a b c d", "a b c d"), ("a b", "a")]) == pytest.approx(1 / 6)


def test_phonetic_key_groups_sound_alikes() -> None:
    assert phonetic_key("which") == phonetic_key("witch")
    assert phonetic_key("phone") == phonetic_key("fone")
    assert phonetic_key("knight") == phonetic_key("night")
    assert phonetic_key("cough") == phonetic_key("coff")
    assert phonetic_key("muscle") != phonetic_key("twitch")
    assert phonetic_key("") == ""


def test_zero_rate_changes_nothing_but_case_and_spaces(noise: Noise) -> None:
    for sentence in SENTENCES[:50]:
        assert noise.corrupt(sentence, 0.0, seed=3) == " ".join(sentence.lower().split())
    assert noise.corrupt("", 0.3, seed=1) == ""
    assert noise.corrupt("   ", 0.3, seed=1) == ""


def test_same_seed_same_output(noise: Noise) -> None:
    fresh = Noise({w for s in SENTENCES for w in s.split()})
    for rate in (0.1, 0.3):
        first = [noise.corrupt(s, rate, seed=7) for s in SENTENCES]
        again = [noise.corrupt(s, rate, seed=7) for s in SENTENCES]
        other_instance = [fresh.corrupt(s, rate, seed=7) for s in SENTENCES]
        assert first == again == other_instance


def test_seeds_differ(noise: Noise) -> None:
    a = [noise.corrupt(s, 0.3, seed=1) for s in SENTENCES]
    b = [noise.corrupt(s, 0.3, seed=2) for s in SENTENCES]
    assert sum(x != y for x, y in zip(a, b, strict=True)) > len(SENTENCES) // 3


def test_deterministic_across_processes() -> None:
    """No dependence on Python's per-process string hashing."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from bench.noise import corrupt; "
        "print(corrupt('why does my eyelid keep twitching after caffeine', 0.4, 5))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code, str(ROOT)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert outputs.pop().strip() == corrupt(
        "why does my eyelid keep twitching after caffeine", 0.4, 5
    )


@pytest.mark.parametrize("rate", RATES)
def test_hits_the_requested_rate(noise: Noise, rate: float) -> None:
    pairs = [(s.lower(), noise.corrupt(s, rate, seed=seed)) for seed in range(3) for s in SENTENCES]
    measured = corpus_wer(pairs)
    assert measured == pytest.approx(rate, abs=0.015 + 0.1 * rate), measured


@pytest.mark.parametrize("kind", [SUBSTITUTE, DELETE, INSERT, SPLIT, MERGE])
def test_each_kind_alone_hits_the_rate(kind: str) -> None:
    weights = {k: 0.0 for k in (SUBSTITUTE, DELETE, INSERT, SPLIT, MERGE)}
    weights[kind] = 1.0
    single = Noise({w for s in SENTENCES for w in s.split()}, weights=weights)
    pairs = [(s.lower(), single.corrupt(s, 0.2, seed=seed)) for seed in range(3) for s in SENTENCES]
    # A split or merge costs two errors: a sentence whose leftover budget is one error
    # gets a substitution instead, so the rate holds for every kind.
    assert corpus_wer(pairs) == pytest.approx(0.2, abs=0.03)


def test_error_kinds_look_like_a_recogniser(noise: Noise) -> None:
    merged = split = known = 0
    for seed in range(5):
        for sentence in SENTENCES:
            ref = sentence.lower().split()
            hyp = noise.corrupt(sentence, 0.4, seed=seed).split()
            glued = {a + b for a, b in itertools.pairwise(ref)}
            merged += any(w in glued for w in hyp)
            split += len(hyp) > len(ref)
            text = " ".join(hyp)
            known += ("magnesia" in text and "magnesium" in sentence) or (
                "coffee in" in text and "caffeine" in sentence
            )
    assert merged > 20
    assert split > 50
    assert known >= 1


def test_substitutes_sound_alike(noise: Noise) -> None:
    assert "witch" in noise.neighbours("which") or "which" in noise.neighbours("witch")
    for word in ("night", "sleep", "cause", "weight"):
        for other in noise.neighbours(word):
            assert other != word
            distance = _key_distance(phonetic_key(word), phonetic_key(other))
            assert distance <= 1, (word, other)


def _key_distance(a: str, b: str) -> int:
    return word_errors(list(a), list(b))
