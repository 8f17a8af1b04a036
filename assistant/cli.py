"""Command-line entry point: ``assistant [GLOBAL OPTIONS] COMMAND ...``.

Each subcommand lives in its own module under ``assistant.commands`` and exposes ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Modules are discovered, so adding a
command never touches this file. Command modules must stay cheap to import: heavy imports
(Vosk, sounddevice, pyttsx3) happen inside ``run`` so text commands start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import pkgutil
import sys
from types import ModuleType

from assistant import __version__, streams
from assistant.errors import AssistantError

LOG = logging.getLogger("assistant")

DEFAULT_COMMAND = "listen"
"""What ``assistant`` with no arguments runs (the hands-free voice loop)."""


def _command_modules() -> list[ModuleType]:
    import assistant.commands as package

    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"assistant.commands.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


def _add_global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--intents",
        metavar="DIR",
        default=default,
        help="folder of intent YAML files (default: the shipped intents)",
    )
    parser.add_argument(
        "--knowledge",
        metavar="FILE",
        default=default,
        help="knowledge base YAML file (default: the shipped knowledge base)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="log more on standard error (repeat for debug)",
    )


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Offline voice assistant for questions about muscle twitching.",
        epilog="With no command, starts the hands-free voice loop ('assistant listen').",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, ModuleType] = {}
    for module in _command_modules():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        _add_global_options(sub, suppress=True)
        module.add_arguments(sub)
        modules[module.NAME] = module
    return parser, modules


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(level)
    LOG.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status. Never lets a traceback reach the user."""
    streams.prepare()
    try:
        _restore_interrupts()
        parser, modules = build_parser()
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        _setup_logging(args.verbose or 0)
        command = args.command or DEFAULT_COMMAND
        module = modules.get(command)
        if module is None:
            parser.print_help(sys.stderr)
            return 2
        if args.command is None:
            args = parser.parse_args([*argv, command])
        return int(module.run(args) or 0)
    except AssistantError as exc:
        if _caused_by_interrupt(exc):
            _error_line("interrupted")
            return 130
        _error_line(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        _error_line("interrupted")
        return 130
    except OSError as exc:
        if streams.is_output_error(exc):
            return streams.output_failed(exc)
        return _internal_error(exc)
    except Exception as exc:  # last line of defence: one line, details only with -v
        if _caused_by_interrupt(exc):
            _error_line("interrupted")
            return 130
        return _internal_error(exc)


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether Ctrl-C is behind this error.

    Python wraps some exceptions on their way out: a KeyboardInterrupt that lands while a class
    body is being created (hassil's dataclasses, while the CLI is importing) surfaces as
    ``RuntimeError: Error calling __set_name__`` on Python 3.11. That is the user's Ctrl-C, not
    an internal error, so it gets the same quiet exit.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _restore_interrupts() -> None:
    """Ctrl-C raises KeyboardInterrupt again (``assistant.entry`` exits at once until here)."""
    import signal

    with contextlib.suppress(ValueError):  # not the main thread
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _error_line(message: str) -> None:
    """One line on stderr; a message that cannot be shown is not worth a second failure."""
    with contextlib.suppress(Exception):
        text = " ".join(str(message).split())
        print(f"assistant: {text}", file=sys.stderr, flush=True)


def _internal_error(exc: BaseException) -> int:
    LOG.debug("internal error", exc_info=True)
    text = " ".join(str(exc).split())[:200]
    _error_line(f"internal error: {type(exc).__name__}: {text} (run with -vv for details)")
    return 1
