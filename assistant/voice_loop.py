"""The hands-free voice loop: microphone -> Vosk -> wake gate -> dialogue -> speech.

Threads: the main thread reads microphone blocks and runs recognition (the audio callback
only queues bytes); the model loads on a helper thread while the greeting is synthesised;
the Speaker has its own synthesis and playback threads. Half-duplex: while the assistant
speaks, and for a short echo guard afterwards, the main recogniser hears nothing; a second
recogniser restricted to stop words listens for barge-in ("stop", "quiet"). Own voice: an
utterance whose loudness contour matches something the assistant said in the last minute is
ignored (a late echo: a slow Bluetooth speaker, or a microphone that fell back to the
speaker's monitor). Every problem is printed and spoken; none ends the loop except a missing
model or microphone at start.
"""

from __future__ import annotations

import array
import collections
import logging
import math
import queue
import sys
import threading
import time
from dataclasses import dataclass, replace
from operator import mul, sub
from typing import Any

from assistant.audio.source_watch import Source, SourceWatcher
from assistant.dialogue import SETTING_ACTIONS, Skill
from assistant.emergency_number import system_locale
from assistant.errors import AssistantError, AudioError, SpeechOutputError
from assistant.stages import Answer, Transcript, Urgency
from assistant.wake import WakeGate

LOG = logging.getLogger("assistant.loop")

ECHO_GUARD_SECONDS = 0.3
"""After the assistant stops speaking, ignore the microphone this long (room echo)."""
READ_TIMEOUT = 0.5
"""Microphone read timeout: the loop checks for shutdown this often (no busy waiting)."""
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
FATAL_SPEECH_SECONDS = 15.0
"""At most this long to finish speaking an error that stops the loop at start."""
MAX_UTTERANCE_BLOCKS = 300
"""Microphone blocks kept for the own-voice check (30 s of 0.1 s blocks)."""
SPEECH_RMS = 600.0
"""A block this loud (16-bit RMS, about -35 dBFS) counts as someone speaking."""
QUIET_RMS = 200.0
"""Below this (about -44 dBFS) a block is quiet; a noisier room never forces an endpoint."""
FORCED_ENDPOINT_SECONDS = 1.2
"""Quiet after speech that ends the utterance even when Vosk has not: speech that starts
late in a long silent stretch sometimes gets no endpoint for 12-16 s (measured with the
Korean model: a question after 30 s of silence), which a user would take for a hang.
Vosk's own rules end an utterance after 0.5-1.0 s of silence, so normally they come first."""


SPEAKER_BACK = "The speaker was disconnected, and my last answer was cut off."
"""Said before the next answer once speech plays again."""


@dataclass
class LoopOptions:
    """What the user chose on the command line (or in the settings file)."""

    model: str | None = None
    input_device: str | int | None = None
    output_device: str | int | None = None
    always_listening: bool = False
    wake_phrase: str | None = None
    greeting: bool = True


class VoiceLoop:
    """Wires the shell (audio, Vosk, pyttsx3) to the functional core (``Skill.turn``)."""

    def __init__(self, skill: Skill, options: LoopOptions, out=None) -> None:
        from assistant.settings import load_settings

        self.skill = skill
        self.options = options
        self.out = out or sys.stdout
        self.settings = load_settings()
        self.settings_warning = self.settings.warning
        self.settings_spoken_warning = self.settings.spoken_warning
        if options.output_device is not None:
            self.settings = replace(self.settings, output_device=options.output_device)
        if options.input_device is not None:
            self.settings = replace(self.settings, input_device=options.input_device)
        wake = options.wake_phrase or self.settings.wake_phrase
        self.gate = WakeGate(wake, options.always_listening or self.settings.always_listening)
        self.state = skill.initial_state(self.settings, system_locale())
        self.stop_event = threading.Event()
        self.quiet_until = 0.0
        self._was_speaking = False
        self.own_voice = OwnVoice()
        self._heard: collections.deque[bytes] = collections.deque(maxlen=MAX_UTTERANCE_BLOCKS)
        """Microphone audio of the utterance being recognised (for the own-voice check)."""
        self._speech_seen = False
        self._quiet_seconds = 0.0
        """Speech heard in this utterance, and quiet since (see FORCED_ENDPOINT_SECONDS)."""
        self.text_only = False
        """Set when the speech engine failed: answers are printed only."""
        self._answer_cut_off = False
        """The speaker was lost mid-answer: say so before the next answer."""
        self.turns = 0
        self.speaker: Any = None
        self.mic: Any = None
        self.recognizer: Any = None
        self.barge: Any = None
        self.source_watch: Any = None
        self._moved_to: queue.SimpleQueue[Source] = queue.SimpleQueue()
        """Sources our microphone stream was moved to, from the watcher's thread."""

    # -- output ----------------------------------------------------------------------------
    def print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def say(
        self, text: str, earcon: str | None = None, block: bool = False,
        spoken: str | None = None,
    ) -> None:
        """Print ``text`` and speak ``spoken`` (default: the same); speech problems are
        reported and never stop the loop."""
        self.print(f"Assistant: {text}")
        if self.text_only or self.speaker is None:
            return
        spoken = spoken or text
        if self._answer_cut_off:
            # The speaker vanished mid-answer; the notice could not be heard then.
            self._answer_cut_off = False
            print(f"assistant: {SPEAKER_BACK}", file=sys.stderr)
            spoken = f"{SPEAKER_BACK} {text}"
        try:
            if earcon:
                self.speaker.play_earcon(earcon)
            job = self.speaker.speak(spoken, block=False)
            if block:
                job.wait(timeout=120)
        except SpeechOutputError as exc:
            self._speech_failed(exc)
        except AudioError as exc:
            self.print(f"assistant: {exc.message}")

    def cue(self, name: str) -> None:
        if not self.text_only and self.speaker is not None:
            try:
                self.speaker.play_earcon(name)
            except AssistantError as exc:
                LOG.info("earcon %s failed: %s", name, exc.message)

    def report(self, error: AssistantError) -> None:
        """An error, in words for the screen and in plain words for the ear."""
        print(f"assistant: {error.message}", file=sys.stderr)
        if not self.text_only and self.speaker is not None:
            try:
                self.speaker.play_earcon("error")
                self.speaker.speak(error.spoken, block=False)
            except AssistantError:
                pass

    def _speech_failed(self, exc: AssistantError) -> None:
        self.text_only = True
        print(f"assistant: {exc.message} Answers will be printed only.", file=sys.stderr)

    def _on_speech_done(self, job: Any) -> None:
        self.quiet_until = time.monotonic() + ECHO_GUARD_SECONDS
        try:
            self.own_voice.played(job)
        except Exception:  # never let the echo memory break speech
            LOG.warning("could not remember what was said", exc_info=True)
        error = getattr(job, "error", None)
        if isinstance(error, SpeechOutputError):
            self._speech_failed(error)
        elif isinstance(error, AudioError):
            print(f"assistant: {error.message}", file=sys.stderr)
            self._answer_cut_off = True

    # -- start-up --------------------------------------------------------------------------
    def start(self) -> None:
        """Model, speaker and microphone; raises AssistantError (already spoken) on failure."""
        from assistant.audio.microphone import Microphone
        from assistant.modelstore import resolve_model
        from assistant.speech.recognizer import load_model

        loaded: dict[str, Any] = {}

        def load() -> None:
            try:
                loaded["model"] = load_model(resolve_model(self.options.model))
            except AssistantError as exc:
                loaded["error"] = exc

        loader = threading.Thread(target=load, name="model-loader", daemon=True)
        loader.start()
        self._start_speaker()
        if self.settings_warning:
            self.report(
                AssistantError(self.settings_warning, spoken=self.settings_spoken_warning)
            )
        self.skill.matcher.warm_up()  # while the model loads: the first answer is not slower
        loader.join()
        if "error" in loaded:
            self.report(loaded["error"])
            raise loaded["error"]
        model = loaded["model"]
        self.mic = Microphone(self.settings.input_device)
        try:
            self.mic.start()
        except AudioError as exc:
            self.report(exc)
            raise
        self.recognizer = self._recognizer(model, self._grammar())
        from assistant.speech.barge import StopListener

        self.barge = StopListener(
            model,
            self.mic.sample_rate,
            self._stop_words(),
            distractors=self.skill.intents.spoken_sentences(),
        )
        self.cue("ready")
        if self.options.greeting:
            wake = " ".join(self.gate.wake_words)
            hint = (
                "I'm listening."
                if self.gate.always_listening
                else f"Say {wake}, then your question."
            )
            self.say(f"Ready. {hint}")
        self.source_watch = SourceWatcher(self._moved_to.put)  # after "Ready": not on its path
        self.source_watch.start()

    def _start_speaker(self) -> None:
        try:
            from assistant.speech.voice import open_speaker

            self.speaker = open_speaker(self.settings, on_done=self._on_speech_done)
        except AssistantError as exc:
            self.text_only = True
            print(f"assistant: {exc.message} Answers will be printed only.", file=sys.stderr)

    def _recognizer(self, model: Any, phrases: list[str]) -> Any:
        from assistant.speech.recognizer import Recognizer

        return Recognizer(model, self.mic.sample_rate, phrases or None)

    def _grammar(self) -> list[str]:
        sentences = self.skill.intents.spoken_sentences()
        wake = " ".join(self.gate.wake_words)
        if self.gate.always_listening or not wake:
            return sentences
        return [wake, *sentences, *(f"{wake} {s}" for s in sentences)]

    def _stop_words(self) -> list[str]:
        patterns = self.skill.intents.patterns.get("stop", [])
        phrases = []
        from assistant.nlu.templates import Grammar
        from assistant.nlu.text import words

        grammar = Grammar(
            rules=self.skill.intents.grammar.rules,
            lists=self.skill.intents.grammar.lists,
            tokenize=words,
        )
        for pattern in patterns:
            expression = pattern.parsed()
            if expression is not None:
                phrases += [" ".join(e.tokens) for e in grammar.expand(expression)]
        return phrases

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> int:
        from assistant.audio.microphone import MicrophoneLost

        try:
            try:
                self.start()
            except AssistantError:
                # start() has printed the error and begun to speak it: let it be heard
                # before shutdown() cuts the speaker off.
                if self.speaker is not None:
                    self.speaker.wait_idle(FATAL_SPEECH_SECONDS)
                return 1
            while not self.stop_event.is_set():
                try:
                    self._listen_once()
                except MicrophoneLost as exc:
                    self._recover_microphone(exc)
        except KeyboardInterrupt:
            self.print("Assistant: Goodbye.")
        finally:
            self.shutdown()
        return 0

    def _listen_once(self) -> None:
        while not self._moved_to.empty():
            self._microphone_moved(self._moved_to.get())
        block = self.mic.read(timeout=READ_TIMEOUT)
        if block is None:
            return
        now = time.monotonic()
        if self.speaker is not None and self.speaker.is_speaking():
            if not self._was_speaking:
                # A stop half-heard during the previous answer must not cut off this one.
                self.barge.reset()
                self._heard.clear()
                self._was_speaking = True
            self._barge_in(block)
            return
        if self._was_speaking:
            LOG.debug("speaker idle again")
            self._was_speaking = False
        if now < self.quiet_until:
            self.recognizer.reset()
            self._forget_utterance()
            return
        self._heard.append(block)
        if self.recognizer.accept(block) or self._quiet_after_speech(block):
            transcript = self.recognizer.result()
            self.recognizer.reset()
            heard = b"".join(self._heard)
            self._forget_utterance()
            LOG.debug("endpoint: %r", transcript.text)
            if not transcript.text:
                return
            match, seconds = self.own_voice.match(heard, self.mic.sample_rate)
            LOG.debug("own-voice match %.2f over %.1f s", match, seconds)
            if match >= (OWN_VOICE_MATCH if seconds >= OwnVoice.COMPARE_SECONDS
                         else OWN_VOICE_MATCH_SHORT):
                LOG.info("ignored my own voice: %r (match %.2f)", transcript.text, match)
                return
            self.handle(transcript)

    def _forget_utterance(self) -> None:
        self._heard.clear()
        self._speech_seen = False
        self._quiet_seconds = 0.0

    def _quiet_after_speech(self, block: bytes) -> bool:
        """True once FORCED_ENDPOINT_SECONDS of quiet follow speech (see that constant)."""
        samples = array.array("h", block[: len(block) - len(block) % 2])
        if not samples:
            return False
        rms = math.sqrt(sum(map(mul, samples, samples)) / len(samples))
        if rms >= SPEECH_RMS:
            self._speech_seen = True
            self._quiet_seconds = 0.0
        elif rms < QUIET_RMS and self._speech_seen:
            self._quiet_seconds += len(samples) / self.mic.sample_rate
            if self._quiet_seconds >= FORCED_ENDPOINT_SECONDS:
                LOG.debug("endpoint forced after %.1f s of quiet", self._quiet_seconds)
                return True
        else:
            self._quiet_seconds = 0.0
        return False

    def _barge_in(self, block: bytes) -> None:
        if self.barge.accept(block):
            LOG.info("barge-in: stop heard while speaking (%r)", self.barge.heard)
            self.speaker.stop(wait=False)
            self.barge.reset()
            self.gate.close()
            self.recognizer.reset()
            self._forget_utterance()

    def handle(self, transcript: Transcript) -> Answer | None:
        """One utterance: gate, dialogue turn, speech; returns the answer (None if ignored)."""
        now = time.monotonic()
        gated = self.gate.heard(
            transcript.text, now, transcript.alternatives, transcript.confidence
        )
        LOG.info("heard %r (confidence %.2f)", gated.heard, gated.confidence)
        if gated.heard != transcript.text:
            LOG.info("wake phrase found in an alternative; best was %r", transcript.text)
        if gated.woke:
            self.cue("listening")
            return None
        if not gated.accept:
            LOG.info("ignored (no wake phrase): %s", transcript.text)
            return None
        if gated.text != transcript.text:
            transcript = replace(
                transcript, text=gated.text, confidence=gated.confidence, alternatives=()
            )
        state, answer = self.skill.turn(self.state, transcript)
        if (
            answer.kind == "not_understood"
            and self.gate.always_listening
            and transcript.confidence < 0.3
        ):
            # Not a turn at all: no "You:" line, and the conversation state stays as it was.
            LOG.info("ignored as noise: %s (%.2f)", transcript.text, transcript.confidence)
            return None
        self.print(f"You: {transcript.text}")
        self.state = state
        self.turns += 1
        self._act(answer)
        return answer

    def _act(self, answer: Answer) -> None:
        if answer.action == "stop":
            if self.speaker is not None:
                self.speaker.stop(wait=False)
            self.gate.close()
            self.cue("done")
            return
        if answer.action == "end":
            self.say(answer.text, earcon="done", block=True)
            self.stop_event.set()
            return
        if answer.action in SETTING_ACTIONS:
            self._apply_settings()
        if answer.urgency is Urgency.EMERGENCY:
            earcon = "emergency"
        elif answer.kind in ("not_understood", "decline"):
            earcon = "not_understood"
        else:
            earcon = "got_it"
        spoken = answer.text
        if answer.closing:
            spoken = f"{answer.text} {answer.closing}"  # the call to action, heard last
        self.say(answer.text, earcon=earcon, spoken=spoken)
        self.gate.answered(time.monotonic() + self._speech_seconds(spoken))

    def _speech_seconds(self, text: str) -> float:
        words_per_second = max(1.0, self.state.settings.rate / 60.0)
        return len(text.split()) / words_per_second

    def _apply_settings(self) -> None:
        from assistant.settings import SettingsError, save_settings

        self.settings = self.state.settings
        if self.speaker is not None:
            self.speaker.settings = self.settings
        try:
            save_settings(self.settings)
        except SettingsError as exc:
            self.report(
                AssistantError(
                    exc.message, spoken="I could not save that setting, but I will use it for now."
                )
            )

    def _recover_microphone(self, exc: AssistantError) -> None:
        from assistant.audio.microphone import reopen_with_retry

        self.report(exc)
        told = {"once": False}

        def notice(attempt: int, error: AudioError, delay: float) -> None:
            LOG.info("microphone retry %d: %s", attempt, error.message)

        if self.speaker is not None:
            self.speaker.wait_idle(5)
        told["once"] = True
        if reopen_with_retry(self.mic, on_notice=notice, stop=self.stop_event):
            self.recognizer.reset()
            self._forget_utterance()
            self.say("The microphone is back.")

    def _microphone_moved(self, source: Source) -> None:
        """The sound server moved our stream (a microphone unplugged or plugged back in):
        say so, and start the utterance afresh, since its start came from elsewhere."""
        if source.monitor:
            error = AssistantError(
                f"The microphone was disconnected; only the speaker's monitor "
                f"({source.description}) is left. Connect a microphone.",
                spoken="The microphone was disconnected. Please connect a microphone.",
            )
        else:
            error = AssistantError(
                f"The microphone changed: now listening on {source.description}.",
                spoken=f"The microphone changed. I am now listening on {source.spoken_name}.",
            )
        self.report(error)
        self.recognizer.reset()
        self._forget_utterance()

    def shutdown(self) -> None:
        """Close everything; safe to call more than once."""
        self.stop_event.set()
        if self.source_watch is not None:
            self.source_watch.stop()
            self.source_watch = None
        if self.speaker is not None:
            try:
                self.speaker.stop(wait=True, timeout=1.0)
                self.speaker.close()
            except AssistantError:
                pass
            self.speaker = None
        if self.mic is not None:
            self.mic.close()
            self.mic = None


# -- own voice ------------------------------------------------------------------------------


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
