"""Where Vosk models live, how one is chosen, and how one is installed safely.

No Vosk import here: finding, validating and unpacking a model is plain file work, so commands
that only need a path stay fast. Installation never leaves a half-unpacked folder under a
model's final name: everything is staged in a hidden temporary folder beside the destination
(same filesystem) and renamed into place only once it validated.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from assistant import resources
from assistant.atomicfile import pid_alive
from assistant.errors import ModelError

LOG = logging.getLogger("assistant.models")

DEFAULT_MODEL_NAME = "vosk-model-small-en-us-0.15"
DEFAULT_MODEL_URL = f"https://alphacephei.com/vosk/models/{DEFAULT_MODEL_NAME}.zip"
DEFAULT_MODEL_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
"""SHA-256 of the official zip (41 205 931 bytes). The Vosk catalogue (model-list.json) only
lists MD5 and size; this value is the Git LFS object id of Rhasspy's mirror of the same file
(huggingface.co/rhasspy/vosk-models, en/vosk-model-small-en-us-0.15.zip, size 41205931), and
several independent projects pin the same hash for the alphacephei.com URL."""
DEFAULT_MODEL_BYTES = 41_205_931
"""Size of the official zip (the catalogue's figure): the download never takes more."""

MODELS_DIR_ENV = "ASSISTANT_MODELS_DIR"
MODEL_ENV = "ASSISTANT_MODEL"
APP_NAME = "twitch-assistant"

_TEMP_PREFIX = ".tmp-"
"""Staging and set-aside folders start with this (hidden, so never listed as models)."""

HOW_TO_GET_A_MODEL = (
    "run 'assistant model download' to fetch the English model (about 40 MB, once), "
    "or 'assistant model install ZIP' to install a copy you already have"
)
SPOKEN_NO_MODEL = (
    "I have no speech model yet. Please run assistant model download, then start me again."
)
SPOKEN_BROKEN_MODEL = "My speech model is incomplete. Please install it again."


class ArchiveError(ModelError):
    """The archive or folder to install is corrupt, unsafe or not a Vosk model."""


class DiskSpaceError(ModelError):
    """Not enough room to unpack; the downloaded file itself is still good."""


MAX_UNPACKED_BYTES = 12_000_000_000
"""No Vosk model is larger unpacked (the biggest are about 4 GB)."""
MAX_RATIO = 25
"""Unpacked / packed size of a whole archive. Model files compress 1.1-3x; a zip bomb
(8.3 MB -> 8.6 GB) is over 1000x."""
RATIO_FROM_BYTES = 100_000_000
"""The ratio is checked only past this unpacked size (tiny text-only zips compress well)."""
MAX_MODEL_FILES = 100_000
"""Members in an archive or files in a folder; a model has a few dozen."""


@dataclass(frozen=True)
class ModelInfo:
    """One installed model, as ``assistant model list`` shows it."""

    name: str
    path: Path
    size_bytes: int
    grammar: bool


# --- where models live ---------------------------------------------------------------------------


def models_dir() -> Path:
    """The folder that holds installed models (it may not exist yet).

    ``$ASSISTANT_MODELS_DIR`` wins; a source checkout uses its own ``models/`` so developers
    keep everything in the tree; an installed package uses the user's data directory.
    """
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    root = resources.source_checkout_root()
    if root is not None:
        return root / "models"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "models"


# --- what a model looks like ---------------------------------------------------------------------


def _missing_parts(path: Path) -> list[str]:
    """What a Vosk model folder lacks (empty when complete).

    Vosk needs the acoustic model, its configuration and a decoding graph: either a static
    ``HCLG.fst`` (big models, in ``graph/`` or at the top) or the dynamic pair
    ``graph/HCLr.fst`` + ``graph/Gr.fst`` (small models). Empty files count as missing: that is
    what an interrupted copy leaves behind.
    """
    missing = [rel for rel in ("am/final.mdl", "conf/model.conf") if not _non_empty(path / rel)]
    has_graph = (
        _non_empty(path / "graph" / "HCLG.fst")
        or _non_empty(path / "HCLG.fst")
        or (_non_empty(path / "graph" / "HCLr.fst") and _non_empty(path / "graph" / "Gr.fst"))
    )
    if not has_graph:
        missing.append("graph/ (HCLG.fst, or HCLr.fst and Gr.fst)")
    return missing


def _non_empty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def validate_model_dir(path: Path | str) -> None:
    """Raise ModelError naming what is missing unless ``path`` is a complete Vosk model."""
    path = Path(path)
    if not path.exists():
        raise ModelError(
            f"no model folder at {path} (check the path; 'assistant model list' shows the "
            "installed models, 'assistant model download' installs one)",
            spoken=SPOKEN_NO_MODEL,
        )
    if not path.is_dir():
        raise ModelError(
            f"{path} is a file, not a model folder (to install a zip: 'assistant model install "
            f"{path}')",
            spoken=SPOKEN_BROKEN_MODEL,
        )
    missing = _missing_parts(path)
    if missing:
        raise ModelError(
            f"{path} is not a complete Vosk model: missing {', '.join(missing)}; "
            "install it again ('assistant model download' or 'assistant model install ZIP')",
            spoken=SPOKEN_BROKEN_MODEL,
        )


def is_model_dir(path: Path | str) -> bool:
    """True when ``path`` is a complete Vosk model folder."""
    path = Path(path)
    return path.is_dir() and not _missing_parts(path)


def supports_grammar(path: Path | str) -> bool:
    """True when the model has a dynamic graph, which Vosk's grammar mode requires."""
    graph = Path(path) / "graph"
    return _non_empty(graph / "HCLr.fst") and _non_empty(graph / "Gr.fst")


def _folder_size(path: Path) -> int:
    total = 0
    for entry in path.rglob("*"):
        try:
            if entry.is_file() and not entry.is_symlink():
                total += entry.stat().st_size
        except OSError:
            continue
    return total


def _candidate_dirs(root: Path) -> list[Path]:
    """Visible sub-folders of ``root`` (hidden ones are downloads and staging areas)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_models(root: Path | None = None) -> list[ModelInfo]:
    """The complete models installed in ``root`` (default: models_dir()), sorted by name."""
    root = models_dir() if root is None else root
    return [
        ModelInfo(p.name, p, _folder_size(p), supports_grammar(p))
        for p in _candidate_dirs(root)
        if is_model_dir(p)
    ]


def incomplete_models(root: Path | None = None) -> dict[Path, list[str]]:
    """Folders in ``root`` that look like broken models, with what each lacks."""
    root = models_dir() if root is None else root
    found = {}
    for path in _candidate_dirs(root):
        missing = _missing_parts(path)
        if missing:
            found[path] = missing
    return found


# --- choosing a model ----------------------------------------------------------------------------


def resolve_model(explicit: str | Path | None = None) -> Path:
    """The model to use: ``--model DIR``, ``$ASSISTANT_MODEL``, the default, or the only one.

    Raises ModelError that says exactly which command fixes the problem.
    """
    if explicit:
        return _checked(Path(explicit).expanduser(), None)
    from_env = os.environ.get(MODEL_ENV)
    if from_env:
        return _checked(Path(from_env).expanduser(), f"${MODEL_ENV}")
    root = models_dir()
    default = root / DEFAULT_MODEL_NAME
    if default.exists():
        return _checked(default, None)
    models = list_models(root)
    if len(models) == 1:
        return models[0].path.resolve()
    if len(models) > 1:
        names = ", ".join(m.name for m in models)
        raise ModelError(
            f"several models in {root} ({names}) and none is the default "
            f"{DEFAULT_MODEL_NAME}; choose one with --model DIR or ${MODEL_ENV}",
            spoken="I have several speech models and do not know which one to use.",
        )
    raise _no_model_error(root)


def _checked(path: Path, source: str | None) -> Path:
    """Validate a model the user named; the message says where the path came from."""
    try:
        validate_model_dir(path)
    except ModelError as exc:
        message = f"{source}: {exc.message}" if source else exc.message
        inner = [p for p in _candidate_dirs(path) if is_model_dir(p)] if path.is_dir() else []
        if len(inner) == 1:
            message += f" (did you mean {inner[0]}?)"
        raise ModelError(message, spoken=exc.spoken) from None
    return path.resolve()


def _no_model_error(root: Path) -> ModelError:
    broken = incomplete_models(root)
    if broken:
        path, missing = next(iter(broken.items()))
        return ModelError(
            f"the model in {path} is incomplete (missing {', '.join(missing)}); "
            f"{HOW_TO_GET_A_MODEL}",
            spoken=SPOKEN_BROKEN_MODEL,
        )
    return ModelError(f"no speech model found in {root}; {HOW_TO_GET_A_MODEL}",
                      spoken=SPOKEN_NO_MODEL)


# --- installing ----------------------------------------------------------------------------------


def install_from(source: Path | str, dest_dir: Path | str | None = None,
                 name: str | None = None) -> Path:
    """Install a model from a ``.zip`` or an unpacked folder into ``dest_dir``; return its path.

    The model is staged beside the destination, validated, then renamed into place; a model
    already installed under the same name is replaced only after the new one validated.
    """
    source = Path(source).expanduser()
    dest = (models_dir() if dest_dir is None else Path(dest_dir).expanduser()).absolute()
    if not source.exists():
        raise ModelError(f"nothing to install: {source} does not exist")
    _make_dir(dest)
    _sweep_stale(dest)
    staging = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", dir=dest))
    try:
        if source.is_dir():
            root, default_name = _stage_folder(source, staging)
        else:
            root, default_name = _stage_zip(source, staging)
        final_name = _safe_name(name or default_name)
        _validate_staged(root, source)
        installed = _commit(root, dest / final_name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    LOG.info("installed model %s from %s", installed, source)
    return installed


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model folder {path}: {exc.strerror or exc}") from None


def _validate_staged(root: Path, source: Path) -> None:
    """Validate an unpacked model, blaming the archive or folder the user gave."""
    missing = _missing_parts(root)
    if missing:
        raise ArchiveError(
            f"{source} does not contain a Vosk model: missing {', '.join(missing)} "
            "(a model has am/final.mdl, conf/model.conf and graph/)"
        )


def _safe_name(name: str) -> str:
    if not name or name.startswith(".") or "/" in name or "\\" in name or name in {"..", "."}:
        raise ModelError(f"unusable model name {name!r}: use a plain folder name")
    return name


def _default_folder_name(source: Path) -> str:
    """A folder named ``model`` (as in pip-packaged models) is named after its parent."""
    if source.name.lower() in {"model", "models"} and source.parent.name:
        return source.parent.name
    return source.name


def _stage_folder(source: Path, staging: Path) -> tuple[Path, str]:
    """Copy a model folder: regular files and folders only, never following a symlink.

    A symlink inside a model could point anywhere (``/etc/passwd``, a whole home folder) and
    a FIFO or device would hang the copy, so any such entry refuses the install.
    """
    source = source.resolve()  # the folder named itself may be a link; nothing inside it
    _validate_staged(source, source)
    files = _scan_folder(source)
    _check_space(staging, sum(size for _, size in files))
    target = staging / "model"
    try:
        target.mkdir()
        for rel, size in files:
            _copy_entry(source, target, rel, size)
    except OSError as exc:
        raise ModelError(f"could not copy {source}: {_reason(exc)}") from None
    return target, _default_folder_name(source)


def _scan_folder(source: Path) -> list[tuple[PurePosixPath, int]]:
    """Every entry under ``source`` (folders with size -1), refusing anything but regular
    files and folders; never follows a symlink."""
    found: list[tuple[PurePosixPath, int]] = []
    pending = [PurePosixPath()]
    while pending:
        rel = pending.pop()
        try:
            entries = sorted(os.scandir(source / rel), key=lambda e: e.name)
        except OSError as exc:
            raise ModelError(f"cannot read {source / rel}: {_reason(exc)}") from None
        for entry in entries:
            child = rel / entry.name
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                raise ArchiveError(
                    f"refusing to install {source}: {child} is a symbolic link (a model "
                    "folder holds only files and folders; copy the real files instead)"
                )
            if stat.S_ISDIR(info.st_mode):
                found.append((child, -1))
                pending.append(child)
            elif stat.S_ISREG(info.st_mode):
                found.append((child, info.st_size))
            else:
                raise ArchiveError(
                    f"refusing to install {source}: {child} is not a regular file"
                )
            if len(found) > MAX_MODEL_FILES:
                raise ArchiveError(f"{source} holds over {MAX_MODEL_FILES} files; not a model")
    return sorted(found, key=lambda item: item[0].parts)


def _copy_entry(source: Path, target: Path, rel: PurePosixPath, size: int) -> None:
    """Copy one scanned entry; opened without following links, checked again once open."""
    destination = target.joinpath(*rel.parts)
    if size < 0:
        destination.mkdir()
        return
    fd = os.open(source.joinpath(*rel.parts), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArchiveError(f"refusing to install {source}: {rel} changed while copying")
        with open(destination, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DiskSpaceError(
            f"not enough disk space in {folder}: the model needs {needed / 1e6:.0f} MB, "
            f"{free / 1e6:.0f} MB free"
        )


# --- zip archives --------------------------------------------------------------------------------


def _stage_zip(source: Path, staging: Path) -> tuple[Path, str]:
    """Unpack a zip under ``staging`` after checking every member; return the model root.

    Members go into ``staging/unpacked`` (made with normal permissions), so a zip without a
    top folder never turns the private 0700 temporary folder into the installed model.
    """
    if not zipfile.is_zipfile(source):
        raise ArchiveError(_not_a_zip_message(source))
    unpacked = staging / "unpacked"
    try:
        unpacked.mkdir()
        with zipfile.ZipFile(source) as archive:
            members = [(info, _member_path(info)) for info in archive.infolist()]
            _check_archive_size(source, [info for info, _ in members])
            _check_space(staging, sum(info.file_size for info, _ in members))
            for info, rel in members:
                _extract_member(archive, info, unpacked, rel)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ArchiveError(
            f"{source} is corrupt or truncated ({exc}); download it again"
        ) from None
    except OSError as exc:
        raise ModelError(f"could not unpack {source}: {_reason(exc)}") from None
    root = _find_model_root(unpacked, source)
    return root, (root.name if root != unpacked else _zip_stem(source))


def _check_archive_size(source: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse, before writing anything, an archive whose headers promise too much."""
    if len(members) > MAX_MODEL_FILES:
        raise ArchiveError(f"{source} holds {len(members)} files; a model has a few dozen")
    unpacked = sum(info.file_size for info in members)
    packed = sum(info.compress_size for info in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ArchiveError(
            f"{source} would unpack to {unpacked / 1e9:.1f} GB, more than any model "
            f"({MAX_UNPACKED_BYTES / 1e9:.0f} GB); nothing was unpacked"
        )
    if unpacked > RATIO_FROM_BYTES and unpacked > MAX_RATIO * max(packed, 1):
        raise ArchiveError(
            f"{source} would unpack {packed / 1e6:.1f} MB into {unpacked / 1e9:.1f} GB "
            f"(over {MAX_RATIO}x: a zip bomb, not a model); nothing was unpacked"
        )


def _not_a_zip_message(source: Path) -> str:
    try:
        with open(source, "rb") as fh:
            looks_like_zip = fh.read(4) == b"PK\x03\x04"
    except OSError as exc:
        return f"cannot read {source}: {_reason(exc)}"
    if looks_like_zip or source.suffix.lower() == ".zip":
        return f"{source} is corrupt or truncated (no zip directory at its end); download it again"
    return f"{source} is neither a zip archive nor a model folder"


def _zip_stem(source: Path) -> str:
    return source.name[: -len(".zip")] if source.name.lower().endswith(".zip") else source.stem


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's relative path; refuses anything that would land outside the destination."""
    raw = info.filename.replace("\\", "/")
    rel = PurePosixPath(raw)
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or ".." in rel.parts:
        raise _escapes(info)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError(
            f"refusing archive member {info.filename!r}: it is a symbolic link "
            "(Vosk models contain none)"
        )
    return rel


def _escapes(info: zipfile.ZipInfo) -> ArchiveError:
    return ArchiveError(
        f"refusing archive member {info.filename!r}: it would land outside the model folder "
        "(unsafe archive; nothing was installed)"
    )


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, staging: Path,
                    rel: PurePosixPath) -> None:
    target = staging.joinpath(*rel.parts)
    if not target.resolve().is_relative_to(staging.resolve()):
        raise _escapes(info)
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(info) as src, open(target, "xb") as dst:
        while block := src.read(1 << 20):
            written += len(block)
            if written > info.file_size:  # zipfile stops at the header's size; be sure
                raise ArchiveError(f"archive member {info.filename!r} is larger than it says")
            dst.write(block)


def _find_model_root(staging: Path, source: Path) -> Path:
    """The folder inside the unpacked archive that is the model (usually its one top folder)."""
    candidates = [staging, *_candidate_dirs(staging)]
    for child in _candidate_dirs(staging):
        candidates.extend(_candidate_dirs(child))
    models = [p for p in candidates if is_model_dir(p)]
    if len(models) == 1:
        return models[0]
    if len(models) > 1:
        names = ", ".join(str(p.relative_to(staging)) for p in models)
        raise ArchiveError(f"{source} holds several models ({names}); install one at a time")
    tops = _candidate_dirs(staging)
    return tops[0] if len(tops) == 1 and not (staging / "am").exists() else staging


# --- the atomic switch ---------------------------------------------------------------------------


def _commit(staged: Path, final: Path) -> Path:
    """Rename the validated model into place; an old one is set aside first, then deleted."""
    aside = None
    if (final.exists() or final.is_symlink()) and not _replaceable(final):
        raise ModelError(
            f"{final} already exists and is not a Vosk model; nothing was replaced (choose "
            "another --name, or move it away yourself)"
        )
    if final.exists() or final.is_symlink():
        holder = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-old-",
                                       dir=final.parent))
        aside = holder / final.name
        try:
            os.rename(final, aside)
        except OSError as exc:
            _remove(holder)
            raise ModelError(f"could not replace {final}: {_reason(exc)}") from None
    try:
        os.rename(staged, final)
    except OSError as exc:
        if aside is not None:
            os.rename(aside, final)
        raise ModelError(f"could not move the model into {final}: {_reason(exc)}") from None
    if aside is not None:
        _remove(aside.parent)
    return final


def _replaceable(path: Path) -> bool:
    """Only a folder that is a Vosk model (complete, or with a model's own parts) may be
    replaced by an install; a file, a link or any other folder is the user's."""
    if path.is_symlink() or not path.is_dir():
        return False
    if is_model_dir(path):
        return True
    return (path / "am" / "final.mdl").is_file() or (path / "conf" / "model.conf").is_file()


def _remove(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _sweep_stale(dest: Path) -> None:
    """Delete staging folders left by an install that was killed (its process is gone)."""
    for entry in dest.glob(f"{_TEMP_PREFIX}*"):
        pid_text = entry.name[len(_TEMP_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or pid_alive(int(pid_text)):
            continue
        if "-old-" in entry.name:
            _restore_set_aside(entry, dest)
        LOG.info("removing leftover staging folder %s", entry)
        _remove(entry)


def _restore_set_aside(holder: Path, dest: Path) -> None:
    """Put back a model that was set aside when its replacement was interrupted."""
    for old in holder.iterdir():
        if not (dest / old.name).exists():
            LOG.warning("restoring %s, whose replacement was interrupted", dest / old.name)
            os.rename(old, dest / old.name)
