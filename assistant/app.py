"""Load the skill from the shipped (or user-given) data; shared by the CLI commands."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sys
import time
from pathlib import Path

from assistant import skillcache, userfile
from assistant.atomicfile import pid_alive, replacing
from assistant.dialogue import Skill
from assistant.errors import DataError, DataErrors
from assistant.knowledge import Knowledge, load_knowledge
from assistant.nlu.loader import IntentSet, load_intents
from assistant.resources import default_intents_dir, default_knowledge_file, default_lexicon_files
from assistant.situation import Lexicon, load_lexicon
from assistant.yamlfile import MAX_YAML_BYTES

LOG = logging.getLogger("assistant.app")


def data_paths(intents: str | None, knowledge: str | None) -> tuple[Path, Path]:
    """The intents folder and knowledge file to use (options win over shipped data)."""
    return (
        Path(intents) if intents else default_intents_dir(),
        Path(knowledge) if knowledge else default_knowledge_file(),
    )


def load_data(
    intents: str | None = None, knowledge: str | None = None
) -> tuple[IntentSet, Knowledge]:
    """Load both data sets; raises DataErrors listing every problem in both."""
    intents_dir, knowledge_file = data_paths(intents, knowledge)
    errors: list[DataError] = []
    started = time.perf_counter()
    intent_set = _collecting(errors, load_intents, intents_dir)
    kb = _collecting(errors, load_knowledge, knowledge_file)
    if errors or intent_set is None or kb is None:
        raise DataErrors(errors)
    LOG.info(
        "loaded %d intents and %d answers in %.0f ms",
        len(intent_set.intents),
        len(kb.answers),
        (time.perf_counter() - started) * 1000,
    )
    return intent_set, kb


def load_signs() -> Lexicon:
    """The shipped sign lexicon and context triggers; raises DataErrors."""
    return load_lexicon(*default_lexicon_files())


def _collecting(errors: list[DataError], load, *paths: Path):
    """``load(*paths)``, adding its data errors to ``errors`` (None on failure)."""
    try:
        return load(*paths)
    except DataErrors as exc:
        errors.extend(exc.errors)
    except DataError as exc:
        errors.append(exc)
    return None


def load_skill(intents: str | None = None, knowledge: str | None = None) -> Skill:
    """Data loaded, validated and cross-checked, ready for ``Skill.turn``.

    The built skill is cached (plain JSON data, see ``assistant.skillcache``; keyed by a
    hash of the data files and of the code that builds it) so that text commands start in
    well under half a second. Only data that validated cleanly is ever cached; any cache
    problem just means a fresh build.
    """
    intents_dir, knowledge_file = data_paths(intents, knowledge)
    cache = _cache_file(intents_dir, knowledge_file)
    if cache is not None:
        skill = _read_cache(*cache)
        if skill is not None:
            return skill
    errors: list[DataError] = []
    lexicon = _collecting(errors, load_lexicon, *default_lexicon_files())
    intent_set, kb = load_data(intents, knowledge)
    from assistant.coverage import missing_answers

    problems = missing_answers(intent_set, kb)
    if problems or errors or lexicon is None:
        raise DataErrors(errors + problems)
    skill = Skill(intent_set, kb, lexicon)
    # The sampled sentences trained the matcher; answering never reads them again, and they
    # were over half of the cache (5 of 9 MB, most of its read time).
    intent_set.examples = []
    if cache is not None:
        _write_cache(*cache, skill)
    return skill


CACHED_LIBRARIES = ("hassil",)
"""Libraries whose objects are in the cache (hassil's parse results): their versions are part
of the key, as is every source file of the package (about 3 ms to hash: cheaper than a list
of the files that shape the skill, kept by hand, which once missed one)."""
CACHE_PREFIX = "skill-"
CACHE_SUFFIX = ".json"
_CACHE_NAME = re.compile(r"skill-[0-9a-f]{32}\.json")
"""Exactly the names this code writes: nothing else in the cache folder is ever deleted."""
_CACHE_TEMP = re.compile(r"\.skill-[0-9a-f]{32}\.json\.(\d+)\.tmp")
MAX_CACHE_BYTES = 64_000_000
"""The cache of the shipped data is about 3 MB; a larger file is not ours."""


def _data_digest(intents_dir: Path, knowledge_file: Path) -> str | None:
    """Hash of the Python version, the cached libraries' versions, our code and the data
    files; None if any is unreadable (the normal load then reports the problem properly)."""
    from importlib import metadata

    digest = hashlib.sha256(sys.version.encode())
    try:
        for library in CACHED_LIBRARIES:
            digest.update(f"{library} {metadata.version(library)}".encode())
        package = Path(__file__).resolve().parent
        for source in sorted(package.rglob("*.py")):
            digest.update(str(source.relative_to(package)).encode())
            digest.update(source.read_bytes())
        files = sorted(p for p in intents_dir.iterdir() if p.suffix in (".yaml", ".yml"))
        for path in [*files, knowledge_file, *default_lexicon_files()]:
            digest.update(str(path.resolve()).encode())
            digest.update(userfile.read_bytes(path, MAX_YAML_BYTES, "YAML file"))
    except (OSError, userfile.UserFileError, metadata.PackageNotFoundError):
        return None
    return digest.hexdigest()[:32]


def _cache_file(intents_dir: Path, knowledge_file: Path) -> tuple[Path, str] | None:
    """Where the built skill for exactly these files and this code is cached, and its key."""
    if os.environ.get("ASSISTANT_NO_CACHE"):
        return None
    key = _data_digest(intents_dir, knowledge_file)
    if key is None:
        return None
    from platformdirs import user_cache_dir

    cache_dir = Path(os.environ.get("ASSISTANT_CACHE_DIR") or user_cache_dir("twitch-assistant"))
    return cache_dir / f"{CACHE_PREFIX}{key}{CACHE_SUFFIX}", key


def _read_cache(path: Path, key: str) -> Skill | None:
    try:
        raw = userfile.read_bytes(path, MAX_CACHE_BYTES, "cache file")
    except userfile.UserFileError as exc:
        if exc.reason != "no such file":
            LOG.debug("ignoring skill cache %s: %s", path, exc.reason)
        return None
    try:
        skill = skillcache.loads(raw, key)
    except skillcache.CacheFormatError as exc:  # a stale or damaged cache is never fatal
        LOG.debug("ignoring skill cache %s: %s", path, exc)
        return None
    return skill if isinstance(skill, Skill) else None


def _write_cache(path: Path, key: str, skill: Skill) -> None:
    """Write the cache atomically, then delete older caches: only files whose names this
    code writes (``skill-<32 hex>.json`` and its own temporary files of dead processes)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        text = skillcache.dumps(skill, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, temp=temp) as written:
            written.write_text(text, encoding="utf-8")
    except (OSError, skillcache.CacheFormatError, RecursionError) as exc:
        # read-only home, full disk, a cache "folder" that is a file: build every time
        LOG.debug("could not write skill cache %s: %s", path, exc)
        return
    _remove_old_caches(path)


def _remove_old_caches(keep: Path) -> None:
    try:
        entries = list(keep.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name == keep.name:
            continue
        temp = _CACHE_TEMP.fullmatch(entry.name)
        ours = _CACHE_NAME.fullmatch(entry.name) or (temp and not pid_alive(int(temp[1])))
        if ours and entry.is_file() and not entry.is_symlink():
            with contextlib.suppress(OSError):
                entry.unlink()
