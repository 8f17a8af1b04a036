"""Settings: round trip, damaged files, failed saves, and the voice-command limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.errors import AssistantError
from assistant.settings import (
    DEFAULT_RATE,
    RATE_MAX,
    RATE_MIN,
    VOLUME_MAX,
    VOLUME_MIN,
    Settings,
    SettingsError,
    faster,
    load_settings,
    louder,
    normal_speed,
    quieter,
    save_settings,
    settings_path,
    slower,
)


def test_missing_file_gives_defaults_without_warning(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nope.yaml")
    assert settings == Settings()
    assert settings.warning is None and settings.spoken_warning is None
    assert settings.rate == 175 and settings.volume == 1.0 and settings.voice is None
    assert settings.wake_phrase and not settings.always_listening


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "settings.yaml"
    original = Settings(
        rate=225, volume=0.6, voice="en-us", wake_phrase="hey coach", always_listening=True,
        input_device="pulse", output_device=3,
    )
    assert save_settings(original, path) == path
    loaded = load_settings(path)
    assert loaded == original
    assert loaded.warning is None
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_env_variable_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "mine.yaml"))
    assert settings_path() == tmp_path / "mine.yaml"
    save_settings(Settings(rate=150))
    assert load_settings().rate == 150
    monkeypatch.delenv("ASSISTANT_CONFIG")
    assert settings_path().name == "settings.yaml"
    assert "twitch-assistant" in str(settings_path())


@pytest.mark.parametrize(
    "content",
    [
        b"rate: [175\nvolume: 1\n",  # YAML syntax error
        b"- just\n- a list\n",  # not a mapping
        b"\xff\xfe\x00garbage",  # not UTF-8
        b"rate: !!python/object:os.system x\n",  # unsafe tag: safe_load refuses
    ],
)
def test_damaged_file_gives_defaults_warning_and_is_left_alone(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_bytes(content)
    settings = load_settings(path)
    assert settings == Settings()
    assert settings.warning and "damaged" in settings.warning
    assert settings.spoken_warning and str(tmp_path) not in settings.spoken_warning
    # reading changes nothing: the file stays where it is, no .bad appears
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.yaml"]
    # the next save writes a fresh file and keeps the damaged one for the user
    save_settings(settings, path)
    assert load_settings(path).warning is None
    assert (tmp_path / "settings.yaml.bad").read_bytes() == content


def test_bad_values_default_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(
        "rate: fast\nvolume: 0.4\nalways_listening: maybe\nvoice: en-us\nwake_phrase: ''\n"
        "output_device: -3\nfuture_option: 1\n",
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.rate == DEFAULT_RATE
    assert settings.volume == 0.4  # the good values survive
    assert settings.voice == "en-us"
    assert settings.always_listening is False
    assert settings.wake_phrase == Settings().wake_phrase
    assert settings.output_device is None
    assert settings.warning is not None
    assert str(path) in settings.warning
    for line, word in ((1, "rate"), (3, "always_listening"), (6, "output_device")):
        assert f"line {line}: {word}" in settings.warning  # each bad value at its own line
    assert "future_option" not in settings.warning  # unknown keys: newer versions may add them
    assert settings.spoken_warning and "not valid" in settings.spoken_warning
    assert path.exists()


def test_out_of_range_values_are_clamped(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("rate: 1000\nvolume: 7\n", encoding="utf-8")
    settings = load_settings(path)
    assert (settings.rate, settings.volume) == (RATE_MAX, 1.0)
    assert settings.warning
    path.write_text("rate: .inf\nvolume: .nan\n", encoding="utf-8")
    settings = load_settings(path)
    assert (settings.rate, settings.volume) == (DEFAULT_RATE, 1.0)
    path.write_text("rate: 180.4\n", encoding="utf-8")
    assert load_settings(path).rate == 180
    assert load_settings(path).warning is None


def test_empty_file_is_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_settings(path) == Settings()
    assert load_settings(path).warning is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_save_into_read_only_dir_fails_clearly_and_keeps_old(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    save_settings(Settings(rate=150), path)
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(SettingsError) as info:
            save_settings(Settings(rate=250), path)
    finally:
        tmp_path.chmod(0o700)
    assert str(path) in info.value.message
    assert load_settings(path).rate == 150


def test_save_that_fails_leaves_old_file_intact(tmp_path: Path) -> None:
    """Works as root too: the target's folder is a file, so no temp file can be made."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        save_settings(Settings(), blocker / "settings.yaml")
    assert isinstance(info.value, AssistantError)
    assert "Could not save the settings" in info.value.message
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_save_to_an_unwritable_system_path_fails_clearly() -> None:
    """/proc refuses new files even for root: a real failure, not a simulated one."""
    with pytest.raises(SettingsError) as info:
        save_settings(Settings(), "/proc/twitch-assistant-settings.yaml")
    assert "/proc/twitch-assistant-settings.yaml" in info.value.message
    assert info.value.spoken and "/proc" not in info.value.spoken


def test_rename_failure_keeps_old_file_and_cleans_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.yaml"
    save_settings(Settings(rate=150), path)
    before = path.read_bytes()

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("assistant.settings.os.replace", failing_replace)
    with pytest.raises(SettingsError):
        save_settings(Settings(rate=250), path)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate ENOSPC on the temp file: the old settings survive untouched."""
    path = tmp_path / "settings.yaml"
    save_settings(Settings(rate=150), path)
    before = path.read_bytes()
    import assistant.atomicfile as module

    real_mkstemp = module.tempfile.mkstemp

    def full_mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        os.close(fd)
        os.unlink(name)
        os.symlink("/dev/full", name)  # writing the temporary file meets a full disk
        return os.open(name, os.O_WRONLY), name

    monkeypatch.setattr(module.tempfile, "mkstemp", full_mkstemp)
    with pytest.raises(SettingsError) as info:
        save_settings(Settings(rate=250), path)
    assert "No space left" in info.value.message
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_warning_is_not_saved(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    save_settings(Settings(warning="old problem"), path)
    assert "old problem" not in path.read_text(encoding="utf-8")


def test_rate_steps_and_limits() -> None:
    settings = Settings()
    slower_settings, hit = slower(settings)
    assert (slower_settings.rate, hit) == (150, False)
    assert faster(settings)[0].rate == 200
    current = settings
    for _ in range(10):
        current, hit = slower(current)
    assert (current.rate, hit) == (RATE_MIN, True)
    for _ in range(20):
        current, hit = faster(current)
    assert (current.rate, hit) == (RATE_MAX, True)
    back, already = normal_speed(current)
    assert (back.rate, already) == (DEFAULT_RATE, False)
    assert normal_speed(back) == (back, True)
    # an odd hand-edited value moves by one step and stops at the limit
    assert slower(Settings(rate=110)) == (Settings(rate=RATE_MIN), False)
    assert slower(Settings(rate=90))[0].rate == 90  # below the range: never jump up


def test_volume_steps_and_limits() -> None:
    settings = Settings()
    assert louder(settings) == (settings, True)
    current = settings
    seen = []
    for _ in range(6):
        current, hit = quieter(current)
        seen.append((current.volume, hit))
    assert seen == [
        (0.8, False), (0.6, False), (0.4, False), (0.2, False), (0.2, True), (0.2, True)
    ]
    assert current.volume == VOLUME_MIN
    current, hit = louder(current)
    assert (current.volume, hit) == (0.4, False)
    assert louder(Settings(volume=0.9))[0].volume == VOLUME_MAX
    assert quieter(Settings(volume=0.1)) == (Settings(volume=0.1), True)


def test_adjustments_are_pure_and_drop_the_warning() -> None:
    settings = Settings(warning="something")
    new, _ = slower(settings)
    assert settings.rate == DEFAULT_RATE
    assert new.warning is None
