"""``assistant check --model DIR``: which intent words a Vosk model cannot hear."""

from __future__ import annotations


def model_vocabulary_report(intents, kb, model_dir: str) -> list[str]:
    """One line per intent word missing from the model's vocabulary (those words are left
    out of the recogniser grammar, so they can only be heard through free decoding)."""
    from pathlib import Path

    from assistant.speech.recognizer import load_model

    del kb
    model = load_model(Path(model_dir))
    missing = sorted(w for w in intents.vocabulary() if model.vosk_model_find_word(w) < 0)
    return [f"{model_dir}: word '{word}' is not in the model's vocabulary" for word in missing]
