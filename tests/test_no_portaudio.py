"""Without the PortAudio library, every audio entry point says so in one line (the
``AudioError`` of ``audio.devices``), never "internal error". PortAudio cannot be removed from
this machine for one test, so a child process hides it from sounddevice's library lookup
(``ctypes.util.find_library``), which is how sounddevice finds it on Linux."""

from __future__ import annotations

import subprocess
import sys

import pytest

HIDE_PORTAUDIO = "import ctypes.util; ctypes.util.find_library = lambda name: None\n"


@pytest.mark.parametrize(
    "use",
    [
        "from assistant.audio.microphone import Microphone; Microphone().start()",
        "from assistant.audio.devices import list_devices; list_devices()",
    ],
)
def test_missing_portaudio_is_a_clear_audio_error(use: str) -> None:
    code = HIDE_PORTAUDIO + (
        "from assistant.errors import AudioError\n"
        "try:\n"
        f"    {use}\n"
        "except AudioError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "PortAudio library is missing" in proc.stdout
    assert "Traceback" not in proc.stderr
