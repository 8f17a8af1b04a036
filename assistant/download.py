"""Resumable, checksum-verified HTTP download of a model archive (standard library only).

The bytes go to ``<dest>.part`` beside the destination. A dropped connection keeps the part
file, and the next attempt asks only for the rest (``Range: bytes=N-``); a server that answers
200 instead of 206 gets a fresh start. A finished file whose SHA-256 does not match is deleted:
nothing corrupt is kept, and a retry starts over. Errors are ModelError naming the URL and
the reason, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Protocol

from assistant import __version__
from assistant.errors import ModelError

LOG = logging.getLogger("assistant.models")

CHUNK = 64 * 1024
DEFAULT_TIMEOUT = 30.0
"""Seconds without any data before giving up on a connection."""
DEFAULT_ATTEMPTS = 3
"""Connection drops are retried (resuming) this many times in one run."""
USER_AGENT = f"twitch-assistant/{__version__} (+model download)"


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


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


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
    """One updating line on a terminal: bar, bytes done/total, rate and time left."""

    WIDTH = 24

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.meter = _RateMeter()
        self.last_draw = 0.0

    def start(self, url: str, done: int, total: int | None) -> None:
        self.meter.reset(done)
        verb = "resuming" if done else "downloading"
        print(f"{verb} {url}", file=self.stream, flush=True)
        self.update(done, total, force=True)

    def update(self, done: int, total: int | None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        self.stream.write("\r" + self.line(done, total).ljust(78))
        self.stream.flush()

    def line(self, done: int, total: int | None) -> str:
        """The text of the progress line (also used by tests)."""
        rate = self.meter.rate(done)
        speed = f"{_mb(rate)}/s" if rate else "--- MB/s"
        if not total:
            return f"{_mb(done)}  {speed}"
        fraction = min(done / total, 1.0)
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        if done >= total:
            left = f"in {_clock(time.monotonic() - self.meter.t0)}"
        else:
            left = _clock((total - done) / rate) + " left" if rate else "--:-- left"
        return f"[{bar}] {fraction:4.0%}  {_mb(done)} / {_mb(total)}  {speed}  {left}"

    def finish(self, done: int) -> None:
        self.update(done, done, force=True)
        self.stream.write("\n")
        self.stream.flush()


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


def part_path(dest_file: Path) -> Path:
    """Where the unfinished bytes of ``dest_file`` live."""
    return dest_file.with_name(dest_file.name + ".part")


def download(url: str, dest_file: Path | str, sha256: str | None = None,
             progress: Progress | None = None, timeout: float = DEFAULT_TIMEOUT,
             attempts: int = DEFAULT_ATTEMPTS, retry_delay: float = 1.0) -> Path:
    """Download ``url`` to ``dest_file`` (resuming a ``.part`` file) and verify its SHA-256.

    Without ``sha256`` the computed digest is logged as a warning so it can be pinned.
    """
    dest_file = Path(dest_file)
    progress = default_progress() if progress is None else progress
    expected = sha256.lower() if sha256 else None
    if expected and dest_file.is_file() and file_sha256(dest_file) == expected:
        LOG.info("%s is already downloaded and verified", dest_file)
        return dest_file
    dest_file.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest_file)
    _fetch_with_retries(url, part, progress, timeout, max(1, attempts), retry_delay)
    _verify(url, part, expected)
    os.replace(part, dest_file)
    return dest_file


def _fetch_with_retries(url: str, part: Path, progress: Progress, timeout: float,
                        attempts: int, retry_delay: float) -> None:
    """Fetch until complete: resume after drops (up to ``attempts``), restart at most once."""
    drops = 0
    restarted = False
    while True:
        try:
            _fetch(url, part, progress, timeout)
            return
        except _Restart as why:
            if restarted:
                raise ModelError(f"could not download {url}: {why}") from None
            LOG.warning("cannot resume (%s); starting the download again", why)
            part.unlink(missing_ok=True)
            restarted = True
        except _Dropped as why:
            drops += 1
            if drops >= attempts:
                raise ModelError(
                    f"could not download {url}: {why}; run the same command again to resume"
                ) from None
            LOG.warning("%s; resuming in %.0f s", why, retry_delay * drops)
            time.sleep(retry_delay * drops)


def _fetch(url: str, part: Path, progress: Progress, timeout: float) -> None:
    """One HTTP request: append to ``part`` if the server resumes, else rewrite it."""
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            raise _Restart("the server rejected the resume request") from None
        raise ModelError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _network_error(url, exc) from None
    with response:
        offset, total = _plan(response, offset)
        progress.start(url, offset, total)
        done = _stream(url, response, part, offset, total, progress)
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


def _stream(url: str, response: http.client.HTTPResponse, part: Path, offset: int,
            total: int | None, progress: Progress) -> int:
    """Copy the body into the part file; returns the bytes on disk afterwards."""
    done = offset
    with _open_part(part, append=bool(offset)) as out:
        while chunk := _read(response, done):
            try:
                out.write(chunk)
            except OSError as exc:
                raise ModelError(f"cannot write {part}: {exc.strerror or exc}") from None
            done += len(chunk)
            progress.update(done, total)
    return done


def _open_part(part: Path, append: bool) -> IO[bytes]:
    try:
        return open(part, "ab" if append else "wb")
    except OSError as exc:
        raise ModelError(f"cannot write {part}: {exc.strerror or exc}") from None


def _read(response: http.client.HTTPResponse, done: int) -> bytes:
    """The next chunk of the body; a network failure becomes _Dropped (resumable)."""
    try:
        return response.read(CHUNK)
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
                   progress: Progress | None = None, force: bool = False,
                   **download_options: float) -> Path:
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
    downloads = dest / ".downloads"
    try:
        downloads.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create {downloads}: {exc.strerror or exc}") from None
    try:
        archive = download(url, downloads / zip_name, sha256, progress, **download_options)
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
