"""Downloads against a real HTTP server on 127.0.0.1 serving a zip the test builds.

The server (``ModelServer``) honours ``Range: bytes=N-`` and can misbehave on purpose: cut the
connection after some bytes, never send past some offset, ignore Range, stall. The helpers
here (fake model, zips, server) are also used by test_model_cli.py.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import download, modelstore
from assistant.errors import ModelError

FAKE_MODEL_FILES = {
    "am/final.mdl": b"fake acoustic model " * 50,
    "conf/model.conf": b"--sample-frequency=16000\n",
    "graph/HCLr.fst": b"fake HCLr " * 40,
    "graph/Gr.fst": b"fake Gr " * 40,
    "README": b"a fake model for tests\n",
}


# --- helpers shared with the other model tests ---------------------------------------------------


def make_model_dir(path: Path, files: dict[str, bytes] | None = None) -> Path:
    """A small folder laid out like a Vosk model (it will not load in Vosk)."""
    for rel, data in (FAKE_MODEL_FILES if files is None else files).items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return path


def zip_bytes(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A zip holding ``entries`` (names used verbatim) and optional symlink members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buffer.getvalue()


def model_zip(top: str = "vosk-model-test-0.1", drop: str | None = None,
              extra: dict[str, bytes] | None = None) -> bytes:
    """A zip like the official ones: one top folder holding the model."""
    entries = {f"{top}/{rel}": data for rel, data in FAKE_MODEL_FILES.items()
               if not (drop and rel.startswith(drop))}
    entries.update(extra or {})
    return zip_bytes(entries)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ModelServer(http.server.ThreadingHTTPServer):
    """Serves ``files`` over HTTP/1.0 with Range support and switchable faults."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[dict[str, str | None]] = []
        self.drops_left = 0
        """Cut the next this-many responses after ``drop_after`` bytes of body."""
        self.drop_after = 0
        self.cap: int | None = None
        """Never send bytes at or past this offset of the file (announcing the full length)."""
        self.ignore_range = False
        self.stall = 0.0
        self.lock = threading.Lock()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"

    def ranges(self) -> list[str | None]:
        return [r["range"] for r in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ModelServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        srv = self.server
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append({"path": self.path, "range": rng})
            cut = srv.drops_left > 0
            srv.drops_left -= 1 if cut else 0
        data = srv.files.get(self.path.lstrip("/"))
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = self._start(rng, len(data))
        if start is None:
            return
        body = data[start:]
        self.send_response(206 if start or (rng and not srv.ignore_range) else 200)
        self.send_header("Content-Length", str(len(body)))
        if rng and not srv.ignore_range:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        self._send_body(body, start, cut)

    def _start(self, rng: str | None, size: int) -> int | None:
        if not rng or self.server.ignore_range:
            return 0
        match = re.fullmatch(r"bytes=(\d+)-", rng)
        start = int(match.group(1)) if match else size
        if start >= size:
            self.send_error(416, "Range Not Satisfiable")
            return None
        return start

    def _send_body(self, body: bytes, start: int, cut: bool) -> None:
        srv = self.server
        limit = len(body)
        if cut:
            limit = min(limit, srv.drop_after)
        if srv.cap is not None:
            limit = min(limit, max(0, srv.cap - start))
        if srv.stall:
            time.sleep(srv.stall)
        try:
            self.wfile.write(body[:limit])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if limit < len(body):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server() -> Iterator[ModelServer]:
    srv = ModelServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FAST = {"progress": download.NoProgress(), "retry_delay": 0.05}


# --- download() ----------------------------------------------------------------------------------


def test_full_download_verifies_and_keeps_no_part_file(server: ModelServer, tmp_path: Path):
    data = model_zip()
    server.files["model.zip"] = data
    dest = tmp_path / "model.zip"

    result = download.download(server.url("model.zip"), dest, sha256_hex(data), **FAST)

    assert result == dest
    assert dest.read_bytes() == data
    assert not download.part_path(dest).exists()
    assert server.ranges() == [None]


def test_verified_file_is_not_downloaded_again(server: ModelServer, tmp_path: Path):
    data = model_zip()
    dest = tmp_path / "model.zip"
    dest.write_bytes(data)

    download.download(server.url("model.zip"), dest, sha256_hex(data), **FAST)

    assert server.requests == []


def test_dropped_connection_resumes_with_range_in_the_same_run(server: ModelServer,
                                                               tmp_path: Path):
    data = model_zip(extra={"big.bin": bytes(range(256)) * 400})
    server.files["model.zip"] = data
    server.drops_left, server.drop_after = 1, 1000
    dest = tmp_path / "model.zip"

    download.download(server.url("model.zip"), dest, sha256_hex(data), **FAST)

    assert dest.read_bytes() == data
    assert server.ranges() == [None, "bytes=1000-"]


def test_interrupted_download_then_a_retry_resumes(server: ModelServer, tmp_path: Path):
    data = model_zip(extra={"big.bin": bytes(range(256)) * 400})
    server.files["model.zip"] = data
    server.drops_left, server.drop_after = 1, 5000
    dest = tmp_path / "model.zip"
    url = server.url("model.zip")

    with pytest.raises(ModelError) as failed:
        download.download(url, dest, sha256_hex(data), attempts=1, **FAST)
    assert url in failed.value.message and "resume" in failed.value.message
    assert download.part_path(dest).stat().st_size == 5000
    assert not dest.exists()

    download.download(url, dest, sha256_hex(data), **FAST)

    assert dest.read_bytes() == data
    assert server.ranges() == [None, "bytes=5000-"]


def test_server_ignoring_range_restarts_from_zero(server: ModelServer, tmp_path: Path):
    data = model_zip()
    server.files["model.zip"] = data
    server.ignore_range = True
    dest = tmp_path / "model.zip"
    download.part_path(dest).write_bytes(data[:300])

    download.download(server.url("model.zip"), dest, sha256_hex(data), **FAST)

    assert dest.read_bytes() == data
    assert server.ranges() == ["bytes=300-"]


def test_part_longer_than_the_file_restarts(server: ModelServer, tmp_path: Path):
    data = model_zip()
    server.files["model.zip"] = data
    dest = tmp_path / "model.zip"
    download.part_path(dest).write_bytes(b"x" * (len(data) + 10))

    download.download(server.url("model.zip"), dest, sha256_hex(data), **FAST)

    assert dest.read_bytes() == data
    assert server.ranges() == [f"bytes={len(data) + 10}-", None]


def test_restart_does_not_use_up_the_only_attempt(server: ModelServer, tmp_path: Path):
    data = model_zip()
    server.files["model.zip"] = data
    dest = tmp_path / "model.zip"
    download.part_path(dest).write_bytes(b"x" * (len(data) + 10))

    download.download(server.url("model.zip"), dest, sha256_hex(data), attempts=1, **FAST)

    assert dest.read_bytes() == data


def test_wrong_checksum_keeps_nothing(server: ModelServer, tmp_path: Path):
    server.files["model.zip"] = model_zip()
    dest = tmp_path / "model.zip"

    with pytest.raises(ModelError, match="checksum mismatch") as failed:
        download.download(server.url("model.zip"), dest, "0" * 64, **FAST)

    assert server.url("model.zip") in failed.value.message
    assert list(tmp_path.iterdir()) == []


def test_server_that_never_sends_everything_fails_after_retries(server: ModelServer,
                                                               tmp_path: Path):
    data = model_zip()
    server.files["model.zip"] = data
    server.cap = len(data) // 2
    dest = tmp_path / "model.zip"

    with pytest.raises(ModelError, match="run the same command again to resume"):
        download.download(server.url("model.zip"), dest, sha256_hex(data), attempts=3, **FAST)

    assert not dest.exists()
    assert len(server.requests) == 3
    assert server.ranges()[1] == f"bytes={len(data) // 2}-"


def test_http_error_names_url_and_status(server: ModelServer, tmp_path: Path):
    url = server.url("missing.zip")
    with pytest.raises(ModelError, match="HTTP 404") as failed:
        download.download(url, tmp_path / "m.zip", None, **FAST)
    assert url in failed.value.message


def test_connection_refused_is_a_model_error(tmp_path: Path):
    url = f"http://127.0.0.1:{closed_port()}/model.zip"
    with pytest.raises(ModelError, match="could not download") as failed:
        download.download(url, tmp_path / "m.zip", None, **FAST)
    assert url in failed.value.message
    assert "Connection refused" in failed.value.message


def test_stalled_server_times_out(server: ModelServer, tmp_path: Path):
    server.files["model.zip"] = model_zip()
    server.stall = 1.5
    with pytest.raises(ModelError, match="timed out"):
        download.download(server.url("model.zip"), tmp_path / "m.zip", None, timeout=0.3,
                          attempts=1, **FAST)


def test_without_checksum_the_digest_is_logged(server: ModelServer, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture):
    data = model_zip()
    server.files["model.zip"] = data
    with caplog.at_level(logging.WARNING, logger="assistant.models"):
        download.download(server.url("model.zip"), tmp_path / "m.zip", None, **FAST)
    assert sha256_hex(data) in caplog.text


# --- progress ------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_pipe_is_a_few_lines(server: ModelServer, tmp_path: Path):
    data = model_zip(extra={"big.bin": bytes(range(256)) * 4000})
    server.files["model.zip"] = data
    out = io.StringIO()
    progress = download.default_progress(out)
    assert isinstance(progress, download.LineProgress)

    download.download(server.url("model.zip"), tmp_path / "m.zip", sha256_hex(data),
                      progress=progress)

    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert 3 <= len(lines) <= 13
    assert any("100%" in line for line in lines)


def test_progress_on_a_terminal_is_one_updating_line(server: ModelServer, tmp_path: Path):
    data = model_zip(extra={"big.bin": bytes(range(256)) * 4000})
    server.files["model.zip"] = data
    out = _Terminal()
    progress = download.default_progress(out)
    assert isinstance(progress, download.BarProgress)

    download.download(server.url("model.zip"), tmp_path / "m.zip", sha256_hex(data),
                      progress=progress)

    text = out.getvalue()
    assert text.count("\n") == 2  # the "downloading URL" line and the finished bar
    assert "\r" in text and "100%" in text  # tqdm's bar, redrawn in place
    assert re.search(r" (\d[\d.]*M)/\1 \[", text.splitlines()[-1])  # done/total bytes (SI)
    assert "B/s" in text


# --- download_model() ----------------------------------------------------------------------------


def test_download_model_installs_and_cleans_up(server: ModelServer, tmp_path: Path):
    data = model_zip(top="vosk-model-test-0.1")
    server.files["vosk-model-test-0.1.zip"] = data
    dest = tmp_path / "models"

    installed = download.download_model(server.url("vosk-model-test-0.1.zip"),
                                        sha256_hex(data), dest, **FAST)

    assert installed == dest / "vosk-model-test-0.1"
    assert modelstore.is_model_dir(installed)
    assert sorted(p.name for p in dest.iterdir()) == ["vosk-model-test-0.1"]


def test_download_model_skips_an_installed_model(server: ModelServer, tmp_path: Path):
    make_model_dir(tmp_path / "vosk-model-test-0.1")

    installed = download.download_model(server.url("vosk-model-test-0.1.zip"), None, tmp_path,
                                        **FAST)

    assert installed == tmp_path / "vosk-model-test-0.1"
    assert server.requests == []


def test_download_model_with_a_truncated_zip_installs_nothing(server: ModelServer,
                                                              tmp_path: Path):
    data = model_zip()[:-100]  # the checksum matches, but the archive is cut short
    server.files["model.zip"] = data

    with pytest.raises(ModelError, match="corrupt or truncated"):
        download.download_model(server.url("model.zip"), sha256_hex(data), tmp_path, **FAST)

    assert list(tmp_path.iterdir()) == []


def test_archive_name_is_a_safe_file_name():
    assert download.archive_name("https://x/models/vosk-model-a-0.1.zip") == "vosk-model-a-0.1.zip"
    assert download.archive_name("https://x/get?id=3") == "get.zip"
    assert download.archive_name("https://x/..%2F..%2Fetc%2Fpasswd") == "passwd.zip"
    assert download.archive_name("https://x/") == "model.zip"
