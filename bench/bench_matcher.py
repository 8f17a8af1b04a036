"""Matcher benchmark: load time, time per utterance (p50/p99) and accuracy by category.

    python bench/bench_matcher.py            # the shipped data and tests/eval/cases.yaml
    python bench/bench_matcher.py --holdout  # also the second held-out set

Prints numbers; asserts nothing (targets: p99 <= 1 ms per utterance, start <= 0.5 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from eval_runner import evaluate, load_cases, utterances  # noqa: E402

from assistant.app import load_data  # noqa: E402
from assistant.dialogue import Skill, State  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def startup_seconds(runs: int = 5) -> tuple[float, float]:
    """Median wall time of `assistant ask` (cold cache once, then warm)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "ASSISTANT_CACHE_DIR": cache}
        cmd = [sys.executable, "-m", "assistant", "ask", "what causes muscle twitching"]
        started = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        cold = time.perf_counter() - started
        warm = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=True)
            warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    intents, kb = load_data()
    loaded = time.perf_counter()
    skill = Skill(intents, kb)
    built = time.perf_counter()
    print(f"load intents+knowledge: {1000 * (loaded - started):.0f} ms; "
          f"build matcher: {1000 * (built - loaded):.0f} ms "
          f"({len(intents.intents)} intents, {len(intents.templates)} templates, "
          f"{len(intents.examples)} sampled sentences)")

    cases = load_cases()
    texts = utterances(cases)
    # First pass on a fresh matcher: patterns are compiled on first use, as in a one-off
    # `assistant ask`. A conversation compiles them all at start (Matcher.warm_up: the voice
    # loop while the speech model loads, `chat` before its prompt), so the passes below run
    # warm, as a conversation does.
    cold_times: list[float] = []
    for text in texts:
        t0 = time.perf_counter()
        skill.matcher.match(text)
        cold_times.append(time.perf_counter() - t0)
    print(f"match per utterance, first pass before warm-up: "
          f"p50 {1000 * percentile(cold_times, 50):.3f} ms, "
          f"p99 {1000 * percentile(cold_times, 99):.3f} ms, "
          f"max {1000 * max(cold_times):.3f} ms")
    t0 = time.perf_counter()
    skill.matcher.warm_up()
    print(f"warm-up (compile the rest of the patterns): {1000 * (time.perf_counter() - t0):.0f} ms")
    match_times: list[float] = []
    turn_times: list[float] = []
    for _ in range(args.repeat):
        for text in texts:
            t0 = time.perf_counter()
            skill.matcher.match(text)
            t1 = time.perf_counter()
            skill.turn(State(), text)
            t2 = time.perf_counter()
            match_times.append(t1 - t0)
            turn_times.append(t2 - t1)
    print(f"match per utterance after warm-up, {len(texts)} utterances x{args.repeat}: "
          f"p50 {1000 * percentile(match_times, 50):.3f} ms, "
          f"p99 {1000 * percentile(match_times, 99):.3f} ms, "
          f"max {1000 * max(match_times):.3f} ms")
    print(f"full dialogue turn (safety + match + reply): "
          f"p50 {1000 * percentile(turn_times, 50):.3f} ms, "
          f"p99 {1000 * percentile(turn_times, 99):.3f} ms")
    cold, warm = startup_seconds()
    print(f"`assistant ask` wall time: first run {cold:.2f} s (builds cache), "
          f"then median {warm:.2f} s")

    print("\naccuracy, tests/eval/cases.yaml (development set):")
    print("\n".join(evaluate(skill, cases).lines()))
    holdout = ROOT / "tests" / "eval" / "holdout.yaml"
    if args.holdout and holdout.exists():
        print("\naccuracy, tests/eval/holdout.yaml (held out, not tuned on):")
        print("\n".join(evaluate(skill, load_cases(holdout)).lines()))


if __name__ == "__main__":
    main()
