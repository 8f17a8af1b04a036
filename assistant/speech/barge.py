"""Barge-in: hear "stop" while the assistant is talking, and nothing else.

A Vosk recogniser restricted to the stop phrases (grammar mode only, no free decoding):
anything else it hears comes out as ``[unk]`` or as a run of several phrases, and only an
utterance that is exactly one stop phrase counts. The partial result is used, held for two
blocks, so that playback stops within about 0.2 s instead of waiting for the end of the
utterance. Needs a model with a dynamic graph (grammar mode).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from assistant.speech.recognizer import normalise_phrase

LOG = logging.getLogger("assistant.speech")

STABLE_BLOCKS = 2
"""A partial result must read as a stop phrase for this many blocks in a row."""


class StopListener:
    """Feed it microphone blocks while speaking; ``accept`` returns True on "stop"."""

    def __init__(self, model: Any, sample_rate: float, phrases: Iterable[str]) -> None:
        import vosk

        known = []
        for phrase in {normalise_phrase(p) for p in phrases}:
            if phrase and all(model.vosk_model_find_word(w) >= 0 for w in phrase.split()):
                known.append(phrase)
        self.phrases = frozenset(known)
        grammar = sorted(known)
        if model.vosk_model_find_word("[unk]") >= 0:
            grammar.append("[unk]")
        self._rec = vosk.KaldiRecognizer(model, float(sample_rate),
                                         json.dumps(grammar, ensure_ascii=False))
        self._stable = 0
        if not self.phrases:
            LOG.warning("no stop phrase is in the model's vocabulary: barge-in is off")

    def accept(self, pcm: bytes) -> bool:
        if not self.phrases:
            return False
        if self._rec.AcceptWaveform(pcm):
            text = json.loads(self._rec.Result()).get("text", "")
            self._stable = 0
            return text in self.phrases
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        self._stable = self._stable + 1 if partial in self.phrases else 0
        return self._stable >= STABLE_BLOCKS

    def reset(self) -> None:
        self._rec.Reset()
        self._stable = 0
