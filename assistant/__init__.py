"""Offline voice assistant for questions about muscle twitching (fasciculation)."""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _quiet_interrupts_when_run_as_the_command() -> None:
    """When this package is being imported to run the ``assistant`` command (the console
    script, or ``python -m assistant`` while runpy still shows ``-m`` in argv), make Ctrl-C
    exit quietly from this instant: see ``assistant.entry``. A library import is untouched."""
    argv = getattr(_sys, "argv", None) or [""]
    if argv[0] == "-m" or _os.path.basename(argv[0]) == "assistant":
        from assistant.entry import install_quiet_interrupt

        install_quiet_interrupt()


_quiet_interrupts_when_run_as_the_command()
