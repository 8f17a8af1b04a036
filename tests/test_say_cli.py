"""``assistant say`` as a user runs it: a real subprocess, real espeak, real (virtual) audio."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest
import virtual_audio
from test_player import Recording, awake_speaker, signal_extent  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parent.parent

LONG_TEXT = " ".join(f"Sentence number {i} of a long answer that takes a while." for i in range(20))


def run_say(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    base = env if env is not None else dict(os.environ)
    full_env = {**base, "PYTHONPATH": str(REPO)}
    full_env.setdefault("ASSISTANT_CONFIG", str((cwd or REPO) / "no-settings.yaml"))
    return subprocess.run(
        [sys.executable, "-m", "assistant", "say", *args],
        env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )


def wav_info(path: Path) -> tuple[int, int, float]:
    with wave.open(str(path), "rb") as wav:
        return wav.getsampwidth(), wav.getnchannels(), wav.getnframes() / wav.getframerate()


def no_audio_env(tmp_path: Path) -> dict[str, str]:
    """No sound server reachable and no sound card: what a headless box looks like."""
    runtime = tmp_path / "empty-runtime"
    runtime.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        XDG_RUNTIME_DIR=str(runtime),
        PULSE_SERVER=f"unix:{runtime}/no-such-socket",
        HOME=str(tmp_path),
        ASSISTANT_CONFIG=str(tmp_path / "settings.yaml"),
    )
    return env


# -- writing a WAV --------------------------------------------------------------------------


def test_say_out_writes_a_playable_wav_and_keeps_stdout_empty(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    result = run_say("hello", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
    width, channels, seconds = wav_info(out)
    assert (width, channels) == (2, 1)
    assert seconds > 0.3
    first, last, _ = signal_extent(out)
    assert last - first > 0.2  # not silent
    _, level = virtual_audio.wav_rms(out)
    assert level > 0.01
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_say_out_writes_flac_by_extension(tmp_path: Path) -> None:
    import soundfile

    out = tmp_path / "hello.flac"
    result = run_say("hello", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    info = soundfile.info(out)
    assert (info.format, info.subtype, info.channels) == ("FLAC", "PCM_16", 1)
    assert info.duration > 0.3


def test_say_out_other_extensions_are_a_usage_error(tmp_path: Path) -> None:
    result = run_say("hello", "--out", str(tmp_path / "hello.mp3"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "assistant: cannot write '.mp3' files: name the output FILE.wav or FILE.flac"
    ]
    assert list(tmp_path.iterdir()) == []


def test_say_out_works_without_any_audio_device(tmp_path: Path) -> None:
    """--out never touches a speaker, so it works on a headless machine."""
    out = tmp_path / "y.wav"
    result = run_say("hello", "--out", str(out), env=no_audio_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert wav_info(out)[2] > 0.3


def test_options_override_saved_settings(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("rate: 100\nvolume: 1.0\n", encoding="utf-8")
    env = {**os.environ, "ASSISTANT_CONFIG": str(config)}
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    text = "The settings file says slow, the option says fast."
    assert run_say(text, "--out", str(slow), env=env).returncode == 0
    result = run_say(text, "--out", str(fast), "--rate", "300", "--voice", "en-us", env=env)
    assert result.returncode == 0, result.stderr
    assert wav_info(slow)[2] > 1.8 * wav_info(fast)[2]
    assert config.read_text(encoding="utf-8") == "rate: 100\nvolume: 1.0\n"  # not saved


def test_damaged_settings_warn_but_still_speak(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("rate: [oops\n", encoding="utf-8")
    out = tmp_path / "z.wav"
    env = {**os.environ, "ASSISTANT_CONFIG": str(config)}
    result = run_say("hello", "--out", str(out), env=env)
    assert result.returncode == 0
    assert "warning" in result.stderr and "damaged" in result.stderr
    assert "Traceback" not in result.stderr
    # a read-only command never renames or rewrites the user's file
    assert config.read_text(encoding="utf-8") == "rate: [oops\n"
    assert not (tmp_path / "settings.yaml.bad").exists()
    assert wav_info(out)[2] > 0.3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "nothing to say"),
        (["hi", "--rate", "5"], "--rate must be between"),
        (["hi", "--volume", "2"], "--volume must be between"),
    ],
)
def test_bad_usage_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_say(*args, "--out", str(tmp_path / "n.wav"), cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_unknown_voice_and_unwritable_out(tmp_path: Path) -> None:
    result = run_say("hi", "--voice", "no-such-voice", "--out", str(tmp_path / "v.wav"))
    assert result.returncode == 1
    assert "Unknown voice 'no-such-voice'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_say("hi", "--out", str(tmp_path / "missing-dir" / "v.wav"))
    assert result.returncode == 1
    assert "Cannot write" in result.stderr and "Traceback" not in result.stderr


def test_list_voices(tmp_path: Path) -> None:
    result = run_say("--list-voices", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) > 20
    assert any(line.startswith("gmw/en-us\t") for line in lines)


# -- speaking -------------------------------------------------------------------------------


def test_no_audio_device_at_all_fails_clearly(tmp_path: Path) -> None:
    """Checked here: with no server PortAudio lists no device at all (not even ALSA
    'default', as there is no sound card), so the lookup fails before any stream opens."""
    result = run_say("hello", env=no_audio_env(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "assistant: No speaker found. Connect one (or check that the sound system is running) "
        "and see 'assistant devices'."
    ]


@pytest.mark.audio
def test_say_speaks_on_the_default_speaker(
    awake_speaker: virtual_audio.VirtualAudio, tmp_path: Path  # noqa: F811
) -> None:
    recording = tmp_path / "say.wav"
    with Recording(awake_speaker, recording):
        result = run_say("Hello from the command line.", env=awake_speaker.env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    first, last, _ = signal_extent(recording)
    assert last - first > 1.0
    result = run_say("hi", "--output-device", "no such device", env=awake_speaker.env)
    assert result.returncode == 1
    assert "No speaker matches 'no such device'" in result.stderr


@pytest.mark.audio
def test_speaker_lost_mid_sentence_is_one_plain_line(
    virtual_audio_devices: virtual_audio.VirtualAudio, tmp_path: Path
) -> None:
    """A private PulseAudio is killed while ``say`` plays: no traceback, no PortAudio noise."""
    runtime = tmp_path / "private-pulse"
    runtime.mkdir()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PULSE_SERVER", None)
    subprocess.run(
        ["pulseaudio", "-D", "--exit-idle-time=-1", "-n", "--load=module-native-protocol-unix",
         "--load=module-null-sink sink_name=spk"],
        env=env, check=True, capture_output=True, timeout=30,
    )
    try:
        for _ in range(50):
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        say = subprocess.Popen(
            [sys.executable, "-m", "assistant", "say", LONG_TEXT],
            env={**env, "PYTHONPATH": str(REPO), "ASSISTANT_CONFIG": str(tmp_path / "s.yaml")},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(3.0)  # past the null sink's first 2 s block: audio is flowing
        assert say.poll() is None, say.communicate()
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=30)
        stdout, stderr = say.communicate(timeout=30)
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=30)
        shutil.rmtree(runtime, ignore_errors=True)
    assert say.returncode == 1
    assert stdout == ""
    assert stderr.strip().splitlines() == [
        "assistant: The speaker was disconnected while playing."
    ], stderr
