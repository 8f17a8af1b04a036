"""Every defect of issue 11 as a test: the cases of ``bench/redteam_inputs.py``, each a real
``python -m assistant`` process under a 3 GB memory cap and a short time limit (local HTTP
servers on 127.0.0.1 only). Each must hold: nothing lost, nothing run, nothing hung, one
clear line and a conventional exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import redteam_inputs


@pytest.mark.parametrize(
    "fn", [fn for _, fn in redteam_inputs.CASES], ids=[n for n, _ in redteam_inputs.CASES]
)
def test_hostile_input_holds(fn) -> None:
    name = next(n for n, f in redteam_inputs.CASES if f is fn)
    problem = redteam_inputs.run_case(name, fn)
    assert problem is None, f"{name}: {problem}"


def test_every_defect_family_is_covered() -> None:
    names = " ".join(n for n, _ in redteam_inputs.CASES).lower()
    for family in ("settings", "cache", "--name", "symlink", "sound server", "alias bomb",
                   "/dev/zero", "fifo", "permutation", "10 000 templates", "dripping",
                   "deadline", "endless", "zip bomb", "21 kb", "broken pipe", "/dev/full",
                   "closed stdin", "pythonioencoding", "ctrl-c", "redirect loop", "100 kb",
                   "list value", "5000-digit", "volume -5", "umask", "damaged model"):
        assert family in names, family
