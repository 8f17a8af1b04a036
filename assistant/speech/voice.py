"""Speech out: pyttsx3 synthesises, sounddevice plays, sentence by sentence.

pyttsx3 drives the platform's own engine: espeak-ng on Linux, SAPI5 on Windows,
NSSpeechSynthesizer on macOS. We use only what all three drivers share: ``save_to_file``,
``runAndWait`` and the portable properties ``voice`` (an id from ``voices``), ``rate`` (words per
minute) and ``volume`` (0..1). The drivers write different files: WAV (espeak-ng, SAPI5) or
AIFF/AIFF-C (macOS, whatever the file name says: pyttsx3 issue #361), so the file is read
by libsndfile, which tells the formats apart by their content (``audio.audiofile.read_pcm16``).

Why this shape (measured with pyttsx3 2.99 and espeak-ng on Linux):

- pyttsx3's own ``say()`` on Linux plays through ``aplay``: no device choice, no interruption.
  So we only ever call ``save_to_file`` + ``runAndWait`` (fast: ~20 ms for 10 s of speech) and
  play the PCM ourselves with ``assistant.audio.player``.
- pyttsx3 is not thread-safe and espeak keeps one global callback per process, so the
  ``Synthesizer`` owns exactly one engine, created and used on one dedicated thread; other
  threads send requests through a queue and get ``Future`` results. Only one Synthesizer may be
  open per process at a time.
- The ``Speaker`` plays sentence 1 while sentences 2.. are synthesised (low time to first
  audio) and keeps one output stream open for the whole answer (no gaps). ``stop()`` cuts the
  sound within a 23 ms block plus the stream abort (barge-in).
- An engine left alive at interpreter exit can print "Exception ignored ... Traceback" (its C
  callback runs during shutdown), so ``close()`` stops the engine and joins its thread.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.audio.audiofile import load_soundfile, read_pcm16
from assistant.errors import AssistantError, AudioError, SpeechOutputError, UsageError
from assistant.settings import DEFAULT_RATE, Settings

LOG = logging.getLogger("assistant.voice")

SYNTH_TIMEOUT = 15.0
"""Seconds to wait for one synthesis before declaring the engine stuck (normal: ~20 ms)."""

MAX_SENTENCE_CHARS = 220
"""Longer sentences are split at commas/semicolons so the first audio starts sooner."""


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit little-endian PCM (native on x86 and ARM, what PortAudio plays) and its rate."""

    pcm: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate if self.rate else 0.0


# -- sentences ------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "dr", "mr", "mrs", "ms", "prof", "st", "vs", "e.g", "i.e", "approx", "fig", "cf", "jr", "sr",
}
"""Words whose trailing dot does not end a sentence ("no", "etc", "min" often do: not here)."""
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*•\d])")
_SOFT_BREAK = re.compile(r"(?<=[,;:—–])\s+")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Split text into sentences for sentence-by-sentence synthesis.

    Keeps abbreviations ("e.g.", "Dr.") and decimals ("2.5") inside their sentence, breaks at
    blank lines and list items, and splits over-long sentences at commas or semicolons.
    """
    text = text.replace("\r", "")
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start()].strip()
        last_word = candidate.rsplit(None, 1)[-1].lower().rstrip(".") if candidate else ""
        if candidate.endswith(".") and (
            last_word in _ABBREVIATIONS
            or (len(last_word) == 1 and last_word.isalpha())  # initials: "J. Smith"
        ):
            continue
        pieces.append(candidate)
        start = match.end()
    pieces.append(text[start:].strip())
    sentences: list[str] = []
    for piece in pieces:
        piece = " ".join(piece.split())
        if not piece or not any(ch.isalnum() for ch in piece):
            continue
        sentences.extend(_split_long(piece, max_chars))
    return sentences


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    return join_within(_SOFT_BREAK.split(sentence), max_chars)


def join_within(parts: Iterable[str], max_chars: int) -> list[str]:
    """Consecutive parts joined with spaces into as few pieces as keep to ``max_chars`` (a
    part longer than that stays a piece of its own)."""
    pieces: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + 1 + len(part) > max_chars:
            pieces.append(current)
            current = part
        else:
            current = f"{current} {part}" if current else part
    if current:
        pieces.append(current)
    return pieces


# -- synthesizer ----------------------------------------------------------------------------


def _quiet_driver_print(*args: Any, **kwargs: Any) -> None:
    """Stands in for ``print`` inside pyttsx3's espeak driver.

    The driver prints "Audio saved to ..." on stdout after every ``save_to_file``; stdout is
    for our ``--json`` output. We do not redirect fd 1 instead: synthesis runs on its own
    thread, and a process-wide redirect would swallow whatever the main thread prints meanwhile.
    """
    message = " ".join(str(a) for a in args)
    if message.startswith("Audio saved to"):
        LOG.debug("pyttsx3: %s", message)
    else:
        LOG.warning("pyttsx3: %s", message)


def _engine_error(exc: BaseException) -> SpeechOutputError:
    if isinstance(exc, SpeechOutputError):
        return exc
    return SpeechOutputError(
        f"The speech engine failed: {type(exc).__name__}: {exc}",
        spoken="My voice is not working; I will show answers as text.",
    )


_atexit_registered = False


def _close_open_synthesizer() -> None:
    """Safety net at interpreter exit: an engine still open then can print "Exception ignored"
    from its C callback, so close it while Python is still intact (atexit runs before that)."""
    synth = Synthesizer._open
    if synth is not None:
        synth.close(timeout=2.0)


class Synthesizer:
    """One pyttsx3 engine on one dedicated thread; text in, PCM out.

    Use as a context manager or call ``close()``: it stops the engine and joins the thread.
    """

    _open_lock = threading.Lock()
    _open: Synthesizer | None = None

    def __init__(self, driver: str | None = None, timeout: float = SYNTH_TIMEOUT) -> None:
        """Start the engine thread (returns at once; engine errors surface on first use).

        ``driver``: pyttsx3 driver name (None = the platform default, espeak on Linux).
        """
        with Synthesizer._open_lock:
            if Synthesizer._open is not None:
                raise SpeechOutputError(
                    "Another speech engine is already open in this process; close it first "
                    "(espeak allows only one).",
                    spoken="My voice is already in use.",
                )
            Synthesizer._open = self
        global _atexit_registered
        if not _atexit_registered:
            atexit.register(_close_open_synthesizer)
            _atexit_registered = True
        self._driver = driver
        self.timeout = timeout
        self._requests: queue.Queue[tuple[Callable[[Any], Any], Future[Any]] | None] = (
            queue.Queue()
        )
        self._ready = threading.Event()
        self._startup_error: SpeechOutputError | None = None
        self._closed = False
        self._broken: SpeechOutputError | None = None
        self._tmpdir = Path(tempfile.mkdtemp(prefix="assistant-tts-"))
        self._counter = itertools.count()
        self._applied: dict[str, Any] = {}
        self._voices: list[tuple[str, str, tuple[str, ...]]] | None = None
        self._default_voice: str | None = None
        self._engine_errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name="tts-engine", daemon=True)
        self._thread.start()

    # -- public API (any thread) ----------------------------------------------------------
    def submit(
        self, text: str, rate: int = DEFAULT_RATE, volume: float = 1.0, voice: str | None = None
    ) -> Future[Audio]:
        """Queue ``text`` for synthesis; the Future gives Audio or a SpeechOutputError."""
        return self._call(lambda engine: self._synthesize(engine, text, rate, volume, voice))

    def synthesize(
        self, text: str, rate: int = DEFAULT_RATE, volume: float = 1.0, voice: str | None = None
    ) -> Audio:
        """Synthesise ``text`` with the given rate (wpm), volume (0..1) and voice; blocks."""
        return self.result(self.submit(text, rate, volume, voice))

    def voices(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Installed voices as (id, name, languages)."""
        return self.result(self._call(self._list_voices))

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait for the engine to start; raises SpeechOutputError if it cannot."""
        if not self._ready.wait(self.timeout if timeout is None else timeout):
            raise SpeechOutputError("The speech engine did not start in time.")
        if self._startup_error is not None:
            raise self._startup_error

    def result(self, future: Future[Any], timeout: float | None = None) -> Any:
        """Wait for a request; every failure becomes a SpeechOutputError."""
        try:
            return future.result(self.timeout if timeout is None else timeout)
        except FutureTimeout:
            self._broken = SpeechOutputError(
                "The speech engine stopped responding.",
                spoken="My voice is not working; I will show answers as text.",
            )
            raise self._broken from None
        except CancelledError:
            raise SpeechOutputError("Speech was cancelled.") from None
        except AssistantError:
            raise
        except Exception as exc:
            raise _engine_error(exc) from None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the engine and join its thread; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                LOG.warning("the speech engine thread did not stop within %.1f s", timeout)
        with Synthesizer._open_lock:
            if Synthesizer._open is self:
                Synthesizer._open = None
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- engine thread --------------------------------------------------------------------
    def _call(self, fn: Callable[[Any], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(SpeechOutputError("The speech engine is closed."))
        elif self._broken is not None:
            future.set_exception(self._broken)
        elif self._ready.is_set() and self._startup_error is not None:
            future.set_exception(self._startup_error)
        else:
            self._requests.put((fn, future))
        return future

    def _create_engine(self) -> Any:
        """Create the engine on this (the engine) thread; any failure is a SpeechOutputError."""
        try:
            from pyttsx3.engine import Engine

            engine = Engine(self._driver)
            module = sys.modules.get(f"pyttsx3.drivers.{engine.driver_name}")
            if module is not None:
                module.print = _quiet_driver_print  # type: ignore[attr-defined]
            engine.connect("error", self._on_engine_error)
            # pyttsx3 holds property changes back until its first run loop; after that they
            # apply at once, which ``_settle`` relies on. The empty loop also loads the voice.
            engine.runAndWait()
        except Exception as exc:
            LOG.debug("speech engine start failed", exc_info=True)
            raise SpeechOutputError(
                f"The speech engine could not start: {type(exc).__name__}: {exc}."
                f"{engine_install_hint(sys.platform)}",
                spoken="My voice is not working; I will show answers as text.",
            ) from None
        with contextlib.suppress(AudioError):  # load libsndfile now, not on the first answer
            load_soundfile()
        self._applied = {}
        try:
            self._default_voice = engine.getProperty("voice")
        except Exception:  # some drivers cannot tell; then "no voice" means "leave it"
            self._default_voice = None
        return engine

    def _on_engine_error(self, name: object = None, exception: BaseException | None = None) -> None:
        self._engine_errors.append(exception or RuntimeError("unknown engine error"))

    def _run(self) -> None:
        engine: Any = None
        try:
            engine = self._create_engine()
        except SpeechOutputError as exc:
            self._startup_error = exc
        self._ready.set()
        try:
            while True:
                item = self._requests.get()
                if item is None:
                    break
                fn, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                if self._startup_error is not None:
                    future.set_exception(self._startup_error)
                    continue
                try:
                    if engine is None:  # a previous failure left pyttsx3 unusable: start afresh
                        engine = self._create_engine()
                    future.set_result(fn(engine))
                except BaseException as exc:
                    LOG.debug("speech engine request failed", exc_info=True)
                    future.set_exception(_engine_error(exc))
                    if getattr(engine, "_inLoop", False):
                        engine = None  # "run loop already started" forever otherwise
        finally:
            if engine is not None:
                with contextlib.suppress(Exception):
                    self._settle()  # espeak's own thread must not be inside our callback
                    engine.stop()
            engine = None
            while True:  # fail whatever is still queued, so nobody waits forever
                try:
                    item = self._requests.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[1].set_exception(SpeechOutputError("The speech engine is closed."))

    def _load_voices(self, engine: Any) -> list[tuple[str, str, tuple[str, ...]]]:
        if self._voices is None:
            self._voices = [
                (str(v.id), str(v.name), tuple(str(lang) for lang in (v.languages or ())))
                for v in engine.getProperty("voices")
            ]
        return self._voices

    def _list_voices(self, engine: Any) -> list[tuple[str, str, tuple[str, ...]]]:
        return list(self._load_voices(engine))

    def _resolve_voice(self, engine: Any, spec: str) -> str:
        """The id of the voice ``spec`` names; see :func:`find_voice`."""
        voice_id = find_voice(self._load_voices(engine), spec)
        if voice_id is None:
            raise SpeechOutputError(
                f"Unknown voice '{spec}'. List the voices with: assistant say --list-voices",
                spoken="I do not know that voice.",
            )
        return voice_id

    def _apply(self, engine: Any, name: str, value: Any) -> None:
        """Set an engine property only when it changed (a voice change reloads voice data)."""
        if self._applied.get(name) != value:
            engine.setProperty(name, value)
            self._applied[name] = value

    def _settle(self) -> None:
        """Wait until espeak is idle before ``runAndWait`` (espeak driver only).

        pyttsx3 starts espeak in its asynchronous mode: ``SetParameter`` only queues a command
        for espeak's own thread, which also finishes each utterance after our callback has
        seen its end. ``runAndWait`` begins with ``endLoop`` -> ``stop``, which calls
        ``espeak_Cancel`` whenever espeak still looks busy, and that throws away the queued
        rate/volume change or cuts the next utterance short. Measured with espeak-ng 1.51 and
        pyttsx3 2.99: 63 of 120 back-to-back requests came out at the wrong rate or volume.
        Waiting for ``espeak_IsPlaying() == 0`` (1 ms polls, usually 0-2 ms) fixed all of them;
        ``espeak_Synchronize`` does the same but sleeps in 20 ms steps.
        """
        espeak = sys.modules.get("pyttsx3.drivers._espeak")
        is_playing = getattr(espeak, "IsPlaying", None)
        if is_playing is None:
            return
        deadline = time.monotonic() + 2.0
        while is_playing():
            if time.monotonic() > deadline:
                LOG.warning("espeak stayed busy for 2 s; synthesising anyway")
                return
            time.sleep(0.001)

    def _synthesize(
        self, engine: Any, text: str, rate: int, volume: float, voice: str | None
    ) -> Audio:
        text = text.strip()
        self._engine_errors.clear()
        voice_id = self._resolve_voice(engine, voice) if voice else self._default_voice
        if voice_id:
            self._apply(engine, "voice", voice_id)
        self._apply(engine, "rate", int(rate))
        self._apply(engine, "volume", float(min(max(volume, 0.0), 1.0)))
        if not text:
            return Audio(b"", 22_050)
        for attempt in (1, 2):
            audio = self._run_engine(engine, text)
            if audio.seconds >= 0.05 or not any(ch.isalnum() for ch in text):
                return audio
            LOG.info("speech engine returned %.3f s for %r (attempt %d)", audio.seconds, text,
                     attempt)
        raise SpeechOutputError("The speech engine produced no audio.")

    def _run_engine(self, engine: Any, text: str) -> Audio:
        self._tmpdir.mkdir(parents=True, exist_ok=True)
        path = self._tmpdir / f"utt-{next(self._counter)}.wav"
        try:
            self._settle()
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            if self._engine_errors:
                raise _engine_error(self._engine_errors[0])
            try:
                pcm, rate = read_pcm16(path)
            except AudioError as exc:
                detail = exc.message.removeprefix(f"{path}: ")
                raise SpeechOutputError(
                    f"The speech engine produced no audio ({detail})."
                ) from None
            return Audio(pcm, rate)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()


# -- speaker --------------------------------------------------------------------------------


class SpeechJob:
    """One thing to say (an answer, or an earcon); returned by ``Speaker.speak``."""

    def __init__(self, text: str, segments: list[Future[Audio] | Audio]) -> None:
        self.text = text
        self.segments = segments
        self.error: AssistantError | None = None
        """Why it failed (AudioError: speaker problem; SpeechOutputError: engine problem)."""
        self.stopped = False
        """True when ``Speaker.stop()`` cut it off (or dropped it before it began)."""
        self.started_at: float | None = None
        """time.monotonic() when its first audio was handed to the speaker."""
        self.finished_at: float | None = None
        self.audio_seconds = 0.0
        """Seconds of audio written to the speaker."""
        self._stop = threading.Event()
        self._done = threading.Event()

    @property
    def completed(self) -> bool:
        """Played to the end without error."""
        return self._done.is_set() and not self.stopped and self.error is None

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until finished; True if played to the end, False if stopped or timed out.

        Raises the job's AudioError/SpeechOutputError if it failed.
        """
        if not self._done.wait(timeout):
            return False
        if self.error is not None:
            raise self.error
        return not self.stopped


Callback = Callable[[SpeechJob], None]


class Speaker:
    """Speaks text sentence by sentence on an output device; can be cut off at once.

    ``on_start(job)`` runs (on the playback thread) just before a job's first audio, and
    ``on_done(job)`` after every job once its sound has ended (completed, stopped or failed;
    check ``job.error``): the voice loop mutes the microphone in between (half-duplex).
    Callbacks must be quick and must not call ``speak(block=True)``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        output_device: str | int | None = None,
        synthesizer: Synthesizer | None = None,
        player: Any = None,
        on_start: Callback | None = None,
        on_done: Callback | None = None,
    ) -> None:
        from assistant.audio.player import Player

        self.settings = settings or Settings()
        """Read at every ``speak``: assign a new Settings to change rate/volume/voice."""
        device = output_device if output_device is not None else self.settings.output_device
        self.player = player or Player(device)
        self._own_synth = synthesizer is None
        self.synth = synthesizer or Synthesizer()
        self.on_start = on_start
        self.on_done = on_done
        self._jobs: queue.Queue[SpeechJob | None] = queue.Queue()
        self._lock = threading.Lock()
        self._active: list[SpeechJob] = []
        self._idle = threading.Event()
        self._idle.set()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    # -- public API -----------------------------------------------------------------------
    def speak(self, text: str, block: bool = True) -> SpeechJob:
        """Say ``text``. Blocking: returns when the sound has ended, raising AudioError or
        SpeechOutputError on failure. Non-blocking: returns the job at once (see job.wait).
        Jobs queue up in order; ``stop()`` cancels the current one and all queued ones."""
        settings = self.settings
        segments: list[Future[Audio] | Audio] = [
            self.synth.submit(sentence, settings.rate, settings.volume, settings.voice)
            for sentence in split_sentences(text)
        ]
        return self._enqueue(SpeechJob(text, segments), block)

    def play_earcon(self, name: str, block: bool = False) -> SpeechJob:
        """Play one of ``assistant.audio.earcons.NAMES`` at the user's volume."""
        from assistant.audio.earcons import DEFAULT_RATE as EARCON_RATE
        from assistant.audio.earcons import earcon

        audio = Audio(earcon(name, EARCON_RATE, self.settings.volume), EARCON_RATE)
        return self._enqueue(SpeechJob(f"<{name}>", [audio]), block)

    def play_audio(self, audio: Audio, block: bool = True) -> SpeechJob:
        """Play ready-made PCM through the same queue (e.g. a pre-synthesised greeting)."""
        return self._enqueue(SpeechJob("<audio>", [audio]), block)

    def stop(self, wait: bool = True, timeout: float = 1.0) -> bool:
        """Cut off what is playing now and drop everything queued (barge-in).

        With ``wait`` returns once the sound has been cut (normally within ~30 ms);
        returns False if that took longer than ``timeout``.
        """
        with self._lock:
            jobs = list(self._active)
        for job in jobs:
            job._stop.set()
            for segment in job.segments:
                if isinstance(segment, Future):
                    segment.cancel()
        if not wait or threading.current_thread() is self._thread:
            return True  # from a callback: waiting for ourselves would only time out
        deadline = time.monotonic() + timeout
        return all(job._done.wait(max(0.0, deadline - time.monotonic())) for job in jobs)

    def is_speaking(self) -> bool:
        """True while any job is playing or waiting to play."""
        return not self._idle.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is playing or queued."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop playback, end the playback thread, and close the Synthesizer if we made it."""
        if self._closed:
            return
        self._closed = True
        try:
            self.stop(wait=True)
            self._jobs.put(None)
            if threading.current_thread() is not self._thread:
                self._thread.join(2.0)
        finally:
            if self._own_synth:
                self.synth.close()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- playback thread ------------------------------------------------------------------
    def _enqueue(self, job: SpeechJob, block: bool) -> SpeechJob:
        if self._closed:
            raise SpeechOutputError("The speaker is closed.")
        with self._lock:
            self._active.append(job)
            self._idle.clear()
        self._jobs.put(job)
        if block:
            job.wait()
        return job

    def _next_audio(self, job: SpeechJob, segment: Future[Audio] | Audio) -> Audio | None:
        """The segment's audio, waiting for synthesis but giving up at once on stop."""
        if isinstance(segment, Audio):
            return segment
        deadline = time.monotonic() + self.synth.timeout
        while not segment.done():
            if job._stop.is_set():
                return None
            if time.monotonic() > deadline:
                break  # result() below reports the engine as stuck
            futures_wait([segment], timeout=0.02)
        if segment.cancelled():
            return None
        return self.synth.result(segment, timeout=0)

    def _play(self, job: SpeechJob) -> None:
        from assistant.audio.player import convert

        playback = None
        try:
            for segment in job.segments:
                audio = self._next_audio(job, segment)
                if audio is None or job._stop.is_set():
                    break
                if not audio.pcm:
                    continue
                if playback is None:
                    playback = self.player.open(audio.rate)
                    job.started_at = time.monotonic()
                    self._callback(self.on_start, job)
                pcm = audio.pcm
                if audio.rate != playback.rate:
                    pcm = convert(pcm, audio.rate, playback.rate)
                if not playback.write(pcm, job._stop):
                    break
                job.audio_seconds += len(pcm) / 2 / playback.rate
            if playback is not None:
                if job._stop.is_set():
                    playback.abort()
                else:
                    playback.finish()
        except AssistantError as exc:
            job.error = exc
        except Exception as exc:  # never let the playback thread die
            LOG.debug("playback failed", exc_info=True)
            job.error = AudioError(
                f"Playback failed: {type(exc).__name__}: {exc}", spoken="I could not play that."
            )
        finally:
            if playback is not None and not playback.closed:
                playback.abort()
            for segment in job.segments:
                if isinstance(segment, Future):
                    segment.cancel()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if not job._stop.is_set():
                    self._play(job)
            finally:
                job.stopped = job._stop.is_set()
                job.finished_at = time.monotonic()
                with self._lock:
                    if job in self._active:
                        self._active.remove(job)
                    if not self._active:
                        self._idle.set()
                job._done.set()
                if job.error is not None:
                    LOG.info("speech failed: %s", job.error.message)
                self._callback(self.on_done, job)

    @staticmethod
    def _callback(callback: Callback | None, job: SpeechJob) -> None:
        if callback is None:
            return
        try:
            callback(job)
        except Exception:
            LOG.warning("speech callback failed", exc_info=True)


# -- one-shot helpers for commands ----------------------------------------------------------


def open_speaker(
    settings: Settings,
    output_device: str | int | None = None,
    on_done: Callback | None = None,
) -> Speaker:
    """The speaker every command and the voice loop use: the output device checked first
    (AudioError "No speaker found" before the speech engine starts), then a Speaker with its
    own Synthesizer (closed with it). ``output_device`` overrides the saved setting."""
    from assistant.audio.player import Player, quiet_native_stderr

    device = output_device if output_device is not None else settings.output_device
    player = Player(device)
    with quiet_native_stderr():
        player.check()
    return Speaker(settings, player=player, on_done=on_done)


def speak_text(
    text: str, settings: Settings | None = None, output_device: str | int | None = None
) -> None:
    """Speak ``text`` on the speaker and return when it has been heard (``assistant say``).

    Fails early with AudioError ("No speaker found") before starting the engine;
    SpeechOutputError if the engine fails.
    """
    from assistant.audio.player import quiet_native_stderr

    with quiet_native_stderr(), open_speaker(settings or Settings(), output_device) as speaker:
        speaker.speak(text, block=True)


AUDIO_CONTAINERS = {".wav": "WAV", ".flac": "FLAC"}
"""What ``say --out`` can write, by file extension."""


def container_for(path: Path | str) -> str:
    """"WAV" or "FLAC" from the file name; a UsageError names the choices otherwise."""
    suffix = Path(path).suffix.lower()
    container = AUDIO_CONTAINERS.get(suffix)
    if container is None:
        raise UsageError(
            f"cannot write '{suffix or Path(path).name}' files: name the output "
            "FILE.wav or FILE.flac"
        )
    return container


def engine_install_hint(platform: str) -> str:
    """What to install when pyttsx3's driver for ``platform`` (``sys.platform``) cannot start."""
    if platform.startswith("linux"):
        return " Is espeak-ng installed? (apt-get install espeak-ng)"
    if platform == "darwin":
        return " pyttsx3's macOS driver needs PyObjC: pip install pyobjc"
    if platform == "win32":
        return " pyttsx3's Windows driver needs pywin32 and comtypes: pip install pywin32 comtypes"
    return ""


def find_voice(voices: list[tuple[str, str, tuple[str, ...]]], spec: str) -> str | None:
    """The id of the voice ``spec`` names, on any pyttsx3 driver, or None.

    ``voices`` are (id, name, languages) as the driver lists them. Tried in order: the whole
    id or name ("gmw/en-us", "English (America)", "Alex"); the id's last part ("en-us"; SAPI5's
    "TTS_MS_EN-US_ZIRA_11.0"); a language, written either way ("en-US", "en_us": espeak-ng
    says "en-us", macOS and Windows "en_US"); a language's first part ("en"); and one word of
    a single voice's name ("zira" for "Microsoft Zira Desktop - English (United States)").
    """
    wanted = spec.strip().lower()
    if not wanted:
        return None
    language = wanted.replace("_", "-")

    def languages(langs: tuple[str, ...]) -> list[str]:
        return [lang.lower().replace("_", "-") for lang in langs]

    def tail(voice_id: str) -> str:
        return re.split(r"[/\\]", voice_id.lower())[-1]

    tiers = [
        lambda v: wanted in (v[0].lower(), v[1].lower()),
        lambda v: wanted == tail(v[0]),
        lambda v: language in languages(v[2]),
        lambda v: any(lang.split("-")[0] == language for lang in languages(v[2])),
    ]
    for matches in tiers:
        for voice in voices:
            if matches(voice):
                return voice[0]
    named = [v for v in voices if wanted in re.findall(r"\w+", v[1].lower())]
    return named[0][0] if len(named) == 1 else None
