"""Run the evaluation set (tests/eval/cases.yaml) through the dialogue, by category.

Shared by tests/test_eval.py (which asserts accuracy floors) and bench/ (which prints
figures). A case passes when the answer's intent is one of ``expect`` and its text contains
every ``text_has`` word; dialogue cases pass turn by turn.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.dialogue import Skill, State
from assistant.stages import Answer, Urgency

CASES_FILE = Path(__file__).resolve().parent / "eval" / "cases.yaml"


@dataclass
class Report:
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)

    def accuracy(self, category: str) -> float:
        return self.passed[category] / self.total[category] if self.total[category] else 1.0

    def lines(self) -> list[str]:
        out = []
        for category in sorted(self.total):
            out.append(f"{category:13s} {self.passed[category]:4d}/{self.total[category]:<4d} "
                       f"{100 * self.accuracy(category):5.1f}%")
        all_total = sum(self.total.values())
        all_passed = sum(self.passed.values())
        share = 100 * all_passed / all_total if all_total else 100.0
        out.append(f"{'all':13s} {all_passed:4d}/{all_total:<4d} {share:5.1f}%")
        return out


def load_cases(path: Path = CASES_FILE) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]


def utterances(cases: list[dict]) -> list[str]:
    """Every single utterance of the set (for timing)."""
    out = []
    for case in cases:
        turns = case.get("turns") or [case]
        out.extend(turn["say"] for turn in turns)
    return out


def _ok(turn: dict, answer: Answer) -> bool:
    expected = turn["expect"] if isinstance(turn["expect"], list) else [turn["expect"]]
    red_flag_given = "red_flag" in expected and answer.urgency is Urgency.DOCTOR
    if answer.intent not in expected and not red_flag_given:
        # a red flag may lead the answer (intent "red_flag") or close the answer to the
        # question asked (a routine-visit sign: "...goes on for weeks should be looked at")
        return False
    return all(word.lower() in answer.text.lower() for word in turn.get("text_has", []))


def evaluate(skill: Skill, cases: list[dict] | None = None) -> Report:
    report = Report()
    for case in cases if cases is not None else load_cases():
        category = case["category"]
        turns = case.get("turns") or [case]
        state = State()
        case_ok = True
        for turn in turns:
            state, answer = skill.turn(state, turn["say"])
            if not _ok(turn, answer):
                case_ok = False
                report.failures.append(
                    f"[{category}] {turn['say']!r}: expected {turn['expect']} "
                    f"{turn.get('text_has', '')}, got {answer.intent} ({answer.confidence}): "
                    f"{answer.text[:60]}"
                )
        report.total[category] += 1
        report.passed[category] += case_ok
    return report


# -- urgency (the red-team sets: tests/eval/redteam_*.yaml) ---------------------------------
URGENCY_LABELS = ("emergency", "doctor", "none")


@dataclass
class UrgencyReport:
    """Per expected label: how many cases, how many right, and what went wrong instead."""

    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    right: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    got: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    """(expected, got) -> cases, for every case that was wrong."""
    failures: list[str] = field(default_factory=list)

    def accuracy(self, label: str) -> float:
        return self.right[label] / self.total[label] if self.total[label] else 1.0

    def lines(self) -> list[str]:
        out = []
        for label in URGENCY_LABELS:
            wrong = ", ".join(
                f"{n} {got}" for (expected, got), n in sorted(self.got.items()) if expected == label
            )
            out.append(
                f"{label:10s} {self.right[label]:4d}/{self.total[label]:<4d} "
                f"{100 * self.accuracy(label):5.1f}%" + (f"   wrong: {wrong}" if wrong else "")
            )
        return out


def _urgency_of(answer) -> str:
    return answer.urgency.value if answer.urgency is not None else "none"


def evaluate_urgency(skill: Skill, cases: list[dict]) -> UrgencyReport:
    """A case counts under the label of its last turn and passes when every turn's
    ``answer.urgency`` is the one expected."""
    report = UrgencyReport()
    for case in cases:
        turns = case.get("turns") or [case]
        state = skill.initial_state()
        wrong = None
        for turn in turns:
            state, answer = skill.turn(state, turn["say"])
            if wrong is None and _urgency_of(answer) != turn["expect"]:
                wrong = (turn, _urgency_of(answer), answer.text)
        label = turns[-1]["expect"]
        report.total[label] += 1
        if wrong is None:
            report.right[label] += 1
            continue
        turn, got, text = wrong
        report.got[(label, got)] += 1
        report.failures.append(
            f"[{case.get('id', '?')} {case.get('kind', '')}] {turn['say']!r}: expected "
            f"{turn['expect']}, got {got}: {text[:70]}"
        )
    return report
