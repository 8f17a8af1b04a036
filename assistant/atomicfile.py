"""Replacing a file atomically: write a temporary file beside it, then rename it over it.

The one way every writer of the package (settings, the skill cache, ``say --out``) replaces a
file, so that a full disk, an error or Ctrl-C halfway never leaves a half-written file: the
old file, or none, stays until the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(
    target: Path, *, temp: Path | None = None, mode: int | None = None, durable: bool = False
) -> Iterator[Path]:
    """A new, empty temporary file beside ``target`` for the block to write; renamed over
    ``target`` when the block ends normally, removed when it raises.

    ``temp``: the temporary file's name (created exclusively), for callers that recognise
    their own leftovers by name; by default a fresh ``.NAME.XXXX.tmp``, private to the user
    (0600). ``mode``: the file's permissions before the rename. ``durable``: fsync the file and
    then its folder, so that the new content survives a power cut (settings).
    OSError from any step reaches the caller; the temporary file never stays behind.
    """
    if temp is None:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        temp = Path(name)
    else:
        temp.open("x").close()
    try:
        yield temp
        if mode is not None:
            os.chmod(temp, mode)
        if durable:
            _fsync(temp, os.O_RDWR)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    if durable:
        with contextlib.suppress(OSError):  # not every filesystem allows it
            _fsync(target.parent, os.O_RDONLY)


def pid_alive(pid: int) -> bool:
    """Whether the process that named a temporary file or folder after its id still runs, so
    that only a dead writer's leftovers are removed. When it cannot be told, alive: keep."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's live process
        return True
    return True


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
