"""Microphone streaming through real virtual devices (PulseAudio fifo mic, see virtual_audio.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import virtual_audio
from test_recognizer import GRAMMAR, PHRASE, korean_model

from assistant.audio import devices
from assistant.audio.microphone import (
    Microphone,
    MicrophoneLost,
    listen_utterances,
    reopen_with_retry,
)
from assistant.errors import AudioError
from assistant.speech.recognizer import Recognizer
from assistant.stages import Transcript

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.audio


@pytest.fixture(scope="module")
def audio(virtual_audio_devices: virtual_audio.VirtualAudio) -> virtual_audio.VirtualAudio:
    # PortAudio enumerated devices at import, before the fixture set XDG_RUNTIME_DIR.
    devices.refresh()
    return virtual_audio_devices


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return virtual_audio.espeak_wav(PHRASE, tmp_path_factory.mktemp("mic") / "hello.wav")


@pytest.fixture
def quiet_after(audio: virtual_audio.VirtualAudio) -> Iterator[None]:
    """Let queued speech finish, so it does not leak into the next test."""
    yield
    deadline = time.monotonic() + 10
    while audio.speaking() and time.monotonic() < deadline:
        time.sleep(0.1)


def first_utterance(mic: Microphone, recognizer: Recognizer, partials: list[str],
                    timeout: float = 20.0) -> Transcript:
    stop = threading.Event()
    timer = threading.Timer(timeout, stop.set)
    timer.start()
    try:
        for transcript in listen_utterances(mic, recognizer, partials.append, stop=stop):
            return transcript
    finally:
        timer.cancel()
    pytest.fail(f"nothing recognised within {timeout} s")


# -- devices ------------------------------------------------------------------------------------
def test_devices_are_listed_and_resolved(audio: virtual_audio.VirtualAudio) -> None:
    inputs = devices.list_devices("input")
    names = [d.name for d in inputs]
    assert "pulse" in names and "default" in names
    pulse = devices.resolve_device("pulse")
    assert pulse.name == "pulse" and pulse.max_input_channels > 0
    assert devices.resolve_device(str(pulse.index)) == pulse
    assert devices.resolve_device("PULSE") == pulse
    assert devices.resolve_device(None).is_default_input
    with pytest.raises(AudioError, match="matches several microphones") as info:
        devices.resolve_device("ul")  # pulse, default
    assert "pulse" in info.value.message and "default" in info.value.message
    with pytest.raises(AudioError, match=r"No microphone matches 'usb'.*pulse"):
        devices.resolve_device("usb")
    with pytest.raises(AudioError, match="No microphone with index 99"):
        devices.resolve_device(99)


def test_devices_command(audio: virtual_audio.VirtualAudio, tmp_path: Path) -> None:
    env = {**audio.env, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "assistant", "devices"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Input devices (microphones):" in result.stdout
    assert "Output devices (speakers):" in result.stdout
    assert "pulse" in result.stdout and "[default]" in result.stdout

    # No sound server at all: a plain sentence, not an error.
    empty = tmp_path / "no-pulse"
    empty.mkdir()
    client_conf = tmp_path / "client.conf"
    client_conf.write_text("autospawn = no\n")
    env = {**env, "XDG_RUNTIME_DIR": str(empty), "PULSE_CLIENTCONFIG": str(client_conf)}
    result = subprocess.run([sys.executable, "-m", "assistant", "devices"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No audio devices found")
    assert "Traceback" not in result.stderr


# -- streaming ----------------------------------------------------------------------------------
@pytest.mark.vosk
def test_speech_into_the_microphone_is_recognised(
    audio: virtual_audio.VirtualAudio, speech: Path, quiet_after: None
) -> None:
    with Microphone() as mic:
        assert mic.sample_rate == 16_000
        recognizer = Recognizer(korean_model(), mic.sample_rate, GRAMMAR)
        audio.say_wav(speech)
        partials: list[str] = []
        heard = first_utterance(mic, recognizer, partials)
        assert heard.text == PHRASE
        assert partials and partials[-1]  # "listening..." feedback came before the result
        assert mic.overflows == 0 and mic.dropped_blocks == 0


def test_overflows_and_a_full_queue_are_counted_not_fatal(
    audio: virtual_audio.VirtualAudio,
) -> None:
    import sounddevice as sd

    with Microphone(max_queued_blocks=3) as mic:
        time.sleep(1.0)  # nobody reads: the small queue fills up, later blocks are dropped
        assert mic.dropped_blocks > 0
        mic._callback(b"\0" * 3200, 1600, None, sd.CallbackFlags(sd._lib.paInputOverflow))
        assert mic.overflows >= 1
        for _ in range(5):
            assert mic.read(timeout=2) is not None


def listen_through_losses(
    mic: Microphone, recognizer: Recognizer, timeout: float = 20.0
) -> tuple[Transcript, int]:
    """What the voice loop does: listen; on MicrophoneLost, reopen_with_retry and go on."""
    losses = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return first_utterance(mic, recognizer, [], deadline - time.monotonic()), losses
        except MicrophoneLost:
            losses += 1
            assert reopen_with_retry(mic, initial_delay=0.2, give_up_after=10)
    pytest.fail(f"nothing recognised within {timeout} s")


@pytest.mark.vosk
def test_stalled_microphone_is_noticed_and_reopened(
    audio: virtual_audio.VirtualAudio, speech: Path, quiet_after: None
) -> None:
    """A device that stops delivering audio (a hung USB mic) is noticed within the stall
    timeout, and reopen_with_retry brings listening back once it works again."""
    mic = Microphone(stall_timeout=1.0)
    mic.start()
    try:
        recognizer = Recognizer(korean_model(), mic.sample_rate, GRAMMAR)
        assert mic.read(timeout=2) is not None
        # Stop feeding the fifo without unloading it: the PulseAudio source stalls.
        audio._stop_feeding.set()
        audio._feeder.join(timeout=2)
        started = time.monotonic()
        with pytest.raises(MicrophoneLost) as info:
            while time.monotonic() - started < 5:
                mic.read(timeout=0.5)
        assert time.monotonic() - started < 2.5
        assert info.value.reason.startswith("no audio for")
        assert "microphone" in info.value.spoken.lower()

        notices: list[int] = []
        replug = threading.Timer(0.5, lambda: (audio.unload_mic(), audio.load_mic()))
        replug.start()
        assert reopen_with_retry(mic, on_notice=lambda n, _e, _d: notices.append(n),
                                 initial_delay=0.3, give_up_after=15)
        replug.join()
        audio.say_wav(speech)
        heard, _losses = listen_through_losses(mic, recognizer)
        assert heard.text == PHRASE
    finally:
        mic.close()
        if not (audio.fifo.exists() and audio._feeder is not None and audio._feeder.is_alive()):
            audio.unload_mic()
            audio.load_mic()


@pytest.mark.vosk
def test_microphone_unplugged_and_back(
    audio: virtual_audio.VirtualAudio, speech: Path, quiet_after: None
) -> None:
    """The mic module is unloaded mid-stream and loaded again; listening survives.

    PulseAudio usually moves the stream to another source (here spk.monitor) instead of
    breaking it, so PortAudio may see nothing at all; when it does see a stall or an error,
    reopen_with_retry takes over. Either way speech after the re-plug is heard.
    """
    mic = Microphone(stall_timeout=1.0)
    mic.start()
    try:
        recognizer = Recognizer(korean_model(), mic.sample_rate, GRAMMAR)
        assert mic.read(timeout=2) is not None
        audio.unload_mic()
        started = time.monotonic()
        losses = 0
        while time.monotonic() - started < 2.0:  # listening while the mic is gone
            try:
                mic.read(timeout=0.5)
            except MicrophoneLost:
                losses += 1
                assert reopen_with_retry(mic, initial_delay=0.2, give_up_after=10)
        audio.load_mic()
        time.sleep(0.5)  # PulseAudio moves streams to the new default source
        audio.say_wav(speech)
        heard, more = listen_through_losses(mic, recognizer)
        assert heard.text == PHRASE
        assert losses + more <= 2
    finally:
        mic.close()
        if not audio.fifo.exists():
            audio.load_mic()


def test_stream_that_stops_is_reported_at_once(audio: virtual_audio.VirtualAudio) -> None:
    with Microphone(stall_timeout=5.0) as mic:
        assert mic.read(timeout=2) is not None
        mic._stream.abort()  # as if PortAudio gave up on the device
        started = time.monotonic()
        with pytest.raises(MicrophoneLost, match="stream stopped"):
            mic.read(timeout=3)
        assert time.monotonic() - started < 1.0


def test_reopen_waits_with_backoff_until_the_device_exists(
    audio: virtual_audio.VirtualAudio,
) -> None:
    mic = Microphone("no-such-microphone")
    notices: list[tuple[int, str, float]] = []

    def notice(attempt: int, error: AudioError, delay: float) -> None:
        notices.append((attempt, error.message, delay))
        if attempt == 3:
            mic.device_spec = "pulse"  # the device is plugged back in

    try:
        assert reopen_with_retry(mic, on_notice=notice, initial_delay=0.1, max_delay=0.3)
        assert mic.device is not None and mic.device.name == "pulse"
        assert mic.read(timeout=2) is not None
    finally:
        mic.close()
    assert [n[0] for n in notices] == [1, 2, 3]
    assert [n[2] for n in notices] == [0.1, 0.2, 0.3]
    assert "No microphone matches 'no-such-microphone'" in notices[0][1]

    with pytest.raises(AudioError, match="did not come back"):
        reopen_with_retry(Microphone("no-such-microphone"), initial_delay=0.1, give_up_after=0.5)

    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    assert not reopen_with_retry(Microphone("no-such-microphone"), initial_delay=0.1, stop=stop)

