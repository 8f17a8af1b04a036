"""When to listen: the wake phrase and the follow-up window, as a pure state machine.

Hands-free use needs a guard against answering every sound: a question counts when it
starts with the wake phrase ("hey computer, why do my calves twitch"), when it comes
shortly after the wake phrase said alone, or in the follow-up window after an answer (so
"tell me more" needs no wake phrase). With always-listening everything counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from assistant.nlu.text import words
from assistant.stages import Alternative

WAKE_MATCH = 80
"""rapidfuzz ratio a heard opening must reach to count as the wake phrase."""
AWAKE_SECONDS = 8.0
"""After the wake phrase alone, how long the next utterance counts without it."""
FOLLOW_UP_SECONDS = 8.0
"""After an answer has been spoken, how long a follow-up counts without the wake phrase."""
ALTERNATIVE_SHARE = 0.75
"""A recogniser alternative may carry the wake phrase when its confidence is at least this
share of the best hypothesis'. The wake phrase said alone is short, so the domain-restricted
and the free decoding often score it nearly the same; when the free reading wins by a hair
("어이없 다 아 세요" 0.43 against "안녕하세요" 0.41) the wake phrase must not be lost."""
ALTERNATIVE_MIN = 0.25
"""...and at least this confidence in absolute terms, so noise never wakes the assistant."""


@dataclass(frozen=True)
class Heard:
    """The gate's verdict on one utterance."""

    accept: bool
    """True: answer ``text``."""
    text: str
    """What to answer (the wake phrase removed)."""
    woke: bool = False
    """True: the wake phrase was said alone; play the listening cue and wait."""
    heard: str = ""
    """The hypothesis the verdict rests on: the best one, or the alternative that carried
    the wake phrase."""
    confidence: float = 1.0
    """The recogniser's confidence in ``heard``."""


class WakeGate:
    """Decides which utterances are meant for the assistant."""

    def __init__(self, wake_phrase: str, always_listening: bool = False) -> None:
        self.wake_words = words(wake_phrase)
        self.always_listening = always_listening or not self.wake_words
        self.open_until = 0.0

    def heard(
        self,
        text: str,
        now: float,
        alternatives: Sequence[Alternative] = (),
        confidence: float = 1.0,
    ) -> Heard:
        """The verdict on ``text`` (confidence ``confidence``) heard at ``now`` (seconds).

        When ``text`` does not open with the wake phrase and would be ignored, a close
        runner-up among the recogniser's ``alternatives`` that does counts instead (see
        ALTERNATIVE_SHARE).
        """
        said = words(text)
        rest = self._strip_wake(said)
        listening = self.always_listening or now < self.open_until
        if rest is None and not listening:  # when listening, the dialogue weighs alternatives
            found = next(self._wake_in_alternatives(alternatives, text, confidence), None)
            if found is not None:
                alternative, rest = found
                text, confidence = alternative.text, alternative.confidence
        if rest is not None:
            if not rest:
                self.open_until = now + AWAKE_SECONDS
                return Heard(False, "", woke=True, heard=text, confidence=confidence)
            return Heard(True, " ".join(rest), heard=text, confidence=confidence)
        if listening:
            return Heard(True, " ".join(said), heard=text, confidence=confidence)
        return Heard(False, "", heard=text, confidence=confidence)

    def answered(self, now: float) -> None:
        """An answer just finished: open the follow-up window."""
        self.open_until = now + FOLLOW_UP_SECONDS

    def close(self) -> None:
        """After "stop" or "goodbye": back to needing the wake phrase."""
        self.open_until = 0.0

    def _wake_in_alternatives(
        self, alternatives: Sequence[Alternative], text: str, confidence: float
    ) -> Iterator[tuple[Alternative, list[str]]]:
        """Close alternatives that open with the wake phrase, best first, with the words after."""
        floor = max(ALTERNATIVE_MIN, ALTERNATIVE_SHARE * confidence)
        for alternative in sorted(alternatives, key=lambda a: -a.confidence):
            if alternative.confidence < floor:
                return
            if alternative.text == text:
                continue
            rest = self._strip_wake(words(alternative.text))
            if rest is not None:
                yield alternative, rest

    def _strip_wake(self, said: list[str]) -> list[str] | None:
        """The words after the wake phrase, or None when it does not open the utterance."""
        n = len(self.wake_words)
        if not n or not said:
            return None
        target = " ".join(self.wake_words)
        best_size, best_score = 0, 0.0
        for size in (n, n + 1, n - 1):  # recognisers split and merge words
            if 0 < size <= len(said):
                score = fuzz.ratio(" ".join(said[:size]), target)
                if score > best_score:
                    best_size, best_score = size, score
        return said[best_size:] if best_score >= WAKE_MATCH else None
