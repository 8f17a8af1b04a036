"""User settings (speech rate, volume, voice, wake phrase, devices) kept in a small YAML file.

The file lives in the user's config folder (``platformdirs.user_config_dir("twitch-assistant")``,
e.g. ``~/.config/twitch-assistant/settings.yaml``); ``ASSISTANT_CONFIG`` points elsewhere.
Reading never fails and never changes a file: a missing file gives the defaults, a damaged one
gives the defaults plus a warning (naming file:line) and is left exactly as it is; a bad value
defaults alone, named with its line, and the rest are kept. Only saving
new settings replaces it, and then a file that did not load cleanly is first kept under a free
name (``settings.yaml.bad``, ``settings.yaml.bad.1``, ...) so nothing the user wrote is lost.
Writing is atomic, so a full disk leaves the previous file intact.

The ``slower``/``faster``/... functions are pure: the dialogue calls them for "slower",
"louder" and so on, and the shell saves the result.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant import userfile
from assistant.atomicfile import replacing
from assistant.errors import AssistantError
from assistant.yamlfile import TooLongNumber, YamlTooLarge, line_of, parse_yaml, short

LOG = logging.getLogger("assistant.settings")

APP_NAME = "twitch-assistant"
CONFIG_ENV = "ASSISTANT_CONFIG"
FILE_NAME = "settings.yaml"

DEFAULT_RATE = 175
"""Words per minute: a little slower than espeak's 200, easier to follow while out of breath."""
RATE_STEP = 25
RATE_MIN = 100
RATE_MAX = 300

DEFAULT_VOLUME = 1.0
VOLUME_STEP = 0.2
VOLUME_MIN = 0.2
"""Never quieter than this by voice: a silent assistant seems broken to someone who cannot see."""
VOLUME_MAX = 1.0

DEFAULT_WAKE_PHRASE = "hey computer"
"""Why this phrase: four syllables with the plosives k/p/t, which survive breathless and clipped
speech; both words are in the vocabulary of every English Vosk model (the small one included),
so grammar decoding can use it; and neither word belongs to our domain. "hey twitch" would be
shorter, but "twitch" occurs in half the questions users ask ("why does my eye twitch"), so it
would wake the assistant by accident, and one-syllable "twitch" is easily mis-heard as
"which"/"switch"."""

MAX_SETTINGS_BYTES = 100_000
"""Our file is a few hundred bytes; anything far larger is not ours."""


class SettingsError(AssistantError):
    """The settings file could not be saved (read problems only give a warning)."""


@dataclass(frozen=True)
class Settings:
    """What the user chose; every field has a safe default."""

    rate: int = DEFAULT_RATE
    """Speech rate in words per minute."""
    volume: float = DEFAULT_VOLUME
    """Speech volume 0..1 (1 = full)."""
    voice: str | None = None
    """A voice as the speech engine lists it: id, name or language ("en-us", "gmw/en-us" with
    espeak-ng; "Samantha" or "en_US" on macOS; "Zira" on Windows); None = the default."""
    wake_phrase: str = DEFAULT_WAKE_PHRASE
    always_listening: bool = False
    """Answer everything heard without the wake phrase."""
    input_device: str | int | None = None
    """Microphone: PortAudio device name (substring) or index; None = system default."""
    output_device: str | int | None = None
    """Speaker: PortAudio device name (substring) or index; None = system default."""
    emergency_number: str | None = None
    """The local emergency number to say ("999"); None = the system locale's country's."""
    warning: str | None = field(default=None, compare=False, repr=False)
    """Set only by ``load_settings`` when the file had problems: print it once (names the
    file and the problem). Never saved."""

    @property
    def spoken_warning(self) -> str | None:
        """The same warning in plain words for voice mode (no paths), or None."""
        if self.warning is None:
            return None
        if "damaged" in self.warning or "Cannot read" in self.warning:
            return "I could not read your saved settings, so I am using the default ones."
        return "Some of your saved settings were not valid, so I am using defaults for those."


_FIELDS = tuple(f.name for f in dataclasses.fields(Settings) if f.name != "warning")
"""What is saved (everything but the warning)."""


def settings_path(path: Path | str | None = None) -> Path:
    """The settings file: ``path``, else ``$ASSISTANT_CONFIG``, else the user config folder."""
    if path is None:
        env = os.environ.get(CONFIG_ENV)
        if env:
            path = env
        else:
            import platformdirs

            return Path(platformdirs.user_config_dir(APP_NAME)) / FILE_NAME
    resolved = Path(path).expanduser()
    return resolved / FILE_NAME if resolved.is_dir() else resolved


# -- validation -----------------------------------------------------------------------------


def _check_rate(value: Any) -> tuple[int, str | None]:
    if isinstance(value, TooLongNumber):
        clamped = RATE_MIN if value.negative else RATE_MAX
        return clamped, f"rate ({value}) is outside {RATE_MIN}..{RATE_MAX}; using {clamped}"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
    ):
        return DEFAULT_RATE, f"rate must be a number of words per minute, not {short(value)}"
    clamped = int(min(max(round(value), RATE_MIN), RATE_MAX))
    if clamped != round(value):
        return clamped, f"rate {value} is outside {RATE_MIN}..{RATE_MAX}; using {clamped}"
    return clamped, None


def _check_volume(value: Any) -> tuple[float, str | None]:
    """Saved volume keeps to VOLUME_MIN..VOLUME_MAX: a saved 0 (or -5) would make the assistant
    silent, which the voice commands never allow either."""
    if isinstance(value, TooLongNumber):
        clamped = VOLUME_MIN if value.negative else VOLUME_MAX
        return clamped, f"volume ({value}) is outside {VOLUME_MIN}..{VOLUME_MAX}; using {clamped}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return DEFAULT_VOLUME, f"volume must be a number from {VOLUME_MIN} to 1, not {short(value)}"
    clamped = round(min(max(float(value), VOLUME_MIN), VOLUME_MAX), 2)
    if clamped != value:
        return clamped, (
            f"volume {short(value)} is outside {VOLUME_MIN}..{VOLUME_MAX}; using {clamped}"
        )
    return clamped, None


def _check_optional_text(name: str, value: Any) -> tuple[str | None, str | None]:
    if value is None or (isinstance(value, str) and value.strip()):
        return (value.strip() if isinstance(value, str) else None), None
    return None, f"{name} must be text, not {short(value)}"


def _check_device(name: str, value: Any) -> tuple[str | int | None, str | None]:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value, None
    if isinstance(value, str) and value.strip():
        return value.strip(), None
    return None, f"{name} must be a device name or number, not {short(value)}"


def _check_emergency_number(value: Any) -> tuple[str | None, str | None]:
    text = str(value).strip() if isinstance(value, (str, int)) and value is not True else ""
    if value is None:
        return None, None
    if text.isdigit() and 2 <= len(text) <= 6:
        return text, None
    return None, f"emergency_number must be 2 to 6 digits, like 999, not {value!r}"


def _from_mapping(data: dict[Any, Any]) -> tuple[Settings, list[tuple[int | None, str]]]:
    """Build Settings from a parsed mapping; bad fields fall back to defaults, with reasons
    and the line of each (None when unknown)."""
    problems: list[tuple[int | None, str]] = []
    values: dict[str, Any] = {}
    checks = {
        "rate": _check_rate,
        "volume": _check_volume,
        "voice": lambda v: _check_optional_text("voice", v),
        "wake_phrase": lambda v: _check_optional_text("wake_phrase", v),
        "input_device": lambda v: _check_device("input_device", v),
        "output_device": lambda v: _check_device("output_device", v),
        "emergency_number": _check_emergency_number,
    }
    for key, raw in data.items():
        if key == "always_listening":
            if isinstance(raw, bool):
                values[key] = raw
            else:
                wrong = f"always_listening must be true or false, not {short(raw)}"
                problems.append((line_of(data, key), wrong))
        elif key in checks:
            value, problem = checks[key](raw)
            if problem:
                problems.append((line_of(data, key), problem))
            if key == "wake_phrase" and value is None:
                continue  # an empty wake phrase would mean "never wake": keep the default
            values[key] = value
        else:
            LOG.info("settings: ignoring unknown key %s", short(key))
    return Settings(**values), problems


# -- load / save ----------------------------------------------------------------------------


def _reason(exc: BaseException) -> tuple[str, int | None]:
    """A short, one-line reason for a read failure, and its line when known."""
    if isinstance(exc, userfile.UserFileError):
        return exc.reason, None
    if isinstance(exc, YamlTooLarge):
        return exc.message, exc.line
    if isinstance(exc, RecursionError):
        return "nested too deeply", None
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text", exc.object[: exc.start].count(b"\n") + 1
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"not valid YAML: {getattr(exc, 'problem', None) or 'syntax error'}", mark.line + 1
    position = getattr(exc, "position", None)  # yaml.reader.ReaderError: a control character
    if isinstance(exc, yaml.YAMLError) and position is not None:
        return "not valid YAML: a control character is not allowed", None
    text = " ".join(str(exc).split())
    return (text[:120] if text else type(exc).__name__), None


def _read_mapping(file: Path) -> dict[Any, Any]:
    """The file's mapping; raises FileNotFoundError, UserFileError, YAML errors or ValueError."""
    if not file.exists() and not file.is_symlink():
        raise FileNotFoundError(file)
    raw = userfile.read_bytes(file, MAX_SETTINGS_BYTES, "settings file")
    data = parse_yaml(raw.decode("utf-8-sig"))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("expected 'key: value' lines")
    return data


def load_settings(path: Path | str | None = None) -> Settings:
    """Read the user's settings; never raises, never renames or rewrites the file.

    Missing file → defaults. Unreadable or not YAML → defaults, ``warning`` set (file:line
    where known). A readable file with some bad values → those values default, the rest
    are kept, ``warning`` names the problems. ``save_settings`` keeps such a file aside
    before replacing it.
    """
    file = settings_path(path)
    try:
        data = _read_mapping(file)
    except FileNotFoundError:
        return Settings()
    except userfile.UserFileError as exc:
        message = f"Cannot read the settings file {file} ({exc.reason}); using the defaults."
        LOG.info("%s", message)  # the caller shows/speaks settings.warning
        return Settings(warning=message)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        reason, line = _reason(exc)
        where = f"{file}:{line}" if line else str(file)
        message = (
            f"The settings file {where} is damaged ({reason}); using the defaults. "
            "The file is left as it is."
        )
        LOG.info("%s", message)  # the caller shows/speaks settings.warning
        return Settings(warning=message)
    settings, problems = _from_mapping(data)
    if problems:
        message = f"Some settings in {file} are invalid, using defaults for them: " + "; ".join(
            f"line {line}: {problem}" if line else problem for line, problem in problems
        )
        LOG.info("%s", message)  # the caller shows/speaks settings.warning
        return dataclasses.replace(settings, warning=message)
    return settings


MAX_KEPT_COPIES = 100
"""``settings.yaml.bad`` .. ``settings.yaml.bad.99``: beyond that, saving refuses."""


def _keep_aside(file: Path) -> Path | None:
    """Before replacing ``file``: if it exists but did not load cleanly, keep it under the
    first free name ``NAME.bad[.N]`` (a hard link, made only if the name is free: nothing is
    overwritten). Returns the name kept, or None when there was nothing to keep."""
    try:
        info = file.stat()
    except OSError:
        return None  # nothing there (or nothing reachable: the save itself reports why)
    if not stat.S_ISREG(info.st_mode):
        raise SettingsError(
            f"Could not save the settings to {file}: it is not a regular file",
            spoken="I could not save your settings.",
        )
    if load_settings(file).warning is None:
        return None  # a clean file: replacing it loses nothing
    for n in range(MAX_KEPT_COPIES):
        kept = file.with_name(file.name + (".bad" if n == 0 else f".bad.{n}"))
        try:
            os.link(file, kept)
            return kept
        except FileExistsError:
            continue
        except OSError:  # no hard links here (some filesystems): copy, still never overwriting
            try:
                with open(file, "rb") as src, open(kept, "xb") as dst:
                    dst.write(src.read(MAX_SETTINGS_BYTES + 1))
                return kept
            except FileExistsError:
                continue
            except OSError as exc:
                raise SettingsError(
                    f"Could not save the settings to {file}: the old file could not be kept "
                    f"aside ({exc.strerror or exc})",
                    spoken="I could not save your settings.",
                ) from None
    raise SettingsError(
        f"Could not save the settings to {file}: {MAX_KEPT_COPIES} kept copies "
        f"({file.name}.bad...) already exist",
        spoken="I could not save your settings.",
    )


def _to_mapping(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in _FIELDS}


def save_settings(settings: Settings, path: Path | str | None = None) -> Path:
    """Write the settings atomically (temp file in the same folder, fsync, rename).

    A failure at any step leaves the previous file untouched and raises SettingsError.
    Returns the path written.
    """
    file = settings_path(path)
    kept = _keep_aside(file)
    if kept is not None:
        LOG.warning("the old settings file did not load cleanly; it is kept as %s", kept)
    header = "# twitch-assistant settings (written by the assistant; safe to edit)\n"
    text = header + yaml.safe_dump(_to_mapping(settings), sort_keys=False, allow_unicode=True)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with replacing(file, durable=True) as temp:
            temp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"Could not save the settings to {file}: {exc.strerror or exc}",
            spoken="I could not save your settings; they will last until I stop.",
        ) from None
    return file


# -- adjustments by voice -------------------------------------------------------------------


def _step(value: float, step: float, low: float, high: float) -> float:
    """Move by ``step`` within low..high, never jumping the wrong way from outside the range."""
    if step < 0:
        return value if value <= low else max(low, value + step)
    return value if value >= high else min(high, value + step)


def slower(settings: Settings) -> tuple[Settings, bool]:
    """One step slower; the bool is True when already at the slowest (nothing changed)."""
    rate = int(_step(settings.rate, -RATE_STEP, RATE_MIN, RATE_MAX))
    return dataclasses.replace(settings, rate=rate, warning=None), rate == settings.rate


def faster(settings: Settings) -> tuple[Settings, bool]:
    """One step faster; True when already at the fastest."""
    rate = int(_step(settings.rate, RATE_STEP, RATE_MIN, RATE_MAX))
    return dataclasses.replace(settings, rate=rate, warning=None), rate == settings.rate


def normal_speed(settings: Settings) -> tuple[Settings, bool]:
    """Back to the default rate; True when it already was the default."""
    return (
        dataclasses.replace(settings, rate=DEFAULT_RATE, warning=None),
        settings.rate == DEFAULT_RATE,
    )


def louder(settings: Settings) -> tuple[Settings, bool]:
    """One step louder; True when already at full volume."""
    volume = round(_step(settings.volume, VOLUME_STEP, VOLUME_MIN, VOLUME_MAX), 2)
    return dataclasses.replace(settings, volume=volume, warning=None), volume == settings.volume


def quieter(settings: Settings) -> tuple[Settings, bool]:
    """One step quieter; True when already at the quietest allowed by voice."""
    volume = round(_step(settings.volume, -VOLUME_STEP, VOLUME_MIN, VOLUME_MAX), 2)
    return dataclasses.replace(settings, volume=volume, warning=None), volume == settings.volume
