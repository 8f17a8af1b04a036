"""Speech-out benchmark on real PulseAudio virtual devices (starts its own; needs pulseaudio).

Measures
- synthesis time per sentence (pyttsx3 + espeak-ng, one engine on its thread), p50/p95;
- time to first audio for a 3-sentence answer: ``speak()`` -> first samples handed to the
  speaker (``on_start`` + write), and -> first sound seen on the speaker's monitor;
- barge-in: ``stop()`` -> ``stop()`` returned (playback aborted), and -> last sound seen on
  the monitor; median over 10.

The monitor is read with ``parec --latency-msec=10`` in 10 ms chunks, so monitor figures
include up to ~10-20 ms of the monitor's own latency. A silent 20 ms-latency stream keeps the
null sink awake (module-null-sink otherwise renders in 2 s blocks; see tests/test_player.py).

Run: python bench/bench_voice.py [--runs 10]
"""

from __future__ import annotations

import argparse
import array
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import virtual_audio  # noqa: E402

from assistant.settings import Settings  # noqa: E402
from assistant.speech.voice import Speaker, SpeechJob, Synthesizer, split_sentences  # noqa: E402

ANSWER = (
    "Muscle twitches are very common and usually harmless. "
    "Caffeine, stress, poor sleep and hard exercise make them more likely. "
    "See a doctor if you also notice weakness, wasting or trouble swallowing."
)
SENTENCES = split_sentences(
    ANSWER
    + " Most twitches last a few seconds. They often come in the eyelid, calf or thumb. "
    "Stretching and rest help after a long run. Drink enough water on hot days. "
    "Magnesium is often suggested, but the evidence is weak. Twitching alone is not a sign "
    "of a serious disease. Keep a short diary if you are worried. Bring it to your doctor."
)
LONG = " ".join(f"This is sentence number {i} of a long answer that goes on." for i in range(30))
CHUNK_SECONDS = 0.01
THRESHOLD = 300.0
"""RMS (of 32768) above which a 10 ms chunk counts as sound."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


class Monitor:
    """Reads spk.monitor in 10 ms chunks and remembers when each loud chunk arrived."""

    def __init__(self, audio: virtual_audio.VirtualAudio) -> None:
        self.loud_times: list[float] = []
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            ["parec", "-d", "spk.monitor", "--latency-msec=10", "--raw", "--format=s16le",
             "--rate=16000", "--channels=1"],
            env=audio.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        size = int(16_000 * CHUNK_SECONDS) * 2
        while True:
            data = self._process.stdout.read(size)
            if not data:
                return
            now = time.monotonic()
            samples = array.array("h", data[: len(data) - len(data) % 2])
            level = (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5
            if level > THRESHOLD:
                with self._lock:
                    self.loud_times.append(now)

    def first_loud_after(self, t: float, timeout: float = 3.0) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                later = [x for x in self.loud_times if x >= t]
            if later:
                return later[0]
            time.sleep(0.005)
        return None

    def last_loud_before(self, t: float) -> float | None:
        with self._lock:
            earlier = [x for x in self.loud_times if x <= t]
        return earlier[-1] if earlier else None

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=5)


def keep_sink_awake(audio: virtual_audio.VirtualAudio) -> subprocess.Popen:
    keeper = subprocess.Popen(
        ["pacat", "--playback", "-d", "spk", "--latency-msec=20", "--raw", "--format=s16le",
         "--rate=16000", "--channels=1", "/dev/zero"],
        env=audio.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        out = subprocess.run(["pactl", "list", "sinks"], env=audio.env, capture_output=True,
                             text=True).stdout
        match = re.search(r"Latency: (\d+) usec", out)
        if match and int(match.group(1)) < 200_000:
            break
        time.sleep(0.1)
    return keeper


def bench_synthesis(synth: Synthesizer) -> None:
    synth.synthesize("warm up")
    times, audio_seconds = [], []
    for sentence in SENTENCES * 3:
        start = time.perf_counter()
        audio = synth.synthesize(sentence)
        times.append(time.perf_counter() - start)
        audio_seconds.append(audio.seconds)
    print(f"synthesis per sentence ({len(times)} sentences, {statistics.mean(audio_seconds):.1f} s"
          f" of speech each on average):")
    print(f"  p50 {ms(percentile(times, 50))}   p95 {ms(percentile(times, 95))}   "
          f"real-time factor {sum(times) / sum(audio_seconds):.4f}")


def bench_first_audio(synth: Synthesizer, monitor: Monitor, runs: int) -> None:
    handed, heard = [], []
    started: list[float] = []

    def on_start(job: SpeechJob) -> None:
        started.append(time.monotonic())

    with Speaker(Settings(), synthesizer=synth, on_start=on_start) as speaker:
        for _ in range(runs):
            started.clear()
            t0 = time.monotonic()
            job = speaker.speak(ANSWER, block=False)
            first = monitor.first_loud_after(t0)
            speaker.stop()
            job.wait(2)
            if started:
                handed.append(started[0] - t0)
            if first is not None:
                heard.append(first - t0)
            time.sleep(0.3)
    print(f"time to first audio, 3-sentence answer ({runs} runs):")
    print(f"  speak() -> first samples to the speaker   median {ms(statistics.median(handed))}"
          f"   p95 {ms(percentile(handed, 95))}")
    if heard:
        print(f"  speak() -> sound on the speaker monitor  median {ms(statistics.median(heard))}"
              f"   p95 {ms(percentile(heard, 95))}")


def bench_barge_in(synth: Synthesizer, monitor: Monitor, runs: int) -> None:
    returned, silent = [], []
    with Speaker(Settings(), synthesizer=synth) as speaker:
        for _ in range(runs):
            job = speaker.speak(LONG, block=False)
            while job.started_at is None and not job.done():
                time.sleep(0.005)
            time.sleep(0.7)
            t_stop = time.monotonic()
            speaker.stop()
            returned.append(time.monotonic() - t_stop)
            time.sleep(0.5)
            last = monitor.last_loud_before(time.monotonic())
            if last is not None:
                silent.append(max(0.0, last + CHUNK_SECONDS - t_stop))
    print(f"barge-in, stop() during speech ({runs} runs):")
    print(f"  stop() -> playback aborted (returned)     median {ms(statistics.median(returned))}"
          f"   max {ms(max(returned))}")
    if silent:
        print(f"  stop() -> silence on the speaker monitor median {ms(statistics.median(silent))}"
              f"   max {ms(max(silent))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    reason = virtual_audio.available()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 1
    audio = virtual_audio.VirtualAudio()
    audio.start()
    keeper = keep_sink_awake(audio)
    monitor = Monitor(audio)
    try:
        with Synthesizer() as synth:
            bench_synthesis(synth)
            bench_first_audio(synth, monitor, args.runs)
            bench_barge_in(synth, monitor, args.runs)
    finally:
        monitor.close()
        keeper.terminate()
        keeper.wait(timeout=5)
        audio.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
