"""Speak the answers of text commands (``ask --speak``, ``chat --speak``)."""

from __future__ import annotations

import sys


class TextSpeaker:
    """One speech engine and speaker for a whole command run, with the saved settings.

    Fails at construction, with a clear AudioError, when there is no speaker at all, so a
    command with ``--speak`` stops before answering rather than half-way through.
    """

    def __init__(self, output_device: str | int | None = None) -> None:
        from assistant.audio.player import Player, quiet_native_stderr
        from assistant.settings import load_settings
        from assistant.speech.voice import Speaker, Synthesizer

        settings = load_settings()
        if settings.warning:
            print(f"assistant: {settings.warning}", file=sys.stderr)
        device = output_device if output_device is not None else settings.output_device
        player = Player(device)
        with quiet_native_stderr():
            player.check()
        self._synth = Synthesizer()
        try:
            self._speaker = Speaker(settings, synthesizer=self._synth, player=player)
        except BaseException:
            self._synth.close()
            raise

    def say(self, text: str) -> None:
        """Speak ``text`` and return when it has been heard."""
        self._speaker.speak(text, block=True)

    def close(self) -> None:
        self._speaker.close()
        self._synth.close()
