"""The microphone source watcher, on the real PulseAudio virtual devices (no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import virtual_audio

from assistant.audio import devices
from assistant.audio.microphone import Microphone
from assistant.audio.source_watch import Source, SourceWatcher

pytestmark = pytest.mark.audio


def test_spoken_name_leaves_out_paths() -> None:
    assert Source("USB Microphone Mono").spoken_name == "USB Microphone Mono"
    assert Source("Unix FIFO source /tmp/x/mic.fifo").spoken_name == "Unix FIFO source"
    assert Source("/dev/snd/x").spoken_name == "another microphone"


def test_no_sound_server_means_no_watching() -> None:
    # A fresh interpreter, so that no pulsectl state is shared: the server is unreachable.
    code = (
        "from assistant.audio.source_watch import SourceWatcher\n"
        "w = SourceWatcher(print)\n"
        "print('started' if w.start() else 'not started')\n"
    )
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/native"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "not started"


def test_without_pulsectl_there_is_no_watching() -> None:
    """macOS and Windows: pulsectl is a Linux-only dependency, so it is not even installed."""
    code = (
        "import sys\n"
        "sys.modules['pulsectl'] = None  # makes 'import pulsectl' raise ImportError\n"
        "from assistant.audio.source_watch import SourceWatcher\n"
        "w = SourceWatcher(print)\n"
        "print('started' if w.start() else 'not started')\n"
        "w.stop()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert (result.stdout.strip(), result.stderr) == ("not started", "")


def test_unloaded_and_reloaded_microphone_is_noticed(
    virtual_audio_devices: virtual_audio.VirtualAudio,
) -> None:
    audio = virtual_audio_devices
    devices.refresh()
    changes: list[Source] = []
    with Microphone(None):
        watcher = SourceWatcher(changes.append)
        assert watcher.start()
        try:
            time.sleep(0.5)
            audio.unload_mic()
            try:
                deadline = time.monotonic() + 5
                while not changes and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                audio.load_mic()
            deadline = time.monotonic() + 5
            while len(changes) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            watcher.stop()
    assert [c.monitor for c in changes] == [True, False], changes
    assert "mic.fifo" in changes[1].description
