"""Resumable, checksum-verified HTTP download of a model archive (standard library only).

The bytes go to ``<dest>.part`` beside the destination. A dropped connection keeps the part
file, and the next attempt asks only for the rest (``Range: bytes=N-``); a server that answers
200 instead of 206 gets a fresh start. A finished file whose SHA-256 does not match is deleted:
nothing corrupt is kept, and a retry starts over. Errors are ModelError naming the URL and
the reason, never a traceback.

Every download is bounded (``Limits``): an overall deadline, a stall rule (less than
``MIN_STALL_BYTES`` in ``timeout`` seconds ends the attempt: a server dripping a byte every
few seconds never trips a plain socket timeout), a size limit (the server's announced length,
the catalogue's known size, or ``MAX_UNKNOWN_BYTES``), and a free-space check before and while
writing. A download stopped for its size or for disk space removes its ``.part``; a dropped,
stalled or timed-out one keeps it for resuming.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from assistant import __version__
from assistant.errors import ModelError

if TYPE_CHECKING:
    from tqdm import tqdm

LOG = logging.getLogger("assistant.models")

CHUNK = 64 * 1024
DEFAULT_TIMEOUT = 30.0
"""Seconds without any data before giving up on a connection."""
DEFAULT_ATTEMPTS = 3
"""Connection drops are retried (resuming) this many times in one run."""
USER_AGENT = f"twitch-assistant/{__version__} (+model download)"
DEFAULT_DEADLINE = 3600.0
"""Seconds for a whole download (all attempts): 40 MB needs this only below 12 kB/s."""
MIN_STALL_BYTES = 32 * 1024
"""Fewer bytes than this within ``timeout`` seconds is a stalled server (about 1 kB/s)."""
MAX_DOWNLOAD_BYTES = 8_000_000_000
"""No Vosk model archive is larger (the biggest are about 2.5 GB)."""
MAX_UNKNOWN_BYTES = 512_000_000
"""Limit when neither the server nor the catalogue says the size (an endless body stops
here). The small models are 40-70 MB; servers of big ones announce their length."""
FREE_SPACE_RESERVE = 50_000_000
"""Never fill the disk: keep this much free beside the download."""
SPACE_CHECK_EVERY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds of one download; see the module docstring."""

    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_bytes: int | None = None
    """The archive's size when known in advance (the catalogue); None: from the server."""


class _Clock:
    """The overall deadline of one download (all attempts)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, done: int, slack: float = 0.0) -> None:
        if self.left() <= slack:
            raise _Dropped(
                f"the download took longer than {self.seconds:.0f} s (stopped after {_mb(done)})"
            )


# --- progress ------------------------------------------------------------------------------------


class Progress(Protocol):
    """Receives download progress; ``done`` counts bytes already on disk."""

    def start(self, url: str, done: int, total: int | None) -> None: ...

    def update(self, done: int, total: int | None) -> None: ...

    def finish(self, done: int) -> None: ...


class NoProgress:
    """Reports nothing (library use, tests)."""

    def start(self, url: str, done: int, total: int | None) -> None:
        pass

    def update(self, done: int, total: int | None) -> None:
        pass

    def finish(self, done: int) -> None:
        pass


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


class _RateMeter:
    """Bytes per second over this run (a resumed part does not inflate the rate)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.base = 0

    def reset(self, done: int) -> None:
        self.t0 = time.monotonic()
        self.base = done

    def rate(self, done: int) -> float:
        elapsed = time.monotonic() - self.t0
        return (done - self.base) / elapsed if elapsed > 0.2 else 0.0


class BarProgress:
    """tqdm's updating bar on a terminal: bytes done/total, rate and time left, the display
    users of pip and vosk-transcriber know (tqdm is a dependency of Vosk anyway; it replaced
    about 60 hand-written lines)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.bar: tqdm[Any] | None = None

    def start(self, url: str, done: int, total: int | None) -> None:
        from tqdm import tqdm  # imported when a download starts, not by every command

        self._close()  # a retry starts a new bar
        verb = "resuming" if done else "downloading"
        print(f"{verb} {url}", file=self.stream, flush=True)
        self.bar = tqdm(
            total=total, initial=done, unit="B", unit_scale=True, unit_divisor=1000,
            file=self.stream, mininterval=0.1, dynamic_ncols=True, leave=True,
        )

    def update(self, done: int, total: int | None) -> None:
        if self.bar is None:
            return
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def finish(self, done: int) -> None:
        self.update(done, None)
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class LineProgress:
    """A few quiet lines when stderr is not a terminal (logs, CI): one per 10 %."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.meter = _RateMeter()
        self.next_tenth = 1

    def start(self, url: str, done: int, total: int | None) -> None:
        self.meter.reset(done)
        size = f" ({_mb(total)})" if total else ""
        resumed = f", resuming at {_mb(done)}" if done else ""
        print(f"downloading {url}{size}{resumed}", file=self.stream, flush=True)
        self.next_tenth = int(10 * done / total) + 1 if total else 1

    def update(self, done: int, total: int | None) -> None:
        if not total or done * 10 < self.next_tenth * total or self.next_tenth > 10:
            return
        self.next_tenth = int(10 * done / total) + 1
        rate = self.meter.rate(done)
        speed = f", {_mb(rate)}/s" if rate else ""
        print(f"  {done / total:4.0%}  {_mb(done)} / {_mb(total)}{speed}",
              file=self.stream, flush=True)

    def finish(self, done: int) -> None:
        seconds = time.monotonic() - self.meter.t0
        print(f"downloaded {_mb(done)} in {seconds:.1f} s", file=self.stream, flush=True)


def default_progress(stream: IO[str] | None = None) -> Progress:
    """A bar on a terminal, quiet lines otherwise; always on stderr (stdout stays clean)."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return BarProgress(stream) if isatty and isatty() else LineProgress(stream)


# --- the download --------------------------------------------------------------------------------


class _Restart(Exception):
    """The server cannot resume this part file: start again from byte 0."""


class _Dropped(Exception):
    """The connection ended early; the part file is kept for resuming."""


class _Stalled(_Dropped):
    """Almost nothing arrived for a while: not retried in this run (it would stall again)."""


class _Discard(ModelError):
    """The download must not continue and its part file is useless: delete it."""


def part_path(dest_file: Path) -> Path:
    """Where the unfinished bytes of ``dest_file`` live."""
    return dest_file.with_name(dest_file.name + ".part")


def download(url: str, dest_file: Path | str, sha256: str | None = None,
             progress: Progress | None = None, timeout: float = DEFAULT_TIMEOUT,
             attempts: int = DEFAULT_ATTEMPTS, retry_delay: float = 1.0,
             deadline: float = DEFAULT_DEADLINE, max_bytes: int | None = None) -> Path:
    """Download ``url`` to ``dest_file`` (resuming a ``.part`` file) and verify its SHA-256.

    Without ``sha256`` the computed digest is logged as a warning so it can be pinned.
    ``timeout``: seconds in which at least MIN_STALL_BYTES must arrive; ``deadline``: seconds
    for the whole download; ``max_bytes``: the archive's known size (else the server's).
    """
    limits = Limits(timeout=timeout, deadline=deadline, max_bytes=max_bytes)
    dest_file = Path(dest_file)
    progress = default_progress() if progress is None else progress
    expected = sha256.lower() if sha256 else None
    if expected and dest_file.is_file() and file_sha256(dest_file) == expected:
        LOG.info("%s is already downloaded and verified", dest_file)
        return dest_file
    dest_file.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest_file)
    try:
        _fetch_with_retries(url, part, progress, limits, max(1, attempts), retry_delay)
    except _Discard:
        part.unlink(missing_ok=True)
        raise
    _verify(url, part, expected)
    os.replace(part, dest_file)
    return dest_file


def _fetch_with_retries(url: str, part: Path, progress: Progress, limits: Limits,
                        attempts: int, retry_delay: float) -> None:
    """Fetch until complete: resume after drops (up to ``attempts``), restart at most once;
    never past the overall deadline."""
    drops = 0
    restarted = False
    clock = _Clock(limits.deadline)
    while True:
        try:
            _fetch(url, part, progress, limits, clock)
            return
        except _Restart as why:
            if restarted:
                raise ModelError(f"could not download {url}: {why}") from None
            LOG.warning("cannot resume (%s); starting the download again", why)
            part.unlink(missing_ok=True)
            restarted = True
        except _Dropped as why:
            drops += 1
            out_of_time = clock.left() <= retry_delay * drops
            if drops >= attempts or isinstance(why, _Stalled) or out_of_time:
                raise ModelError(
                    f"could not download {url}: {why}; run the same command again to resume"
                ) from None
            LOG.warning("%s; resuming in %.0f s", why, retry_delay * drops)
            time.sleep(retry_delay * drops)


def _fetch(url: str, part: Path, progress: Progress, limits: Limits, clock: _Clock) -> None:
    """One HTTP request: append to ``part`` if the server resumes, else rewrite it."""
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    clock.check(offset)
    try:
        response = urllib.request.urlopen(request, timeout=min(limits.timeout, clock.left()))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            raise _Restart("the server rejected the resume request") from None
        if 300 <= exc.code < 400:
            raise ModelError(
                f"could not download {url}: too many redirects (HTTP {exc.code}; the server "
                "redirects in a loop)"
            ) from None
        reason = " ".join(str(exc.reason).split())[:100]
        raise ModelError(f"could not download {url}: HTTP {exc.code} {reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise _network_error(url, exc) from None
    with response:
        offset, total = _plan(response, offset)
        limit = _size_limit(url, total, limits)
        _check_free_space(part, (total or 0) - offset)
        progress.start(url, offset, total)
        done = _stream(url, response, part, offset, total, progress, limits, clock, limit)
    if total is not None and done != total:
        raise _Dropped(f"the connection closed after {_mb(done)} of {_mb(total)}")
    progress.finish(done)


def _plan(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where writing starts and the full size, from the status and headers."""
    if offset and response.status == 206:
        start, total = _content_range(response.headers.get("Content-Range", ""))
        if start != offset:
            raise _Restart(f"the server resumed at byte {start}, not {offset}")
        return offset, total
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else None


def _content_range(header: str) -> tuple[int, int | None]:
    match = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", header)
    if not match:
        raise _Restart(f"unexpected Content-Range {header!r}")
    total = match.group(3)
    return int(match.group(1)), int(total) if total.isdigit() else None


def _size_limit(url: str, total: int | None, limits: Limits) -> int:
    """The most bytes this archive may have; refuses an announced size beyond it."""
    limit = limits.max_bytes or (total if total is not None else MAX_UNKNOWN_BYTES)
    limit = min(limit, MAX_DOWNLOAD_BYTES)
    if total is not None and total > limit:
        known = "the known size" if limits.max_bytes else "the limit"
        raise _Discard(
            f"could not download {url}: the server announces {_mb(total)}, more than {known} "
            f"of {_mb(limit)}; nothing was kept"
        )
    return limit


def _check_free_space(part: Path, needed: int) -> None:
    """Refuse (deleting the part file) when ``needed`` more bytes would not fit."""
    try:
        free = shutil.disk_usage(part.parent).free
    except OSError:
        return
    if needed + FREE_SPACE_RESERVE > free:
        raise _Discard(
            f"not enough disk space in {part.parent} for the download: "
            f"{_mb(max(needed, 0))} more needed, {_mb(free)} free (keeping "
            f"{_mb(FREE_SPACE_RESERVE)} free); the partial file was deleted"
        )


def _stream(url: str, response: http.client.HTTPResponse, part: Path, offset: int,
            total: int | None, progress: Progress, limits: Limits, clock: _Clock,
            limit: int) -> int:
    """Copy the body into the part file; returns the bytes on disk afterwards."""
    done = offset
    window_start, window_done = time.monotonic(), done
    next_space_check = done + SPACE_CHECK_EVERY
    with _open_part(part, append=bool(offset)) as out:
        while True:
            clock.check(done)
            _set_timeout(response, min(limits.timeout, max(clock.left(), 0.01)))
            try:
                chunk = _read(response, done)
            except _Dropped:
                clock.check(done, slack=0.1)  # the deadline, not the socket, ran out
                raise
            if not chunk:
                break
            if done + len(chunk) > limit:
                raise _Discard(
                    f"could not download {url}: the server sent more than {_mb(limit)} "
                    "(more than it announced or than any model); the partial file was deleted"
                )
            try:
                out.write(chunk)
            except OSError as exc:
                raise _Discard(f"cannot write {part}: {exc.strerror or exc}") from None
            done += len(chunk)
            progress.update(done, total)
            now = time.monotonic()
            if now - window_start >= limits.timeout:
                if done - window_done < MIN_STALL_BYTES:
                    raise _Stalled(_stall_message(done - window_done, now - window_start, done))
                window_start, window_done = now, done
            if done >= next_space_check:
                out.flush()
                _check_free_space(part, (total or done) - done)
                next_space_check = done + SPACE_CHECK_EVERY
    return done


def _stall_message(got: int, seconds: float, done: int) -> str:
    return (
        f"the server sent only {got} bytes in {seconds:.0f} s (stalled) after {_mb(done)}"
    )


def _set_timeout(response: http.client.HTTPResponse, seconds: float) -> None:
    """Bound the next socket read (the overall deadline may be closer than the timeout)."""
    sock = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(sock, "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)


def _open_part(part: Path, append: bool) -> IO[bytes]:
    try:
        return open(part, "ab" if append else "wb")
    except OSError as exc:
        raise ModelError(f"cannot write {part}: {exc.strerror or exc}") from None


def _read(response: http.client.HTTPResponse, done: int) -> bytes:
    """The next chunk of the body; a network failure becomes _Dropped (resumable)."""
    try:
        # read1: what has arrived, at most CHUNK; read(CHUNK) would wait for all 64 kB,
        # so a server dripping bytes would never let the stall and deadline checks run.
        return response.read1(CHUNK)
    except TimeoutError:
        raise _Dropped(f"no data for a while after {_mb(done)} (timed out)") from None
    except (http.client.HTTPException, OSError) as exc:
        raise _Dropped(f"the connection was lost after {_mb(done)} ({exc})") from None


def _network_error(url: str, exc: BaseException) -> ModelError:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        text = "timed out"
    elif isinstance(reason, OSError) and reason.strerror:
        text = reason.strerror
    else:
        text = str(reason) or type(reason).__name__
    return ModelError(
        f"could not download {url}: {text} (check the network or use --url with a mirror, "
        "or install a copied zip with 'assistant model install ZIP')",
        spoken="I could not download the speech model.",
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _verify(url: str, part: Path, expected: str | None) -> None:
    actual = file_sha256(part)
    if expected is None:
        LOG.warning("no checksum given, so %s was not verified; its SHA-256 is %s "
                    "(pass --sha256 %s next time to pin it)", url, actual, actual)
        return
    if actual != expected:
        part.unlink(missing_ok=True)
        raise ModelError(
            f"checksum mismatch for {url}: expected SHA-256 {expected}, got {actual}; the file "
            "was deleted (a mirror may serve a different file; a retry downloads it again)"
        )


# --- download + install --------------------------------------------------------------------------


def archive_name(url: str) -> str:
    """A safe local file name for the archive at ``url``."""
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return name if name.lower().endswith(".zip") else (name or "model") + ".zip"


def download_model(url: str, sha256: str | None, dest_dir: Path | str | None = None,
                   progress: Progress | None = None, force: bool = False, *,
                   timeout: float = DEFAULT_TIMEOUT, attempts: int = DEFAULT_ATTEMPTS,
                   retry_delay: float = 1.0, deadline: float = DEFAULT_DEADLINE,
                   max_bytes: int | None = None) -> Path:
    """Download a model zip into ``dest_dir/.downloads/``, verify and install it.

    An already installed, complete model of the same name is kept unless ``force``: after
    the first download the assistant never needs the network again.
    """
    from assistant import modelstore

    dest = modelstore.models_dir() if dest_dir is None else Path(dest_dir).expanduser()
    zip_name = archive_name(url)
    existing = dest / zip_name[: -len(".zip")]
    if not force and modelstore.is_model_dir(existing):
        LOG.warning("%s is already installed (use --force to download it again)", existing)
        return existing.absolute()
    if url == modelstore.DEFAULT_MODEL_URL and max_bytes is None:
        max_bytes = modelstore.DEFAULT_MODEL_BYTES
    downloads = dest / ".downloads"
    try:
        downloads.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create {downloads}: {exc.strerror or exc}") from None
    try:
        archive = download(url, downloads / zip_name, sha256, progress, timeout=timeout,
                           attempts=attempts, retry_delay=retry_delay, deadline=deadline,
                           max_bytes=max_bytes)
    except ModelError:
        _remove_if_empty(downloads)
        raise
    try:
        installed = modelstore.install_from(archive, dest)
    except modelstore.DiskSpaceError:
        raise
    except ModelError:
        _discard(archive, downloads)
        raise
    _discard(archive, downloads)
    return installed


def _discard(archive: Path, downloads: Path) -> None:
    """Drop the archive once installed (or found unusable); keep other downloads."""
    archive.unlink(missing_ok=True)
    _remove_if_empty(downloads)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()
