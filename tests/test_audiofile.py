"""Audio files through libsndfile (no model needed): every format people have reads to the
same samples, every bad file gets one clear line, and long files stream in flat memory.

Real files throughout: written by sox (and, for MP3, which sox cannot write here, by
libsndfile's own encoder) from a test tone or espeak-ng speech.
"""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import wave
from array import array
from pathlib import Path

import pytest

from assistant.audio.audiofile import open_audio, read_pcm16, write_pcm16
from assistant.errors import AudioError

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
REPO = Path(__file__).resolve().parent.parent


def write_wav(path: Path, samples: list[int], rate: int = 16_000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(array("h", samples).tobytes())
    return path


def sox(*args: str | Path) -> None:
    subprocess.run(["sox", *map(str, args)], check=True, capture_output=True)


def samples_of(path: Path, rate: int | None = None) -> array:
    with open_audio(path) as audio:
        return array("h", b"".join(audio.blocks(0.2, rate=rate)))


def error_for(path: Path) -> str:
    with pytest.raises(AudioError) as info:
        open_audio(path)
    message = info.value.message
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of a 440 Hz tone at half scale, 16-bit mono 22.05 kHz (what espeak-ng writes)."""
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed")
    path = tmp_path_factory.mktemp("tone") / "tone.wav"
    sox("-n", "-r", "22050", "-c", "1", "-b", "16", path, "synth", "1", "sine", "440", "vol", "0.5")
    return path


# -- reading -----------------------------------------------------------------------------------
def test_mono_blocks_are_the_samples_in_order(tmp_path: Path) -> None:
    samples = list(range(-5000, 5000))
    path = write_wav(tmp_path / "mono.wav", samples, rate=8000)
    with open_audio(path) as audio:
        assert (audio.sample_rate, audio.channels, audio.frames) == (8000, 1, 10_000)
        assert (audio.format, audio.subtype) == ("WAV", "PCM_16")
        assert audio.duration == pytest.approx(1.25)
        blocks = list(audio.blocks(0.2))
    assert [len(b) for b in blocks] == [3200] * 6 + [800]
    assert array("h", b"".join(blocks)).tolist() == samples


def test_stereo_is_downmixed_to_the_channel_mean(tmp_path: Path) -> None:
    frames = [1000, 3000, -2000, -4000, 32767, 32767, -32768, -32768] * 100
    path = write_wav(tmp_path / "stereo.wav", frames, rate=22_050, channels=2)
    with open_audio(path) as audio:
        assert audio.channels == 2 and audio.frames == 400
        mono = array("h", b"".join(audio.blocks(0.01)))
    assert mono.tolist() == [2000, -3000, 32767, -32768] * 100


@needs_sox
@pytest.mark.parametrize(
    ("name", "options", "exact"),
    [
        ("24-bit.wav", ["-b", "24"], True),
        ("32-bit.wav", ["-b", "32"], True),
        ("float.wav", ["-e", "floating-point", "-b", "32"], True),
        ("double.wav", ["-e", "floating-point", "-b", "64"], True),
        ("plain-float.wav", ["-t", "wavpcm", "-e", "floating-point", "-b", "32"], True),
        ("8-bit.wav", ["-b", "8"], False),  # 8-bit keeps only the top byte
        ("a-law.wav", ["-e", "a-law"], False),
        ("u-law.wav", ["-e", "u-law"], False),
        ("tone.flac", [], True),
        ("tone.aiff", [], True),
        ("tone.aifc", [], True),
        ("float.aifc", ["-e", "floating-point", "-b", "32"], True),
        ("tone.ogg", [], False),  # lossy
    ],
)
def test_every_width_and_format_reads_as_the_same_samples(
    tone: Path, tmp_path: Path, name: str, options: list[str], exact: bool
) -> None:
    """Formerly refused with "convert it with sox": now read as they are."""
    path = tmp_path / name
    sox(tone, *options, path)
    original = samples_of(tone)
    converted = samples_of(path)
    assert len(converted) == len(original)
    worst = max(abs(a - b) for a, b in zip(original, converted, strict=True))
    assert worst <= (1 if exact else 1200), worst


@needs_sox
def test_mp3_reads_where_libsndfile_has_mpg123(tone: Path, tmp_path: Path) -> None:
    import soundfile

    if "MP3" not in soundfile.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    pcm, rate = read_pcm16(tone)
    path = tmp_path / "tone.mp3"
    import numpy as np

    soundfile.write(path, np.frombuffer(pcm, dtype="<i2"), rate, format="MP3")
    with open_audio(path) as audio:
        assert (audio.format, audio.sample_rate) == ("MP3", 22_050)
    decoded = samples_of(path)
    assert abs(len(decoded) - len(pcm) // 2) < 2000  # MP3 frames pad the ends
    assert max(decoded) == pytest.approx(16_384, rel=0.1)


@needs_sox
@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (44_100, 2), (48_000, 2), (96_000, 6)])
def test_any_rate_and_channel_count_is_resampled_to_the_rate_asked_for(
    tone: Path, tmp_path: Path, rate: int, channels: int
) -> None:
    path = tmp_path / f"tone-{rate}-{channels}.wav"
    sox(tone, "-r", str(rate), "-c", str(channels), "-b", "16", path)
    out = samples_of(path, rate=16_000)
    assert len(out) == pytest.approx(16_000, abs=2)
    # the tone survives: 440 Hz is 880 zero crossings a second, at the same level
    middle = out[1000:-1000]
    crossings = sum(1 for a, b in itertools.pairwise(middle) if (a < 0) != (b < 0))
    assert crossings / (len(middle) / 16_000) == pytest.approx(880, rel=0.02)
    assert max(middle) == pytest.approx(16_384, rel=0.05)


def test_data_length_unknown_reads_to_the_end(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "stream.wav", [7] * 1600)
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    with open_audio(path) as audio:
        assert audio.frames == 1600


def test_extensible_pcm_header_is_accepted(tmp_path: Path) -> None:
    pcm = array("h", [1, 2, 3, 4] * 400).tobytes()
    guid_pcm = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 16_000, 32_000, 2, 16)
    fmt += struct.pack("<HHI", 22, 16, 4) + guid_pcm
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(pcm)) + pcm
    path = tmp_path / "ext.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with open_audio(path) as audio:
        assert (audio.sample_rate, audio.frames) == (16_000, 1600)
    assert samples_of(path).tolist() == [1, 2, 3, 4] * 400


def test_format_is_found_from_the_content_not_the_name(tone: Path, tmp_path: Path) -> None:
    """What pyttsx3's macOS driver does: AIFF bytes in a file called .wav."""
    path = tmp_path / "really-aiff.wav"
    sox(tone, "-t", "aiff", path)
    with open_audio(path) as audio:
        assert audio.format == "AIFF"
    assert samples_of(path) == samples_of(tone)


def test_write_pcm16_wav_and_flac_round_trip(tone: Path, tmp_path: Path) -> None:
    pcm, rate = read_pcm16(tone)
    for name, container in (("x.wav", "WAV"), ("x.flac", "FLAC")):
        write_pcm16(tmp_path / name, pcm, rate, container)
        with open_audio(tmp_path / name) as audio:
            assert (audio.format, audio.subtype, audio.sample_rate) == (container, "PCM_16", rate)
        assert read_pcm16(tmp_path / name) == (pcm, rate)


# -- bad files ---------------------------------------------------------------------------------
def test_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are my notes, not audio\n")
    message = error_for(path)
    assert "not an audio file" in message and "FLAC" in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    assert "empty" in error_for(path)


def test_wav_without_samples(tmp_path: Path) -> None:
    assert "no audio" in error_for(write_wav(tmp_path / "none.wav", []))


def test_truncated_audio(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cut.wav", [100] * 16_000)
    path.write_bytes(path.read_bytes()[:20_000])
    message = error_for(path)
    assert "truncated" in message and "1.00 s" in message and "0.62 s" in message


def test_truncated_header(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cut.wav", [100] * 1000)
    path.write_bytes(path.read_bytes()[:30])
    assert "truncated or damaged" in error_for(path)


@needs_sox
@pytest.mark.parametrize("kind", ["flac", "ogg", "aiff"])
def test_truncated_compressed_and_aiff_files(tone: Path, tmp_path: Path, kind: str) -> None:
    whole = tmp_path / f"whole.{kind}"
    sox(tone, whole)
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert "truncated" in error_for(cut)


def test_rate_too_low(tmp_path: Path) -> None:
    message = error_for(write_wav(tmp_path / "lo.wav", [0] * 96, rate=4000))
    assert "4000 Hz is too low" in message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "no such file" in error_for(tmp_path / "nope.wav")
    assert "folder" in error_for(tmp_path)


# -- long files --------------------------------------------------------------------------------
def test_ten_minutes_stream_in_bounded_python_memory(tmp_path: Path) -> None:
    """A 10-minute stereo file (38 MB) is read block by block: Python memory stays tiny."""
    path = tmp_path / "long.wav"
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
        with open_audio(path) as audio:
            for block in audio.blocks(0.2):
                total += len(block)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 16_000 * 600 * 2
    assert peak < 2_000_000, f"peak Python memory {peak} bytes"


_PEAK_RSS = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    from assistant.audio.audiofile import open_audio
    with open_audio({path!r}) as audio:
        samples = sum(len(b) // 2 for b in audio.blocks(0.2, rate=16000))
    peak = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    print(samples, peak)
    """
)


def _samples_and_peak_kib(path: Path) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS.format(repo=str(REPO), path=str(path))],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout.split()
    return int(out[0]), int(out[1])


@needs_sox
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_thirty_minutes_resampled_in_flat_process_memory(tone: Path, tmp_path: Path) -> None:
    """Whole-process peak memory (VmHWM, so numpy, libsndfile and soxr count too) when a
    30-minute 22.05 kHz file (79 MB) is decoded and resampled to 16 kHz, against 1 minute."""
    short, long = tmp_path / "one-minute.wav", tmp_path / "thirty-minutes.wav"
    sox(tone, short, "repeat", "59")
    sox(tone, long, "repeat", "1799")
    short_samples, short_peak = _samples_and_peak_kib(short)
    long_samples, long_peak = _samples_and_peak_kib(long)
    assert (short_samples, long_samples) == (60 * 16_000, 1800 * 16_000)
    assert long_peak - short_peak < 8 * 1024, (short_peak, long_peak)
