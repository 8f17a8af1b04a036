"""The skill cache's key covers everything that shapes the cached skill: a change to any of
the package's source files, to the data or to hassil's version means a fresh build."""

from __future__ import annotations

from importlib import metadata

import pytest

from assistant import app
from assistant.resources import default_intents_dir, default_knowledge_file


def key() -> str | None:
    return app._data_digest(default_intents_dir(), default_knowledge_file())


def test_key_is_stable() -> None:
    assert key() is not None
    assert key() == key()


def test_key_changes_with_a_cached_library_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = key()
    real = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: "0.0.0" if name == "hassil" else real(name)
    )
    assert key() != before


def test_key_covers_every_source_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    read: list[str] = []
    real = Path.read_bytes

    def recording(path: Path) -> bytes:
        read.append(path.name if path.suffix == ".py" else "")
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", recording)
    key()
    package = Path(app.__file__).resolve().parent
    assert len([n for n in read if n]) == len(list(package.rglob("*.py")))
    assert "phonetic.py" in read
