"""The one way to read a file a user names: type-checked, size-capped, never waiting forever.

Why not ``Path.read_bytes()`` after a ``stat`` size check: ``/dev/zero`` and ``/proc`` files
report size 0 and then never end, and opening a FIFO blocks until some writer appears. So:

- the file is opened with ``O_NONBLOCK`` (a FIFO opens at once instead of waiting for a
  writer) and ``fstat`` on the open descriptor decides what it is: regular files only, unless
  the caller allows more;
- the size is checked *while reading* (at most ``limit + 1`` bytes are ever read), not by
  ``stat``, so a file that grows, or lies about its size, still stops at the cap;
- every failure is a ``UserFileError`` with one plain sentence naming the file.

Callers wrap the message in their own error type (``DataError``, ``AudioError``...).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from assistant.errors import AssistantError

CHUNK = 1 << 16


class UserFileError(AssistantError):
    """A user-named file is missing, of the wrong kind, unreadable or too large.

    ``reason`` is the sentence without the path, for callers that add the path themselves.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if exc.errno == errno.EISDIR:
        return "is a folder, not a file"
    return f"cannot read the file ({exc.strerror or exc})"


def open_regular(path: Path | str, what: str = "file") -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (after following symlinks).

    Never blocks: a FIFO or device is refused before anything is read from it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UserFileError(path, _os_reason(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UserFileError(path, f"is {_kind(mode)}, not a regular {what}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(handle: BinaryIO, limit: int, path: Path | str, what: str = "file") -> bytes:
    """Read everything from ``handle``, failing as soon as more than ``limit`` bytes came."""
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            block = handle.read(min(CHUNK, limit + 1 - size))
            if not block:
                break
            parts.append(block)
            size += len(block)
            if size > limit:
                raise UserFileError(path, f"the {what} is too large (over {_size(limit)})")
    except OSError as exc:
        raise UserFileError(path, _os_reason(exc)) from None
    return b"".join(parts)


def read_bytes(path: Path | str, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; UserFileError otherwise."""
    with open_regular(path, what) as handle:
        return read_capped(handle, limit, path, what)


def read_text(path: Path | str, limit: int, what: str = "file") -> str:
    """Like ``read_bytes``, decoded as UTF-8 (a UTF-8 BOM is dropped)."""
    raw = read_bytes(path, limit, what)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserFileError(path, f"line {line} is not valid UTF-8 text") from None


def _size(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1e6:g} MB"
    if limit >= 1000:
        return f"{limit / 1e3:g} kB"
    return f"{limit} bytes"


def read_stream_capped(stream: BinaryIO, limit: int, what: str = "standard input") -> bytes:
    """All of a stream (stdin) up to ``limit`` bytes; UserFileError beyond that."""
    return read_capped(stream, limit, what, "input")


def bounded_lines(stream: BinaryIO, max_line: int, what: str = "standard input"):
    """Lines of a binary stream (with their line numbers), each at most ``max_line`` bytes.

    A longer line stops the reading with a UserFileError: a stream without newlines
    (``/dev/zero``) must neither grow memory nor spin forever skipping one endless line.
    """
    number = 0
    while True:
        try:
            line = stream.readline(max_line + 1)
        except OSError as exc:
            raise UserFileError(what, _os_reason(exc)) from None
        if not line:
            return
        number += 1
        if len(line) > max_line and not line.endswith(b"\n"):
            raise UserFileError(what, f"line {number} is longer than {_size(max_line)}; stopped")
        yield number, line
