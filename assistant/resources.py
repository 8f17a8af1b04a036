"""Where the shipped intents and knowledge base are.

In an installed wheel they sit in ``assistant/data/``; in a source checkout (or an editable
install) they are the top-level ``intents/`` and ``knowledge/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[0]


def default_intents_dir() -> Path:
    """The intents folder shipped with the assistant."""
    return _first_existing(_PACKAGE_DIR / "data" / "intents", _PACKAGE_DIR.parent / "intents")


def default_knowledge_file() -> Path:
    """The twitching knowledge base shipped with the assistant."""
    return _first_existing(
        _PACKAGE_DIR / "data" / "knowledge" / "twitching.yaml",
        _PACKAGE_DIR.parent / "knowledge" / "twitching.yaml",
    )


def default_lexicon_files() -> tuple[Path, Path]:
    """The sign lexicon and the context triggers shipped with the assistant."""
    return tuple(  # type: ignore[return-value]
        _first_existing(
            _PACKAGE_DIR / "data" / "knowledge" / name,
            _PACKAGE_DIR.parent / "knowledge" / name,
        )
        for name in ("signs.yaml", "context.yaml")
    )


def source_checkout_root() -> Path | None:
    """The repository root when running from a checkout, else None."""
    root = _PACKAGE_DIR.parent
    if (root / "pyproject.toml").exists() and (root / "intents").is_dir():
        return root
    return None
