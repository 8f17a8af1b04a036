"""``assistant model ...``: download, install, list, locate and check Vosk speech models.

Results go to stdout (for ``download`` and ``install`` the last line is the model's path, so
scripts can capture it); progress and notes go to stderr. Vosk is imported only by ``check``,
and nothing here ever lets Vosk download a model on its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelError, UsageError

NAME = "model"
HELP = "download, install, list and check speech models"

LOG = logging.getLogger("assistant.models")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="model_action", metavar="ACTION")
    actions.required = True

    dl = actions.add_parser("download", help="download and install a model (default: English)",
                            description="Download a Vosk model zip (resumable, checksum-verified) "
                            "and install it. The last line printed is the model's path.")
    dl.add_argument("--url", help="archive URL (a mirror, or another Vosk model)")
    dl.add_argument("--sha256", metavar="HEX", help="expected SHA-256 of the archive")
    dl.add_argument("--dest", metavar="DIR", type=Path, help="models folder to install into")
    dl.add_argument("--force", action="store_true",
                    help="download again even if the model is already installed")
    dl.add_argument("--timeout", type=_seconds, metavar="S", default=30.0,
                    help="give up when the server sends (almost) nothing for S seconds "
                    "(default 30)")
    dl.add_argument("--max-time", type=_seconds, metavar="S", default=3600.0,
                    help="give up after S seconds in all (default 3600; rerun to resume)")
    dl.add_argument("--max-size", type=_megabytes, metavar="MB", default=None,
                    help="largest archive to accept, in MB (default: the size the server or "
                    "the catalogue gives, else 512)")

    inst = actions.add_parser("install", help="install a model from a zip or a folder",
                              description="Install a Vosk model copied by hand (a .zip or an "
                              "unpacked folder). The last line printed is the model's path.")
    inst.add_argument("source", metavar="ZIP_OR_DIR", type=Path)
    inst.add_argument("--dest", metavar="DIR", type=Path, help="models folder to install into")
    inst.add_argument("--name", help="folder name for the installed model")

    actions.add_parser("list", help="list installed models")

    path = actions.add_parser("path", help="print the model the assistant would use")
    path.add_argument("--model", metavar="DIR", help="a model folder to use instead")

    check = actions.add_parser("check", help="load a model and report time, memory, grammar")
    check.add_argument("dir", metavar="DIR", nargs="?", help="model folder (default: the "
                       "model the assistant would use)")
    check.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    handlers = {
        "download": _download, "install": _install, "list": _list, "path": _path,
        "check": _check,
    }
    return handlers[args.model_action](args)


# --- download / install --------------------------------------------------------------------------


def _download(args: argparse.Namespace) -> int:
    from assistant import download, modelstore

    url = args.url or modelstore.DEFAULT_MODEL_URL
    sha256 = _sha256_arg(args.sha256)
    if sha256 is None and url == modelstore.DEFAULT_MODEL_URL:
        sha256 = modelstore.DEFAULT_MODEL_SHA256
    installed = download.download_model(
        url, sha256, args.dest, force=args.force, timeout=args.timeout,
        deadline=args.max_time, max_bytes=args.max_size,
    )
    print(installed)
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError("use a number of seconds from 0 to 86400")
    return value


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of megabytes: {text!r}") from None
    if not 0 < value <= 8000:
        raise argparse.ArgumentTypeError("use a number of megabytes from 0 to 8000")
    return int(value * 1_000_000)


def _sha256_arg(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise UsageError(f"--sha256 wants 64 hexadecimal digits, got {value!r}")
    return value


def _install(args: argparse.Namespace) -> int:
    from assistant import modelstore

    installed = modelstore.install_from(args.source, args.dest, name=args.name)
    print(installed)
    return 0


# --- list / path ---------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from assistant import modelstore

    root = modelstore.models_dir()
    models = modelstore.list_models(root)
    for info in models:
        grammar = "grammar" if info.grammar else "no grammar"
        print(f"{info.name}\t{info.size_bytes / 1e6:.0f} MB\t{grammar}\t{info.path}")
    for path, missing in modelstore.incomplete_models(root).items():
        print(f"assistant: {path} is incomplete (missing {', '.join(missing)})", file=sys.stderr)
    if not models:
        print(f"assistant: no models in {root}; {modelstore.HOW_TO_GET_A_MODEL}",
              file=sys.stderr)
    return 0


def _path(args: argparse.Namespace) -> int:
    from assistant import modelstore

    print(modelstore.resolve_model(args.model))
    return 0


# --- check ---------------------------------------------------------------------------------------


def _rss_bytes() -> int | None:
    """Resident memory of this process (Linux /proc), or None where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True)
class LoadReport:
    """What loading a model cost; ``model check --json`` prints it as one object."""

    path: str
    load_seconds: float
    rss_increase_bytes: int | None
    rss_bytes: int | None
    grammar: bool


def load_report(path: Path) -> LoadReport:
    """Load the model with Vosk and measure it; raises ModelError if Vosk cannot load it."""
    from assistant import modelstore

    modelstore.validate_model_dir(path)
    import vosk

    vosk.SetLogLevel(-1)
    before = _rss_bytes()
    started = time.perf_counter()
    from assistant.streams import native_stderr_dropped

    debug = LOG.isEnabledFor(logging.DEBUG)
    try:
        with native_stderr_dropped(keep=debug):  # Kaldi's usage text + ERROR line
            model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(f"Vosk could not load the model in {path} ({exc}); it may be "
                         "damaged: install it again") from None
    seconds = time.perf_counter() - started
    after = _rss_bytes()
    del model
    return LoadReport(
        path=str(path),
        load_seconds=round(seconds, 3),
        rss_increase_bytes=after - before if after is not None and before is not None else None,
        rss_bytes=after,
        grammar=modelstore.supports_grammar(path),
    )


def _check(args: argparse.Namespace) -> int:
    from assistant import modelstore

    path = modelstore.resolve_model(args.dir)
    report = load_report(path)
    if args.json:
        print(json.dumps(dataclasses.asdict(report)))
        return 0
    print(f"model: {report.path}")
    print(f"loaded in {report.load_seconds:.2f} s")
    if report.rss_increase_bytes is not None and report.rss_bytes is not None:
        print(f"memory: +{report.rss_increase_bytes / 1e6:.0f} MB "
              f"(process RSS {report.rss_bytes / 1e6:.0f} MB)")
    if report.grammar:
        print("grammar mode: supported (dynamic graph: graph/HCLr.fst + graph/Gr.fst)")
    else:
        print("grammar mode: not supported (static graph); free decoding only")
    return 0
