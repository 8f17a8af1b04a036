"""Every answer added for real questions (issue 10) is reached by the way people ask for it.

The questions in tests/data/topic_questions.txt (``answer_id|question``) were written with
each answer by its author (helpers who drafted the answers from NHS, Mayo Clinic and other
named sources); they are development questions, not a held-out measure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.app import load_data
from assistant.dialogue import Skill
from assistant.stages import Urgency

QUESTIONS = Path(__file__).resolve().parent / "data" / "topic_questions.txt"
FLOOR = 0.95


@pytest.fixture(scope="module")
def skill() -> Skill:
    return Skill(*load_data())


def _questions() -> list[tuple[str, str]]:
    pairs = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if "|" in line:
            answer, question = line.split("|", 1)
            pairs.append((answer.strip(), question.strip()))
    return pairs


def test_every_new_answer_has_questions(skill: Skill) -> None:
    asked = {answer for answer, _ in _questions()}
    assert asked <= set(skill.knowledge.answers)
    assert len(asked) >= 40


def test_questions_reach_their_answer(skill: Skill) -> None:
    wrong = []
    pairs = _questions()
    for answer, question in pairs:
        _, reply = skill.turn(skill.initial_state(), question)
        if reply.intent != answer:
            wrong.append(f"{question!r}: expected {answer}, got {reply.intent} ({reply.kind})")
    assert len(wrong) <= (1 - FLOOR) * len(pairs), "\n".join(wrong)


def test_none_of_them_is_an_alarm(skill: Skill) -> None:
    """No emergency, and no red flag said instead of the answer. A note that closes the
    answer is allowed: "i'm on adderall and my muscles twitch" is answered, then told to
    talk to the prescriber (NHS), as a real story of a medicine and a symptom should be."""
    alarms = []
    for answer, question in _questions():
        reply = skill.turn(skill.initial_state(), question)[1]
        if reply.urgency is Urgency.EMERGENCY or (
            reply.urgency is Urgency.DOCTOR and reply.intent != answer
        ):
            alarms.append(f"{question!r}: {reply.intent} {reply.urgency}")
    assert alarms == []
