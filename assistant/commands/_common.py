"""Helpers shared by the text commands (kept light: no audio imports)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from assistant.stages import Answer
from assistant.streams import is_unicode

_LINE_BREAKERS = ("\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
"""Characters str.splitlines() and JavaScript treat as line breaks; escaped in JSON lines."""

MAX_ECHO_CHARS = 500
"""Questions echoed in --json are cut to this length (a 100 000-character line stays sane)."""


def answer_json(question: str, answer: Answer, **extra: object) -> str:
    """One JSON line: question, intent, confidence, urgency, text (plus extras such as the
    transcript). ``urgency`` is "emergency", "doctor" or null."""
    echo = question if len(question) <= MAX_ECHO_CHARS else question[:MAX_ECHO_CHARS] + "..."
    record: dict[str, object] = {
        "question": echo,
        "intent": answer.intent,
        "confidence": round(float(answer.confidence), 3),
        "urgency": answer.urgency.value if answer.urgency is not None else None,
        "text": answer.text,
    }
    record.update(extra)
    # UTF-8 stays readable; a stdout that cannot encode it (PYTHONIOENCODING=ascii) gets
    # \u escapes, which are still the same JSON, instead of '?' or a crash.
    line = json.dumps(record, ensure_ascii=not is_unicode(sys.stdout))
    # Keep UTF-8 readable, but never emit characters that some readers treat as line ends.
    for char in _LINE_BREAKERS:
        line = line.replace(char, f"\\u{ord(char):04x}")
    return line


def emit(line: str, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()
