"""The hands-free voice loop: microphone -> Vosk -> wake gate -> dialogue -> speech.

Threads: the main thread reads microphone blocks and runs recognition (the audio callback
only queues bytes); the model loads on a helper thread while the greeting is synthesised;
the Speaker has its own synthesis and playback threads. Half-duplex: while the assistant
speaks, and for a short echo guard afterwards, the main recogniser hears nothing; a second
recogniser restricted to stop words listens for barge-in ("stop", "quiet"). Every problem
is printed and spoken; none ends the loop except a missing model or microphone at start.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from assistant.dialogue import SETTING_ACTIONS, Skill, State
from assistant.errors import AssistantError, AudioError, SpeechOutputError
from assistant.stages import Answer, Transcript
from assistant.wake import WakeGate

LOG = logging.getLogger("assistant.loop")

ECHO_GUARD_SECONDS = 0.3
"""After the assistant stops speaking, ignore the microphone this long (room echo)."""
READ_TIMEOUT = 0.5
"""Microphone read timeout: the loop checks for shutdown this often (no busy waiting)."""


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
        if options.output_device is not None:
            self.settings = replace(self.settings, output_device=options.output_device)
        if options.input_device is not None:
            self.settings = replace(self.settings, input_device=options.input_device)
        wake = options.wake_phrase or self.settings.wake_phrase
        self.gate = WakeGate(wake, options.always_listening or self.settings.always_listening)
        self.state = State(settings=self.settings)
        self.stop_event = threading.Event()
        self.quiet_until = 0.0
        self._was_speaking = False
        self.text_only = False
        """Set when the speech engine failed: answers are printed only."""
        self.turns = 0
        self.speaker: Any = None
        self.synth: Any = None
        self.mic: Any = None
        self.recognizer: Any = None
        self.barge: Any = None

    # -- output ----------------------------------------------------------------------------
    def print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def say(self, text: str, earcon: str | None = None, block: bool = False) -> None:
        """Print and speak; speech problems are reported and never stop the loop."""
        self.print(f"Assistant: {text}")
        if self.text_only or self.speaker is None:
            return
        try:
            if earcon:
                self.speaker.play_earcon(earcon)
            job = self.speaker.speak(text, block=False)
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
        error = getattr(job, "error", None)
        if isinstance(error, SpeechOutputError):
            self._speech_failed(error)
        elif isinstance(error, AudioError):
            print(f"assistant: {error.message}", file=sys.stderr)

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
                AssistantError(
                    self.settings_warning,
                    spoken="My settings file was damaged, so I am using the defaults.",
                )
            )
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

        self.barge = StopListener(model, self.mic.sample_rate, self._stop_words())
        self.cue("ready")
        if self.options.greeting:
            wake = " ".join(self.gate.wake_words)
            hint = (
                "I'm listening."
                if self.gate.always_listening
                else f"Say {wake}, then your question."
            )
            self.say(f"Ready. {hint}")

    def _start_speaker(self) -> None:
        try:
            from assistant.audio.player import Player, quiet_native_stderr
            from assistant.speech.voice import Speaker, Synthesizer

            player = Player(self.settings.output_device)
            with quiet_native_stderr():
                player.check()
            self.synth = Synthesizer()
            self.speaker = Speaker(
                self.settings,
                synthesizer=self.synth,
                player=player,
                on_done=self._on_speech_done,
            )
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
            if pattern.expression is not None:
                phrases += [" ".join(e.tokens) for e in grammar.expand(pattern.expression)]
        return phrases

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> int:
        from assistant.audio.microphone import MicrophoneLost

        try:
            self.start()
        except AssistantError:
            self.shutdown()
            return 1
        try:
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
        block = self.mic.read(timeout=READ_TIMEOUT)
        if block is None:
            return
        now = time.monotonic()
        if self.speaker is not None and self.speaker.is_speaking():
            self._barge_in(block)
            self._was_speaking = True
            return
        if self._was_speaking:
            LOG.debug("speaker idle again")
            self._was_speaking = False
        if now < self.quiet_until:
            self.recognizer.reset()
            return
        if self.recognizer.accept(block):
            transcript = self.recognizer.result()
            self.recognizer.reset()
            LOG.debug("endpoint: %r", transcript.text)
            if transcript.text:
                self.handle(transcript)

    def _barge_in(self, block: bytes) -> None:
        if self.barge.accept(block):
            LOG.info("barge-in: stop heard while speaking")
            self.speaker.stop(wait=False)
            self.barge.reset()
            self.gate.close()
            self.recognizer.reset()

    def handle(self, transcript: Transcript) -> Answer | None:
        """One utterance: gate, dialogue turn, speech; returns the answer (None if ignored)."""
        now = time.monotonic()
        gated = self.gate.heard(transcript.text, now)
        LOG.info("heard %r (confidence %.2f)", transcript.text, transcript.confidence)
        if gated.woke:
            self.cue("listening")
            return None
        if not gated.accept:
            LOG.info("ignored (no wake phrase): %s", transcript.text)
            return None
        if gated.text != transcript.text:
            transcript = replace(transcript, text=gated.text, alternatives=())
        self.print(f"You: {transcript.text}")
        self.state, answer = self.skill.turn(self.state, transcript)
        self.turns += 1
        if (
            answer.kind == "not_understood"
            and self.gate.always_listening
            and transcript.confidence < 0.3
        ):
            LOG.info("ignored as noise: %s (%.2f)", transcript.text, transcript.confidence)
            return None
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
        earcon = "not_understood" if answer.kind in ("not_understood", "decline") else "got_it"
        self.say(answer.text, earcon=earcon)
        self.gate.answered(time.monotonic() + self._speech_seconds(answer.text))

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
            self.say("The microphone is back.")

    def shutdown(self) -> None:
        """Close everything; safe to call more than once."""
        self.stop_event.set()
        if self.speaker is not None:
            try:
                self.speaker.stop(wait=True, timeout=1.0)
                self.speaker.close()
            except AssistantError:
                pass
            self.speaker = None
        if self.synth is not None:
            self.synth.close()
            self.synth = None
        if self.mic is not None:
            self.mic.close()
            self.mic = None
