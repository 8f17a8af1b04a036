"""Short tones that tell a listener what the assistant is doing, generated in code (no files).

For people who cannot see the screen each state needs its own sound, told apart by pitch
direction and rhythm, not by loudness alone: rising = ready/listening, a quick double = got it,
falling = did not understand, a low triple pulse = error, a high-low-high-low alarm =
emergency advice follows. All are under 300 ms so they never
delay an answer, at a moderate level (peak ~35 % of full scale) below the speech, with 5 ms
fades so there are no clicks. Pure Python (``array`` + ``math``): no numpy needed.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass

DEFAULT_RATE = 22_050
"""espeak's output rate, so earcons and speech can share one output stream."""

PEAK = 0.35
"""Peak level as a fraction of full scale: clearly audible, quieter than speech."""

FADE_SECONDS = 0.005


@dataclass(frozen=True)
class Note:
    """One tone (or a silence when ``freq`` is 0)."""

    freq: float
    """Start frequency in Hz (0 = silence)."""
    seconds: float
    end_freq: float | None = None
    """For a glide: frequency at the end; None = steady."""
    harmonics: float = 0.0
    """Amount of 2nd/3rd harmonic (0..1): a harsher timbre for errors."""


EARCONS: dict[str, tuple[Note, ...]] = {
    # two notes up a fifth: "I'm here"
    "ready": (Note(523.25, 0.09), Note(0, 0.02), Note(783.99, 0.14)),
    # one short rising blip: "go ahead"
    "listening": (Note(880.0, 0.12, end_freq=1320.0),),
    # two quick identical high clicks: "heard you"
    "got_it": (Note(1046.5, 0.05), Note(0, 0.04), Note(1046.5, 0.05)),
    # two notes falling a fourth: "hmm?"
    "not_understood": (Note(659.25, 0.11), Note(0, 0.02), Note(493.88, 0.15)),
    # one soft low glide down: "finished"
    "done": (Note(587.33, 0.16, end_freq=440.0),),
    # two high-low pairs like a siren, louder in timbre: "emergency: listen now"
    "emergency": (
        Note(988.0, 0.07, harmonics=0.3),
        Note(740.0, 0.07, harmonics=0.3),
        Note(988.0, 0.07, harmonics=0.3),
        Note(740.0, 0.07, harmonics=0.3),
    ),
    # three low, harsher pulses: "something is wrong"
    "error": (
        Note(220.0, 0.06, harmonics=0.5),
        Note(0, 0.03),
        Note(220.0, 0.06, harmonics=0.5),
        Note(0, 0.03),
        Note(220.0, 0.06, harmonics=0.5),
    ),
}

NAMES = tuple(EARCONS)


def duration(name: str) -> float:
    """Length of an earcon in seconds."""
    return sum(note.seconds for note in _notes(name))


def _notes(name: str) -> tuple[Note, ...]:
    try:
        return EARCONS[name]
    except KeyError:
        raise ValueError(f"unknown earcon {name!r}; known: {', '.join(NAMES)}") from None


def _render(note: Note, rate: int, level: float, out: array.array) -> None:
    count = max(1, round(note.seconds * rate))
    if note.freq <= 0:
        out.extend([0] * count)
        return
    end = note.end_freq if note.end_freq is not None else note.freq
    fade = max(1, min(round(FADE_SECONDS * rate), count // 2))
    amplitude = 32767 * level / (1.0 + note.harmonics * 0.75)
    phase = 0.0
    two_pi = 2.0 * math.pi
    for i in range(count):
        freq = note.freq + (end - note.freq) * i / count
        phase += two_pi * freq / rate
        sample = math.sin(phase)
        if note.harmonics:
            sample += note.harmonics * (0.5 * math.sin(2 * phase) + 0.25 * math.sin(3 * phase))
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        out.append(int(amplitude * sample * envelope))


def earcon(name: str, rate: int = DEFAULT_RATE, volume: float = 1.0) -> bytes:
    """The named earcon as 16-bit mono PCM (native byte order, as PortAudio wants) at ``rate``.

    ``volume`` (0..1) scales the moderate default level, following the user's speech volume.
    """
    level = PEAK * min(max(volume, 0.0), 1.0)
    samples = array.array("h")
    for note in _notes(name):
        _render(note, rate, level, samples)
    return samples.tobytes()
