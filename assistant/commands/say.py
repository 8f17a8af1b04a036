"""``assistant say "TEXT"``: speak text aloud, or write it to a WAV or FLAC file with ``--out``.

Also the quickest check that speech output works on this machine (and which voices exist).
Nothing is printed on stdout except the voice list asked for with ``--list-voices``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from assistant.errors import UsageError

if TYPE_CHECKING:  # settings are imported lazily at run time
    from assistant.settings import Settings

NAME = "say"
HELP = "speak text aloud (or save it as a WAV or FLAC file with --out)"

RATE_RANGE = (80, 450)
"""Words per minute (pyttsx3's unit on every platform); espeak-ng accepts 80..450. The voice
commands keep to 100..300, the command line may go further."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", help='what to say ("-" reads standard input)')
    parser.add_argument(
        "--out", metavar="FILE",
        help="write FILE.wav or FILE.flac (16-bit mono, by the extension); play nothing",
    )
    parser.add_argument(
        "--rate", type=int, metavar="WPM", help="words per minute (default: saved setting, 175)"
    )
    parser.add_argument(
        "--volume", type=float, metavar="X", help="volume 0..1 (default: saved setting, 1.0)"
    )
    parser.add_argument(
        "--voice", metavar="V", help="voice id or name, e.g. en-us (see --list-voices)"
    )
    parser.add_argument(
        "--output-device", metavar="NAME_OR_INDEX",
        help="speaker to use: a PortAudio device name (or part of it) or number",
    )
    parser.add_argument(
        "--list-voices", action="store_true", help="list the installed voices and exit"
    )


def _settings_for(args: argparse.Namespace) -> Settings:
    import dataclasses

    from assistant.settings import load_settings

    settings = load_settings()
    if settings.warning:
        print(f"assistant: warning: {settings.warning}", file=sys.stderr)
    if args.rate is not None:
        low, high = RATE_RANGE
        if not low <= args.rate <= high:
            raise UsageError(f"--rate must be between {low} and {high} words per minute")
        settings = dataclasses.replace(settings, rate=args.rate)
    if args.volume is not None:
        if not 0.0 <= args.volume <= 1.0:
            raise UsageError("--volume must be between 0 and 1")
        settings = dataclasses.replace(settings, volume=args.volume)
    if args.voice is not None:
        settings = dataclasses.replace(settings, voice=args.voice)
    if args.output_device is not None:
        device = args.output_device.strip()
        settings = dataclasses.replace(
            settings, output_device=int(device) if device.isdigit() else device
        )
    return settings


MAX_TEXT_BYTES = 200_000
"""About 2 hours of speech; more from standard input is refused (``/dev/zero`` never ends)."""


def _read_stdin() -> str:
    from assistant.userfile import read_stream_capped

    raw = read_stream_capped(sys.stdin.buffer, MAX_TEXT_BYTES)
    return raw.decode("utf-8", errors="replace").replace("\x00", " ")


def _list_voices() -> int:
    from assistant.speech.voice import Synthesizer

    with Synthesizer() as synth:
        voices = synth.voices()
    for voice_id, name, languages in sorted(voices):
        print(f"{voice_id}\t{name}\t{','.join(languages)}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_voices:
        return _list_voices()
    text = args.text
    if text == "-":
        text = _read_stdin()
    if not text or not text.strip():
        raise UsageError('nothing to say: give the text, e.g. assistant say "hello"')
    settings = _settings_for(args)
    if args.out:
        from assistant.commands._wav_out import write_speech

        write_speech(args.out, text, settings)
        return 0
    from assistant.speech.voice import speak_text

    speak_text(text, settings)
    return 0
