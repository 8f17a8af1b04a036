"""The wheel ships the intents and knowledge base and the ``assistant`` entry point, and
works from another directory with nothing but the wheel's contents."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA_FILES = {
    "assistant/data/intents/twitching.yaml": ROOT / "intents" / "twitching.yaml",
    "assistant/data/intents/conversation.yaml": ROOT / "intents" / "conversation.yaml",
    "assistant/data/intents/sounds_like.yaml": ROOT / "intents" / "sounds_like.yaml",
    "assistant/data/knowledge/twitching.yaml": ROOT / "knowledge" / "twitching.yaml",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-build-isolation")  # no index needed
    proc = subprocess.run(
        [*command, str(ROOT)], capture_output=True, text=True, timeout=300, cwd=out
    )
    if proc.returncode != 0:
        if importlib.util.find_spec("hatchling") is None:
            pytest.skip(f"cannot build the wheel without hatchling: {proc.stderr[-300:]}")
        pytest.fail(f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}")
    wheels = list(out.glob("twitch_assistant-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return wheels[0]


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _read(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(suffix)]
        return archive.read(name).decode("utf-8")


def test_wheel_ships_the_data(wheel: Path, names: set[str]) -> None:
    assert set(DATA_FILES) <= names
    with zipfile.ZipFile(wheel) as archive:
        for inside, source in DATA_FILES.items():
            assert archive.read(inside) == source.read_bytes(), inside


def test_wheel_ships_the_package_but_not_tests_or_models(names: set[str]) -> None:
    for module in ("assistant/cli.py", "assistant/__main__.py", "assistant/nlu/matcher.py"):
        assert module in names
    assert not any(n.startswith(("tests/", "models/", "bench/")) for n in names)


def test_wheel_has_the_assistant_entry_point(wheel: Path) -> None:
    entry_points = _read(wheel, ".dist-info/entry_points.txt")
    lines = [line.replace(" ", "") for line in entry_points.splitlines()]
    assert "[console_scripts]" in lines
    assert "assistant=assistant.entry:run" in lines


def test_wheel_metadata(wheel: Path) -> None:
    metadata = _read(wheel, ".dist-info/METADATA")
    assert "Name: twitch-assistant" in metadata
    assert "Requires-Python: >=3.10" in metadata


def test_unpacked_wheel_answers_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site)  # only the wheel's files, not the checkout
    env["ASSISTANT_CACHE_DIR"] = str(tmp_path / "cache")
    code = (
        "import assistant, sys; from assistant.resources import default_intents_dir, "
        "default_knowledge_file; print(assistant.__file__); print(default_intents_dir()); "
        "print(default_knowledge_file())"
    )
    where = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env
    )
    assert where.returncode == 0, where.stderr
    for line in where.stdout.splitlines():
        assert line.startswith(str(site)), where.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "what about coffee"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "caffeine" in proc.stdout
    check = subprocess.run(
        [sys.executable, "-m", "assistant", "check"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
