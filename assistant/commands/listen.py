"""``assistant listen`` (and ``assistant`` alone): the hands-free voice loop."""

from __future__ import annotations

import argparse

NAME = "listen"
HELP = "hands-free voice loop: listen, answer aloud, keep going (the default command)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="DIR", help="Vosk model folder")
    parser.add_argument("--input-device", metavar="NAME_OR_INDEX", help="microphone")
    parser.add_argument("--output-device", metavar="NAME_OR_INDEX", help="speaker")
    parser.add_argument(
        "--always-listening",
        action="store_true",
        help="answer everything heard, without the wake phrase",
    )
    parser.add_argument(
        "--wake-phrase",
        metavar="PHRASE",
        help="phrase that starts a question (default: from settings, 'hey computer')",
    )
    parser.add_argument("--no-greeting", action="store_true", help="skip the spoken greeting")


def run(args: argparse.Namespace) -> int:
    from assistant.app import load_skill
    from assistant.voice_loop import LoopOptions, VoiceLoop

    skill = load_skill(args.intents, args.knowledge)
    options = LoopOptions(
        model=args.model,
        input_device=_device(args.input_device),
        output_device=_device(args.output_device),
        always_listening=args.always_listening,
        wake_phrase=args.wake_phrase,
        greeting=not args.no_greeting,
    )
    return VoiceLoop(skill, options).run()


def _device(spec: str | None) -> str | int | None:
    if spec is None:
        return None
    return int(spec) if spec.isdigit() else spec
