"""The voice loop speaks an emergency answer with its own alarm sound first and the call to
action once more at the end (issue 9).

The speaker here is a recording stand-in, on purpose: the only recogniser that can run here
is the Korean test model, so no English emergency can be said into the real loop, and what
is checked is the order of sounds and words the loop asks the speaker for. Playback itself
is tested on the virtual devices in test_voice_loop.py and test_player.py.
"""

from __future__ import annotations

import io

import pytest

from assistant.app import load_skill
from assistant.audio import earcons
from assistant.stages import Urgency
from assistant.voice_loop import LoopOptions, VoiceLoop


class RecordingSpeaker:
    """Records what the loop asks for; speaking finishes at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def play_earcon(self, name: str) -> None:
        self.calls.append(("earcon", name))

    def speak(self, text: str, block: bool = True):
        self.calls.append(("speak", text))
        return self

    def wait(self, timeout: float | None = None) -> None:
        return None


@pytest.fixture()
def loop(monkeypatch, tmp_path) -> VoiceLoop:
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "settings.yaml"))
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    voice = VoiceLoop(load_skill(), LoopOptions(greeting=False), out=io.StringIO())
    voice.speaker = RecordingSpeaker()
    return voice


def test_the_emergency_sound_is_its_own() -> None:
    assert "emergency" in earcons.NAMES
    assert earcons.EARCONS["emergency"] != earcons.EARCONS["error"]


def test_an_emergency_starts_with_its_sound_and_ends_with_the_call(loop: VoiceLoop) -> None:
    state, answer = loop.skill.turn(loop.state, "my dad just collapsed and he won't wake up")
    assert answer.urgency is Urgency.EMERGENCY
    loop.state = state
    loop._act(answer)
    calls = loop.speaker.calls
    assert calls[0] == ("earcon", "emergency")
    spoken = calls[1][1]
    assert spoken.startswith(answer.text)
    assert spoken.endswith("Call emergency services on nine nine nine now.")  # the locale's


def test_an_ordinary_answer_starts_at_once_and_is_not_repeated(loop: VoiceLoop) -> None:
    """No "got it" sound before an answer (issue 12): it delayed the first word by 165 ms,
    and the answer itself is the cue."""
    state, answer = loop.skill.turn(loop.state, "why does my eyelid twitch")
    loop.state = state
    loop._act(answer)
    assert loop.speaker.calls == [("speak", answer.text)]
