"""Playback and earcons on real PulseAudio virtual devices (nothing mocked).

The null sink ``spk`` renders in blocks of up to 2 s while no client asks for low latency, so
a new stream can wait ~2 s before its first sample is taken (a property of module-null-sink,
not of real sound cards). ``awake_speaker`` keeps a silent 20 ms-latency stream connected,
as a real desktop's sound server effectively does, so timing checks measure our code.
"""

from __future__ import annotations

import array
import itertools
import math
import re
import subprocess
import sys
import textwrap
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
import virtual_audio

from assistant.audio import earcons
from assistant.audio.player import Player, convert, output_device_index, scale_volume
from assistant.errors import AudioError

REPO = Path(__file__).resolve().parent.parent
RATE = 22_050


# -- helpers shared with test_voice.py ------------------------------------------------------


def signal_extent(path: Path, threshold: int = 300) -> tuple[float, float, float]:
    """(first, last) time in seconds of a sample above ``threshold``, and the file length."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    loud = [i for i in range(0, len(samples), 8) if abs(samples[i]) > threshold]
    length = len(samples) / rate
    if not loud:
        return 0.0, 0.0, length
    return loud[0] / rate, loud[-1] / rate, length


def tone(seconds: float, freq: float = 440.0, level: float = 0.3, rate: int = RATE) -> bytes:
    count = int(seconds * rate)
    amplitude = 32767 * level
    return array.array(
        "h", [int(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(count)]
    ).tobytes()


class Recording:
    """Record ``spk.monitor`` while a block runs; gives the WAV path afterwards."""

    def __init__(self, audio: virtual_audio.VirtualAudio, path: Path) -> None:
        self.audio = audio
        self.path = path
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Recording:
        self._process = self.audio.record_speaker(self.path)
        time.sleep(0.3)  # parecord needs a moment before it captures
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=5)


def _sink_latency_usec(audio: virtual_audio.VirtualAudio) -> int:
    out = subprocess.run(
        ["pactl", "list", "sinks"], env=audio.env, capture_output=True, text=True, timeout=10
    ).stdout
    match = re.search(r"Latency: (\d+) usec", out)
    return int(match.group(1)) if match else 10**9


@pytest.fixture(scope="session")
def awake_speaker(
    virtual_audio_devices: virtual_audio.VirtualAudio,
) -> Iterator[virtual_audio.VirtualAudio]:
    """The virtual devices, with the null sink kept at low latency (see module docstring)."""
    audio = virtual_audio_devices
    keeper = subprocess.Popen(
        ["pacat", "--playback", "-d", "spk", "--latency-msec=20", "--raw", "--format=s16le",
         "--rate=16000", "--channels=1", "/dev/zero"],
        env=audio.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while _sink_latency_usec(audio) > 200_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield audio
    finally:
        keeper.terminate()
        keeper.wait(timeout=5)


# -- pure helpers ---------------------------------------------------------------------------


def test_scale_volume() -> None:
    pcm = array.array("h", [1000, -1000, 32767, -32768]).tobytes()
    assert scale_volume(pcm, 1.0) is pcm
    assert array.array("h", scale_volume(pcm, 0.5)).tolist() == [500, -500, 16383, -16384]
    assert set(array.array("h", scale_volume(pcm, 0.0))) == {0}


def test_convert_rate_and_channels() -> None:
    pcm = tone(0.5, rate=22_050)
    out = array.array("h", convert(pcm, 22_050, 44_100, channels=2))
    assert abs(len(out) - 2 * 2 * len(pcm) // 2) <= 4
    assert out[0::2] == out[1::2]  # both channels identical
    assert convert(pcm, 22_050, 22_050, 1) == pcm


# -- earcons --------------------------------------------------------------------------------


def _zero_crossing_pitch(pcm: bytes, rate: int, start: float, seconds: float) -> float:
    samples = array.array("h", pcm)[int(start * rate) : int((start + seconds) * rate)]
    crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    return crossings / seconds


def test_earcons_are_short_moderate_and_distinct() -> None:
    required = {"ready", "listening", "got_it", "not_understood", "done", "error"}
    assert required <= set(earcons.NAMES)
    signatures = set()
    for name in earcons.NAMES:
        pcm = earcons.earcon(name, RATE)
        seconds = len(pcm) / 2 / RATE
        assert 0.08 <= seconds < 0.3, name
        assert seconds == pytest.approx(earcons.duration(name), abs=0.002)
        peak = max(abs(s) for s in array.array("h", pcm))
        assert 0.15 * 32767 < peak < 0.5 * 32767, name  # audible, below speech level
        # the first and last 30 ms: measured pitch, rounded to semitone-ish buckets
        first = _zero_crossing_pitch(pcm, RATE, 0.005, 0.03)
        last = _zero_crossing_pitch(pcm, RATE, seconds - 0.04, 0.03)
        notes = earcons.EARCONS[name]
        assert first == pytest.approx(notes[0].freq, rel=0.2), name
        semitones = (round(math.log2(first) * 12), round(math.log2(last) * 12))
        signatures.add((round(seconds, 2), *semitones))
    assert len(signatures) == len(earcons.NAMES)  # no two sound alike
    # direction carries meaning: ready rises, not_understood falls
    ready = earcons.EARCONS["ready"]
    not_understood = earcons.EARCONS["not_understood"]
    assert ready[-1].freq > ready[0].freq
    assert not_understood[-1].freq < not_understood[0].freq
    assert earcons.earcon("done", RATE, volume=0.5) != earcons.earcon("done", RATE)
    with pytest.raises(ValueError):
        earcons.earcon("nonsense")


# -- devices and playback on the virtual speaker --------------------------------------------


@pytest.mark.audio
def test_refresh_finds_a_server_that_started_after_import(
    virtual_audio_devices: virtual_audio.VirtualAudio, tmp_path: Path
) -> None:
    """PortAudio lists devices once; our lookup re-scans when it has seen none."""
    code = textwrap.dedent(
        f"""
        import os, sys
        import sounddevice as sd
        print(len(sd.query_devices()))
        os.environ["XDG_RUNTIME_DIR"] = {str(virtual_audio_devices.runtime_dir)!r}
        from assistant.audio.devices import list_devices
        from assistant.audio.player import output_device_index
        index = output_device_index(None)
        print(len(list_devices("output")), index >= 0)
        """
    )
    empty = tmp_path / "runtime"
    empty.mkdir()
    env = {**virtual_audio_devices.env, "XDG_RUNTIME_DIR": str(empty), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.split("\n")[:2]
    assert before == "0"  # nothing seen at import: without a re-scan there is "no speaker"
    count, found = after.split()
    assert int(count) >= 1 and found == "True"


@pytest.mark.audio
def test_unknown_device_is_a_clear_error(awake_speaker: virtual_audio.VirtualAudio) -> None:
    with pytest.raises(AudioError) as info:
        output_device_index("no such speaker")
    assert "No speaker matches 'no such speaker'" in info.value.message
    assert "pulse" in info.value.message  # lists the choices
    with pytest.raises(AudioError):
        output_device_index(999)
    assert output_device_index("pulse") >= 0
    assert output_device_index(str(output_device_index("pulse"))) == output_device_index("pulse")


@pytest.mark.audio
def test_plays_on_the_virtual_speaker(
    awake_speaker: virtual_audio.VirtualAudio, tmp_path: Path
) -> None:
    recording = tmp_path / "tone.wav"
    with Recording(awake_speaker, recording):
        assert Player("pulse").play(tone(1.0), RATE) is True
    first, last, _ = signal_extent(recording)
    assert last - first == pytest.approx(1.0, abs=0.15)
    _, rms = virtual_audio.wav_rms(recording)
    assert rms > 0.02


@pytest.mark.audio
def test_stop_event_cuts_playback_at_once(
    awake_speaker: virtual_audio.VirtualAudio, tmp_path: Path
) -> None:
    stop = threading.Event()
    result: dict[str, object] = {}

    def play() -> None:
        result["completed"] = Player().play(tone(4.0), RATE, stop)
        result["returned"] = time.monotonic()

    recording = tmp_path / "cut.wav"
    with Recording(awake_speaker, recording):
        worker = threading.Thread(target=play)
        worker.start()
        time.sleep(0.6)
        stopped_at = time.monotonic()
        stop.set()
        worker.join(5)
    assert result["completed"] is False
    assert float(result["returned"]) - stopped_at < 0.2  # type: ignore[arg-type]
    first, last, _ = signal_extent(recording)
    # sound lasted ~0.6 s (plus stream start-up), not the 4 s that were queued
    assert 0.3 < last - first < 0.6 + 0.25


@pytest.mark.audio
def test_earcons_play_distinctly(awake_speaker: virtual_audio.VirtualAudio, tmp_path: Path) -> None:
    recording = tmp_path / "earcons.wav"
    player = Player()
    with Recording(awake_speaker, recording):
        for name in ("ready", "error"):
            assert player.play(earcons.earcon(name, RATE), RATE)
    _, rms = virtual_audio.wav_rms(recording)
    assert rms > 0.005
