"""``assistant check``: validate intents and knowledge and report coverage gaps."""

from __future__ import annotations

import argparse
import sys

NAME = "check"
HELP = "validate intents and knowledge; report problems as file:line: message"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="also report intent words missing from this Vosk model's vocabulary",
    )


def run(args: argparse.Namespace) -> int:
    from assistant.app import load_data, load_signs
    from assistant.coverage import missing_answers, shared_templates, unreached_answers
    from assistant.errors import DataError, DataErrors

    errors: list[DataError] = []
    try:
        lexicon = load_signs()
    except DataErrors as exc:
        errors += exc.errors
    try:
        intents, kb = load_data(args.intents, args.knowledge)
    except DataErrors as exc:
        errors += exc.errors
    if errors:
        for error in errors:
            print(error.message)
        print(f"{len(errors)} problem(s) found", file=sys.stderr)
        return 1
    problems = [e.message for e in missing_answers(intents, kb)]
    problems += [e.message for e in unreached_answers(intents, kb)]
    for overlap in shared_templates(intents):
        problems.append(
            f'{overlap.path}:{overlap.line}: "{overlap.sentence}" matches '
            f"templates of both '{overlap.first}' and '{overlap.second}'"
        )
    notes: list[str] = []
    if args.model:
        from assistant.commands._vocabulary import model_vocabulary_report

        notes = model_vocabulary_report(intents, kb, args.model)
    for line in problems:
        print(line)
    for line in notes:
        print(f"note: {line}")
    templates = len(intents.templates)
    print(
        f"{len(intents.intents)} intents, {templates} templates, {len(kb.answers)} answers, "
        f"{len(intents.files)} intent files, {len(lexicon.signs)} danger signs, "
        f"{len(lexicon.triggers)} context triggers: "
        + ("no problems" if not problems else f"{len(problems)} problem(s)")
    )
    return 0 if not problems else 1
