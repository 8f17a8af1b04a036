"""``assistant devices``: the microphones and speakers PortAudio can see."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # audio is imported only when the command runs (it loads PortAudio)
    from assistant.audio.devices import Kind

NAME = "devices"
SOUND_SYSTEMS = {"darwin": "Core Audio", "win32": "Windows audio"}
"""What the sound system is called where it is not Linux's PulseAudio/PipeWire/ALSA."""
HELP = "list microphones and speakers (use the index or part of a name to pick one)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options of its own."""


def run(args: argparse.Namespace) -> int:
    from assistant.audio.devices import list_devices

    devices = list_devices()
    out = sys.stdout
    if not devices:
        system = SOUND_SYSTEMS.get(sys.platform, "PulseAudio/PipeWire/ALSA")
        out.write(
            "No audio devices found: no microphone and no speaker. Connect one, or check that "
            f"the sound system ({system}) is running.\n"
        )
        return 0
    sections: tuple[tuple[Kind, str], ...] = (
        ("input", "Input devices (microphones)"), ("output", "Output devices (speakers)")
    )
    for kind, title in sections:
        chosen = [d for d in devices if d.channels(kind) > 0]
        out.write(f"{title}:\n")
        if not chosen:
            word = "microphone" if kind == "input" else "speaker"
            out.write(f"  (none: no {word} found)\n")
        for d in chosen:
            default = d.is_default_input if kind == "input" else d.is_default_output
            mark = "*" if default else " "
            out.write(
                f"  {mark} {d.index:>3}  {d.name}  ({d.hostapi}, {d.channels(kind)} ch, "
                f"{d.default_samplerate:g} Hz){'  [default]' if default else ''}\n"
            )
    out.write("Choose one with --input-device / --output-device NAME_OR_INDEX.\n")
    return 0
