"""``assistant ask --audio FILE``: transcribe a recorded question, then answer it."""

from __future__ import annotations

import argparse
import logging

from assistant.commands._common import answer_json, emit
from assistant.errors import UsageError


def ask_audio(args: argparse.Namespace) -> int:
    """Transcribe with the recogniser biased towards our intents, then one dialogue turn."""
    from assistant.app import load_skill
    from assistant.audio.audiofile import open_audio
    from assistant.emergency_number import system_locale
    from assistant.modelstore import resolve_model
    from assistant.speech.recognizer import load_model, transcribe_file
    from assistant.streams import native_stderr_dropped

    if args.question:
        raise UsageError("give either a question or --audio FILE, not both")
    with open_audio(args.audio):  # validate the file before spending seconds loading a model
        pass
    skill = load_skill(args.intents, args.knowledge)
    with native_stderr_dropped(keep=logging.getLogger("assistant").isEnabledFor(logging.DEBUG)):
        model = load_model(resolve_model(args.model))  # Kaldi's usage dump hidden, one thread
    transcript = transcribe_file(model, args.audio, grammar=grammar_phrases(skill.intents))
    _, answer = skill.turn(skill.initial_state(locale_name=system_locale()), transcript)
    if args.json:
        emit(
            answer_json(
                transcript.text,
                answer,
                transcript=transcript.text,
                transcript_confidence=round(transcript.confidence, 3),
            )
        )
    else:
        emit(answer.text)
    if args.speak:
        from assistant.commands._speak import TextSpeaker

        speaker = TextSpeaker(output_device=args.output_device)
        try:
            speaker.say(answer.text)
        finally:
            speaker.close()
    return 0


def grammar_phrases(intents) -> list[str]:
    """What the recogniser should expect: sentences sampled from every template."""
    return intents.spoken_sentences()
