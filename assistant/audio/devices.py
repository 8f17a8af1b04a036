"""Audio devices through sounddevice/PortAudio: list them, pick one by name or index.

PortAudio enumerates devices once, when it is initialised (at ``import sounddevice``). A
device plugged in later, or a sound server started after the import, stays invisible until
:func:`refresh` re-initialises PortAudio.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

from assistant.errors import AudioError

LOG = logging.getLogger("assistant.audio")

Kind = Literal["input", "output"]

_NO_DEVICE = {
    "input": "No microphone found. Connect one (or check that the sound system is running) "
    "and see 'assistant devices'.",
    "output": "No speaker found. Connect one (or check that the sound system is running) "
    "and see 'assistant devices'.",
}
_NO_DEVICE_SPOKEN = {
    "input": "I cannot find a microphone.",
    "output": "I cannot find a speaker.",
}


@dataclass(frozen=True)
class Device:
    """One PortAudio device as the user sees it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


def sounddevice_module() -> Any:
    """Import sounddevice lazily: it loads PortAudio, which text commands never need."""
    try:
        import sounddevice
    except OSError as exc:  # libportaudio2 missing
        raise AudioError(
            f"Cannot use audio: the PortAudio library is missing ({exc}). "
            "Install it with: apt-get install libportaudio2",
            spoken="Audio is not available on this computer.",
        ) from None
    return sounddevice


_refresh_lock = threading.Lock()


def refresh() -> None:
    """Re-initialise PortAudio so that it enumerates devices again.

    Needed when the sound server appears after the first import of sounddevice (the test
    fixture starts PulseAudio later; a user may start it late) or a device is plugged in.
    Call it only while no stream is open: PortAudio closes every stream on termination.
    """
    sd = sounddevice_module()
    try:
        with _refresh_lock:
            sd._terminate()
            sd._initialize()
    except sd.PortAudioError as exc:
        raise AudioError(f"Cannot start the audio system: {exc}") from exc
    LOG.debug("PortAudio re-initialised")


def list_devices(kind: Kind | None = None) -> list[Device]:
    """All devices (or only those with input/output channels), in PortAudio's order."""
    sd = sounddevice_module()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise AudioError(f"Cannot list audio devices: {exc}") from exc
    devices = [
        Device(
            index=int(d["index"]),
            name=str(d["name"]),
            hostapi=str(hostapis[d["hostapi"]]["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            is_default_input=int(d["index"]) == _default_index(default_in, hostapis, "input"),
            is_default_output=int(d["index"]) == _default_index(default_out, hostapis, "output"),
        )
        for d in raw
    ]
    if kind is not None:
        devices = [d for d in devices if d.channels(kind) > 0]
    return devices


def _default_index(configured: Any, hostapis: Any, kind: Kind) -> int:
    """sounddevice's default device index, or PortAudio's own default (-1 when none)."""
    if isinstance(configured, int) and configured >= 0:
        return configured
    key = f"default_{kind}_device"
    for api in hostapis:
        if api.get(key, -1) >= 0:
            return int(api[key])
    return -1


def resolve_device(spec: str | int | None, kind: Kind = "input") -> Device:
    """The device meant by ``spec``: None or "default" (the system default), an index, or
    part of a name. The one lookup for microphones and speakers alike.

    A name matches case-insensitively; an exact name wins over substrings. Missing or
    ambiguous names raise :class:`AudioError` listing what exists.
    """
    devices = list_devices(kind)
    if not devices:
        refresh()  # a sound server may have started after PortAudio was initialised
        devices = list_devices(kind)
    if not devices:
        raise AudioError(_NO_DEVICE[kind], spoken=_NO_DEVICE_SPOKEN[kind])
    word = "microphone" if kind == "input" else "speaker"

    if isinstance(spec, str) and spec.strip().lower() == "default":
        # "default" names the system default, unless a device is called that (ALSA's is)
        spec = spec if any(d.name.lower() == "default" for d in devices) else None
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        for device in devices:
            if device.is_default_input if kind == "input" else device.is_default_output:
                return device
        return devices[0]

    text = str(spec).strip()
    if isinstance(spec, int) or text.isdigit():
        index = int(text)
        for device in devices:
            if device.index == index:
                return device
        raise AudioError(
            f"No {word} with index {index}. Available: {_describe(devices)}",
            spoken=f"I cannot find that {word}.",
        )

    lowered = text.lower()
    exact = [d for d in devices if d.name.lower() == lowered]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [d for d in devices if lowered in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AudioError(
            f"No {word} matches '{text}'. Available: {_describe(devices)}",
            spoken=f"I cannot find that {word}.",
        )
    raise AudioError(
        f"'{text}' matches several {word}s: {_describe(matches)}. "
        "Use more of the name, or the index.",
        spoken=f"Several {word}s match that name.",
    )


def _describe(devices: list[Device]) -> str:
    return ", ".join(f"{d.index}: {d.name}" for d in devices)
