"""``say --out``: synthesise text into a WAV or FLAC file (by extension), in bounded pieces,
without a sound server.

Three things the one-shot ``synthesize_text`` + ``write_wav`` got wrong:

- espeak-ng (1.51, via pyttsx3) crashed the process (SIGSEGV) on one utterance of about
  21 000 characters or more. Text is therefore synthesised in pieces of whole sentences
  of at most ``MAX_PIECE_CHARS`` (a piece without a sentence end is cut at a space), each
  piece appended to the file as it comes, so memory stays flat whatever the length.
- espeak-ng 1.51 opens an audio connection even in its retrieval (to-memory) mode, and so
  connected to the PulseAudio server (over TCP when ``PULSE_SERVER`` said so) although
  ``--out`` plays nothing. While the engine starts, ``PULSE_SERVER`` points at a socket
  that cannot exist, so libpulse fails at once, locally (checked with strace: no connect()
  but that one, no ALSA device opened).
- The file was created 0600 (a temporary file renamed into place); it now gets the usual
  ``0666 & ~umask``, like any file a command writes.

Pieces are written as they come through libsndfile (``audio.audiofile.write``'s library),
which writes WAV and FLAC alike.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

from assistant.atomicfile import replacing
from assistant.errors import AssistantError, UsageError
from assistant.settings import Settings

MAX_PIECE_CHARS = 2000
"""Well under the ~21 000 characters that crashed espeak-ng; long enough that a normal
answer is one piece (so it sounds exactly as before)."""
NO_SOUND_SERVER = "unix:/nonexistent/twitch-assistant-writes-a-file"


def pieces(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """Whole sentences grouped into pieces of at most ``max_chars`` characters."""
    from assistant.speech.voice import join_within, split_sentences

    sentences = split_sentences(text, max_chars=max_chars)
    return join_within(
        (part for sentence in sentences for part in _hard_split(sentence, max_chars)), max_chars
    )


def _hard_split(sentence: str, max_chars: int) -> list[str]:
    """Cut a sentence with no usable break at spaces (or anywhere, for one huge word)."""
    parts: list[str] = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        parts.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        parts.append(sentence)
    return parts


@contextlib.contextmanager
def _no_sound_server():
    """While the speech engine starts, libpulse has nowhere to connect to."""
    old = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = NO_SOUND_SERVER
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = old


def _file_mode() -> int:
    """0666 minus the umask (read without changing it where /proc tells it)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_speech(path: Path | str, text: str, settings: Settings) -> Path:
    """Synthesise ``text`` into a 16-bit mono WAV or FLAC at ``path`` (by its extension;
    atomic: temp file + rename)."""
    import numpy as np

    from assistant.audio.audiofile import load_soundfile
    from assistant.speech.voice import Synthesizer, container_for

    target = Path(path)
    container = container_for(target)  # a wrong extension is a usage error, before synthesis
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(target.stat().st_mode):
            raise UsageError(f"--out {target}: not a regular file; give a file name to write")
    chunks = pieces(text)
    if not chunks:
        raise UsageError("nothing to say: the text has no words")
    try:
        with _no_sound_server(), Synthesizer() as synth:
            first = synth.synthesize(chunks[0], settings.rate, settings.volume, settings.voice)
            sf = load_soundfile()
            with replacing(target, mode=_file_mode()) as temp, sf.SoundFile(
                temp, "w", first.rate, 1, subtype="PCM_16", format=container
            ) as out:
                out.write(_samples(first.pcm, np))
                for chunk in chunks[1:]:
                    audio = synth.synthesize(
                        chunk, settings.rate, settings.volume, settings.voice
                    )
                    out.write(_samples(audio.pcm, np))
    except OSError as exc:
        raise AssistantError(
            f"Cannot write {target}: {exc.strerror or exc}", spoken="I could not save the audio."
        ) from None
    except RuntimeError as exc:  # soundfile.LibsndfileError: disk full and the like
        raise AssistantError(
            f"Cannot write {target}: {exc}", spoken="I could not save the audio."
        ) from None
    return target


def _samples(pcm: bytes, np: Any) -> Any:
    """16-bit little-endian PCM bytes as the int16 array soundfile writes."""
    return np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
