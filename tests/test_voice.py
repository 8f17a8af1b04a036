"""Speech out with the real pyttsx3/espeak-ng engine and the PulseAudio virtual speaker."""

from __future__ import annotations

import array
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import virtual_audio
from test_player import Recording, awake_speaker, signal_extent  # noqa: F401 (fixture)

from assistant.errors import AudioError, SpeechOutputError
from assistant.settings import Settings
from assistant.speech.voice import (
    Audio,
    Speaker,
    SpeechJob,
    Synthesizer,
    speak_text,
    split_sentences,
)

REPO = Path(__file__).resolve().parent.parent

TWO_SENTENCES = "Muscle twitching is very common. It is usually harmless and goes away by itself."
LONG_TEXT = " ".join(
    f"This is sentence number {i}, which keeps going for quite a while." for i in range(1, 12)
)


def rms(pcm: bytes) -> float:
    samples = array.array("h", pcm)
    return (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5 / 32768


def loud_span(pcm: bytes, rate: int, threshold: int = 300) -> float:
    samples = array.array("h", pcm)
    loud = [i for i in range(0, len(samples), 8) if abs(samples[i]) > threshold]
    return (loud[-1] - loud[0]) / rate if loud else 0.0


@pytest.fixture
def synth() -> Iterator[Synthesizer]:
    with Synthesizer() as engine:
        yield engine


# -- sentences ------------------------------------------------------------------------------


def test_split_sentences() -> None:
    assert split_sentences("Hello there. How are you? Fine!") == [
        "Hello there.", "How are you?", "Fine!"
    ]
    assert split_sentences("Take 2.5 mg, e.g. with food. Dr. Smith agrees.") == [
        "Take 2.5 mg, e.g. with food.", "Dr. Smith agrees."
    ]
    assert split_sentences("Is it serious? No. It is harmless.") == [
        "Is it serious?", "No.", "It is harmless."
    ]
    assert split_sentences("  \n ... ") == []
    assert split_sentences("First line\n\nSecond paragraph") == ["First line", "Second paragraph"]
    long = ", ".join(["a clause that keeps going"] * 20) + "."
    parts = split_sentences(long)
    assert len(parts) > 1 and all(len(p) <= 220 for p in parts)
    assert " ".join(parts) == long


# -- synthesizer ----------------------------------------------------------------------------


def test_many_utterances_in_a_row_on_one_engine(synth: Synthesizer, capfd) -> None:
    """Users report runAndWait working only once per engine: we do 36 on the same one, changing
    rate and volume as we go. Every result must match its settings: pyttsx3's espeak driver
    silently dropped about half of such changes until ``Synthesizer._settle`` waited for espeak.
    """
    texts = ("Utterance number one.", "And here is a somewhat longer second utterance.")
    results: dict[tuple[str, int, float], list[Audio]] = {}
    for i in range(36):
        key = (texts[i % 2], (150, 200, 250)[i % 3], (1.0, 0.5)[(i // 6) % 2])
        audio = synth.synthesize(key[0], rate=key[1], volume=key[2])
        assert audio.rate == 22_050
        assert rms(audio.pcm) > 0.01
        results.setdefault(key, []).append(audio)
    for key, audios in results.items():
        seconds = [a.seconds for a in audios]
        assert max(seconds) - min(seconds) < 0.1, (key, seconds)
    for text in texts:
        by_rate = [results[(text, rate, 1.0)][0].seconds for rate in (150, 200, 250)]
        assert by_rate[0] > by_rate[1] * 1.15 > by_rate[2] * 1.3, by_rate
        for rate in (150, 200, 250):
            full = rms(results[(text, rate, 1.0)][0].pcm)
            half = rms(results[(text, rate, 0.5)][0].pcm)
            assert half == pytest.approx(full / 2, rel=0.25)
    out, _err = capfd.readouterr()
    assert out == ""  # "Audio saved to ..." never reaches stdout


def test_concurrent_callers_share_the_one_engine(synth: Synthesizer) -> None:
    """Several threads at once: requests are queued to the engine thread, never interleaved."""
    results: list[float] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                results.append(synth.synthesize(f"Thread {n} says {i}.").seconds)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(results) == 20 and min(results) > 0.3


def test_rate_volume_and_voice_take_effect(synth: Synthesizer) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    slow = synth.synthesize(text, rate=100)
    fast = synth.synthesize(text, rate=300)
    normal = synth.synthesize(text, rate=175)
    assert slow.seconds > normal.seconds * 1.3 > fast.seconds * 1.3
    loud = synth.synthesize(text, volume=1.0)
    quiet = synth.synthesize(text, volume=0.3)
    assert rms(quiet.pcm) < rms(loud.pcm) * 0.6
    german = synth.synthesize(text, voice="de")
    american = synth.synthesize(text, voice="en-us")
    default_again = synth.synthesize(text)
    assert german.pcm != american.pcm
    assert german.seconds != pytest.approx(american.seconds, abs=0.05)
    # voice=None goes back to the default voice; rate and volume survive voice changes
    assert default_again.seconds == pytest.approx(normal.seconds, rel=0.05)
    assert rms(default_again.pcm) == pytest.approx(rms(normal.pcm), rel=0.1)
    ids = [voice_id for voice_id, _name, _langs in synth.voices()]
    assert "gmw/en-us" in ids and len(ids) > 20


def test_unknown_voice_is_a_clear_error(synth: Synthesizer) -> None:
    with pytest.raises(SpeechOutputError) as info:
        synth.synthesize("hello", voice="no-such-voice")
    assert "Unknown voice 'no-such-voice'" in info.value.message
    assert synth.synthesize("still works").seconds > 0.3


def test_engine_failure_is_a_speech_output_error() -> None:
    with Synthesizer(driver="no_such_driver") as broken:
        with pytest.raises(SpeechOutputError) as info:
            broken.synthesize("hello")
        assert "speech engine could not start" in info.value.message
        assert "Traceback" not in info.value.message
        with pytest.raises(SpeechOutputError):
            broken.wait_ready()
        speaker = Speaker(synthesizer=broken, player=object())
        try:
            with pytest.raises(SpeechOutputError):
                speaker.speak("hello")
        finally:
            speaker.close()


def test_only_one_engine_at_a_time(synth: Synthesizer) -> None:
    with pytest.raises(SpeechOutputError):
        Synthesizer()
    synth.close()
    with Synthesizer() as again:
        assert again.synthesize("ok").seconds > 0.1


def test_close_then_exit_leaves_stdout_and_stderr_clean(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        from assistant.speech.voice import Synthesizer
        synth = Synthesizer()
        for i in range(5):
            synth.synthesize(f"number {i}", rate=120 + 20 * i)
        future = synth.submit("one more queued just before closing")
        synth.close()
        # a second engine in the same process after the first one closed
        with Synthesizer() as again:
            again.synthesize("again")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Exception ignored" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr == ""


# -- speaker on the virtual devices ---------------------------------------------------------


class Events:
    """Collects on_start/on_done calls with their times."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, SpeechJob]] = []

    def start(self, job: SpeechJob) -> None:
        self.calls.append(("start", time.monotonic(), job))

    def done(self, job: SpeechJob) -> None:
        self.calls.append(("done", time.monotonic(), job))

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


@pytest.mark.audio
def test_speaker_speaks_two_sentences_on_the_virtual_speaker(
    awake_speaker: virtual_audio.VirtualAudio, synth: Synthesizer, tmp_path: Path  # noqa: F811
) -> None:
    events = Events()
    expected = [synth.synthesize(s) for s in split_sentences(TWO_SENTENCES)]
    assert len(expected) == 2
    joined = Audio(b"".join(a.pcm for a in expected), expected[0].rate)
    recording = tmp_path / "two.wav"
    speaker = Speaker(Settings(), synthesizer=synth, on_start=events.start, on_done=events.done)
    try:
        with Recording(awake_speaker, recording):
            began = time.monotonic()
            job = speaker.speak(TWO_SENTENCES, block=False)
            time.sleep(0.3)
            assert speaker.is_speaking()
            assert job.wait(15) is True
            assert not speaker.is_speaking()
    finally:
        speaker.close()
    assert events.names() == ["start", "done"]
    assert events.calls[0][1] - began < 0.3  # time to first audio
    assert job.completed and not job.stopped and job.error is None
    assert job.audio_seconds == pytest.approx(joined.seconds, abs=0.05)
    first, last, _length = signal_extent(recording)
    assert last - first == pytest.approx(loud_span(joined.pcm, joined.rate), abs=0.3)
    _, level = virtual_audio.wav_rms(recording)
    assert level > 0.02


@pytest.mark.audio
def test_barge_in_stops_within_200_ms(
    awake_speaker: virtual_audio.VirtualAudio, synth: Synthesizer, tmp_path: Path  # noqa: F811
) -> None:
    events = Events()
    speaker = Speaker(Settings(), synthesizer=synth, on_start=events.start, on_done=events.done)
    recording = tmp_path / "barge.wav"
    try:
        with Recording(awake_speaker, recording):
            job = speaker.speak(LONG_TEXT, block=False)
            queued = speaker.speak("This should never be heard.", block=False)
            while job.started_at is None and not job.done():
                time.sleep(0.01)
            time.sleep(0.5)
            stop_called = time.monotonic()
            assert speaker.stop() is True
            stop_returned = time.monotonic()
            assert not speaker.is_speaking()
    finally:
        speaker.close()
    assert stop_returned - stop_called < 0.2
    assert job.stopped and not job.completed and job.wait(0) is False
    assert queued.stopped and queued.started_at is None
    assert job.finished_at is not None and job.finished_at - stop_called < 0.2
    assert events.names() == ["start", "done", "done"]
    played = stop_called - (job.started_at or stop_called)
    first, last, _ = signal_extent(recording)
    # the sound ended with the stop: no tail of the 10 remaining sentences
    assert last - first < played + 0.2
    assert last - first > 0.2


@pytest.mark.audio
def test_speak_text_and_earcon_on_default_device(
    awake_speaker: virtual_audio.VirtualAudio, tmp_path: Path  # noqa: F811
) -> None:
    recording = tmp_path / "speak_text.wav"
    with Recording(awake_speaker, recording):
        speak_text("Hello.", Settings(rate=200, volume=0.8))
        with Speaker() as speaker:
            assert speaker.play_earcon("got_it", block=True).completed
    first, last, _ = signal_extent(recording)
    assert last - first > 0.3


@pytest.mark.audio
def test_missing_output_device_is_an_audio_error(
    awake_speaker: virtual_audio.VirtualAudio,  # noqa: F811
) -> None:
    with pytest.raises(AudioError) as info:
        speak_text("hello", Settings(), output_device="no such speaker")
    assert "No speaker matches" in info.value.message
