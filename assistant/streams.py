"""Standard streams that fail with one clear line, never a traceback.

What the CLI meets at its edges: a closed stdin, stdout or stderr (``<&-``, ``>&-``), stdout on
a full disk (``> /dev/full``), a reader that goes away (``| head -1``), an ASCII-only terminal
(``PYTHONIOENCODING=ascii``, ``LANG=C`` on old systems). ``prepare()`` makes each of these an
ordinary, catchable condition; ``output_failed()`` turns a failed write into the one line and
exit code the shell expects, and makes sure Python's own flush at exit stays quiet.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import NoReturn

EXIT_OUTPUT_FAILED = 1
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a shell reports for a program killed by a closed pipe."""


class ClosedStreamError(OSError):
    """A standard stream was closed before the program started."""


class _ClosedStream(io.TextIOBase):
    """Stands in for a standard stream whose descriptor was closed: any use is EBADF."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _fail(self) -> NoReturn:
        raise ClosedStreamError(errno.EBADF, f"standard {self.name} is closed")

    def write(self, _text: str) -> NoReturn:
        self._fail()

    def read(self, _size: int | None = -1) -> NoReturn:
        self._fail()

    def readline(self, _size: int | None = -1) -> NoReturn:
        self._fail()

    def __iter__(self) -> NoReturn:
        self._fail()

    @property
    def buffer(self) -> io.BufferedIOBase:  # what 'ask' reads from
        self._fail()

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        pass


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def prepare() -> None:
    """Make the standard streams safe to use (call first in ``main``)."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if _closed(fd):
            # Keep fds 0-2 taken, so no file we open later lands on them by accident.
            with contextlib.suppress(OSError):
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            if name == "stderr":
                sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
            else:
                setattr(sys, name, _ClosedStream("input" if fd == 0 else "output"))
        elif getattr(sys, name) is None:
            setattr(sys, name, _ClosedStream("input" if fd == 0 else "output"))
    for stream in (sys.stdout, sys.stderr):
        _replace_unencodable(stream)


def _replace_unencodable(stream: object) -> None:
    """On a non-Unicode stream, show '?' for what it cannot encode rather than crash."""
    encoding = getattr(stream, "encoding", None)
    reconfigure = getattr(stream, "reconfigure", None)
    if encoding is None or reconfigure is None or is_unicode(stream):
        return
    with contextlib.suppress(Exception):
        reconfigure(errors="replace" if stream is sys.stdout else "backslashreplace")


def is_unicode(stream: object) -> bool:
    """True when ``stream`` can write any character (a UTF encoding)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


def output_failed(exc: OSError) -> int:
    """Report a failed write to stdout on stderr (one line) and return the exit code.

    Whatever is still buffered would fail again when Python flushes at exit and print
    "Exception ignored ..."; pointing fd 1 at /dev/null lets that last flush succeed.
    """
    _silence_stdout()
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        return EXIT_BROKEN_PIPE  # the reader left on purpose (| head): nothing to say
    reason = exc.strerror or str(exc)
    line = reason if isinstance(exc, ClosedStreamError) else f"cannot write the output: {reason}"
    with contextlib.suppress(Exception):
        print(f"assistant: {line}", file=sys.stderr, flush=True)
    return EXIT_OUTPUT_FAILED


def _silence_stdout() -> None:
    with contextlib.suppress(Exception):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    stdout = sys.stdout
    if isinstance(stdout, io.TextIOWrapper):
        with contextlib.suppress(Exception):
            stdout.flush()  # now into /dev/null


def is_output_error(exc: OSError) -> bool:
    """Whether ``exc`` is a failed write to a standard stream (not a file we opened)."""
    if isinstance(exc, (BrokenPipeError, ClosedStreamError)):
        return True
    if exc.filename is not None:
        return False
    return exc.errno in (errno.ENOSPC, errno.EBADF, errno.EIO, errno.EPIPE, errno.EFBIG)


@contextlib.contextmanager
def native_stderr_filtered(keep_line: Callable[[str], bool]) -> Iterator[None]:
    """Send what C libraries write to fd 2 to a temporary file for the duration, then replay
    the lines ``keep_line`` accepts (so Python's own warnings and logs are delayed, never
    lost). The one place that redirects fd 2. fd 2 is process-wide: use it only where one
    thread runs (a one-shot command), never in the voice loop, where another thread's
    redirection could interleave and leave fd 2 pointing at a deleted file."""
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True) if keep_line(line)]
            if kept:
                with contextlib.suppress(Exception):
                    sys.stderr.write("".join(kept))
                    sys.stderr.flush()


def native_stderr_dropped(keep: bool = False) -> contextlib.AbstractContextManager[None]:
    """Drop what C libraries write to fd 2 (Kaldi's usage text and ``ERROR (VoskAPI...)``
    lines when a model is damaged) unless ``keep``: our own one-line message says what went
    wrong."""
    return native_stderr_filtered(lambda _line: keep)
