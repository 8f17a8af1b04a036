"""The ``assistant`` command's entry point: Ctrl-C is quiet from the first instant.

Python turns Ctrl-C into KeyboardInterrupt as soon as it starts, so an interrupt while the
CLI's modules are still importing (the first ~30 ms) used to print a traceback. Here a
handler that just exits with the conventional 130 is installed before anything else is
imported (``_signal``, not ``signal``: the latter imports enum, functools and collections,
which took 5 ms of the window); ``cli.main`` puts Python's own handler back once it can
catch the interrupt. Only Python's own start-up (before this module runs, about 10 ms) is
left uncovered.
"""

from __future__ import annotations

import _signal
import os


def _interrupted(signum: int, frame: object) -> None:
    try:
        os.write(2, b"assistant: interrupted\n")
    finally:
        os._exit(130)


def install_quiet_interrupt() -> None:
    """Ctrl-C exits with 130 and one line, until ``cli.main`` restores Python's handler."""
    try:
        if _signal.getsignal(_signal.SIGINT) is not _signal.SIG_IGN:  # nohup/&: stay ignored
            _signal.signal(_signal.SIGINT, _interrupted)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        pass


def run() -> int:
    """Console-script target (``assistant``) and ``python -m assistant``."""
    install_quiet_interrupt()
    from assistant.cli import main

    return main()
