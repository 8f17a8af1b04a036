"""Control intents, their messages and the actions they ask of the shell stay in step: drift
between them is a failed test here, not a KeyError in the middle of a conversation."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest

from assistant.app import load_data
from assistant.dialogue import (
    CONTROL_INTENTS,
    CONTROLS_FROM_CONVERSATION,
    SETTING_ACTIONS,
    Skill,
    State,
)
from assistant.knowledge import CONTROL_REPLIES, MESSAGE_KEYS
from assistant.stages import Action, AnswerKind, IntentMatch, SettingAction


@pytest.fixture(scope="module")
def skill() -> Skill:
    intents, kb = load_data()
    return Skill(intents, kb)


def test_every_control_reply_is_a_required_message() -> None:
    assert set(CONTROL_REPLIES) <= set(MESSAGE_KEYS)


def test_setting_actions_are_control_intents_and_actions() -> None:
    assert set(SETTING_ACTIONS) == set(get_args(SettingAction))
    assert set(SETTING_ACTIONS) <= CONTROL_INTENTS
    assert set(get_args(SettingAction)) <= set(get_args(Action))


def test_controls_from_the_conversation_need_no_message() -> None:
    assert CONTROLS_FROM_CONVERSATION.isdisjoint(MESSAGE_KEYS)


@pytest.mark.parametrize("intent", sorted(CONTROL_INTENTS))
@pytest.mark.parametrize("before", ["start", "after_topic"])
def test_every_control_intent_gets_a_reply(skill: Skill, intent: str, before: str) -> None:
    state = State()
    if before == "after_topic":
        state, _ = skill.turn(state, "can caffeine cause twitching")
    state = replace(state, settings=replace(state.settings, rate=200))  # room both ways
    _, answer = skill._control(state, IntentMatch(intent, 1.0, method="exact"))
    assert answer.text.strip()
    assert answer.kind in get_args(AnswerKind)
    assert answer.action is None or answer.action in get_args(Action)
