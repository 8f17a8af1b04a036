"""Real questions: how the whole dialogue answers the corpus of questions people asked on
public pages (tests/eval/corpus_dev.yaml, corpus_blind.yaml, and sets F and G, corpus_f.yaml and
corpus_g.yaml, written and labelled later by other helpers from other pages), per category.

    python bench/real_questions.py [dev|blind|f|g|all]

Prints numbers; asserts nothing. Each case was labelled, by people who never saw the intents,
with its urgency (emergency, doctor, none), its category and the answers that would fit.

- topic, by intent: the answer given is one of the fitting answers (a routine-visit note
  closing it, such as "see a GP after two weeks", is allowed: the question was answered);
- topic, strict: the same and no urgency at all (what the labellers judged);
- red flags: urgency "doctor"; emergencies: urgency "emergency";
- out of scope: declined (or a pet sent to a vet);
- questions back ("did you mean A or B?"): how often, and how often the best guess was right;
- words: median length of the right answers (the issue's target is 60 or fewer).

The blind part's first run (before anything was changed for it) is in the README and the
closing note of issue 10; later runs are not blind any more.
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.app import load_skill  # noqa: E402
from assistant.dialogue import Skill  # noqa: E402
from assistant.stages import Urgency  # noqa: E402

PARTS = {
    "dev": ROOT / "tests" / "eval" / "corpus_dev.yaml",
    "blind": ROOT / "tests" / "eval" / "corpus_blind.yaml",
    "f": ROOT / "tests" / "eval" / "corpus_f.yaml",
    "g": ROOT / "tests" / "eval" / "corpus_g.yaml",
}
CATEGORIES = ("topic", "red_flag", "emergency", "out_of_scope")
DECLINED = ("decline", "not_understood", "animal")


def score(skill: Skill, path: Path) -> list[str]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    total: Counter[str] = Counter()
    right: Counter[str] = Counter()
    strict = 0
    asked_back = guessed_right = 0
    words: list[int] = []
    for case in cases:
        _, answer = skill.turn(skill.initial_state(), case["say"])
        category = case["category"]
        total[category] += 1
        expected = case["expect"]
        if category == "topic":
            ok = answer.intent in expected and answer.kind == "answer"
            strict += ok and answer.urgency is None
            if answer.kind == "clarify":
                asked_back += 1
                guessed_right += answer.intent in expected
        elif category == "red_flag":
            ok = answer.urgency is Urgency.DOCTOR
        elif category == "emergency":
            ok = answer.urgency is Urgency.EMERGENCY
        else:
            ok = answer.kind in DECLINED
        right[category] += ok
        if ok:
            words.append(len(answer.text.split()))
    lines = [f"{path.name}: {len(cases)} cases"]
    for category in CATEGORIES:
        n = total[category]
        share = 100 * right[category] / n if n else 0.0
        label = "topic, by intent" if category == "topic" else category
        lines.append(f"  {label:18s} {right[category]:4d}/{n:<4d} {share:5.1f} %")
        if category == "topic" and n:
            lines.append(f"  {'topic, strict':18s} {strict:4d}/{n:<4d} {100 * strict / n:5.1f} %")
    all_right, all_total = sum(right.values()), sum(total.values())
    lines.append(f"  {'all':18s} {all_right:4d}/{all_total:<4d} "
                 f"{100 * all_right / max(all_total, 1):5.1f} %")
    lines.append(f"  questions back: {asked_back}, best guess right in {guessed_right}")
    if words:
        lines.append(f"  median words of a right answer: {statistics.median(words):.0f}")
    return lines


def main(argv: list[str]) -> int:
    which = argv[0] if argv else "all"
    parts = list(PARTS) if which == "all" else [which]
    if any(p not in PARTS for p in parts):
        print("usage: python bench/real_questions.py [dev|blind|f|g|all]", file=sys.stderr)
        return 2
    skill = load_skill()
    for part in parts:
        print("\n".join(score(skill, PARTS[part])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
