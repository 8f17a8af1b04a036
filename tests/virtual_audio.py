"""Real virtual audio devices for tests: a PulseAudio daemon with a fifo microphone and a null
speaker, which this module starts (no sound card needed). Nothing here is mocked: PortAudio,
via sounddevice, talks to PulseAudio exactly as it would to a laptop's sound card.

Use the ``virtual_audio`` session fixture (tests/conftest.py); it skips with a reason where
PulseAudio is not installed (``.ci/run`` installs it, so CI never skips).
"""

from __future__ import annotations

import array
import bisect
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path

RATE = 16_000
CHUNK_SECONDS = 0.1
MONITOR_CHUNK = 0.01
"""Seconds per chunk read back from the speaker's monitor (the timing resolution)."""
LOUD = 300.0
"""RMS (of 32768) above which a monitor chunk counts as sound."""


def _run(cmd: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, check=check, capture_output=True, text=True, timeout=30)


class VirtualAudio:
    """A running PulseAudio with source ``mic`` (fed from a fifo) and sink ``spk``."""

    def __init__(self) -> None:
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="pa-test-"))
        self.fifo = self.runtime_dir / "mic.fifo"
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime_dir)}
        self.env.pop("PULSE_SERVER", None)
        self._mic_module: str | None = None
        self._fifo_fd: int | None = None
        self._feeder: threading.Thread | None = None
        self._stop_feeding = threading.Event()
        self._queue: list[bytes] = []
        self._lock = threading.Lock()
        self.last_speech_written: float | None = None
        """time.monotonic() when the last queued speech sample went into the fifo."""
        self._keeper: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        _run(
            [
                "pulseaudio", "-D", "--exit-idle-time=-1", "-n",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=spk",
            ],
            self.env,
        )
        for _ in range(50):
            if _run(["pactl", "info"], self.env, check=False).returncode == 0:
                break
            time.sleep(0.1)
        self.load_mic()
        _run(["pactl", "set-default-sink", "spk"], self.env)
        self._keep_sink_awake()
        os.environ["XDG_RUNTIME_DIR"] = str(self.runtime_dir)

    def _keep_sink_awake(self) -> None:
        """Keep a silent 20 ms-latency stream on ``spk``. Without a low-latency client the
        null sink renders in 2 s blocks, so every new playback stream waits up to 2 s for its
        first sample (real sound cards do not), which would swamp latency measurements."""
        self._keeper = subprocess.Popen(
            ["pacat", "--playback", "-d", "spk", "--latency-msec=20", "--raw",
             "--format=s16le", "--rate=16000", "--channels=1", "/dev/zero"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            out = _run(["pactl", "list", "sinks"], self.env, check=False).stdout
            if any(line.strip().startswith("Latency:") and int(line.split()[1]) < 200_000
                   for line in out.splitlines()):
                break
            time.sleep(0.1)

    def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.terminate()
            self._keeper.wait(timeout=5)
        self._stop_feeding.set()
        if self._feeder is not None:
            self._feeder.join(timeout=2)
        if self._fifo_fd is not None:
            os.close(self._fifo_fd)
            self._fifo_fd = None
        _run(["pulseaudio", "--kill"], self.env, check=False)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    # -- microphone ------------------------------------------------------------------------
    def load_mic(self) -> None:
        """(Re)create the fifo microphone and start feeding silence into it."""
        if self.fifo.exists():
            self.fifo.unlink()
        result = _run(
            [
                "pactl", "load-module", "module-pipe-source", "source_name=mic",
                f"file={self.fifo}", "format=s16le", f"rate={RATE}", "channels=1",
            ],
            self.env,
        )
        self._mic_module = result.stdout.strip()
        _run(["pactl", "set-default-source", "mic"], self.env)
        self._fifo_fd = os.open(self.fifo, os.O_RDWR)
        self._stop_feeding.clear()
        self._feeder = threading.Thread(target=self._feed_loop, name="mic-feeder", daemon=True)
        self._feeder.start()

    def unload_mic(self) -> None:
        """Remove the microphone as if it were unplugged."""
        self._stop_feeding.set()
        if self._feeder is not None:
            self._feeder.join(timeout=2)
        if self._mic_module:
            _run(["pactl", "unload-module", self._mic_module], self.env, check=False)
            self._mic_module = None
        if self._fifo_fd is not None:
            os.close(self._fifo_fd)
            self._fifo_fd = None

    def pause_mic(self) -> None:
        """Stop feeding the fifo without unloading it: the source stalls, like a hung USB mic."""
        self._stop_feeding.set()
        if self._feeder is not None:
            self._feeder.join(timeout=2)

    def resume_mic(self) -> None:
        """Feed the fifo again after pause_mic()."""
        self._stop_feeding.clear()
        self._feeder = threading.Thread(target=self._feed_loop, name="mic-feeder", daemon=True)
        self._feeder.start()

    def _feed_loop(self) -> None:
        """Write 0.1 s chunks in real time: queued speech first, else silence."""
        chunk_bytes = int(RATE * CHUNK_SECONDS) * 2
        silence = b"\x00" * chunk_bytes
        next_time = time.monotonic()
        while not self._stop_feeding.is_set():
            with self._lock:
                data = self._queue.pop(0) if self._queue else None
                was_last = data is not None and not self._queue
            try:
                os.write(self._fifo_fd, data if data is not None else silence)
            except OSError:
                return
            if was_last:
                self.last_speech_written = time.monotonic()
            next_time += CHUNK_SECONDS
            time.sleep(max(0.0, next_time - time.monotonic()))

    def say_pcm(self, pcm: bytes) -> None:
        """Queue 16 kHz mono s16le audio to be spoken into the microphone in real time."""
        chunk_bytes = int(RATE * CHUNK_SECONDS) * 2
        pcm = pcm + b"\x00" * (-len(pcm) % chunk_bytes)
        with self._lock:
            self._queue.extend(pcm[i : i + chunk_bytes] for i in range(0, len(pcm), chunk_bytes))

    def say_wav(self, path: Path) -> None:
        self.say_pcm(read_wav_16k_mono(path))

    def say_and_wait(self, wav: Path | bytes) -> float:
        """Speak ``wav`` (a file or 16 kHz mono PCM) into the microphone once the previous
        speech is out; returns ``last_speech_written`` for it (blocks until then)."""
        while self.speaking():
            time.sleep(0.01)
        before = self.last_speech_written
        if isinstance(wav, bytes):
            self.say_pcm(wav)
        else:
            self.say_wav(wav)
        deadline = time.monotonic() + 60
        while self.last_speech_written == before and time.monotonic() < deadline:
            time.sleep(0.005)
        if self.last_speech_written is None or self.last_speech_written == before:
            raise TimeoutError("the virtual microphone did not take the speech within 60 s")
        return self.last_speech_written

    def speaking(self) -> bool:
        with self._lock:
            return bool(self._queue)

    # -- speaker ---------------------------------------------------------------------------
    def record_speaker(self, out: Path) -> subprocess.Popen:
        """Start recording what is played on ``spk``; terminate() the process to finish."""
        return subprocess.Popen(
            ["parecord", "-d", "spk.monitor", "--file-format=wav", "--rate=16000",
             "--channels=1", "--format=s16le", str(out)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


class SpeakerMonitor:
    """Reads ``spk.monitor`` in MONITOR_CHUNK chunks and remembers when each arrived and how
    loud it was, so sound and silence on the virtual speaker can be timed.

    ``keep_pcm``: also keep the audio (for comparing it with what was synthesised); off for
    long runs, where it would grow by 115 MB an hour.
    """

    def __init__(self, audio: VirtualAudio, keep_pcm: bool = False) -> None:
        self._audio = audio
        self._keep_pcm = keep_pcm
        self._lock = threading.Lock()
        self._times: list[float] = []
        self._levels: list[float] = []
        self._pcm = bytearray()
        self._process = self._start()

    def _start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            ["parec", "-d", "spk.monitor", "--latency-msec=10", "--raw", "--format=s16le",
             f"--rate={RATE}", "--channels=1"],
            env=self._audio.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        threading.Thread(target=self._read, args=(process,), name="monitor", daemon=True).start()
        return process

    def restart(self) -> None:
        """Reconnect to spk.monitor: after load_mic() PulseAudio moves every recording
        stream, this one included, to the new default source; after the sink was reloaded
        the old monitor is gone."""
        self.close()
        self._process = self._start()

    def _read(self, process: subprocess.Popen) -> None:
        if process.stdout is None:
            return
        size = int(RATE * MONITOR_CHUNK) * 2
        while True:
            data = process.stdout.read(size)
            if not data:
                return
            now = time.monotonic()
            samples = array.array("h", data[: len(data) - len(data) % 2])
            level = (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5
            with self._lock:
                self._times.append(now)
                self._levels.append(level)
                if self._keep_pcm:
                    self._pcm += data

    def loud(self, start: float, end: float | None = None) -> list[float]:
        """Arrival times of loud chunks in [start, end] (end: now)."""
        end = time.monotonic() if end is None else end
        with self._lock:
            first = bisect.bisect_left(self._times, start)
            last = bisect.bisect_right(self._times, end)
            return [t for t, lv in zip(self._times[first:last], self._levels[first:last],
                                       strict=True) if lv > LOUD]

    def wait_sound(self, after: float, timeout: float = 10.0) -> float | None:
        """Arrival of the first loud chunk after ``after``, or None after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loud = self.loud(after)
            if loud:
                return loud[0]
            time.sleep(0.005)
        return None

    def wait_quiet(self, after: float, quiet: float = 0.5, timeout: float = 30.0) -> float | None:
        """The last loud chunk after ``after``, once ``quiet`` s of silence followed it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loud = self.loud(after)
            if loud and time.monotonic() - loud[-1] >= quiet:
                return loud[-1]
            time.sleep(0.01)
        return None

    def wait_gap(self, after: float, gap: float, timeout: float = 10.0) -> float | None:
        """The last loud chunk before the first ``gap`` s without sound after ``after``
        (None if it never fell quiet). Unlike ``wait_quiet`` it reads the recorded times,
        so a test that looks late still finds a stop that was followed by new sound."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loud = self.loud(after)
            for before, later in itertools.pairwise(loud):
                if later - before >= gap:
                    return before
            if loud and time.monotonic() - loud[-1] >= gap:
                return loud[-1]
            time.sleep(0.01)
        return None

    def wait_silent(self, quiet: float = 0.5, timeout: float = 30.0) -> None:
        """Return once nothing was loud for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while self.loud(time.monotonic() - quiet) and time.monotonic() < deadline:
            time.sleep(0.02)

    def playing(self, within: float = 0.3) -> bool:
        return bool(self.loud(time.monotonic() - within))

    def pcm(self, start: float, end: float) -> bytes:
        """PCM of the chunks that arrived in [start, end] (needs ``keep_pcm``)."""
        if not self._keep_pcm:
            raise ValueError("this monitor does not keep audio: SpeakerMonitor(keep_pcm=True)")
        size = int(RATE * MONITOR_CHUNK) * 2
        with self._lock:
            first = bisect.bisect_left(self._times, start)
            last = bisect.bisect_right(self._times, end)
            return bytes(self._pcm[first * size : last * size])

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=5)


def read_wav_16k_mono(path: Path) -> bytes:
    """Read a 16-bit WAV and return 16 kHz mono PCM (resampled with sox if needed)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() == RATE and wav.getnchannels() == 1 and wav.getsampwidth() == 2:
            return wav.readframes(wav.getnframes())
    converted = Path(tempfile.mkstemp(suffix=".wav")[1])
    try:
        subprocess.run(
            ["sox", str(path), "-r", str(RATE), "-c", "1", "-b", "16", str(converted)],
            check=True, capture_output=True,
        )
        with wave.open(str(converted), "rb") as wav:
            return wav.readframes(wav.getnframes())
    finally:
        converted.unlink(missing_ok=True)


def espeak_wav(text: str, out: Path, voice: str = "ko") -> Path:
    """Synthesise ``text`` with espeak-ng into ``out`` (22 050 Hz WAV)."""
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True,
                   capture_output=True)
    return out


def wav_rms(path: Path) -> tuple[float, float]:
    """(duration in seconds, RMS level 0..1) of a 16-bit WAV."""
    import array

    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        duration = wav.getnframes() / float(wav.getframerate() or 1)
    samples = array.array("h", frames[: len(frames) - len(frames) % 2])
    if not samples:
        return duration, 0.0
    mean_square = sum(s * s for s in samples) / len(samples)
    return duration, (mean_square**0.5) / 32768.0


def available() -> str | None:
    """None when the virtual devices can run here, else the reason they cannot."""
    for tool in ("pulseaudio", "pactl", "parecord", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils " \
                   "espeak-ng sox; .ci/run does this)"
    return None
