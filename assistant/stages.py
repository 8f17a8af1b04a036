"""Typed values passed between pipeline stages.

Vosk result -> ``Transcript`` -> ``IntentMatch`` -> ``Answer`` -> voice. Each stage can be
tested alone by building its input by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

MatchMethod = Literal[
    "none",
    # the matcher (nlu/matcher.py): how it matched...
    "exact",
    "same_words",
    "sound_guess",
    "fuzzy",
    "question_at_end",
    # ...or why nothing matched
    "everyday",
    "out_of_scope",
    "animal",
    "empty",
    # the dialogue (dialogue.py): how a match was changed in light of the conversation
    "low_confidence",
    "everyday_in_context",
    "story",
    "context",
]
"""How an ``IntentMatch`` was found, or why there is none."""

AnswerKind = Literal[
    "answer", "safety", "emergency", "animal", "clarify", "decline", "not_understood", "control"
]
"""What sort of reply an ``Answer`` is (the voice shell picks an earcon and follow-up by it)."""

SettingAction = Literal["slower", "faster", "louder", "quieter", "normal_speed"]
"""Spoken setting changes; the shell applies and saves them."""

Action = Literal["stop", "end", "repeat", SettingAction]
"""Side effects an ``Answer`` asks of the shell: stop speaking, end the conversation, say
the last reply again, or change a speech setting."""


class Urgency(str, Enum):
    """What the person should do now; part of every answer's type (``Answer.urgency``)."""

    EMERGENCY = "emergency"
    """Call emergency services now."""
    DOCTOR = "doctor"
    """See a doctor promptly, within days."""


@dataclass(frozen=True)
class Alternative:
    """One n-best hypothesis from the recogniser."""

    text: str
    """Recognised words, lower case."""

    confidence: float
    """Recogniser confidence, 0..1 (Vosk's n-best score mapped to 0..1)."""


@dataclass(frozen=True)
class Word:
    """One recognised word with timing."""

    word: str
    start: float
    """Start time in seconds from the beginning of the audio."""
    end: float
    conf: float
    """Vosk's per-word confidence, 0..1."""


@dataclass(frozen=True)
class Transcript:
    """What the recogniser heard (or what the user typed)."""

    text: str
    """Best hypothesis, lower case, no punctuation."""

    confidence: float = 1.0
    """Overall confidence, 0..1; typed text is 1.0."""

    words: tuple[Word, ...] = ()
    """Word timings and confidences, when the recogniser gives them."""

    alternatives: tuple[Alternative, ...] = ()
    """Other hypotheses, best first (may include ``text`` itself)."""


@dataclass(frozen=True)
class IntentMatch:
    """The matcher's verdict on one utterance."""

    intent: str | None
    """Intent or answer id, or None when nothing in scope matched."""

    confidence: float
    """0..1: 1.0 for an exact template match, lower for fuzzy matches."""

    slots: dict[str, str] = field(default_factory=dict)
    """Slot values, e.g. ``{"topic": "caffeine"}``."""

    method: MatchMethod = "none"
    """How it matched, or why nothing did (see ``MatchMethod``)."""

    text: str = ""
    """The normalised text that was matched."""

    runner_up: str | None = None
    """Second-best intent when it was close (used to ask back on near ties)."""

    runner_up_confidence: float = 0.0


@dataclass(frozen=True)
class Answer:
    """What the assistant says back for one turn."""

    text: str
    """The spoken answer, in plain sentences."""

    intent: str | None
    """The intent that produced it (None when not understood or out of scope)."""

    confidence: float
    """Confidence of the match behind it, 0..1."""

    kind: AnswerKind = "answer"
    """What sort of reply it is (see ``AnswerKind``)."""

    action: Action | None = None
    """Side effect for the shell (see ``Action``), None for none."""

    urgency: Urgency | None = None
    """``emergency`` (call emergency services now), ``doctor`` (see a doctor promptly) or
    None for an ordinary answer; decided by ``safety.assess``."""

    closing: str | None = None
    """A sentence the voice shell says once more after the answer (the emergency call to
    action), so that it is the last thing heard."""
