"""``assistant chat``: a typed conversation, plain lines for keyboards and screen readers."""

from __future__ import annotations

import argparse
import sys

from assistant.commands._common import emit

NAME = "chat"
HELP = "typed conversation (plain text, screen-reader friendly); quit or Ctrl-D ends it"

QUIT_WORDS = frozenset({"quit", "exit", "q", ":q"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--speak", action="store_true", help="also speak the answers aloud")
    parser.add_argument("--output-device", metavar="NAME_OR_INDEX", help="speaker for --speak")


MAX_LINE_BYTES = 1_000_000
"""A piped line longer than this stops the chat (``/dev/zero`` has no newline)."""


def _typed_lines():
    """Lines typed at a terminal (input() gives line editing); None for unreadable text."""
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
        except UnicodeDecodeError:
            yield None


def _piped_lines():
    """Lines from a pipe or file, each bounded; undecodable bytes replaced."""
    from assistant.userfile import bounded_lines

    for _number, raw in bounded_lines(sys.stdin.buffer, MAX_LINE_BYTES):
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\x00", " ")


def run(args: argparse.Namespace) -> int:
    from assistant.app import load_skill
    from assistant.emergency_number import system_locale

    skill = load_skill(args.intents, args.knowledge)
    skill.matcher.warm_up()  # about 60 ms once: no question of the conversation waits for it
    speaker = None
    if args.speak:
        from assistant.commands._speak import TextSpeaker

        speaker = TextSpeaker(output_device=args.output_device)
    interactive = sys.stdin.isatty()
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # a bad byte must not swallow later lines
    emit("Ask me about muscle twitching. Say help for ideas. Type quit to end.")
    state = skill.initial_state(locale_name=system_locale())
    lines = _typed_lines() if interactive else _piped_lines()
    try:
        for line in lines:
            if line is None:
                emit("Sorry, I could not read that text.")
                continue
            if line.strip().lower() in QUIT_WORDS:
                break
            if not line.strip():
                continue
            state, answer = skill.turn(state, line)
            emit(answer.text)
            if speaker is not None:
                speaker.say(answer.text)
            if answer.action == "end":
                break
    except KeyboardInterrupt:
        pass
    finally:
        if speaker is not None:
            speaker.close()
    emit("Goodbye.")
    return 0
