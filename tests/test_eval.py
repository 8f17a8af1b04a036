"""Accuracy floors per category on the evaluation sets (run with -s to see the figures)."""

from __future__ import annotations

import pytest
from eval_runner import CASES_FILE, Report, evaluate, evaluate_urgency, load_cases

from assistant.app import load_data
from assistant.dialogue import Skill

FLOORS = {
    "emergency": 1.00,
    "red_flag": 0.95,
    "topic": 0.93,
    "asr": 0.88,
    "out_of_scope": 0.92,
    "control": 0.95,
    "follow_up": 0.85,
}

HOLDOUT_FILES = ("holdout.yaml", "holdout3.yaml")
"""Sets written blind by other authors; never tuned on before their first run (see their
headers for the first-run figures)."""
HOLDOUT_FLOORS = {"emergency": 1.00, "red_flag": 0.90}
HOLDOUT_DEFAULT_FLOOR = 0.75


@pytest.fixture(scope="module")
def skill() -> Skill:
    intents, kb = load_data()
    return Skill(intents, kb)


@pytest.fixture(scope="module")
def report(skill: Skill) -> Report:
    result = evaluate(skill, load_cases(CASES_FILE))
    print("\nevaluation set (tests/eval/cases.yaml):")
    for line in result.lines():
        print("  " + line)
    return result


@pytest.fixture(scope="module", params=HOLDOUT_FILES)
def holdout(skill: Skill, request: pytest.FixtureRequest) -> Report:
    path = CASES_FILE.parent / request.param
    result = evaluate(skill, load_cases(path))
    print(f"\nheld-out set (tests/eval/{request.param}):")
    for line in result.lines():
        print("  " + line)
    return result


def _failures(report: Report, category: str) -> str:
    return "\n".join(f for f in report.failures if f.startswith(f"[{category}]"))


def test_evaluation_set_is_big_enough(report: Report) -> None:
    assert sum(report.total.values()) >= 150
    assert set(FLOORS) <= set(report.total), "a category has no cases"


@pytest.mark.parametrize("category", sorted(FLOORS))
def test_category_floor(report: Report, category: str) -> None:
    accuracy = report.accuracy(category)
    assert accuracy >= FLOORS[category], (
        f"{category}: {accuracy:.1%} < {FLOORS[category]:.0%}\n{_failures(report, category)}"
    )


def test_evaluation_is_deterministic(skill: Skill, report: Report) -> None:
    again = evaluate(skill, load_cases(CASES_FILE))
    assert dict(again.passed) == dict(report.passed)


@pytest.mark.parametrize("category", sorted(FLOORS))
def test_holdout_category_floor(holdout: Report, category: str) -> None:
    floor = HOLDOUT_FLOORS.get(category, HOLDOUT_DEFAULT_FLOOR)
    assert holdout.total[category] > 0
    accuracy = holdout.accuracy(category)
    assert accuracy >= floor, (
        f"held-out {category}: {accuracy:.1%} < {floor:.0%}\n{_failures(holdout, category)}"
    )


REDTEAM_FILES = ("redteam_a.yaml", "redteam_b.yaml", "redteam_c.yaml", "redteam_d.yaml",
                 "redteam_e.yaml")
"""Danger signs said the way people say them (issues 9 and 10), written blind; their first
run is in their headers. Floors per expected urgency: misses and false alarms counted apart."""
REDTEAM_FLOORS = {"emergency": 0.97, "doctor": 0.97, "none": 0.97}
LATER_FLOORS = {"redteam_e.yaml": {"emergency": 0.96, "doctor": 0.9, "none": 0.97}}
"""Set E (from real situations, after issue 10's first runs) is held where it stands now:
its remaining misses are over-triage of past events and a confusion told through a cat."""


@pytest.mark.parametrize("name", REDTEAM_FILES)
def test_redteam_urgency(skill: Skill, name: str) -> None:
    report = evaluate_urgency(skill, load_cases(CASES_FILE.parent / name))
    print(f"\nred-team set (tests/eval/{name}):")
    for line in report.lines():
        print("  " + line)
    for label, floor in LATER_FLOORS.get(name, REDTEAM_FLOORS).items():
        assert report.accuracy(label) >= floor, "\n".join(report.failures)
