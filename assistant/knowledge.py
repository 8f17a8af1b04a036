"""The twitching knowledge base: load, validate (file:line errors) and look up answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import DataError, DataErrors
from assistant.yamlfile import line_of, load_yaml

CONTROL_REPLIES = (
    "greeting",
    "help",
    "stop",
    "goodbye",
    "thanks",
    "slower",
    "faster",
    "louder",
    "quieter",
    "normal_speed",
)
"""Messages that are the reply to the control intent of the same name. ``dialogue`` builds
``CONTROL_INTENTS`` from these, and every one is a required message (``MESSAGE_KEYS``, checked
on load), so a control intent cannot lack its reply."""
MESSAGE_KEYS = (
    *CONTROL_REPLIES,
    "out_of_scope",
    "animal",
    "not_understood",
    "clarify",
    "more_end",
    "why_none",
    "nothing_yet",
    "settings_limit",
)
_PLACEHOLDERS = {
    "clarify": ("{first}", "{second}"),
    "more_end": ("{title}",),
    "why_none": ("{title}",),
}
_ANSWER_KEYS = {"title", "text", "more", "why", "sources"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_ANSWER_WORDS = 90
"""A spoken answer longer than this is a lecture: split it into text and more."""


@dataclass(frozen=True)
class Entry:
    """One answer of the knowledge base."""

    id: str
    title: str
    """Short spoken name ("caffeine"), used in "Did you mean caffeine or calcium?"."""
    text: str
    """The answer: its first sentence answers the question."""
    more: str
    """Detail for "tell me more"."""
    why: str | None
    """The reason behind it, for "why?" (optional)."""
    sources: tuple[str, ...]
    line: int
    """Line in the YAML file, for coverage reports."""


SAFETY_TEXTS: dict[str, tuple[str, ...]] = {
    "emergency": (),
    "call": ("{service}",),
    "service": (),
    "service_with_number": ("{number}",),
    "emergency_followup": ("{service}", "{steps}"),
    "emergency_over": (),
    "unclear": ("{service}",),
    "past": (),
    "passed": ("{service}",),
    "recurring": ("{service}",),
    "animal": (),
    "absent_signs": ("{signs}",),
    "already_checked": (),
    "red_flag_advice": (),
}
"""The safety wording and the placeholders each text must contain. The sign-specific
sentences (what each kind of sign is, what to do) live in ``signs.yaml``."""

_NUMBER = re.compile(r"^[0-9]{2,6}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Safety:
    """Safety wording shared by every sign, and the emergency numbers by country."""

    emergency: str
    """Opens every emergency answer ("This may be an emergency.")."""
    call: str
    """The call to action, with ``{service}``."""
    service: str
    """What to call when the number is not known ("emergency services")."""
    service_with_number: str
    """... when it is ("emergency services on {number}")."""
    emergency_followup: str
    """A follow-up while an emergency goes on ("what now?"), with ``{service}``, ``{steps}``."""
    emergency_over: str
    """When help has arrived or the person has recovered."""
    unclear: str
    """Leads an answer when an emergency sign may or may not be happening now."""
    past: str
    """One calm line after a long-past emergency sign."""
    passed: str
    """An emergency sign that has recently passed: see a doctor soon."""
    recurring: str
    """An emergency sign that keeps coming back: see a doctor promptly."""
    animal: str
    """An emergency sign in a pet: call a vet."""
    absent_signs: str
    """Opens an ordinary answer when the person says which warning signs they do not have."""
    already_checked: str
    """Opens an ordinary answer when a doctor has already checked the person."""
    red_flag_advice: str
    """Follows a red flag's lead: see a doctor promptly."""
    emergency_numbers: dict[str, str]
    """ISO country code -> emergency number ("GB" -> "999")."""


@dataclass(frozen=True)
class Knowledge:
    """Everything the assistant can say."""

    path: Path
    disclaimer: str
    messages: dict[str, str]
    safety: Safety
    answers: dict[str, Entry]

    def answer(self, answer_id: str) -> Entry | None:
        return self.answers.get(answer_id)


def load_knowledge(path: Path | str) -> Knowledge:
    """Load and validate the knowledge YAML; raises DataErrors listing every problem."""
    path = Path(path)
    doc = load_yaml(path)
    errors: list[DataError] = []

    def err(line: int | None, message: str) -> None:
        errors.append(DataError(path, line, message))

    if not isinstance(doc, dict):
        raise DataErrors(
            [
                DataError(
                    path,
                    1,
                    "top level must be a mapping with 'disclaimer', "
                    "'messages', 'safety' and 'answers'",
                )
            ]
        )
    for key in doc:
        if key not in {"version", "disclaimer", "messages", "safety", "answers"}:
            err(line_of(doc, key), f"unknown top-level key {key!r}")
    disclaimer = _text(doc, "disclaimer", err, line_of(doc, "disclaimer") or 1)
    messages = _section(doc, "messages", MESSAGE_KEYS, err)
    for key, marks in _PLACEHOLDERS.items():
        if key in messages:
            for mark in marks:
                if mark not in messages[key]:
                    err(line_of(doc.get("messages"), key), f"message '{key}' must contain {mark}")
    safety_doc = doc.get("safety")
    safety = _safety(safety_doc, err, line_of(doc, "safety") or 1)
    answers = _answers(doc.get("answers"), err, line_of(doc, "answers") or 1)
    if errors:
        raise DataErrors(errors)
    return Knowledge(
        path=path, disclaimer=disclaimer, messages=messages, safety=safety, answers=answers
    )


def _text(container: Any, key: str, err, line: int | None) -> str:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, str) or not value.strip():
        err(
            line_of(container, key) if isinstance(container, dict) and key in container else line,
            f"'{key}' must be non-empty text",
        )
        return ""
    return " ".join(value.split())


def _section(doc: dict, name: str, keys: tuple[str, ...], err) -> dict[str, str]:
    section = doc.get(name)
    if not isinstance(section, dict):
        err(line_of(doc, name) or 1, f"'{name}' must be a mapping with: {', '.join(keys)}")
        return {}
    result = {}
    for key in keys:
        if key not in section:
            err(line_of(doc, name), f"'{name}' is missing '{key}'")
        else:
            result[key] = _text(section, key, err, line_of(section, key))
    for key in section:
        if key not in keys:
            err(line_of(section, key), f"unknown key {key!r} in '{name}'")
    return result


def _safety(doc: Any, err, line: int) -> Safety:
    if not isinstance(doc, dict):
        err(line, "'safety' must be a mapping with: " + ", ".join(SAFETY_TEXTS))
        return Safety(**{key: "" for key in SAFETY_TEXTS}, emergency_numbers={})
    for key in doc:
        if key not in SAFETY_TEXTS and key != "emergency_numbers":
            err(line_of(doc, key), f"unknown key {key!r} in 'safety'")
    texts = {key: _text(doc, key, err, line) for key in SAFETY_TEXTS}
    for key, marks in SAFETY_TEXTS.items():
        for mark in marks:
            if texts[key] and mark not in texts[key]:
                err(line_of(doc, key), f"safety '{key}' must contain {mark}")
    if texts["emergency"] and "emergency" not in texts["emergency"].lower():
        err(line_of(doc, "emergency"), "safety 'emergency' must say that this is an emergency")
    if texts["red_flag_advice"] and "doctor" not in texts["red_flag_advice"].lower():
        err(line_of(doc, "red_flag_advice"), "safety 'red_flag_advice' must advise a doctor")
    numbers = doc.get("emergency_numbers")
    found: dict[str, str] = {}
    if not isinstance(numbers, dict) or not numbers:
        err(line_of(doc, "emergency_numbers") or line,
            "'emergency_numbers' must map country codes (GB) to numbers (\"999\")")
    else:
        for country, number in numbers.items():
            if not isinstance(country, str) or not _COUNTRY.match(country):
                err(line_of(numbers, country), f"{country!r} is not a two-letter country code")
            elif not isinstance(number, str) or not _NUMBER.match(number):
                err(line_of(numbers, country),
                    f"emergency number for {country} must be quoted digits, like \"112\"")
            else:
                found[country] = number
    return Safety(**texts, emergency_numbers=found)


def _answers(doc: Any, err, line: int) -> dict[str, Entry]:
    if not isinstance(doc, dict) or not doc:
        err(line, "'answers' must be a non-empty mapping of answer ids")
        return {}
    answers = {}
    for answer_id, body in doc.items():
        aline = line_of(doc, answer_id)
        if not isinstance(answer_id, str) or not _ID.match(answer_id):
            err(aline, f"answer id {answer_id!r} must be lower_case_with_underscores")
            continue
        if not isinstance(body, dict):
            err(aline, f"answer '{answer_id}' must be a mapping with title, text, more, sources")
            continue
        for key in body:
            if key not in _ANSWER_KEYS:
                err(line_of(body, key), f"answer '{answer_id}': unknown key {key!r}")
        title = _text(body, "title", err, aline)
        text = _text(body, "text", err, aline)
        more = _text(body, "more", err, aline)
        why = _text(body, "why", err, aline) if "why" in body else None
        for key, value in (("text", text), ("more", more)):
            if value and len(value.split()) > MAX_ANSWER_WORDS:
                err(
                    line_of(body, key),
                    f"answer '{answer_id}': '{key}' has "
                    f"{len(value.split())} words; keep it under {MAX_ANSWER_WORDS} for the ear",
                )
        sources = body.get("sources")
        if (
            not isinstance(sources, list)
            or not sources
            or not all(isinstance(s, str) and s.strip() for s in sources)
        ):
            err(
                line_of(body, "sources") if "sources" in body else aline,
                f"answer '{answer_id}': 'sources' must be a non-empty list (\"article\" for "
                "the seed article, and a named source for every added fact)",
            )
            sources = []
        answers[answer_id] = Entry(answer_id, title, text, more, why, tuple(sources), aline or 0)
    return answers
