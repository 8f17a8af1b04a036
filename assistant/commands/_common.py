"""Helpers shared by the text commands (kept light: no audio imports)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from assistant.stages import Answer

MAX_ECHO_CHARS = 500
"""Questions echoed in --json are cut to this length (a 100 000-character line stays sane)."""


def answer_json(question: str, answer: Answer, **extra: object) -> str:
    """One JSON line: question, intent, confidence, text (plus extras such as transcript)."""
    echo = question if len(question) <= MAX_ECHO_CHARS else question[:MAX_ECHO_CHARS] + "..."
    record = {
        "question": echo,
        "intent": answer.intent,
        "confidence": round(float(answer.confidence), 3),
        "text": answer.text,
    }
    record.update(extra)
    return json.dumps(record, ensure_ascii=False)


def emit(line: str, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()
