"""Speak the answers of text commands (``ask --speak``, ``chat --speak``)."""

from __future__ import annotations

import sys


class TextSpeaker:
    """One speech engine and speaker for a whole command run, with the saved settings.

    Fails at construction, with a clear AudioError, when there is no speaker at all, so a
    command with ``--speak`` stops before answering rather than half-way through.
    """

    def __init__(self, output_device: str | int | None = None) -> None:
        from assistant.settings import load_settings
        from assistant.speech.voice import open_speaker

        settings = load_settings()
        if settings.warning:
            print(f"assistant: {settings.warning}", file=sys.stderr)
        self._speaker = open_speaker(settings, output_device)

    def say(self, text: str) -> None:
        """Speak ``text`` and return when it has been heard."""
        self._speaker.speak(text, block=True)

    def close(self) -> None:
        self._speaker.close()
