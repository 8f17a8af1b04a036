"""Match an utterance to an intent: exact templates first, then robust scoring.

1. Exact: the normalised utterance fully matches a template regex (confidence 1.0).
2. Repair: words not in our vocabulary are mapped to the closest vocabulary word when they
   are spelled or sound alike ("magnesia" -> "magnesium"; two words may merge:
   "fast circulation" -> "fasciculation"); if the repaired text matches a template exactly,
   that wins (confidence 0.9).
3. Scoring: each target (an answer id or a control intent) gets the sum of log-likelihood
   ratios of the utterance's words under a word model learned from the sampled template
   sentences (Bernoulli naive Bayes, absent words ignored so dropped words cost nothing),
   and a coverage: the share of the utterance's information the target explains. Words we
   have never seen weigh heavily in coverage, so "what are the symptoms of diabetes" is not
   mistaken for our symptoms answer.

Everything is a plain function of the text and the loaded ``IntentSet``; no I/O.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from assistant.nlu.lexicon import FILLER_STEMS
from assistant.nlu.loader import TOPIC_SLOT, IntentSet
from assistant.stages import IntentMatch

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "i",
        "me",
        "it",
        "is",
        "are",
        "am",
        "was",
        "be",
        "been",
        "being",
        "do",
        "does",
        "doe",
        "did",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "this",
        "that",
        "these",
        "those",
        "you",
        "your",
        "can",
        "could",
        "will",
        "would",
        "should",
        "shall",
        "may",
        "might",
        "must",
        "have",
        "has",
        "had",
        "get",
        "got",
        "its",
        "it's",
        "there",
        "their",
        "them",
        "they",
        "we",
        "our",
        "us",
        "he",
        "she",
        "his",
        "her",
        "with",
        "by",
        "from",
        "as",
        "so",
        "if",
        "then",
        "than",
        "too",
        "very",
        "some",
        "any",
    ]
)
"""Function words: they carry no topic. Question words (why, when, how) are kept."""

EXACT_CONFIDENCE = 1.0
REPAIRED_EXACT_CONFIDENCE = 0.9
UNKNOWN_WORD_WEIGHT = 3.0
"""Information weight of a word we have never seen (a typical topic word weighs 2-4)."""
FILLER_WEIGHT = 0.4
"""Weight of everyday words ("lately", "little") whether or not the intents use them."""
MIN_COVERAGE = 0.6
"""Without a domain word, below this share of the utterance explained is out of scope."""
MIN_COVERAGE_ANCHORED = 0.25
"""With a twitch or muscle word the question is ours; we accept less coverage."""
MIN_EVIDENCE = 1.5
"""Minimum summed log-likelihood ratio for a fuzzy match."""
DOMAIN_RULES = ("twitch", "muscle")
"""Expansion rules whose words mark a question as being about twitching."""
CONTROL_TARGETS_MIN_COVERAGE = 0.8
FUZZY_SPELLING_CUTOFF = 82
NEAR_TIE_RATIO = 0.85
MIN_MERGED_LENGTH = 7
MERGE_CUTOFF = 85
MIN_EXPLAINED = 1.0
"""A match must explain at least one informative word ("what time is it" explains none)."""


@dataclass(frozen=True)
class Scored:
    """A candidate target with its evidence."""

    target: str
    evidence: float
    coverage: float
    confidence: float


class Matcher:
    """Built once from an ``IntentSet``; ``match`` is then a fast pure function."""

    def __init__(self, intents: IntentSet, answer_ids: frozenset[str] | None = None) -> None:
        """``answer_ids``: targets with a knowledge answer (others are controls)."""
        self.intents = intents
        self.answer_ids = answer_ids if answer_ids is not None else frozenset(intents.intents)
        self._topics: frozenset[str] | None = None
        self._controls: frozenset[str] | None = None
        self._patterns = [p for ps in intents.patterns.values() for p in ps]
        self._build_model()

    # -- model -----------------------------------------------------------------------------
    def _build_model(self) -> None:
        sets: dict[str, set[frozenset[str]]] = defaultdict(set)
        for template, expansion in self.intents.examples:
            target = dict(expansion.slots).get(TOPIC_SLOT, template.intent)
            content = frozenset(t for t in expansion.tokens if t not in STOP_WORDS)
            if content:
                sets[target].add(content)
        self.targets = sorted(sets)
        counts: dict[str, Counter[str]] = {t: Counter() for t in self.targets}
        for target, examples in sets.items():
            for example in examples:
                counts[target].update(example)
        vocab: set[str] = set()
        for c in counts.values():
            vocab.update(c)
        n_targets = len(self.targets)
        # Target frequency -> information weight (idf over targets).
        target_freq = Counter(w for c in counts.values() for w in c)
        self.idf = {w: math.log((n_targets + 1) / (target_freq[w] + 0.5)) for w in vocab}
        # Per-target word probabilities with add-alpha smoothing, and a background model.
        alpha = 0.5
        self.loglr: dict[str, dict[str, float]] = {}
        background = {
            w: sum(counts[t][w] / len(sets[t]) for t in self.targets) / n_targets for w in vocab
        }
        for target in self.targets:
            n = len(sets[target])
            table = {}
            for w, c in counts[target].items():
                p = (c + alpha) / (n + 2 * alpha)
                table[w] = math.log(p / max(background[w], 1e-6))
            self.loglr[target] = table
        self.vocab = vocab
        self.anchors = self._anchor_words()
        self._spell_vocab = sorted(w for w in vocab if len(w) >= 4 and w.isalpha())

    def _anchor_words(self) -> frozenset[str]:
        """Words that put a question in our domain for sure: twitch and muscle words.

        Topic names are not enough ("how do I make a good cup of coffee").
        """
        anchors: set[str] = set()
        grammar = self.intents.grammar
        for rule in DOMAIN_RULES:
            if rule in grammar.rules:
                for expansion in grammar.expand(grammar.rules[rule], cap=10_000):
                    anchors.update(expansion.tokens)
        return frozenset(a for a in anchors if a not in STOP_WORDS and a not in FILLER_STEMS)

    def _weight(self, token: str) -> float:
        if token in FILLER_STEMS:
            return min(self.idf.get(token, FILLER_WEIGHT), FILLER_WEIGHT)
        return self.idf.get(token, UNKNOWN_WORD_WEIGHT)

    # -- public ----------------------------------------------------------------------------
    def match(self, text: str) -> IntentMatch:
        """Best intent for ``text`` (None when out of scope or not understood)."""
        ranked, toks, method = self.rank(text)
        normalized = " ".join(toks)
        if not ranked:
            return IntentMatch(None, 0.0, method=method, text=normalized)
        best = ranked[0]
        runner = ranked[1] if len(ranked) > 1 else None
        slots = {TOPIC_SLOT: best.target} if best.target in self._topic_values() else {}
        anchored = any(t in self.anchors for t in toks)
        min_coverage = MIN_COVERAGE_ANCHORED if anchored else MIN_COVERAGE
        if best.target in self._control_targets():
            min_coverage = CONTROL_TARGETS_MIN_COVERAGE
        if method == "fuzzy" and (best.coverage < min_coverage or best.evidence < MIN_EVIDENCE):
            return IntentMatch(
                None,
                round(best.confidence, 3),
                method="out_of_scope",
                text=normalized,
                runner_up=best.target,
                runner_up_confidence=round(best.confidence, 3),
            )
        return IntentMatch(
            intent=best.target,
            confidence=round(best.confidence, 3),
            slots=slots,
            method=method,
            text=normalized,
            runner_up=runner.target if runner else None,
            runner_up_confidence=round(runner.confidence, 3) if runner else 0.0,
        )

    def rank(self, text: str, limit: int = 3) -> tuple[list[Scored], list[str], str]:
        """Candidates best first, the normalised tokens, and how they were found."""
        toks = self.intents.normalize(text)
        if not toks:
            return [], toks, "empty"
        exact = self._exact(toks)
        if exact is not None:
            return [Scored(exact, 99.0, 1.0, EXACT_CONFIDENCE)], toks, "exact"
        repaired = self._repair(toks)
        if repaired != toks:
            exact = self._exact(repaired)
            if exact is not None:
                return [Scored(exact, 99.0, 1.0, REPAIRED_EXACT_CONFIDENCE)], repaired, "exact"
        return self._score(repaired)[:limit], repaired, "fuzzy"

    # -- stages ----------------------------------------------------------------------------
    def _exact(self, toks: list[str]) -> str | None:
        return next(self._exact_matches(toks), None)

    def _exact_matches(self, toks: list[str]) -> Iterator[str]:
        """Targets of the templates ``toks`` match exactly, in template order."""
        text = "".join(t + " " for t in toks)
        present = set(toks)
        for pattern in self._patterns:
            if not pattern.required <= present:
                continue
            m = pattern.regex.fullmatch(text)
            if m is None:
                continue
            target = pattern.template.intent
            for group, list_name in pattern.groups.items():
                if list_name == TOPIC_SLOT and m.group(group):
                    target = self.intents.list_values(list_name).get(m.group(group), target)
            yield target

    def unknown_words(self, text: str) -> list[str]:
        """Content words we have never seen and that are not everyday filler."""
        toks = self._repair(self.intents.normalize(text))
        return [
            t
            for t in toks
            if t not in self.vocab and t not in STOP_WORDS and t not in FILLER_STEMS
        ]

    def exact_targets(self, toks: list[str]) -> list[str]:
        """Every target whose templates match ``toks`` exactly (for overlap checks)."""
        return list(dict.fromkeys(self._exact_matches(toks)))

    def _repair(self, toks: list[str]) -> list[str]:
        """Map unknown words to close vocabulary words.

        A recogniser splits long words it does not know into short ones ("fast ick ulation"
        for "fasciculation"), so runs of up to four words that contain an unknown word are
        also tried glued together against our long words.
        """
        if all(t in self.vocab or t in STOP_WORDS or t in FILLER_STEMS for t in toks):
            return toks
        vocab = tuple(self._spell_vocab)
        out: list[str] = []
        i = 0
        while i < len(toks):
            merged = self._merge_at(toks, i, vocab)
            if merged is not None:
                out.append(merged[0])
                i += merged[1]
                continue
            tok = toks[i]
            if tok in self.vocab or tok in STOP_WORDS or len(tok) < 4:
                out.append(tok)
            else:
                out.append(_closest(tok, vocab) or tok)
            i += 1
        return out

    def _merge_at(self, toks: list[str], i: int, vocab: tuple[str, ...]):
        for span in (4, 3, 2):
            run = toks[i : i + span]
            if len(run) < span or not any(self._unknown(t) for t in run):
                continue
            glued = "".join(run)
            if len(glued) < MIN_MERGED_LENGTH:
                continue
            found = _closest(glued, vocab, MERGE_CUTOFF)
            if found is not None and len(found) >= MIN_MERGED_LENGTH and found not in run:
                return found, span
        return None

    def _unknown(self, tok: str) -> bool:
        return tok not in self.vocab and tok not in STOP_WORDS and tok not in FILLER_STEMS

    def _score(self, toks: list[str]) -> list[Scored]:
        content = [t for t in dict.fromkeys(toks) if t not in STOP_WORDS]
        if not content:
            return []
        weights = {t: self._weight(t) for t in content}
        total = sum(weights.values()) or 1.0
        scored = []
        for target in self.targets:
            table = self.loglr[target]
            evidence = 0.0
            explained = 0.0
            for t in content:
                llr = table.get(t)
                if llr is None:
                    continue
                evidence += llr if t not in FILLER_STEMS else llr * FILLER_WEIGHT
                if llr > 0:
                    explained += weights[t]
            if evidence <= 0:
                continue
            if explained < MIN_EXPLAINED:
                continue
            coverage = explained / total
            confidence = coverage * (1.0 - math.exp(-evidence / 4.0))
            scored.append(Scored(target, evidence, coverage, confidence))
        scored.sort(key=lambda s: s.evidence * (0.5 + s.coverage), reverse=True)
        return scored

    def _topic_values(self) -> frozenset[str]:
        if self._topics is None:
            lists = self.intents.grammar.lists
            values = self.intents.list_values(TOPIC_SLOT).values() if TOPIC_SLOT in lists else ()
            self._topics = frozenset(values)
        return self._topics

    def _control_targets(self) -> frozenset[str]:
        """Intents that no template ties to a topic: help, stop, slower and the like."""
        if self._controls is None:
            self._controls = frozenset(
                t
                for t in self.targets
                if t not in self._topic_values() and t not in self.answer_ids
            )
        return self._controls


@lru_cache(maxsize=4096)
def _closest(word: str, vocab: tuple[str, ...], cutoff: int = FUZZY_SPELLING_CUTOFF) -> str | None:
    found = process.extractOne(word, vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
    return found[0] if found else None
