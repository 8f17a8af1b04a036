"""Play 16-bit PCM on a chosen speaker through sounddevice (PortAudio), interruptibly.

Why not let pyttsx3 play: on Linux it shells out to ``aplay``, cannot pick a device and cannot
be stopped mid-sentence. Here audio is written in short blocks (512 frames, ~23 ms at 22 kHz),
and a ``threading.Event`` is checked between blocks; on stop the stream is aborted, which drops
what PortAudio and the sound server still buffer, so the sound ends within a block or two.

Every PortAudio failure becomes an ``AudioError`` in plain words ("No speaker found", "The
speaker was disconnected"); callers never see a PortAudio traceback.
"""

from __future__ import annotations

import array
import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

from assistant.audio.devices import resolve_device, sounddevice_module
from assistant.errors import AudioError
from assistant.streams import native_stderr_filtered

LOG = logging.getLogger("assistant.audio")

BLOCK_FRAMES = 512
"""Frames per write: the stop check runs this often (23 ms at 22 050 Hz)."""

def _disconnected() -> AudioError:
    return AudioError(
        "The speaker was disconnected while playing.", spoken="The speaker was disconnected."
    )


def output_device_index(spec: str | int | None = None) -> int:
    """The PortAudio index of the speaker given as None (system default), an index, or a
    name (part of one); ``audio.devices.resolve_device`` decides, with its errors."""
    return resolve_device(spec, "output").index


# -- PCM helpers ----------------------------------------------------------------------------


def scale_volume(pcm: bytes, volume: float) -> bytes:
    """Scale 16-bit PCM by ``volume`` (0..1); 1.0 returns the input unchanged (fast path)."""
    volume = min(max(volume, 0.0), 1.0)
    if volume >= 0.999:
        return pcm
    samples = array.array("h", pcm[: len(pcm) - len(pcm) % 2])
    return array.array("h", [int(s * volume) for s in samples]).tobytes()


def convert(pcm: bytes, from_rate: int, to_rate: int, channels: int = 1) -> bytes:
    """Resample mono 16-bit PCM linearly and duplicate it to ``channels``.

    Only for devices that refuse our rate or mono (raw ``hw:`` ALSA devices); sound servers
    (PulseAudio, PipeWire) convert themselves and never need this.
    """
    samples = array.array("h", pcm[: len(pcm) - len(pcm) % 2])
    if from_rate != to_rate and samples:
        count = max(1, round(len(samples) * to_rate / from_rate))
        step = from_rate / to_rate
        last = len(samples) - 1
        out = array.array("h", bytes(2 * count))
        for i in range(count):
            pos = i * step
            j = int(pos)
            if j >= last:
                out[i] = samples[last]
            else:
                frac = pos - j
                out[i] = int(samples[j] + (samples[j + 1] - samples[j]) * frac)
        samples = out
    if channels > 1:
        wide = array.array("h", bytes(2 * len(samples) * channels))
        for c in range(channels):
            wide[c::channels] = samples
        samples = wide
    return samples.tobytes()


# -- playback -------------------------------------------------------------------------------


class Playback:
    """One open output stream; write PCM to it in short, interruptible blocks."""

    def __init__(self, stream: Any, rate: int, device_rate: int, channels: int, name: str) -> None:
        self._stream = stream
        self.rate = rate
        """The rate callers write at (our PCM)."""
        self.device_rate = device_rate
        self.channels = channels
        self.name = name
        self.frames_written = 0
        self._closed = False

    def write(self, pcm: bytes, stop: threading.Event | None = None, volume: float = 1.0) -> bool:
        """Play ``pcm`` (mono 16-bit at ``self.rate``); False if ``stop`` was set first.

        Blocks until the last block is queued (not until it is heard: see ``finish``).
        """
        sd = sounddevice_module()

        pcm = scale_volume(pcm, volume)
        if self.device_rate != self.rate or self.channels != 1:
            pcm = convert(pcm, self.rate, self.device_rate, self.channels)
        step = BLOCK_FRAMES * 2 * self.channels
        for start in range(0, len(pcm), step):
            if stop is not None and stop.is_set():
                return False
            try:
                self._stream.write(pcm[start : start + step])
            except sd.PortAudioError as exc:
                LOG.info("playback failed on %s: %s", self.name, exc)
                self.abort()
                raise _disconnected() from None
            self.frames_written += len(pcm[start : start + step]) // (2 * self.channels)
        return not (stop is not None and stop.is_set())

    def finish(self) -> None:
        """Let the buffered audio play out, then close (so "done" really means silent)."""
        if self._closed:
            return
        sd = sounddevice_module()

        self._closed = True
        try:
            self._stream.stop()
        except sd.PortAudioError as exc:
            LOG.info("stopping the stream on %s failed: %s", self.name, exc)
            with contextlib.suppress(sd.PortAudioError):
                self._stream.close(ignore_errors=True)
            raise _disconnected() from None
        with contextlib.suppress(sd.PortAudioError):
            self._stream.close(ignore_errors=True)

    def abort(self) -> None:
        """Drop whatever is still buffered and close now (barge-in)."""
        if self._closed:
            return
        sd = sounddevice_module()

        self._closed = True
        with contextlib.suppress(sd.PortAudioError):
            self._stream.abort(ignore_errors=True)
        with contextlib.suppress(sd.PortAudioError):
            self._stream.close(ignore_errors=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Playback:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()


class Player:
    """Plays PCM on one output device (None = the system default)."""

    def __init__(self, device: str | int | None = None, latency: str | float = "low") -> None:
        self.device = device
        self.latency = latency

    def check(self) -> int:
        """Resolve the device now (fail early with "No speaker found"); returns its index."""
        return output_device_index(self.device)

    def open(self, rate: int) -> Playback:
        """Open and start an output stream for mono 16-bit PCM at ``rate``.

        Tries our rate in mono first (sound servers resample), then the device's own rate and
        channel count for raw hardware devices that refuse it.
        """
        sd = sounddevice_module()
        device = resolve_device(self.device, "output")
        index, name = device.index, device.name
        native = int(device.default_samplerate or rate)
        attempts = [(rate, 1), (native, 1), (native, min(2, device.max_output_channels))]
        last_error: Exception | None = None
        for device_rate, channels in dict.fromkeys(attempts):
            try:
                stream = sd.RawOutputStream(
                    samplerate=device_rate, channels=channels, dtype="int16", device=index,
                    blocksize=BLOCK_FRAMES, latency=self.latency,
                )
                stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                last_error = exc
                LOG.debug("opening %s at %d Hz x%d failed: %s", name, device_rate, channels, exc)
                continue
            LOG.debug("playing on %s at %d Hz x%d", name, device_rate, channels)
            return Playback(stream, rate, device_rate, channels, name)
        raise AudioError(
            f"Cannot open the speaker '{name}': {last_error}",
            spoken="I cannot use the speaker.",
        )

    def play(
        self, pcm: bytes, rate: int, stop: threading.Event | None = None, volume: float = 1.0
    ) -> bool:
        """Play ``pcm`` to the end (True) or until ``stop`` is set (False, cut at once)."""
        playback = self.open(rate)
        try:
            completed = playback.write(pcm, stop, volume)
        except BaseException:
            playback.abort()
            raise
        if completed:
            playback.finish()
        else:
            playback.abort()
        return completed


# -- keeping PortAudio's C-level chatter off the user's terminal ----------------------------

_NOISE = re.compile(
    r"^(Expression '.*' failed in '.*'|ALSA lib .*|Cannot connect to server.*|"
    r"jack server is not running.*|.*pa_linux_alsa\.c.*|"
    r"\[src/libmpg123/.*\] (error|warning): .*)$"
)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Hide PortAudio/ALSA diagnostics that C code writes straight to file descriptor 2.

    When a speaker vanishes PortAudio prints lines like "Expression '...' failed in
    'src/hostapi/alsa/pa_linux_alsa.c'" before we can turn the failure into one plain sentence;
    libmpg123 (inside libsndfile) prints "part2_3_length too large" while decoding good MP3s.
    This sends fd 2 to a temporary file for the duration and replays every other line
    afterwards (so Python warnings and logs are delayed, never lost). fd 2 is process-wide:
    use it around blocking playback in a command, not in a long-running multi-threaded loop.
    """
    with native_stderr_filtered(lambda line: not _NOISE.match(line.rstrip("\n"))):
        yield
