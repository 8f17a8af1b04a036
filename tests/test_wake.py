"""The wake gate: which utterances are meant for the assistant (pure, no audio)."""

from __future__ import annotations

from assistant.stages import Alternative
from assistant.wake import AWAKE_SECONDS, FOLLOW_UP_SECONDS, WakeGate


def test_question_opening_with_the_wake_phrase_is_answered_without_it() -> None:
    heard = WakeGate("hey computer").heard("hey computer why do my calves twitch", 0.0)
    assert heard.accept and heard.text == "why do my calves twitch"


def test_a_recogniser_split_of_the_wake_phrase_still_counts() -> None:
    heard = WakeGate("hey computer").heard("hey come puter is coffee bad", 0.0)
    assert heard.accept and heard.text == "is coffee bad"


def test_question_without_the_wake_phrase_is_ignored() -> None:
    heard = WakeGate("hey computer").heard("why do my calves twitch", 0.0)
    assert not heard.accept and not heard.woke


def test_wake_phrase_alone_opens_a_window_that_then_closes() -> None:
    gate = WakeGate("hey computer")
    assert gate.heard("hey computer", 0.0).woke
    assert gate.heard("is coffee bad", AWAKE_SECONDS - 0.1).accept
    assert not gate.heard("is coffee bad", AWAKE_SECONDS + 0.1).accept


def test_follow_up_window_after_an_answer_and_close() -> None:
    gate = WakeGate("hey computer")
    gate.answered(10.0)
    assert gate.heard("tell me more", 10.0 + FOLLOW_UP_SECONDS - 0.1).accept
    gate.close()
    assert not gate.heard("tell me more", 10.5).accept


def test_always_listening_accepts_everything() -> None:
    heard = WakeGate("hey computer", always_listening=True).heard("is coffee bad", 0.0)
    assert heard.accept and heard.text == "is coffee bad"


def test_close_alternative_carrying_the_wake_phrase_wakes() -> None:
    # Seen in CI: the free decoding beat the grammar's wake phrase by 0.02.
    alternatives = (Alternative("어이없 다 아 세요", 0.43), Alternative("안녕하세요", 0.41))
    heard = WakeGate("안녕하세요").heard("어이없 다 아 세요", 0.0, alternatives, 0.43)
    assert heard.woke
    assert heard.heard == "안녕하세요" and heard.confidence == 0.41


def test_close_alternative_with_wake_and_question_gives_the_question() -> None:
    alternatives = (
        Alternative("hay is coffee bad", 0.5),
        Alternative("hey computer is coffee bad", 0.45),
    )
    heard = WakeGate("hey computer").heard("hay is coffee bad", 0.0, alternatives, 0.5)
    assert heard.accept and heard.text == "is coffee bad" and heard.confidence == 0.45


def test_distant_or_weak_alternatives_do_not_wake() -> None:
    gate = WakeGate("안녕하세요")
    far = (Alternative("어이없 다 아 세요", 0.8), Alternative("안녕하세요", 0.3))
    assert not gate.heard("어이없 다 아 세요", 0.0, far, 0.8).accept
    assert not gate.heard("어이없 다 아 세요", 0.0, far, 0.8).woke
    weak = (Alternative("어 어", 0.2), Alternative("안녕하세요", 0.2))
    assert not gate.heard("어 어", 0.0, weak, 0.2).woke


def test_alternatives_are_not_consulted_while_listening() -> None:
    # In the follow-up window the top hypothesis is answered (the dialogue itself weighs the
    # alternatives); a runner-up that opens with the wake phrase does not replace it.
    gate = WakeGate("안녕하세요")
    gate.answered(0.0)
    alternatives = (Alternative("더 알려줘", 0.5), Alternative("안녕하세요 커피", 0.45))
    heard = gate.heard("더 알려줘", 1.0, alternatives, 0.5)
    assert heard.accept and heard.text == "더 알려줘" and heard.heard == "더 알려줘"
