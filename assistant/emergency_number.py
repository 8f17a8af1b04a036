"""Which emergency number to say: the user's setting, else the one of the system locale's
country, else none (the answer then says "emergency services").

``country_of`` and ``spoken`` are pure; ``system_locale`` reads the environment and belongs
to the shells (CLI, voice loop), which pass its result to ``Skill.initial_state``.
"""

from __future__ import annotations

import locale
import os
import re

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_LOCALE = re.compile(r"^[a-z]{2,3}[_-]([A-Za-z]{2})(?:[.@]|$)")


def country_of(locale_name: str | None) -> str | None:
    """``"en_GB.UTF-8"`` -> ``"GB"``; None for "C", "POSIX" or anything without a country."""
    if not locale_name:
        return None
    match = _LOCALE.match(locale_name.strip())
    return match.group(1).upper() if match else None


def system_locale() -> str | None:
    """The locale that names the user's country, from the usual variables (LC_ALL,
    LC_MESSAGES, LANG), else what Python reports (Windows and macOS set no variables)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return value
    try:
        found = locale.getlocale()[0]
    except ValueError:
        return None
    return found


def spoken(number: str) -> str:
    """Digits as separate words ("911" -> "nine one one"): a speech engine reads "911" as
    "nine hundred eleven", and a caller needs the digits."""
    return " ".join(_DIGIT_WORDS[int(d)] for d in number if d.isdigit())


def choose(setting: str | None, locale_name: str | None, numbers: dict[str, str]) -> str | None:
    """The number to say: the setting wins, then the locale's country, else None."""
    if setting:
        return setting
    country = country_of(locale_name)
    return numbers.get(country) if country else None
