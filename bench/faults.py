"""Faults, one script: the voice loop on the PulseAudio virtual devices under each fault.

Each scenario starts ``python -m assistant listen --always-listening`` afresh (Korean test
intents and model; see bench/bench_loop.py), causes one fault, then checks that the loop is
still alive and answers a question ("안녕하세요" -> the greeting). For each it prints:
survived yes/no, what the loop printed after the fault (stdout, and stderr lines that start
with "assistant:"), seconds of sound on the speaker after the fault (its spoken notices), and
whether the settings file is intact.

1. microphone source unloaded mid-utterance, loaded again 3 s later;
2. microphone source suspended mid-utterance (stops delivering audio), resumed 4 s later;
3. output sink removed mid-answer (``pactl unload-module`` of the null sink), loaded again;
4. model folder deleted while running (a hard-link copy, ``cp -al``), then a restart;
5. settings file corrupted: before start, and while running followed by "천천히" (slower);
6. disk full when saving settings: the settings file on a full 8 KiB tmpfs (needs root for
   ``mount``; falls back to ASSISTANT_CONFIG=/dev/full/settings.yaml: "not a directory").

Run: python bench/faults.py [--only N ...]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_loop as bl
import virtual_audio

GOOD_SETTINGS = "rate: 200\nvolume: 0.8\n"


@dataclass
class Outcome:
    name: str
    survived: bool = False
    printed: list[str] = field(default_factory=list)
    spoken_seconds: float = 0.0
    settings: str = "n/a"
    notes: list[str] = field(default_factory=list)


class Bench:
    def __init__(self) -> None:
        self.audio = virtual_audio.VirtualAudio()
        self.audio.start()
        self.monitor = virtual_audio.SpeakerMonitor(self.audio)
        self.folder = Path(tempfile.mkdtemp(prefix="faults-"))
        self.clips = bl.make_clips(self.folder)
        self.model = bl.ko_model_dir()
        self._keeper: subprocess.Popen | None = None

    def pactl(self, *args: str, check: bool = True) -> str:
        return subprocess.run(["pactl", *args], env=self.audio.env, check=check,
                              capture_output=True, text=True).stdout

    def loop(self, *, model: Path | None = None, config: Path | None = None) -> bl.LoopProcess:
        return bl.start_loop(self.audio, self.monitor,
                             ["--model", str(model or self.model), "--always-listening"],
                             config=config)

    def answers(self, loop: bl.LoopProcess, tries: int = 2) -> bool:
        """Does the loop answer "안녕하세요" (aloud: sound on the monitor)?"""
        for _ in range(tries):
            result = bl.turn(self.audio, loop, self.monitor, self.clips["greeting"],
                             self.clips["stop"], "Hello", play=0.3)
            if result.answered:
                return True
        return False

    def observe(self, outcome: Outcome, loop: bl.LoopProcess, since: float) -> None:
        outcome.printed = [line for line in loop.text(since, kaldi=False)
                           if not line.startswith(("assistant.", "LOG"))]
        outcome.spoken_seconds = len(self.monitor.loud(since)) * virtual_audio.MONITOR_CHUNK

    def close(self) -> None:
        if self._keeper is not None:
            self._keeper.terminate()
            self._keeper.wait(5)
        self.monitor.close()
        self.audio.stop()


# -- scenarios -----------------------------------------------------------------------------------


def mic_unloaded(bench: Bench) -> Outcome:
    outcome = Outcome("microphone source unloaded mid-utterance, reloaded after 3 s")
    loop = bench.loop()
    try:
        since = time.monotonic()
        # A question cut off after 0.4 s (not "goodbye": its heard rest would rightly end it).
        bench.audio.say_wav(bench.clips["caffeine"])
        time.sleep(0.4)
        bench.audio.unload_mic()
        try:
            time.sleep(3.0)
        finally:
            bench.audio.load_mic()
            bench.monitor.restart()
        time.sleep(1.5)
        outcome.survived = loop.alive() and bench.answers(loop)
        bench.observe(outcome, loop, since)
        notices = [p for p in outcome.printed if "microphone" in p.lower()]
        outcome.notes.append(
            "PulseAudio moves the stream to spk.monitor and back to the new mic, unseen by "
            "PortAudio; the source watcher's notices: " + (" / ".join(notices) or "none"))
        outcome.survived &= len(notices) >= 2
    finally:
        outcome.survived &= loop.stop() == 0
    return outcome


def mic_suspended(bench: Bench) -> Outcome:
    outcome = Outcome("microphone source stops delivering mid-utterance, back after 4 s")
    loop = bench.loop()
    try:
        since = time.monotonic()
        bench.audio.say_wav(bench.clips["goodbye"])
        time.sleep(0.4)
        bench.pactl("suspend-source", "mic", "1")
        try:
            time.sleep(4.0)
        finally:
            bench.pactl("suspend-source", "mic", "0")
        back = loop.wait_line(r"microphone is back", after=since, timeout=15)
        bench.monitor.wait_silent(0.5)
        outcome.survived = back is not None and bench.answers(loop)
        bench.observe(outcome, loop, since)
    finally:
        outcome.survived &= loop.stop() == 0
    return outcome


def sink_removed(bench: Bench) -> Outcome:
    outcome = Outcome("output sink removed mid-answer, loaded again after 2 s")
    loop = bench.loop()
    try:
        since = time.monotonic()
        bench.audio.say_and_wait(bench.clips["caffeine"])
        first = bench.monitor.wait_sound(since, timeout=8)
        time.sleep(1.5)
        modules = [line.split() for line in bench.pactl("list", "short", "modules").splitlines()]
        sink = next(m[0] for m in modules if len(m) > 1 and m[1] == "module-null-sink")
        bench.pactl("unload-module", sink)
        removed = time.monotonic()
        time.sleep(2.0)
        bench.pactl("load-module", "module-null-sink", "sink_name=spk")
        bench.pactl("set-default-sink", "spk")
        bench._keeper = subprocess.Popen(  # keep the new null sink rendering in small blocks
            ["pacat", "--playback", "-d", "spk", "--latency-msec=20", "--raw",
             "--format=s16le", "--rate=16000", "--channels=1", "/dev/zero"],
            env=bench.audio.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bench.monitor.restart()
        time.sleep(1.0)
        outcome.survived = first is not None and loop.alive() and bench.answers(loop)
        bench.observe(outcome, loop, removed)
        told = any("answer was cut off" in p for p in outcome.printed)
        outcome.notes.append(f"told before the next answer that the last was cut off: {told}")
        outcome.survived &= told
    finally:
        outcome.survived &= loop.stop() == 0
    return outcome


def model_deleted(bench: Bench) -> Outcome:
    outcome = Outcome("model folder deleted while running (then a restart)")
    copy = bench.folder / "model-copy"
    subprocess.run(["cp", "-al", str(bench.model), str(copy)], check=True)
    loop = bench.loop(model=copy)
    try:
        since = time.monotonic()
        shutil.rmtree(copy)
        answered = [bench.answers(loop, tries=1) for _ in range(3)]
        outcome.survived = all(answered) and loop.alive()
        bench.observe(outcome, loop, since)
        outcome.notes.append(f"answered {sum(answered)} of 3 questions after the deletion")
    finally:
        outcome.survived &= loop.stop() == 0
    since = time.monotonic()
    again = bl.LoopProcess(bench.audio, ["--model", str(copy), "--always-listening"],
                           verbose=False)
    try:
        code = again.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        code = again.stop()
    bench.monitor.wait_quiet(since, quiet=0.5, timeout=10)
    message = [line for line in again.text(stream="err") if line.strip()]
    spoken = len(bench.monitor.loud(since)) * virtual_audio.MONITOR_CHUNK
    outcome.notes.append(f"restart: exit {code}, {len(message)} line(s) on stderr: "
                         f"{message[0] if message else ''!r}, {spoken:.1f} s spoken")
    return outcome


def settings_corrupted(bench: Bench) -> Outcome:
    outcome = Outcome("settings file corrupted (at start; and while running, then 'slower')")
    config = bench.folder / "corrupt" / "settings.yaml"
    config.parent.mkdir()
    config.write_bytes(b"rate: [200\n\x00\xff volume: :\n")
    loop = bench.loop(config=config)
    try:
        since = loop.started
        warned = any("settings file" in line and "damaged" in line
                     for line in loop.text(stream="err"))
        untouched = config.read_bytes() == b"rate: [200\n\x00\xff volume: :\n"
        outcome.notes.append(f"at start: warning printed {warned}, damaged file left as it "
                             f"was {untouched}")
        config.write_text("rate: 200\nvolume: [oops\n")  # damaged while running
        asked = time.monotonic()
        bench.audio.say_and_wait(bench.clips["slower"])
        said = loop.wait_line(r"^Assistant: ", after=asked, timeout=8, stream="out")
        bench.monitor.wait_silent(0.5)
        outcome.survived = loop.alive() and bench.answers(loop)
        bench.observe(outcome, loop, since)
        outcome.notes.append(f"'천천히' while the file was damaged -> {said[1] if said else None}")
    finally:
        outcome.survived &= loop.stop() == 0
    outcome.settings = describe_settings(config)
    kept = sorted(p.name for p in config.parent.glob("settings.yaml.bad*"))
    outcome.notes.append(f"after saving: the damaged file kept as {kept or 'nothing'}")
    return outcome


def disk_full(bench: Bench) -> Outcome:
    outcome = Outcome("disk full when saving settings ('천천히')")
    mount = bench.folder / "tiny"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(mount)],
                             capture_output=True, text=True).returncode == 0
    if mounted:
        config = mount / "settings.yaml"
        config.write_text(GOOD_SETTINGS)
        with contextlib.suppress(OSError), open(mount / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 512)
                filler.flush()
        outcome.notes.append(f"8 KiB tmpfs, free after filling: {shutil.disk_usage(mount).free} B")
    else:
        config = Path("/dev/full/settings.yaml")
        outcome.notes.append("cannot mount a tmpfs: ASSISTANT_CONFIG=/dev/full/settings.yaml")
    try:
        loop = bench.loop(config=config)
        try:
            asked = time.monotonic()
            bench.audio.say_and_wait(bench.clips["slower"])
            said = loop.wait_line(r"^Assistant: ", after=asked, timeout=8, stream="out")
            failed = loop.wait_line(r"^assistant: Could not save", after=asked, timeout=5,
                                    stream="err")
            bench.monitor.wait_quiet(asked, quiet=0.8, timeout=15)
            outcome.survived = said is not None and failed is not None and bench.answers(loop)
            bench.observe(outcome, loop, asked)
        finally:
            outcome.survived &= loop.stop() == 0
        outcome.settings = describe_settings(config, expected=GOOD_SETTINGS if mounted else None)
        if mounted:
            leftovers = [p.name for p in mount.iterdir() if p.name not in ("settings.yaml",
                                                                           "filler")]
            outcome.notes.append(f"temporary files left behind: {leftovers or 'none'}")
    finally:
        if mounted:
            subprocess.run(["umount", str(mount)], check=False)
    return outcome


def describe_settings(path: Path, expected: str | None = None) -> str:
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return "DAMAGED (not YAML)"
    if expected is not None:
        return "intact (unchanged)" if text == expected else f"CHANGED: {data}"
    return f"valid YAML: rate {data.get('rate')}, volume {data.get('volume')}"


SCENARIOS: list[Callable[[Bench], Outcome]] = [
    mic_unloaded, mic_suspended, sink_removed, model_deleted, settings_corrupted, disk_full,
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=int, nargs="*", help="scenario numbers (1-6)")
    args = parser.parse_args()
    reason = virtual_audio.available()
    if reason:
        print(f"skipped: {reason}")
        return 1
    bench = Bench()
    outcomes = []
    try:
        for number, scenario in enumerate(SCENARIOS, 1):
            if args.only and number not in args.only:
                continue
            try:
                outcome = scenario(bench)
            except Exception as exc:  # report and go on with the next fault
                outcome = Outcome(scenario.__name__, notes=[f"bench error: {exc!r}"])
            outcomes.append(outcome)
            report(number, outcome)
            bench.monitor.wait_silent(0.5)
    finally:
        bench.close()
    survived = sum(o.survived for o in outcomes)
    print(f"\nsurvived {survived} of {len(outcomes)}")
    return 0 if survived == len(outcomes) else 1


def report(number: int, outcome: Outcome) -> None:
    print(f"\n{number}. {outcome.name}")
    print(f"   survived: {'yes' if outcome.survived else 'NO'}")
    print(f"   spoken after the fault: {outcome.spoken_seconds:.1f} s of sound")
    print(f"   settings: {outcome.settings}")
    for note in outcome.notes:
        print(f"   note: {note}")
    print("   printed:")
    for line in outcome.printed:
        print(f"     {line[:150]}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
