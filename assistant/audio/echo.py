"""The assistant's own voice coming back through the microphone (a late echo).

Half-duplex (the loop ignores the microphone while speaking and for a short echo guard
after) covers the echo heard at once; this module covers what arrives later: a slow
Bluetooth speaker, or a microphone that fell back to the speaker's monitor. Pure Python over
PCM, so it is tested on synthesised audio without any sound server.
"""

from __future__ import annotations

import array
import collections
import math
import threading
import time
from operator import mul, sub
from typing import Any

OWN_VOICE_MEMORY = 60.0
"""Seconds of the assistant's own speech remembered to recognise it coming back."""
OWN_VOICE_MATCH = 0.95
"""Contour correlation from which an utterance counts as the assistant's own voice. Measured
on the virtual devices: echoes of answers 0.98-1.0 (their best 1.5 s window); 39 espeak Korean
questions and 7 English phrases against a recorded answer at most 0.85."""
OWN_VOICE_MATCH_SHORT = 0.97
"""The same for utterances with less than 1.5 s of sound: short phrases are more alike. The
one false match seen: the test user's espeak "안녕하세요" against the assistant's own espeak
greeting "Say 안녕하세요, then your question" (0.94) -- the same engine saying the same word."""


class OwnVoice:
    """Recognises the assistant's own recent speech when it comes back through the microphone.

    Half-duplex covers the echo heard while speaking and ``ECHO_GUARD_SECONDS`` after; this
    covers what arrives later. Both sides are reduced to loudness contours (log energy of the
    whole signal and of its first difference, 20 ms frames, so the sample rate does not
    matter); an utterance whose contour correlates with a stretch of what was said counts as
    echo. Utterances with less than ``MIN_SECONDS`` of sound are too short to judge and pass.
    Pure Python, a few ms per check against a minute of speech.
    """

    SUB_SECONDS = 0.005
    SUBS = 4
    """Sub-blocks per 20 ms frame. What was said is kept at a 5 ms hop (as ``SUBS`` interleaved
    20 ms-hop sequences), so an utterance's 20 ms frames align to it within 2.5 ms."""
    MIN_SECONDS = 0.6
    COMPARE_SECONDS = 1.5
    WINDOW_STEP = 0.5
    MAX_WINDOWS = 6
    """An utterance is compared in 1.5 s windows every 0.5 s, at most six (its first 4 s):
    an echo's first window may straddle the "got it" earcon and the answer, whose gap on the
    speaker is not known to the millisecond; a later one falls wholly inside the answer."""

    JOIN_GAP = 1.0
    """Jobs that start within this long after the previous one ended ("got it" earcon, then
    the answer) are kept as one stretch, so an echo spanning both still matches."""

    def __init__(self, memory: float = OWN_VOICE_MEMORY) -> None:
        self.memory = memory
        self._said: collections.deque[_Said] = collections.deque()
        self._lock = threading.Lock()

    def played(self, job: Any) -> None:
        """Remember what a finished speech job put on the speaker (up to where it stopped)."""
        started = getattr(job, "started_at", None)
        if started is None:
            return
        left = float(getattr(job, "audio_seconds", 0.0))
        low: list[int] = []
        high: list[int] = []
        for segment in job.segments:
            audio = segment if hasattr(segment, "pcm") else _finished_result(segment)
            if audio is None or not audio.rate or left <= 0:
                continue
            pcm = audio.pcm[: 2 * int(min(left, audio.seconds) * audio.rate)]
            left -= audio.seconds
            sub_low, sub_high = _sub_energies(pcm, audio.rate, self.SUB_SECONDS)
            low += sub_low
            high += sub_high
        if not low:
            return
        ended = getattr(job, "finished_at", None) or time.monotonic()
        keep = round(self.memory / self.SUB_SECONDS)
        with self._lock:
            last = self._said[-1] if self._said else None
            if last is not None and 0 <= started - last.ended < self.JOIN_GAP:
                self._said.pop()
                gap = [0] * round((started - last.ended) / self.SUB_SECONDS)
                low = last.low + gap + low
                high = last.high + gap + high
            self._said.append(_Said(ended, low[-keep:], high[-keep:], self.SUBS))
            while self._said and ended - self._said[0].ended > self.memory:
                self._said.popleft()

    def match(self, pcm: bytes, rate: float) -> tuple[float, float]:
        """(best correlation -1..1 with recent speech, seconds of sound in ``pcm``).

        The correlation is 0.0 when nothing was said recently or the sound is too short.
        """
        now = time.monotonic()
        with self._lock:
            said = [x.contours for x in self._said if now - x.ended <= self.memory and x.contours]
        if not said or not pcm:
            return 0.0, 0.0
        sub_low, sub_high = _sub_energies(pcm, rate, self.SUB_SECONDS)
        low, high = _frames(sub_low, self.SUBS), _frames(sub_high, self.SUBS)
        if not low:
            return 0.0, 0.0
        top = max(low)
        loud = [i for i, v in enumerate(low) if v > max(top - 35.0, 20.0)]
        if not loud:
            return 0.0, 0.0
        frame = self.SUB_SECONDS * self.SUBS
        low = low[loud[0] : loud[-1] + 1]
        high = high[loud[0] : loud[-1] + 1]
        seconds = len(low) * frame
        if seconds < self.MIN_SECONDS:
            return 0.0, seconds
        size = round(self.COMPARE_SECONDS / frame)
        step = round(self.WINDOW_STEP / frame)
        best = -1.0
        for start in range(0, max(1, len(low) - size + step), step)[: self.MAX_WINDOWS]:
            window = (low[start : start + size], high[start : start + size])
            if len(window[0]) * frame < self.MIN_SECONDS:
                break
            best = max(best, self._best_alignment(said, *window))
            if best >= OWN_VOICE_MATCH_SHORT:
                break
        return best, seconds

    def _best_alignment(
        self, said: list[list[_Contour]], low: list[float], high: list[float]
    ) -> float:
        """Highest correlation of one window with any stretch of what was said."""
        z_low, z_high = _standardise(low), _standardise(high)
        n = len(z_low)
        best = -1.0
        for contours in said:
            positions = range(contours[0].size - n + 1)
            # coarse: the whole-signal contour on the 20 ms grid; then both contours,
            # refined to the 5 ms hop around the three best places
            coarse = sorted(((contours[0].correlation(z_low, k), k) for k in positions),
                            reverse=True)[:3]
            for _value, k in coarse:
                for offset in range(self.SUBS):
                    ref_low, ref_high = contours[2 * offset], contours[2 * offset + 1]
                    for near in (k - 1, k) if offset else (k,):
                        value = (
                            ref_low.correlation(z_low, near) + ref_high.correlation(z_high, near)
                        ) / 2
                        best = max(best, value)
        return best


class _Said:
    """One stretch of the assistant's speech: 5 ms sub-block energies and their contours."""

    def __init__(self, ended: float, low: list[int], high: list[int], subs: int) -> None:
        self.ended = ended
        self.low = low
        self.high = high
        self.contours = (
            [
                _Contour(_frames(band[offset:], subs))
                for offset in range(subs)
                for band in (low, high)
            ]
            if len(low) >= 2 * subs
            else []
        )


class _Contour:
    """One loudness contour with running sums, for fast sliding correlations."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.size = len(values)
        self._sum = [0.0]
        self._squares = [0.0]
        for v in values:
            self._sum.append(self._sum[-1] + v)
            self._squares.append(self._squares[-1] + v * v)

    def correlation(self, z: list[float], k: int) -> float:
        """Pearson correlation of standardised ``z`` with ``values[k:k+len(z)]``."""
        n = len(z)
        if k < 0 or k + n > self.size:
            return -1.0
        mean = (self._sum[k + n] - self._sum[k]) / n
        variance = (self._squares[k + n] - self._squares[k]) / n - mean * mean
        if variance < 1e-6:
            return -1.0
        # sum(z) == 0, so the window's mean drops out of the covariance
        return sum(map(mul, z, self.values[k : k + n])) / (n * math.sqrt(variance))


def _finished_result(future: Any) -> Any:
    """The Audio of a synthesis Future that completed (None if cancelled or failed)."""
    try:
        if future.done() and not future.cancelled() and future.exception() is None:
            return future.result()
    except Exception:
        return None
    return None


def _sub_energies(pcm: bytes, rate: float, seconds: float) -> tuple[list[int], list[int]]:
    """Energy of the signal and of its first difference in blocks of ``seconds``."""
    samples = array.array("h", pcm[: len(pcm) - len(pcm) % 2])
    size = max(2, round(rate * seconds))
    low: list[int] = []
    high: list[int] = []
    for start in range(0, len(samples) - size + 1, size):
        block = samples[start : start + size]
        low.append(sum(map(mul, block, block)))
        diff = list(map(sub, block[1:], block[:-1]))
        high.append(sum(map(mul, diff, diff)))
    return low, high


def _frames(energies: list[int], subs: int) -> list[float]:
    """Log energies (dB) of consecutive frames of ``subs`` sub-blocks."""
    return [
        10.0 * math.log10(sum(energies[i : i + subs]) / subs + 1.0)
        for i in range(0, len(energies) - subs + 1, subs)
    ]


def _standardise(values: list[float]) -> list[float]:
    mean = sum(values) / len(values)
    spread = math.sqrt(max(1e-9, sum((v - mean) ** 2 for v in values) / len(values)))
    return [(v - mean) / spread for v in values]


def is_own_voice(match: float, seconds: float) -> bool:
    """Whether a contour match over ``seconds`` of sound (``OwnVoice.match``) is an echo."""
    limit = OWN_VOICE_MATCH if seconds >= OwnVoice.COMPARE_SECONDS else OWN_VOICE_MATCH_SHORT
    return match >= limit
