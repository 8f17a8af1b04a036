"""WAV validation and block streaming (no model needed): every bad file gets one clear line."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tracemalloc
import wave
from array import array
from pathlib import Path

import pytest

from assistant.audio.wavfile import open_wav
from assistant.errors import AudioError

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def write_wav(path: Path, samples: list[int], rate: int = 16_000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(array("h", samples).tobytes())
    return path


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def error_for(path: Path) -> str:
    with pytest.raises(AudioError) as info:
        open_wav(path)
    message = info.value.message
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message


def test_mono_blocks_are_the_samples_in_order(tmp_path: Path) -> None:
    samples = list(range(-5000, 5000))
    path = write_wav(tmp_path / "mono.wav", samples, rate=8000)
    with open_wav(path) as wav:
        assert (wav.sample_rate, wav.channels, wav.frames) == (8000, 1, 10_000)
        assert wav.duration == pytest.approx(1.25)
        blocks = list(wav.blocks(0.2))
    assert [len(b) for b in blocks] == [3200] * 6 + [800]
    assert array("h", b"".join(blocks)).tolist() == samples


def test_stereo_is_downmixed_to_the_channel_mean(tmp_path: Path) -> None:
    frames = [1000, 3000, -2000, -4000, 32767, 32767, -32768, -32768] * 100
    path = write_wav(tmp_path / "stereo.wav", frames, rate=22_050, channels=2)
    with open_wav(path) as wav:
        assert wav.channels == 2 and wav.frames == 400
        mono = array("h", b"".join(wav.blocks(0.01)))
    assert mono.tolist() == [2000, -3000, 32767, -32768] * 100


@needs_sox
@pytest.mark.parametrize(
    ("rate", "channels"), [(8000, 1), (16_000, 1), (22_050, 1), (44_100, 2), (48_000, 2)]
)
def test_sox_files_open(tmp_path: Path, rate: int, channels: int) -> None:
    path = tmp_path / "tone.wav"
    sox("-n", "-r", str(rate), "-c", str(channels), "-b", "16", str(path),
        "synth", "0.5", "sine", "440")
    with open_wav(path) as wav:
        assert (wav.sample_rate, wav.channels) == (rate, channels)
        total = sum(len(b) for b in wav.blocks())
    assert total == wav.frames * 2


def test_data_length_unknown_reads_to_the_end(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "stream.wav", [7] * 1600)
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    with open_wav(path) as wav:
        assert wav.frames == 1600


def test_extensible_pcm_header_is_accepted(tmp_path: Path) -> None:
    pcm = array("h", [1, 2, 3, 4] * 400).tobytes()
    guid_pcm = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 16_000, 32_000, 2, 16)
    fmt += struct.pack("<HHI", 22, 16, 4) + guid_pcm
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(pcm)) + pcm
    path = tmp_path / "ext.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with open_wav(path) as wav:
        assert (wav.sample_rate, wav.frames) == (16_000, 1600)


# -- bad files ---------------------------------------------------------------------------------
def test_not_a_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are my notes, not audio\n")
    assert "not a WAV file" in error_for(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert "empty" in error_for(path)


def test_wav_without_samples(tmp_path: Path) -> None:
    assert "no audio" in error_for(write_wav(tmp_path / "none.wav", []))


def test_truncated_audio(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cut.wav", [100] * 16_000)
    path.write_bytes(path.read_bytes()[:20_000])
    message = error_for(path)
    assert "truncated" in message and "1.00 s" in message


def test_truncated_header(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cut.wav", [100] * 1000)
    path.write_bytes(path.read_bytes()[:30])
    assert "truncated" in error_for(path)


@needs_sox
@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        (["-b", "24"], "24-bit samples are not supported"),
        (["-e", "floating-point", "-b", "32"], "floating-point samples are not supported"),
        (["-e", "a-law", "-b", "8"], "A-law audio is not supported"),
        (["-b", "8"], "8-bit samples are not supported"),
    ],
)
def test_unsupported_encodings(tmp_path: Path, encoding: list[str], expected: str) -> None:
    path = tmp_path / "odd.wav"
    sox("-n", "-r", "16000", "-c", "1", *encoding, str(path), "synth", "0.2", "sine", "440")
    message = error_for(path)
    assert expected in message
    assert "sox" in message  # says how to fix it


def test_unsupported_rate_and_channels(tmp_path: Path) -> None:
    assert "96000 Hz" in error_for(write_wav(tmp_path / "hi.wav", [0] * 96, rate=96_000))
    assert "4000 Hz" in error_for(write_wav(tmp_path / "lo.wav", [0] * 96, rate=4000))
    assert "3 channels" in error_for(write_wav(tmp_path / "3ch.wav", [0] * 96, channels=3))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "no such file" in error_for(tmp_path / "nope.wav")
    assert "folder" in error_for(tmp_path)


def test_ten_minutes_stream_in_bounded_memory(tmp_path: Path) -> None:
    """A 10-minute stereo file (38 MB) is read block by block: Python memory stays tiny."""
    path = tmp_path / "long.wav"
    frames = 16_000 * 600
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        second = array("h", [0, 0] * 16_000).tobytes()
        for _ in range(600):
            wav.writeframes(second)
    tracemalloc.start()
    try:
        total = 0
        with open_wav(path) as wav:
            for block in wav.blocks(0.2):
                total += len(block)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == frames * 2
    assert peak < 2_000_000, f"peak Python memory {peak} bytes"
