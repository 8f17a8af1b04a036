"""Load the skill from the shipped (or user-given) data; shared by the CLI commands."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import time
from pathlib import Path

from assistant.dialogue import Skill
from assistant.errors import DataError, DataErrors
from assistant.knowledge import Knowledge, load_knowledge
from assistant.nlu.loader import IntentSet, load_intents
from assistant.resources import default_intents_dir, default_knowledge_file, default_lexicon_files
from assistant.situation import Lexicon, load_lexicon

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

    The built skill is cached (pickle, keyed by a hash of the data files and of the code
    that builds it) so that text commands start in well under half a second. Only data
    that validated cleanly is ever cached; any cache problem just means a fresh build.
    """
    intents_dir, knowledge_file = data_paths(intents, knowledge)
    cache_file = _cache_file(intents_dir, knowledge_file)
    if cache_file is not None:
        skill = _read_cache(cache_file)
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
    if cache_file is not None:
        _write_cache(cache_file, skill)
    return skill


_CODE_FILES = (
    "dialogue.py",
    "knowledge.py",
    "safety.py",
    "stages.py",
    "yamlfile.py",
    "nlu/loader.py",
    "nlu/matcher.py",
    "nlu/templates.py",
    "nlu/text.py",
    "nlu/lexicon.py",
    "nlu/phonetic.py",
    "situation/__init__.py",
    "situation/lexicon.py",
    "situation/phrases.py",
    "situation/reader.py",
    "emergency_number.py",
)


def _cache_file(intents_dir: Path, knowledge_file: Path) -> Path | None:
    """Where the built skill for exactly these files and this code is cached."""
    if os.environ.get("ASSISTANT_NO_CACHE"):
        return None
    digest = hashlib.sha256(sys.version.encode())
    try:
        package = Path(__file__).resolve().parent
        for name in _CODE_FILES:
            digest.update((package / name).read_bytes())
        files = sorted(p for p in intents_dir.iterdir() if p.suffix in (".yaml", ".yml"))
        for path in [*files, knowledge_file, *default_lexicon_files()]:
            digest.update(str(path.resolve()).encode())
            digest.update(path.read_bytes())
    except OSError:
        return None  # unreadable data: let the normal load report it properly
    from platformdirs import user_cache_dir

    cache_dir = Path(os.environ.get("ASSISTANT_CACHE_DIR") or user_cache_dir("twitch-assistant"))
    return cache_dir / f"skill-{digest.hexdigest()[:32]}.pickle"


def _read_cache(path: Path) -> Skill | None:
    try:
        with path.open("rb") as handle:
            skill = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a stale or damaged cache is never fatal
        LOG.debug("ignoring skill cache %s: %s", path, exc)
        return None
    return skill if isinstance(skill, Skill) else None


def _write_cache(path: Path, skill: Skill) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("skill-*"):
            old.unlink(missing_ok=True)
        with tmp.open("wb") as handle:
            pickle.dump(skill, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception as exc:  # read-only home, full disk: just build every time
        LOG.debug("could not write skill cache %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
