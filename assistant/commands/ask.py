"""``assistant ask``: answer questions given as an argument or line by line on stdin."""

from __future__ import annotations

import argparse
import sys

from assistant.commands._common import answer_json, emit
from assistant.errors import UsageError

NAME = "ask"
HELP = "answer a question (or one per line from standard input) and print the answer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "question",
        nargs="*",
        help="the question; omit to read standard "
        "input, one turn per line, a blank line starts a new conversation",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per answer: question, intent, confidence, urgency, text",
    )
    parser.add_argument("--speak", action="store_true", help="also speak the answers aloud")
    parser.add_argument(
        "--audio", metavar="FILE",
        help="answer a recorded question (WAV, FLAC, OGG, MP3 or AIFF)",
    )
    parser.add_argument("--model", metavar="DIR", help="Vosk model folder (with --audio)")
    parser.add_argument("--output-device", metavar="NAME_OR_INDEX", help="speaker for --speak")


def run(args: argparse.Namespace) -> int:
    from assistant.app import load_skill
    from assistant.emergency_number import system_locale

    if args.audio:
        from assistant.commands._audio_ask import ask_audio

        return ask_audio(args)
    skill = load_skill(args.intents, args.knowledge)
    locale_name = system_locale()
    speaker = _speaker(args) if args.speak else None
    try:
        if args.question:
            question = " ".join(args.question)
            if not question.strip():
                raise UsageError(
                    "the question is empty; ask something, e.g. "
                    'assistant ask "what causes muscle twitching"'
                )
            _, answer = skill.turn(skill.initial_state(locale_name=locale_name), question)
            _output(args, question, answer, speaker)
            return 0
        state = skill.initial_state(locale_name=locale_name)
        for number, line in _stdin_lines():
            if not line.strip():
                state = skill.initial_state(locale_name=locale_name)
                continue
            state, answer = skill.turn(state, line)
            _output(args, line, answer, speaker)
            if answer.action == "end":
                state = skill.initial_state(locale_name=locale_name)
            del number
        return 0
    finally:
        if speaker is not None:
            speaker.close()


MAX_LINE_BYTES = 1_000_000
"""A question line longer than this stops the reading (``/dev/zero`` has no newline)."""


def _stdin_lines():
    """Lines of standard input as text; undecodable bytes are replaced, with one warning."""
    from assistant.userfile import bounded_lines

    warned = False
    for number, raw in bounded_lines(sys.stdin.buffer, MAX_LINE_BYTES):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("utf-8", errors="replace")
            if not warned:
                print(
                    f"assistant: standard input line {number} is not valid UTF-8 text; "
                    "unreadable bytes were replaced",
                    file=sys.stderr,
                )
                warned = True
        yield number, line.rstrip("\r\n").replace("\x00", " ")


def _output(args, question: str, answer, speaker) -> None:
    emit(answer_json(question, answer) if args.json else answer.text)
    if speaker is not None:
        speaker.say(answer.text)


def _speaker(args):
    from assistant.commands._speak import TextSpeaker

    return TextSpeaker(output_device=args.output_device)
