"""``assistant transcribe FILE``: speech in an audio file (WAV, FLAC, OGG, MP3, AIFF) to text."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from assistant import userfile
from assistant.errors import AssistantError

NAME = "transcribe"
HELP = "transcribe an audio file (WAV, FLAC, OGG, MP3, AIFF; any rate from 8 kHz) to text"

LOG = logging.getLogger("assistant.speech")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", type=Path,
        help="the recording to transcribe: WAV (any PCM or float width), FLAC, OGG/Vorbis, MP3 "
        "or AIFF, mono or more channels (averaged), resampled to the model's rate",
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON object: text, confidence, words (word, start, end, conf), "
        "alternatives (text, confidence)",
    )
    parser.add_argument(
        "--model", metavar="DIR", default=None,
        help="Vosk model folder (default: the installed model; see 'assistant model path')",
    )
    parser.add_argument(
        "--grammar", metavar="FILE", type=Path, default=None,
        help="restrict decoding towards these phrases (UTF-8, one per line; '#' comments); "
        "free decoding still runs alongside, so other speech is still heard",
    )


def resolve_model_dir(explicit: str | Path | None) -> Path:
    """The model folder to use: ``--model`` or the model store's choice."""
    from assistant.modelstore import resolve_model

    return resolve_model(explicit)


MAX_GRAMMAR_BYTES = 1_000_000
"""A grammar of a few thousand phrases is tens of kB; Vosk slows down long before 1 MB."""


def read_phrases(path: Path) -> list[str]:
    """Grammar phrases from a text file: one per line, blank lines and '#' comments skipped."""
    try:
        text = userfile.read_text(path, MAX_GRAMMAR_BYTES, "grammar file")
    except userfile.UserFileError as exc:
        reason = {"no such file": "no such grammar file"}.get(exc.reason, exc.reason)
        if "UTF-8" in reason:
            reason = f"the grammar file is not UTF-8 text ({reason})"
        raise AssistantError(f"{path}: {reason}") from None
    phrases = [line.strip() for line in text.splitlines()]
    phrases = [p for p in phrases if p and not p.startswith("#")]
    if not phrases:
        raise AssistantError(f"{path}: the grammar file has no phrases")
    return phrases


def run(args: argparse.Namespace) -> int:
    from assistant.audio.audiofile import open_audio

    with open_audio(args.file):  # validate the file before spending seconds loading a model
        pass
    phrases = read_phrases(args.grammar) if args.grammar is not None else None
    model_dir = resolve_model_dir(args.model)

    from assistant.speech.recognizer import load_model, transcribe_file
    from assistant.streams import native_stderr_dropped

    with native_stderr_dropped(keep=LOG.isEnabledFor(logging.DEBUG)):  # Kaldi's usage dump
        model = load_model(model_dir)
    if phrases is not None:
        from assistant.speech.recognizer import build_grammar

        _kept, unknown = build_grammar(model, phrases)
        if unknown:
            LOG.warning(
                "%s: %d word(s) are not in the model's vocabulary and were left out of the "
                "grammar: %s", args.grammar, len(unknown), ", ".join(sorted(unknown)[:10]),
            )
    transcript = transcribe_file(model, args.file, phrases)
    if args.json:
        payload = {
            "text": transcript.text,
            "confidence": transcript.confidence,
            "words": [
                {"word": w.word, "start": w.start, "end": w.end, "conf": w.conf}
                for w in transcript.words
            ],
            "alternatives": [
                {"text": a.text, "confidence": a.confidence} for a in transcript.alternatives
            ],
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(transcript.text + "\n")
    sys.stdout.flush()
    return 0
