"""Notice when the sound server moves our microphone stream to another source.

PulseAudio (and PipeWire's PulseAudio server) moves a recording stream to another source
when its source goes away, a USB microphone unplugged say, and back when it returns.
PortAudio sees nothing of this: audio keeps coming, now from another microphone or from a
speaker's monitor, so someone who cannot see the screen would never know. This watcher
asks the sound server, through ``pulsectl`` and libpulse, which source our process records
from, and reports each change. Where either is missing, or the server is not PulseAudio,
it does nothing: the microphone's own stall detection still covers a stream that dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger("assistant.audio")

CHECK_SECONDS = 1.0
"""Longest wait between two looks at our stream's source (events cut it short)."""
NO_SINK = 0xFFFFFFFF
"""libpulse's PA_INVALID_INDEX: a source's ``monitor_of_sink`` when it is a real input."""


@dataclass(frozen=True)
class Source:
    """Where our recording stream now takes its audio from."""

    description: str
    """The sound server's human-readable name ("Built-in Audio Analog Stereo")."""
    monitor: bool = False
    """True: a speaker's monitor, not a microphone (no microphone is left)."""

    @property
    def spoken_name(self) -> str:
        """The description without file paths and the like, which read badly aloud."""
        kept = [w for w in self.description.split() if "/" not in w and "_" not in w]
        return " ".join(kept) or "another microphone"


class SourceWatcher:
    """Calls ``on_change(source)`` from its own thread when our recording stream's source
    changes."""

    def __init__(self, on_change: Callable[[Source], None], pid: int | None = None) -> None:
        self.on_change = on_change
        self.pid = str(os.getpid() if pid is None else pid)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pulse: Any = None

    def start(self) -> bool:
        """Start watching; False (and nothing started) when the sound server cannot be asked."""
        try:
            import pulsectl
        except (ImportError, OSError) as exc:  # no pulsectl, or no libpulse
            LOG.debug("not watching the microphone source: %s", exc)
            return False
        try:
            self._pulse = pulsectl.Pulse("assistant-source-watch")
        except Exception as exc:  # pulsectl.PulseError and ctypes errors: no server to ask
            LOG.debug("not watching the microphone source: %s", exc)
            return False
        self._thread = threading.Thread(
            target=self._run, args=(pulsectl,), name="source-watch", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._pulse is not None:
            with contextlib.suppress(Exception):  # already closed or disconnected
                self._pulse.event_listen_stop()
        if self._thread is not None:
            self._thread.join(timeout=2 * CHECK_SECONDS)
            self._thread = None

    def current_source(self) -> Source | None:
        """The source our process records from (None: no recording stream)."""
        pulse = self._pulse
        for output in pulse.source_output_list():
            if output.proplist.get("application.process.id") == self.pid:
                info = pulse.source_info(output.source)
                monitor = getattr(info, "monitor_of_sink", NO_SINK) not in (None, NO_SINK)
                return Source(info.description or info.name, monitor)
        return None

    def _run(self, pulsectl: Any) -> None:
        pulse = self._pulse
        try:
            pulse.event_mask_set("source_output", "source")
            pulse.event_callback_set(_stop_listening(pulsectl))
            last = self.current_source()
            while not self._stop.is_set():
                pulse.event_listen(timeout=CHECK_SECONDS)
                if self._stop.is_set():
                    break
                now = self.current_source()
                if now is not None and last is not None and now != last:
                    LOG.info("microphone stream moved from %r to %r", last, now)
                    self.on_change(now)
                last = now if now is not None else last
        except Exception as exc:  # the server went away: stall detection takes over
            LOG.info("stopped watching the microphone source: %s", exc)
        finally:
            with contextlib.suppress(Exception):
                pulse.close()


def _stop_listening(pulsectl: Any) -> Callable[[Any], None]:
    """An event callback that returns control to the watcher's loop at once."""

    def callback(_event: Any) -> None:
        raise pulsectl.PulseLoopStop

    return callback
