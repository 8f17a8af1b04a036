"""One error family for everything a user can cause or fix.

Every error carries a message meant for a person (printed on one line, and spoken in voice
mode). The CLI catches ``AssistantError`` and never shows a traceback for it.
"""

from __future__ import annotations

from pathlib import Path


class AssistantError(Exception):
    """Base class: a problem the user can understand and usually fix."""

    exit_code: int = 1

    def __init__(self, message: str, spoken: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.spoken = spoken or message
        """Plain words for voice mode (no paths or jargon where avoidable)."""


class UsageError(AssistantError):
    """The command line itself is wrong."""

    exit_code = 2


class DataError(AssistantError):
    """Intents or knowledge data is missing or malformed; names file and line."""

    exit_code = 2

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.detail = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(
            f"{where}: {message}",
            spoken="My question data has an error, so I cannot start. Please run assistant check.",
        )


class DataErrors(AssistantError):
    """Several data problems at once (``assistant check`` reports them all)."""

    exit_code = 2

    def __init__(self, errors: list[DataError]) -> None:
        self.errors = errors
        first = errors[0].message if errors else "no errors"
        more = f" (and {len(errors) - 1} more; run 'assistant check')" if len(errors) > 1 else ""
        super().__init__(first + more, spoken=errors[0].spoken if errors else None)


class ModelError(AssistantError):
    """A speech model is missing, incomplete, corrupt or cannot be downloaded."""


class AudioError(AssistantError):
    """A microphone or speaker is missing, busy or vanished."""


class SpeechOutputError(AssistantError):
    """The text-to-speech engine failed."""
