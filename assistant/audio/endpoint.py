"""When has the person finished speaking? Voice activity plus what the words so far say.

A question the words already complete ("why does my eyelid twitch", a danger sign said
whole) ends after a short silence; one plainly unfinished ("my calf ...", "and", a sentence
of ours cut halfway) waits longer, so a pause in the middle is never taken for the end; any
other waits in between. The recogniser's own endpoint (0.5 s of trailing silence in the
model's conf/model.conf) only closes a segment: the loop keeps its words and goes on
listening until this module says the utterance has ended.

Pure logic over speech probabilities: the loop feeds PCM through a ``VoiceActivity`` (see
``audio/vad.py``) and asks ``decide`` with the state of the words; tests feed synthesised PCM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from assistant.audio.vad import VoiceActivity


class Words(str, Enum):
    """What the words heard so far say about the question."""

    EMPTY = "empty"
    """Nothing recognised yet."""
    COMPLETE = "complete"
    """One of our sentences, whole, or an emergency said whole: answer at once."""
    UNFINISHED = "unfinished"
    """The start of one of our sentences, or ending on "and", "my", "because"."""
    OPEN = "open"
    """Anything else: words we cannot place (a story, a question of other words)."""


COMPLETE_SILENCE = 0.25
"""Silence that ends a complete question. People leave about 200 ms between turns; 250 ms
of silence after a whole sentence of ours was never a pause inside a question in the bench's
paused questions (bench/bench_loop.py), whose pauses fall after unfinished words."""
OPEN_SILENCE = 0.8
"""Silence that ends words we cannot place. Above the 500-700 ms pauses people make inside a
question ("why do my calves ... twitch after running"), below the old forced endpoint."""
UNFINISHED_SILENCE = 1.2
"""Silence that ends even an unfinished question (or noise without words): the old forced
endpoint, so that someone who trails off is still answered."""
SPEECH_PROBABILITY = 0.5
"""A frame at least this likely to be speech is speech (Silero's own default)."""
QUIET_PROBABILITY = 0.35
"""A frame below this is silence; in between, neither (hysteresis: breath, a soft ending)."""


SILENCE_FOR: dict[Words, float] = {
    Words.COMPLETE: COMPLETE_SILENCE,
    Words.OPEN: OPEN_SILENCE,
    Words.UNFINISHED: UNFINISHED_SILENCE,
    Words.EMPTY: UNFINISHED_SILENCE,
}


@dataclass(frozen=True)
class SpeechStarted:
    """The first voiced frame of an utterance."""

    at: float
    """Seconds of audio fed to the endpointer when it started."""


@dataclass(frozen=True)
class SpeechEnded:
    """The utterance is over."""

    at: float
    """Seconds of audio fed when it was decided."""
    silence: float
    """Trailing silence that ended it."""
    words: Words


class Endpointer:
    """Feed microphone PCM (16-bit mono); ask ``decide`` after each block."""

    def __init__(self, activity: VoiceActivity, sample_rate: float) -> None:
        self.activity = activity
        self.sample_rate = float(sample_rate)
        self._frame_bytes = 2 * activity.frame_samples
        self._rest = b""
        self._fed = 0.0
        self.speech_seen = False
        """Whether any frame of this utterance was speech."""
        self.silence = 0.0
        """Seconds of silence since the last speech frame."""
        self.last_voice_at = 0.0
        """Seconds of audio fed when the last speech frame ended."""
        self.voiced_run = 0
        """Speech frames in a row, up to the last one fed."""

    def reset(self) -> None:
        """Start a new utterance (keeps the audio clock)."""
        self.activity.reset()
        self._rest = b""
        self.speech_seen = False
        self.silence = 0.0
        self.voiced_run = 0

    def push(self, pcm: bytes) -> SpeechStarted | None:
        """Take a block of PCM; returns SpeechStarted on the utterance's first speech."""
        data = self._rest + pcm
        usable = len(data) - len(data) % self._frame_bytes
        self._rest = data[usable:]
        started = None
        frame_seconds = self._frame_bytes / 2 / self.sample_rate
        for start in range(0, usable, self._frame_bytes):
            p = self.activity.probability(data[start:start + self._frame_bytes])
            self._fed += frame_seconds
            self.voiced_run = self.voiced_run + 1 if p >= SPEECH_PROBABILITY else 0
            if p >= SPEECH_PROBABILITY:
                if not self.speech_seen:
                    started = SpeechStarted(self._fed - frame_seconds)
                self.speech_seen = True
                self.silence = 0.0
                self.last_voice_at = self._fed
            elif p < QUIET_PROBABILITY and self.speech_seen:
                self.silence += frame_seconds
        return started

    def heard_words(self) -> None:
        """The recogniser found words although no frame looked like speech (a quiet voice
        the detector missed): count the utterance as started from now."""
        if not self.speech_seen:
            self.speech_seen = True
            self.silence = 0.0
            self.last_voice_at = self._fed

    def decide(self, words: Words) -> SpeechEnded | None:
        """SpeechEnded once the silence after speech is long enough for these words."""
        if self.speech_seen and self.silence >= SILENCE_FOR[words]:
            return SpeechEnded(self._fed, self.silence, words)
        return None


def words_state(
    text: str, complete: Callable[[str], bool], unfinished: Callable[[str], bool]
) -> Words:
    """Classify the words so far with the caller's tests (the skill knows its sentences)."""
    if not text.strip():
        return Words.EMPTY
    if complete(text):
        return Words.COMPLETE
    if unfinished(text):
        return Words.UNFINISHED
    return Words.OPEN
