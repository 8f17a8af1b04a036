"""The twitching knowledge base: load, validate (file:line errors) and look up answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import DataError, DataErrors
from assistant.yamlfile import line_of, load_yaml

MESSAGE_KEYS = (
    "greeting",
    "help",
    "out_of_scope",
    "animal",
    "not_understood",
    "clarify",
    "more_end",
    "why_none",
    "nothing_yet",
    "stop",
    "goodbye",
    "thanks",
    "slower",
    "faster",
    "louder",
    "quieter",
    "normal_speed",
    "settings_limit",
)
RED_FLAG_KINDS = (
    "weakness",
    "persistent",
    "spreading",
    "wasting",
    "falls",
    "swallowing",
    "speech",
    "breathing",
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


@dataclass(frozen=True)
class Safety:
    """Safety wording: emergencies and red flags."""

    emergency: str
    red_flag_advice: str
    red_flag_lead: dict[str, str]


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
        err(
            line,
            "'safety' must be a mapping with 'emergency', 'red_flag_advice' and 'red_flag_lead'",
        )
        return Safety("", "", {})
    for key in doc:
        if key not in {"emergency", "red_flag_advice", "red_flag_lead"}:
            err(line_of(doc, key), f"unknown key {key!r} in 'safety'")
    emergency = _text(doc, "emergency", err, line)
    if emergency and "emergency" not in emergency.lower():
        err(
            line_of(doc, "emergency"),
            "safety 'emergency' must tell the user to call emergency services",
        )
    advice = _text(doc, "red_flag_advice", err, line)
    if advice and "doctor" not in advice.lower():
        err(line_of(doc, "red_flag_advice"), "safety 'red_flag_advice' must advise seeing a doctor")
    leads = doc.get("red_flag_lead")
    lead_map: dict[str, str] = {}
    if not isinstance(leads, dict):
        err(
            line_of(doc, "red_flag_lead") or line,
            f"'red_flag_lead' must map each red flag ({', '.join(RED_FLAG_KINDS)}) to a sentence",
        )
    else:
        for kind in RED_FLAG_KINDS:
            if kind not in leads:
                err(line_of(doc, "red_flag_lead"), f"'red_flag_lead' is missing '{kind}'")
            else:
                lead_map[kind] = _text(leads, kind, err, line_of(leads, kind))
        for kind in leads:
            if kind not in RED_FLAG_KINDS:
                err(line_of(leads, kind), f"unknown red flag {kind!r}")
    return Safety(emergency, advice, lead_map)


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
