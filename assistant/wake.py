"""When to listen: the wake phrase and the follow-up window, as a pure state machine.

Hands-free use needs a guard against answering every sound: a question counts when it
starts with the wake phrase ("hey computer, why do my calves twitch"), when it comes
shortly after the wake phrase said alone, or in the follow-up window after an answer (so
"tell me more" needs no wake phrase). With always-listening everything counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from assistant.nlu.text import words

WAKE_MATCH = 80
"""rapidfuzz ratio a heard opening must reach to count as the wake phrase."""
AWAKE_SECONDS = 8.0
"""After the wake phrase alone, how long the next utterance counts without it."""
FOLLOW_UP_SECONDS = 8.0
"""After an answer has been spoken, how long a follow-up counts without the wake phrase."""


@dataclass(frozen=True)
class Heard:
    """The gate's verdict on one utterance."""

    accept: bool
    """True: answer ``text``."""
    text: str
    """What to answer (the wake phrase removed)."""
    woke: bool = False
    """True: the wake phrase was said alone; play the listening cue and wait."""


class WakeGate:
    """Decides which utterances are meant for the assistant."""

    def __init__(self, wake_phrase: str, always_listening: bool = False) -> None:
        self.wake_words = words(wake_phrase)
        self.always_listening = always_listening or not self.wake_words
        self.open_until = 0.0

    def heard(self, text: str, now: float) -> Heard:
        said = words(text)
        rest = self._strip_wake(said)
        if rest is not None:
            if not rest:
                self.open_until = now + AWAKE_SECONDS
                return Heard(False, "", woke=True)
            return Heard(True, " ".join(rest))
        if self.always_listening or now < self.open_until:
            return Heard(True, " ".join(said))
        return Heard(False, "")

    def answered(self, now: float) -> None:
        """An answer just finished: open the follow-up window."""
        self.open_until = now + FOLLOW_UP_SECONDS

    def close(self) -> None:
        """After "stop" or "goodbye": back to needing the wake phrase."""
        self.open_until = 0.0

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
