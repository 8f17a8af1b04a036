"""Safety benchmark: how fast the situation reader and the urgency decision are, alone and
inside a whole dialogue turn, on ordinary utterances and on long stories; the red-team sets'
figures; and `assistant ask` start-up.

    python bench/bench_safety.py

Prints numbers; asserts nothing. Targets (issue 9): matcher plus safety p99 <= 1 ms per
ordinary utterance, <= 20 ms for a 300-word story; `assistant ask` start to answer <= 0.5 s.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_matcher import percentile, startup_seconds  # noqa: E402
from eval_runner import CASES_FILE, evaluate_urgency, load_cases, utterances  # noqa: E402

from assistant import safety  # noqa: E402
from assistant.app import load_signs, load_skill  # noqa: E402
from assistant.situation import read  # noqa: E402

REDTEAM = ("redteam_a.yaml", "redteam_b.yaml", "redteam_c.yaml", "redteam_d.yaml")


def timings(function, inputs: list[str], repeat: int = 3) -> list[float]:
    out = []
    for _ in range(repeat):
        for text in inputs:
            started = time.perf_counter()
            function(text)
            out.append((time.perf_counter() - started) * 1000)
    return out


def stories(sentences: list[str], words: int, count: int, seed: int = 7) -> list[str]:
    """Rambling stories of about ``words`` words made of real evaluation sentences."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < words:
            parts.append(rng.choice(sentences))
        out.append(" and ".join(parts))
    return out


def line(name: str, values: list[float]) -> str:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return f"{name:44s} p50 {p50:6.3f} ms   p99 {p99:6.3f} ms   max {max(values):6.2f} ms"


def main() -> None:
    started = time.perf_counter()
    lexicon = load_signs()
    took = (time.perf_counter() - started) * 1000
    print(f"sign lexicon and context triggers loaded in {took:.0f} ms "
          f"({len(lexicon.signs)} signs, {len(lexicon.triggers)} triggers)")
    skill = load_skill()
    skill.matcher.warm_up()  # as a conversation does at start (see bench/bench_matcher.py)
    said = []
    for name in ("cases.yaml", "holdout.yaml", "holdout3.yaml", *REDTEAM):
        path = CASES_FILE.parent / name
        if path.exists():
            said += utterances(load_cases(path))
    ordinary = [s for s in said if len(s.split()) <= 40]
    short = [s for s in said if len(s.split()) <= 20]
    long_ones = stories(ordinary, 300, 60)
    print(f"{len(short)} utterances of <= 20 words, {len(ordinary)} of <= 40 words, "
          f"{len(long_ones)} stories of ~300 words")

    def decide(text: str) -> None:
        safety.assess(read(text, lexicon))

    def match_and_decide(text: str) -> None:
        skill.matcher.match(text)
        decide(text)

    def turn(text: str) -> None:
        skill.turn(skill.initial_state(), text)

    for function in (decide, match_and_decide, turn):  # warm regex and stem caches
        for text in ordinary[:50]:
            function(text)
    print(line("safety (read + assess), ordinary", timings(decide, ordinary)))
    print(line("matcher + safety, <= 20 words", timings(match_and_decide, short)))
    print(line("matcher + safety, <= 40 words", timings(match_and_decide, ordinary)))
    print(line("whole dialogue turn, ordinary", timings(turn, ordinary)))
    print(line("safety, 300-word story", timings(decide, long_ones)))
    print(line("matcher + safety, 300-word story", timings(match_and_decide, long_ones)))
    print(line("whole dialogue turn, 300-word story", timings(turn, long_ones)))

    for name in REDTEAM:
        path = CASES_FILE.parent / name
        if not path.exists():
            continue
        report = evaluate_urgency(skill, load_cases(path))
        print(f"red-team {name}:")
        for text in report.lines():
            print("  " + text)

    cold, warm = startup_seconds()
    print(f"assistant ask, start to answer: {cold:.2f} s with an empty cache, {warm:.2f} s after")


if __name__ == "__main__":
    main()
