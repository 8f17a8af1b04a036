"""Soak: the voice loop answering looped recorded questions on the PulseAudio virtual devices.

``python -m assistant listen --always-listening`` (Korean test intents and model, see
bench/bench_loop.py) is asked, over and over for ``--minutes``: "안녕하세요" (the greeting,
played to the end), "커피" (caffeine, stopped with "멈춰" after 1.5 s) and "다시" (repeat:
the caffeine answer again, stopped after 1 s). A turn is *answered* when the expected answer
is printed and its sound reaches the speaker monitor within 8 s, else *missed*. Latency: the
last sample of the question into the microphone -> first sound on the monitor.

Per minute: turns answered and missed, p50/p95 latency, the loop's RSS (/proc/<pid>/status)
at the end of the minute. Writes bench/results/soak_turns.csv and soak_minutes.csv, and
soak.png when matplotlib is importable (it is in the ``bench`` extra).

Run: python bench/soak.py [--minutes 2]    (an hour on a workstation: --minutes 60)
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_loop as bl
import virtual_audio

RESULTS = bl.ROOT / "bench" / "results"
CYCLE = [
    # (question clip, text the answer must contain, seconds to let it play; None: to the end)
    ("greeting", "Hello", None),
    ("caffeine", "too much caffeine", 1.5),
    ("repeat", "too much caffeine", 1.0),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless the loop lived, exited 0, missed at most 5 %% of turns and its RSS "
        "grew at most 5 %% (CI runs this for two minutes)",
    )
    args = parser.parse_args()
    reason = virtual_audio.available()
    if reason:
        print(f"skipped: {reason}")
        return 1
    audio = virtual_audio.VirtualAudio()
    audio.start()
    monitor = virtual_audio.SpeakerMonitor(audio)
    clips = bl.make_clips(Path(tempfile.mkdtemp(prefix="soak-")))
    loop = bl.start_loop(audio, monitor, ["--model", str(bl.ko_model_dir()), "--always-listening"])
    rows: list[dict] = []
    minutes: list[dict] = []
    died = False
    code: int | None = None
    start = time.monotonic()
    end = start + args.minutes * 60
    minute_end = start + 60
    n = 0
    try:
        while time.monotonic() < end and loop.alive():
            name, expect, play = CYCLE[n % len(CYCLE)]
            n += 1
            result = bl.turn(audio, loop, monitor, clips[name], None if play is None else
                             clips["stop"], expect, play=play or 0.0)
            now = time.monotonic()
            if not result.answered and len(rows) - sum(r["answered"] for r in rows) < 3:
                # the first misses are shown with the loop's log, so a failed CI run says why
                print(f"missed turn {n} ({name}); the loop's log:\n    "
                      + "\n    ".join(loop.text(stream="err")[-25:]), flush=True)
            rows.append({
                "turn": n, "t": round(now - start, 2), "question": name,
                "answered": int(result.answered),
                "latency_ms": "" if result.latency is None else round(result.latency * 1000),
            })
            if now >= minute_end or now >= end:
                minutes.append(summarise(len(minutes) + 1, rows, loop.pid))
                print_minute(minutes[-1])
                minute_end += 60
        if not loop.alive():
            died = True
            print("the loop died:\n" + "\n".join(loop.text()[-20:]))
        code = loop.stop()
    finally:
        if loop.alive():
            loop.stop()
        monitor.close()
        audio.stop()
    answered = sum(r["answered"] for r in rows)
    print(f"total: {len(rows)} turns in {args.minutes:g} min, answered {answered}, "
          f"missed {len(rows) - answered}; Ctrl-C exit code {code}")
    growth = 0.0
    if len(minutes) >= 2:
        first, last = minutes[0]["rss_mib"], minutes[-1]["rss_mib"]
        growth = (last - first) / first * 100
        print(f"RSS minute 1 -> minute {len(minutes)}: {first:.0f} -> {last:.0f} MiB "
              f"({growth:+.1f} %; target: no growth beyond 5 %)")
    write(args.out, rows, minutes)
    if not args.check:
        return 0
    problems = [
        text
        for bad, text in (
            (died, "the loop died"),
            (code != 0, f"exit code {code} after Ctrl-C"),
            (not rows, "no turns"),
            (len(rows) - answered > 0.05 * len(rows), "more than 5 % of turns missed"),
            (growth > 5.0, f"RSS grew {growth:.1f} %"),
        )
        if bad
    ]
    print("soak check: " + ("; ".join(problems) if problems else "passed"))
    return 1 if problems else 0


def summarise(minute: int, rows: list[dict], pid: int) -> dict:
    mine = [r for r in rows if r.get("minute") is None]
    for r in mine:
        r["minute"] = minute
    latencies = [r["latency_ms"] for r in mine if r["latency_ms"] != ""]
    return {
        "minute": minute,
        "answered": sum(r["answered"] for r in mine),
        "missed": sum(1 - r["answered"] for r in mine),
        "p50_ms": round(statistics.median(latencies)) if latencies else "",
        "p95_ms": round(bl.percentile(latencies, 95)) if latencies else "",
        "rss_mib": round(bl.rss_mib(pid), 1),
    }


def print_minute(m: dict) -> None:
    print(f"minute {m['minute']:3}: answered {m['answered']:3}  missed {m['missed']:2}  "
          f"latency p50 {m['p50_ms']} ms  p95 {m['p95_ms']} ms  RSS {m['rss_mib']:.0f} MiB",
          flush=True)


def write(folder: Path, rows: list[dict], minutes: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (("soak_turns.csv", rows), ("soak_minutes.csv", minutes)):
        if data:
            with open(folder / name, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(data[0]))
                writer.writeheader()
                writer.writerows(data)
    print(f"wrote {folder / 'soak_turns.csv'} and {folder / 'soak_minutes.csv'}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install '.[bench]'): CSV only")
        return
    if not minutes:
        return
    x = [m["minute"] for m in minutes]
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(7, 7), sharex=True)
    top.plot(x, [m["p95_ms"] or None for m in minutes], marker="o", label="p95")
    top.plot(x, [m["p50_ms"] or None for m in minutes], marker=".", label="p50")
    top.set_ylabel("latency (ms)\nend of speech ->\nfirst sound")
    top.legend()
    middle.plot(x, [m["rss_mib"] for m in minutes], marker="o", color="tab:red")
    middle.set_ylabel("RSS (MiB)")
    middle.set_ylim(0, max(m["rss_mib"] for m in minutes) * 1.2)
    bottom.bar(x, [m["answered"] for m in minutes], label="answered", color="tab:green")
    bottom.bar(x, [m["missed"] for m in minutes], bottom=[m["answered"] for m in minutes],
               label="missed", color="tab:gray")
    bottom.set_ylabel("turns")
    bottom.set_xlabel("minute")
    bottom.legend()
    fig.suptitle("Voice loop soak (virtual devices, Korean test model)")
    fig.tight_layout()
    fig.savefig(folder / "soak.png", dpi=100)
    plt.close(fig)
    print(f"wrote {folder / 'soak.png'}")


if __name__ == "__main__":
    sys.exit(main())
