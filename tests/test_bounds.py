"""The bounded readers and the caps behind issue 11, tested in-process (the end-to-end
cases are in test_redteam.py): user files, YAML aliases and long numbers, settings kept
aside on save, the JSON skill cache, template caps, download limits and zip bombs."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from hassil.parse_expression import parse_sentence
from test_download import FAST, ModelServer, make_model_dir, model_zip, server  # noqa: F401

from assistant import download, modelstore, skillcache, userfile
from assistant.errors import ModelError
from assistant.nlu.templates import MAX_PERMUTATION_ITEMS, Grammar, TemplateTooLarge
from assistant.settings import (
    RATE_MAX,
    VOLUME_MIN,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
)
from assistant.yamlfile import TooLongNumber, YamlTooLarge, parse_yaml

BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


# -- user files ---------------------------------------------------------------------------------
def test_fifo_is_refused_at_once_without_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(userfile.UserFileError, match="pipe"):
        userfile.read_bytes(fifo, 100)
    assert time.monotonic() - started < 1


def test_device_is_refused_and_size_is_checked_while_reading(tmp_path: Path) -> None:
    with pytest.raises(userfile.UserFileError, match="character device"):
        userfile.read_bytes("/dev/zero", 100)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1000)
    with pytest.raises(userfile.UserFileError, match="too large"):
        userfile.read_bytes(big, 999)
    assert userfile.read_bytes(big, 1000) == b"x" * 1000


def test_bounded_lines_stop_at_an_endless_line() -> None:
    stream = io.BytesIO(b"short\n" + b"z" * 5000)
    lines = userfile.bounded_lines(stream, 100)
    assert next(lines) == (1, b"short\n")
    with pytest.raises(userfile.UserFileError, match="line 2 is longer"):
        next(lines)


# -- YAML ---------------------------------------------------------------------------------------
def test_alias_bomb_is_refused_before_building_with_its_line() -> None:
    started = time.monotonic()
    with pytest.raises(YamlTooLarge) as caught:
        parse_yaml(BOMB)
    assert time.monotonic() - started < 0.5
    assert caught.value.line is not None and "alias" in caught.value.message


def test_self_referring_alias_and_normal_aliases() -> None:
    with pytest.raises(YamlTooLarge, match="refers to itself"):
        parse_yaml("a: &a [1, *a]\n")
    assert parse_yaml("a: &x {b: 1}\nc: *x\n") == {"a": {"b": 1}, "c": {"b": 1}}


def test_too_long_integer_is_a_value_not_a_failure() -> None:
    data = parse_yaml("rate: -" + "9" * 5000 + "\nvolume: 1\n")
    assert data["rate"] == TooLongNumber(5000, negative=True)
    assert data["volume"] == 1


# -- settings ------------------------------------------------------------------------------------
def test_save_keeps_a_damaged_file_under_a_free_name(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    (tmp_path / "settings.yaml.bad").write_text("older copy")
    path.write_text("rate: [oops\n")
    save_settings(Settings(rate=200), path)
    assert (tmp_path / "settings.yaml.bad").read_text() == "older copy"
    assert (tmp_path / "settings.yaml.bad.1").read_text() == "rate: [oops\n"
    assert load_settings(path).rate == 200
    save_settings(Settings(rate=225), path)  # a clean file is simply replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "settings.yaml", "settings.yaml.bad", "settings.yaml.bad.1"]


def test_save_never_replaces_a_device(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not a regular file"):
        save_settings(Settings(), "/dev/null")
    assert Path("/dev/null").is_char_device()


def test_out_of_range_values_in_settings(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("rate: " + "9" * 5000 + "\nvolume: -5\n")
    settings = load_settings(path)
    assert (settings.rate, settings.volume) == (RATE_MAX, VOLUME_MIN)
    assert settings.warning and "damaged" not in settings.warning
    assert "5000-digit" in settings.warning and len(settings.warning) < 300
    assert settings.spoken_warning and "not valid" in settings.spoken_warning


def test_alias_bomb_settings_give_defaults_quickly(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(BOMB + "rate: *i\n")
    started = time.monotonic()
    settings = load_settings(path)
    assert time.monotonic() - started < 0.5
    assert settings == Settings() and settings.warning and f"{path}:" in settings.warning
    assert path.read_text().startswith("a: &a")


# -- skill cache ---------------------------------------------------------------------------------
def test_cache_round_trip_keeps_sharing_and_types() -> None:
    from assistant.nlu.loader import Template

    shared = Template("i", "src", "p", 3)
    value = {"list": [shared, shared], "t": ("a", "b"), "f": frozenset({"x"}), 1.5: None}
    back = skillcache.loads(skillcache.dumps(value, "k"), "k")
    assert back == value
    assert back["list"][0] is back["list"][1]


@pytest.mark.parametrize(
    "classes",
    [[["os:system"]], [["builtins:eval"]], [["subprocess:Popen", "args"]],
     [["assistant.nlu.no_such_module:X"]], [["assistant.errors:AssistantError"]]],
)
def test_cache_never_builds_foreign_or_unsafe_classes(classes: list[list[str]]) -> None:
    text = json.dumps(
        {"format": skillcache.FORMAT, "version": 1, "key": "k", "classes": classes,
         "root": ["o", 0, 0]}
    )
    with pytest.raises(skillcache.CacheFormatError):
        skillcache.loads(text, "k")


@pytest.mark.parametrize("text", [b"\x80\x04junk", b"[]", b"{}", b'{"format": 1}', b"[" * 100_000])
def test_damaged_cache_is_a_format_error(text: bytes) -> None:
    with pytest.raises(skillcache.CacheFormatError):
        skillcache.loads(text, "k")


# -- templates ----------------------------------------------------------------------------------
def test_permutation_cap() -> None:
    grammar = Grammar(rules={}, lists={}, tokenize=str.split)
    ok = parse_sentence("(" + ";".join("abcdef"[:MAX_PERMUTATION_ITEMS]) + ")").expression
    assert grammar.to_regex(ok, {})
    big = parse_sentence("(a;b;c;d;e;f;g)").expression
    with pytest.raises(TemplateTooLarge, match="5,040 orders"):
        grammar.to_regex(big, {})
    with pytest.raises(TemplateTooLarge):
        grammar.expand(big)


def test_nested_rules_are_capped_and_walked_once() -> None:
    rules = {"r0": parse_sentence("(a|b)").expression}
    for i in range(1, 40):
        rules[f"r{i}"] = parse_sentence(f"(<r{i - 1}>|x) (<r{i - 1}>|y)").expression
    grammar = Grammar(rules=rules, lists={}, tokenize=str.split)
    top = parse_sentence("<r39>").expression
    started = time.monotonic()
    assert grammar.required(top) == frozenset()
    assert grammar.first_words(top)[0] >= {"a", "b"}
    with pytest.raises(TemplateTooLarge):
        grammar.to_regex(top, {})
    assert time.monotonic() - started < 2


# -- downloads and archives ---------------------------------------------------------------------
def test_download_larger_than_the_known_size_is_refused_and_deleted(
    server: ModelServer, tmp_path: Path  # noqa: F811
) -> None:
    server.files["model.zip"] = b"z" * 5000
    dest = tmp_path / "model.zip"
    with pytest.raises(ModelError, match="announces"):
        download.download(server.url("model.zip"), dest, None, max_bytes=1000, **FAST)
    assert not download.part_path(dest).exists()


def test_download_deadline(server: ModelServer, tmp_path: Path) -> None:  # noqa: F811
    server.files["model.zip"] = model_zip()
    server.stall = 3.0
    started = time.monotonic()
    with pytest.raises(ModelError, match="longer than 1 s"):
        download.download(server.url("model.zip"), tmp_path / "m.zip", None, deadline=1.0,
                          **FAST)
    assert time.monotonic() - started < 2.5


def test_zip_bomb_is_refused_before_unpacking(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for rel, data in {"m/conf/model.conf": b"x", "m/graph/HCLG.fst": b"y"}.items():
            archive.writestr(rel, data)
        with archive.open("m/am/final.mdl", "w", force_zip64=True) as member:
            for _ in range(120):
                member.write(b"\0" * (1 << 20))
    dest = tmp_path / "models"
    with pytest.raises(modelstore.ArchiveError, match="zip bomb"):
        modelstore.install_from(bomb, dest)
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_replacing_a_model_is_still_allowed(tmp_path: Path) -> None:
    source = make_model_dir(tmp_path / "src")
    dest = tmp_path / "models"
    modelstore.install_from(source, dest, name="m")
    (source / "README").write_bytes(b"new version\n")
    installed = modelstore.install_from(source, dest, name="m")
    assert (installed / "README").read_bytes() == b"new version\n"


def test_a_fifo_inside_a_model_folder_is_refused_without_hanging(tmp_path: Path) -> None:
    source = make_model_dir(tmp_path / "src")
    os.mkfifo(source / "am" / "pipe")
    started = time.monotonic()
    with pytest.raises(modelstore.ArchiveError, match="not a regular file"):
        modelstore.install_from(source, tmp_path / "models")
    assert time.monotonic() - started < 2
