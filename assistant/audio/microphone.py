"""Microphone input: a sounddevice stream feeding a queue, plus device-loss recovery.

The PortAudio callback runs on a real-time thread, so it only copies bytes onto a queue and
counts what went wrong (overflows, full queue); everything else happens in the reader. The
reader blocks on the queue (no polling loops), and notices a lost device when the stream
stops, errors, or delivers nothing for ``stall_timeout`` seconds (a PulseAudio source that
disappears just goes quiet). :func:`reopen_with_retry` then waits for the device to return.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from assistant.audio.devices import Device, refresh, resolve_device, sounddevice_module
from assistant.errors import AudioError
from assistant.stages import Transcript

LOG = logging.getLogger("assistant.audio")


class MicrophoneLost(AudioError):
    """The microphone stopped delivering audio (unplugged, sound server gone, stream died)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The microphone stopped working ({reason}); waiting for it to come back.",
            spoken="I lost the microphone. I will keep trying.",
        )
        self.reason = reason


class Microphone:
    """16 kHz mono int16 audio from one input device, in ``block_seconds`` blocks.

    ``start()`` opens the stream, ``read()`` returns the next block, ``close()`` stops it (also
    usable as a context manager). Not hearing the assistant's own voice is the voice loop's
    business (it keeps listening for "stop" while speaking), so every block is delivered.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        sample_rate: int = 16_000,
        block_seconds: float = 0.1,
        stall_timeout: float = 1.5,
        max_queued_blocks: int = 100,
    ) -> None:
        self.device_spec = device
        self.requested_rate = sample_rate
        self.sample_rate = sample_rate
        """Actual stream rate: the requested one, or the device's own if it refuses it."""
        self.block_seconds = block_seconds
        self.stall_timeout = stall_timeout
        self.device: Device | None = None
        self.overflows = 0
        """Input overflows reported by PortAudio (audio lost because we read too slowly)."""
        self.dropped_blocks = 0
        """Blocks dropped because the queue was full (the consumer fell behind)."""
        self.generation = 0
        """Bumped on every (re)start: earlier audio is from another stream."""
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=max_queued_blocks)
        self._pending: collections.deque[bytes] = collections.deque()
        self._stream: Any = None
        self._closing = False
        self._lost_reason: str | None = None
        self._blocks_seen = 0
        self._watch_count = 0
        self._watch_time = 0.0

    @property
    def blocks_waiting(self) -> int:
        """Blocks captured but not yet read: how far the reader lags the microphone."""
        return self._queue.qsize() + len(self._pending)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open and start the input stream; :class:`AudioError` when that is impossible."""
        if self._stream is not None:
            return
        sd = sounddevice_module()

        device = resolve_device(self.device_spec, "input")
        rate = self._pick_rate(sd, device)
        self._drain()
        self._pending.clear()
        self._closing = False
        self._lost_reason = None
        stream = None
        try:
            stream = sd.RawInputStream(
                samplerate=rate,
                blocksize=max(1, int(rate * self.block_seconds)),
                device=device.index,
                channels=1,
                dtype="int16",
                callback=self._callback,
                finished_callback=self._finished,
            )
            stream.start()
        except sd.PortAudioError as exc:
            if stream is not None:
                self._closing = True
                stream.close(ignore_errors=True)
            raise AudioError(
                f"Cannot open the microphone '{device.name}': {exc}",
                spoken="I cannot open the microphone.",
            ) from exc
        self._stream = stream
        self.device = device
        self.sample_rate = rate
        self._watch_count = self._blocks_seen
        self._watch_time = time.monotonic()
        self.generation += 1
        LOG.info("microphone open: %d: %s at %d Hz", device.index, device.name, rate)

    def _pick_rate(self, sd: Any, device: Device) -> int:
        """The requested rate if the device takes it, else its default (Vosk resamples)."""
        try:
            sd.check_input_settings(
                device=device.index, channels=1, dtype="int16", samplerate=self.requested_rate
            )
        except sd.PortAudioError as exc:
            LOG.info(
                "%s refuses %d Hz (%s); using %d Hz",
                device.name, self.requested_rate, exc, int(device.default_samplerate),
            )
            return int(device.default_samplerate)
        return self.requested_rate

    def close(self) -> None:
        """Stop and close the stream (safe to call twice, and after the device vanished)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._closing = True
        # abort, not stop: never wait on a device that may be gone; errors here only mean
        # the stream was already dead, which is why we are closing it.
        stream.abort(ignore_errors=True)
        stream.close(ignore_errors=True)
        self._drain()

    def __enter__(self) -> Microphone:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    # -- PortAudio thread ------------------------------------------------------------------
    def _callback(self, indata: Any, _frames: int, _time: Any, status: Any) -> None:
        """Runs on PortAudio's thread: copy, count, never block."""
        self._blocks_seen += 1
        if status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:
            self.dropped_blocks += 1

    def _finished(self) -> None:
        if not self._closing:
            self._lost_reason = "the audio stream stopped"
            # Wake a waiting reader now; if the queue is full nobody is waiting, and the
            # reader sees _lost_reason on its next read.
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(b"")

    # -- reading ---------------------------------------------------------------------------
    def read(self, timeout: float | None = None) -> bytes | None:
        """The next block of int16 mono PCM; None if none came within ``timeout`` seconds.

        Blocks without using CPU. Raises :class:`MicrophoneLost` when the device is gone.
        """
        if self._pending:
            return self._pending.popleft()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            self._check_alive()
            wait = self.stall_timeout / 2
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
            try:
                block = self._queue.get(timeout=max(0.0, wait))
            except queue.Empty:
                block = b""
            if block:
                return block
            if deadline is not None and time.monotonic() >= deadline:
                self._check_alive()
                return None

    def wait_for_audio(self) -> None:
        """Return once the stream delivers audio; :class:`MicrophoneLost` if it does not."""
        block = self.read(timeout=self.stall_timeout)
        if block is None:
            self._lost_reason = "no audio after opening"
            raise MicrophoneLost(self._lost_reason)
        self._pending.append(block)

    def _check_alive(self) -> None:
        if self._lost_reason is not None:
            raise MicrophoneLost(self._lost_reason)
        stream = self._stream
        if stream is None:
            raise AudioError("The microphone is not open.")
        now = time.monotonic()
        seen = self._blocks_seen
        if seen != self._watch_count:
            self._watch_count, self._watch_time = seen, now
        elif now - self._watch_time > self.stall_timeout:
            self._lost_reason = f"no audio for {now - self._watch_time:.1f} s"
            raise MicrophoneLost(self._lost_reason)
        sd = sounddevice_module()

        try:
            active = stream.active
        except sd.PortAudioError as exc:
            self._lost_reason = f"stream error: {exc}"
            raise MicrophoneLost(self._lost_reason) from exc
        if not active:
            self._lost_reason = "the audio stream stopped"
            raise MicrophoneLost(self._lost_reason)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


def reopen_with_retry(
    mic: Microphone,
    *,
    on_notice: Callable[[int, AudioError, float], None] | None = None,
    initial_delay: float = 0.5,
    max_delay: float = 5.0,
    give_up_after: float | None = None,
    stop: threading.Event | None = None,
    refresh_devices: bool = True,
) -> bool:
    """Close ``mic`` and reopen it until audio flows again; True once it does.

    Waits ``initial_delay`` after a failed attempt, doubling up to ``max_delay``.
    ``on_notice(attempt, error, next_delay)`` is called after each failed attempt (to tell the
    user once, or log). Returns False if ``stop`` gets set; raises :class:`AudioError` after
    ``give_up_after`` seconds (None: keep trying). ``refresh_devices`` re-enumerates devices so
    that a re-plugged one is found; it closes every PortAudio stream, so close others first.
    """
    mic.close()
    delay = initial_delay
    started = time.monotonic()
    attempt = 0
    while stop is None or not stop.is_set():
        attempt += 1
        try:
            if refresh_devices:
                refresh()
            mic.start()
            mic.wait_for_audio()
        except AudioError as exc:
            mic.close()
            LOG.info("microphone attempt %d failed: %s", attempt, exc.message)
            if give_up_after is not None and time.monotonic() - started + delay > give_up_after:
                raise AudioError(
                    f"The microphone did not come back ({attempt} attempts): {exc.message}",
                    spoken="The microphone did not come back.",
                ) from exc
            if on_notice is not None:
                on_notice(attempt, exc, delay)
            if stop is not None:
                if stop.wait(delay):
                    return False
            else:
                time.sleep(delay)
            delay = min(max_delay, delay * 2)
            continue
        LOG.info("microphone back after %d attempt(s)", attempt)
        return True
    return False


class StreamingRecognizer(Protocol):
    """What :func:`listen_utterances` needs (``assistant.speech.recognizer.Recognizer``)."""

    def accept(self, pcm: bytes) -> bool: ...

    def partial(self) -> str: ...

    def result(self) -> Transcript: ...

    def reset(self) -> None: ...


def listen_utterances(
    mic: Microphone,
    recognizer: StreamingRecognizer,
    on_partial: Callable[[str], None] | None = None,
    *,
    stop: threading.Event | None = None,
    poll_seconds: float = 0.5,
) -> Iterator[Transcript]:
    """Yield one Transcript per utterance heard on ``mic`` (Vosk endpoints; empty ones skipped).

    The recogniser is reset after each utterance, and whenever the microphone was reopened
    (half an utterance from before is stale). ``on_partial`` gets the words heard so
    far when they change. Stops when ``stop`` is set (checked every ``poll_seconds``); lets
    :class:`MicrophoneLost` through, so the caller can :func:`reopen_with_retry` and listen
    again.
    """
    generation = mic.generation
    last_partial = ""
    while stop is None or not stop.is_set():
        block = mic.read(timeout=poll_seconds)
        if mic.generation != generation:
            generation = mic.generation
            recognizer.reset()
            last_partial = ""
        if block is None:
            continue
        if recognizer.accept(block):
            transcript = recognizer.result()
            recognizer.reset()
            last_partial = ""
            if transcript.text:
                yield transcript
        elif on_partial is not None:
            text = recognizer.partial()
            if text != last_partial:
                last_partial = text
                on_partial(text)
