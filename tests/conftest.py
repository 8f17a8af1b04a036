"""Shared fixtures: real virtual audio devices, and the shipped data loaded once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import virtual_audio


@pytest.fixture(scope="session")
def virtual_audio_devices() -> Iterator[virtual_audio.VirtualAudio]:
    """PulseAudio with a fifo microphone ``mic`` and a null speaker ``spk`` (session scope)."""
    reason = virtual_audio.available()
    if reason:
        pytest.skip(reason)
    audio = virtual_audio.VirtualAudio()
    audio.start()
    try:
        yield audio
    finally:
        audio.stop()
