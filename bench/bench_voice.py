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
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import virtual_audio  # noqa: E402
from virtual_audio import MONITOR_CHUNK as CHUNK_SECONDS  # noqa: E402
from virtual_audio import SpeakerMonitor  # noqa: E402

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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


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


def bench_first_audio(synth: Synthesizer, monitor: SpeakerMonitor, runs: int) -> None:
    handed, heard = [], []
    started: list[float] = []

    def on_start(job: SpeechJob) -> None:
        started.append(time.monotonic())

    with Speaker(Settings(), synthesizer=synth, on_start=on_start) as speaker:
        for _ in range(runs):
            started.clear()
            t0 = time.monotonic()
            job = speaker.speak(ANSWER, block=False)
            first = monitor.wait_sound(t0, timeout=3.0)
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


def bench_barge_in(synth: Synthesizer, monitor: SpeakerMonitor, runs: int) -> None:
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
            loud = monitor.loud(t_stop - 1.0)
            last = loud[-1] if loud else None
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
    monitor = SpeakerMonitor(audio)  # VirtualAudio keeps the sink at 20 ms latency
    try:
        with Synthesizer() as synth:
            bench_synthesis(synth)
            bench_first_audio(synth, monitor, args.runs)
            bench_barge_in(synth, monitor, args.runs)
    finally:
        monitor.close()
        audio.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
