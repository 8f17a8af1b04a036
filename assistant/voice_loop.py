"""The hands-free voice loop: microphone -> Vosk -> wake gate -> dialogue -> speech.

Threads: the main thread reads microphone blocks and runs recognition (the audio callback
only queues bytes); the model loads on a helper thread while the greeting is synthesised;
the Speaker has its own synthesis and playback threads, and tells the loop what it played
with a ``Played`` event on the loop's queue (as the source watcher does with ``SourceMoved``),
never by changing loop state from its thread. Turn-taking: ``audio/endpoint.py`` decides
when the person has finished, from voice activity and whether the words so far make a whole
question; an answer started after a short silence is stopped, and the rest listened to, if
the person goes on speaking in its first moments. Half-duplex otherwise: while the assistant
speaks, and for a short echo guard afterwards, the main recogniser hears nothing; a second
recogniser restricted to stop words listens for barge-in ("stop", "quiet"). Own voice
(``audio/echo.py``): an utterance that matches something the assistant said in the last
minute is ignored. Every problem is printed and spoken; none ends the loop except a missing
model or microphone at start.
"""

from __future__ import annotations

import collections
import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.audio.echo import OwnVoice, is_own_voice
from assistant.audio.endpoint import Endpointer, Words, words_state
from assistant.audio.source_watch import Source, SourceWatcher
from assistant.dialogue import SETTING_ACTIONS, Skill, State
from assistant.emergency_number import system_locale
from assistant.errors import AssistantError, AudioError, SpeechOutputError
from assistant.speech.recognizer import fuller_transcript, join_transcripts
from assistant.stages import Answer, Transcript, Urgency
from assistant.wake import WakeGate

LOG = logging.getLogger("assistant.loop")

ECHO_GUARD_SECONDS = 0.3
"""After the assistant stops speaking, ignore the microphone this long (room echo)."""
READ_TIMEOUT = 0.5
"""Microphone read timeout: the loop checks for shutdown this often (no busy waiting)."""
FATAL_SPEECH_SECONDS = 15.0
"""At most this long to finish speaking an error that stops the loop at start."""
MAX_UTTERANCE_BLOCKS = 300
"""Microphone blocks kept for the own-voice check (30 s of 0.1 s blocks)."""
PRE_ROLL_SECONDS = 0.2
"""Silence before the speech that the recogniser gets with it. The recogniser hears only
utterances (the voice activity detector says when one starts), with this much lead-in: the
Korean test model decoded "커피" as "가" after 0.8 s of leading silence and right after 0.2-0.3 s
(8 of 8 test phrases at 0.2 and 0.3 s; 7 of 8 at 0.1, 0.4 and 0.8 s), and silence is no
longer decoded at all while idle. 0.2 s rather than 0.3: the lead-in is decoded in a burst
when speech starts, and on the Korean test model (0.8x real time here) that burst is lag."""
MAX_WHOLE_DECODE_SECONDS = 6.0
"""Longest utterance decoded again as one piece after the recogniser cut it at a pause.
Decoding blocks the loop: the Korean test model decodes at about 0.8x real time here (21 ms
per 32 ms block), so a 30 s story decoded again would leave the microphone unread for
20-odd seconds, and the next questions would be lost. The questions a pause splits ("why do
my calves ... twitch after running") last a few seconds; a longer story keeps its pieces."""
MIC_BLOCK_SECONDS = 0.1
"""Microphone block. 32 ms blocks (one Silero frame) were tried: the endpoint came about
35 ms sooner, but in full runs of the end-to-end tests the Korean test model misheard the
first question now and then (offline, the same audio decoded right at every lead and tail
tried), which points at the virtual microphone's stream under a 3x higher callback rate on
this 2-core machine; 0.1 s is what the loop used before and decoded reliably."""
RESUME_SECONDS = 1.5
"""An answer started after a short silence (a question that sounded whole) may be stopped
for this long after it was decided, if the person goes on speaking: "coffee ... and tea"."""
RESUME_SPEECH_FRAMES = 3
"""Frames of speech in a row (about 100 ms) that may be the person going on..."""
RESUME_CHECK_SECONDS = 0.7
"""...and once this much sound has been heard from there, it is compared with the answer
playing (``audio/echo.py``): the assistant's own voice coming back at the microphone is not
the person going on. Long enough for a contour match (0.6 s at least); the answer is
stopped this long after the person started again, and all of what they said is kept."""
RESUME_CHECK_MAX_SECONDS = 1.5
"""...waiting up to this long for enough sound to compare (a short "stop" never has it:
then it counts as the person going on, and "stop" alone keeps the answer stopped)."""
RESUME_ECHO_MATCH = 0.9
"""Contour match with the answer playing from which the sound counts as its echo (echoes
0.98-1.0, other speech at most 0.85: see ``audio/echo.py``)."""


SPEAKER_BACK = "The speaker was disconnected, and my last answer was cut off."
"""Said before the next answer once speech plays again."""


@dataclass(frozen=True)
class Played:
    """Event from the speaker's thread: a speech job finished (or was stopped)."""

    job: Any
    at: float
    """``time.monotonic()`` when it ended."""


@dataclass(frozen=True)
class SourceMoved:
    """Event from the source watcher's thread: our microphone stream was moved."""

    source: Source


@dataclass
class _Resumable:
    """An answer started early, and what to restore if the person goes on speaking."""

    until: float
    state: State
    turns: int
    """The conversation before the early answer (restored if the person goes on)."""
    after: State
    after_turns: int
    """...and after it (kept if what they go on to say is only "stop")."""
    transcript: Transcript
    audio: bytes
    """The question's audio, decoded again with what follows if the person goes on."""
    blocks: list[bytes] = field(default_factory=list)
    detector: Endpointer | None = None
    went_on: int | None = None
    """Index in ``blocks`` where the sound that may be the person going on began."""


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
        self.endpointer: Endpointer | None = None
        self._segments: list[Transcript] = []
        """Segments of this utterance the recogniser closed on its own (pauses inside it)."""
        self._preroll: collections.deque[bytes] = collections.deque(
            maxlen=max(1, round(PRE_ROLL_SECONDS / MIC_BLOCK_SECONDS))
        )
        """The last moments of silence, fed to the recogniser when speech starts."""
        self._resume: _Resumable | None = None
        self._resumed_from: _Resumable | None = None
        """The early answer this utterance continues, once the person went on speaking."""
        self._resumed = False
        """The answer was stopped because the person went on: its end is no echo to guard."""
        self._answer_job: Any = None
        """The last speech job started (compared with sound heard while it plays)."""
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
        self._events: queue.SimpleQueue[Played | SourceMoved] = queue.SimpleQueue()
        """Events from the speaker's and the source watcher's threads, handled in order by
        the main thread."""

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
            self._answer_job = job
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
        """Speaker thread: hand the finished job to the main thread."""
        self._events.put(Played(job, time.monotonic()))

    def _played(self, event: Played) -> None:
        job = event.job
        if self._resumed:
            self._resumed = False  # stopped because the person went on: listen at once
        else:
            self.quiet_until = max(self.quiet_until, event.at + ECHO_GUARD_SECONDS)
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
        self.skill.sounds_unfinished("warm up")  # builds the sentence-start index (0.3 s)
        loader.join()
        if "error" in loaded:
            self.report(loaded["error"])
            raise loaded["error"]
        model = loaded["model"]
        self.mic = Microphone(self.settings.input_device, block_seconds=MIC_BLOCK_SECONDS)
        try:
            self.mic.start()
        except AudioError as exc:
            self.report(exc)
            raise
        from assistant.audio.vad import voice_activity

        self.endpointer = Endpointer(voice_activity(self.mic.sample_rate), self.mic.sample_rate)
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
        # after "Ready": not on its path
        self.source_watch = SourceWatcher(lambda source: self._events.put(SourceMoved(source)))
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
        self._handle_events()
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
            if self._resume is not None:
                self._maybe_resume(block, now)
            return
        if self._was_speaking:
            LOG.debug("speaker idle again")
            self._was_speaking = False
        if self._resume is not None and now >= self._resume.until:
            self._resume = None
        if now < self.quiet_until:
            self.recognizer.reset()
            self._forget_utterance()
            return
        self._hear(block)

    def _handle_events(self) -> None:
        while not self._events.empty():
            event = self._events.get()
            if isinstance(event, Played):
                self._played(event)
            else:
                self._microphone_moved(event.source)

    def _hear(self, block: bytes) -> None:
        """One block of a (possible) utterance: recognise it, and answer once it has ended."""
        assert self.endpointer is not None  # set by start()
        started = self.endpointer.push(block)
        if not self.endpointer.speech_seen:
            self._preroll.append(block)  # silence: the recogniser gets it only as lead-in
            return
        feed = [block]
        if started is not None:
            LOG.debug("speech started at %.2f s", started.at)
            feed = [*self._preroll, block]
            self._preroll.clear()
        for piece in feed:
            self._heard.append(piece)
            if self.recognizer.accept(piece):
                # The recogniser's own endpoint: a segment, not necessarily the question.
                segment = self.recognizer.result()
                self.recognizer.reset()
                if segment.text:
                    self._segments.append(segment)
        partial = self.recognizer.partial()
        so_far = " ".join([*(s.text for s in self._segments), partial])
        words = self._words(so_far)
        if (
            self._resumed_from is not None
            and words is not Words.COMPLETE
            and self._words(self._went_on(partial)) is Words.COMPLETE
        ):
            words = Words.COMPLETE  # what they went on to say is whole on its own ("stop")
        ended = self.endpointer.decide(words)
        if ended is None:
            return
        final = self.recognizer.result()
        self.recognizer.reset()
        if ended.words is Words.COMPLETE:
            # A grammar's partial result runs ahead to a whole sentence ("종아리" heard,
            # "종아리 경련" shown): check the words once decoded. If they are not whole after
            # all, this was a pause inside the question: keep them as a segment and go on.
            said = [s.text for s in self._segments]
            decoded = " ".join([*said, final.text])
            whole = [" ".join([*said, a.text]) for a in final.alternatives[:3]]
            if all(self._words(t) is not Words.COMPLETE for t in [decoded, *whole]) and not (
                self._resumed_from is not None
                and self._words(self._went_on(final.text)) is Words.COMPLETE
            ):
                if final.text:
                    self._segments.append(final)
                    self.endpointer.heard_words()
                if self.endpointer.decide(self._words(decoded)) is None:
                    LOG.debug("looked whole, was not (%r): listening on", decoded)
                    return
                final = Transcript("", 0.0)
        heard = b"".join(self._heard)
        resumed, self._resumed_from = self._resumed_from, None
        rest = join_transcripts([*self._segments[resumed is not None:], final])
        audio = heard if resumed is None else resumed.audio + heard
        seconds = len(audio) / 2 / self.mic.sample_rate
        if (resumed is not None or self._segments) and seconds > MAX_WHOLE_DECODE_SECONDS:
            LOG.debug("too long to decode again (%.1f s): kept as heard", seconds)
            transcript = rest if resumed is None else join_transcripts([resumed.transcript, rest])
        elif resumed is not None:
            # the question, then what they went on to say: decoded as one utterance, since
            # the second part alone need not be a sentence ("커피" ... "근육 경련")
            whole = self.recognizer.decode(audio)
            LOG.debug("went on: %r + %r, decoded whole: %r",
                      resumed.transcript.text, rest.text, whole.text)
            transcript = fuller_transcript(whole, join_transcripts([resumed.transcript, rest]))
        elif len(self._segments) > 0:
            # the recogniser cut the question at a pause: decode it again as one utterance
            whole = self.recognizer.decode(heard)
            LOG.debug("cut at a pause: %r, decoded whole: %r", rest.text, whole.text)
            transcript = fuller_transcript(whole, rest)
        else:
            transcript = final
        self._forget_utterance()
        LOG.debug("endpoint after %.2f s of silence (%s words: %r): %r [%d blocks waiting]",
                  ended.silence, ended.words.value, so_far.strip(), transcript.text,
                  getattr(self.mic, "blocks_waiting", -1))
        if not transcript.text:
            return
        if resumed is not None and self._only_a_stop(rest.text):
            # "stop" said while the early answer began: it is stopped already, and stays so
            LOG.info("stop heard as the early answer began: %r", rest.text)
            self.state, self.turns = resumed.after, resumed.after_turns
            self.gate.close()  # like a barge-in stop: no sound, the silence is the answer
            return
        match, seconds = self.own_voice.match(heard, self.mic.sample_rate)
        LOG.debug("own-voice match %.2f over %.1f s", match, seconds)
        if is_own_voice(match, seconds):
            LOG.info("ignored my own voice: %r (match %.2f)", transcript.text, match)
            return
        before, turns = self.state, self.turns
        answer = self.handle(transcript)
        if (
            answer is not None
            and ended.words is Words.COMPLETE
            and answer.action is None
            and answer.urgency is not Urgency.EMERGENCY
        ):
            self._resume = _Resumable(time.monotonic() + RESUME_SECONDS, before, turns,
                                      self.state, self.turns, transcript, heard)

    def _went_on(self, last: str) -> str:
        """After an early answer was stopped, what the person went on to say: the segments
        after the question (its own transcript is the first), then ``last``."""
        return " ".join([*(s.text for s in self._segments[1:]), last])

    def _only_a_stop(self, text: str) -> bool:
        found = self.skill.understand(text)
        return found.intent == "stop" and found.method == "exact"

    def _words(self, text: str) -> Words:
        """What the words so far say (after the wake phrase, which alone is complete)."""
        heard = text.split()
        wake = list(self.gate.wake_words)
        if wake and not self.gate.always_listening and heard[: len(wake)] == wake:
            if len(heard) == len(wake):
                return Words.COMPLETE
            text = " ".join(heard[len(wake):])
        return words_state(text, self.skill.sounds_complete, self.skill.sounds_unfinished)

    def _maybe_resume(self, block: bytes, now: float) -> None:
        """While an early answer plays: did the person go on speaking? Then stop it, take
        back the turn, and listen to the rest of the question."""
        resume = self._resume
        assert resume is not None and self.endpointer is not None
        if resume.went_on is None and now >= resume.until:
            self._resume = None
            return
        if resume.detector is None:
            resume.detector = Endpointer(self.endpointer.activity, self.mic.sample_rate)
        resume.blocks.append(block)
        resume.detector.push(block)
        if resume.went_on is None:
            if resume.detector.voiced_run >= RESUME_SPEECH_FRAMES:
                resume.went_on = max(0, len(resume.blocks) - RESUME_SPEECH_FRAMES - 1)
            return
        since = resume.blocks[resume.went_on:]
        heard = sum(len(b) for b in since) / 2 / self.mic.sample_rate
        if heard < RESUME_CHECK_SECONDS:
            return
        echo = self._echo_of_answer(b"".join(since))
        if echo is None and heard < RESUME_CHECK_MAX_SECONDS:
            return  # too little sound yet to compare: wait for more
        if echo:
            LOG.info("the sound during the answer was its own echo: not the person going on")
            self._resume = None
            return
        LOG.info("barge-in: the person went on speaking; answer stopped, listening to the rest")
        self._resume = None
        self._resumed = True
        self.speaker.stop(wait=True, timeout=0.3)
        self.state, self.turns = resume.state, resume.turns
        self.recognizer.reset()
        self._forget_utterance()
        self._segments = [resume.transcript]
        self._resumed_from = resume
        self.endpointer.heard_words()
        self._was_speaking = False
        for kept in since:
            self._hear(kept)

    def _echo_of_answer(self, pcm: bytes) -> bool | None:
        """Whether ``pcm`` is the answer now playing, coming back at the microphone (None:
        too little sound in it to tell)."""
        probe = OwnVoice()
        if self._answer_job is not None:
            probe.played(self._answer_job)  # what it has put on the speaker so far
        now, seconds = probe.match(pcm, self.mic.sample_rate)
        before, _ = self.own_voice.match(pcm, self.mic.sample_rate)  # the last minute's
        LOG.debug("sound during the answer: match %.2f with it, %.2f with what was said "
                  "before, over %.1f s", now, before, seconds)
        if max(now, before) >= RESUME_ECHO_MATCH:
            return True
        if seconds < OwnVoice.MIN_SECONDS or now < -0.99:
            return None  # too little sound, or too little of the answer played, to compare
        return False

    def _forget_utterance(self) -> None:
        self._heard.clear()
        self._segments = []
        self._resumed_from = None
        if self.endpointer is not None:
            self.endpointer.reset()

    def _barge_in(self, block: bytes) -> None:
        if self.barge.accept(block):
            LOG.info("barge-in: stop heard while speaking (%r)", self.barge.heard)
            self._resume = None
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
        earcon: str | None = None  # an answer is its own cue: a "got it" would delay it
        if answer.urgency is Urgency.EMERGENCY:
            earcon = "emergency"
        elif answer.kind in ("not_understood", "decline"):
            earcon = "not_understood"
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
