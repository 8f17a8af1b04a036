"""Match an utterance to an intent: exact templates first, then robust scoring.

1. Exact: the normalised utterance fully matches a template regex (confidence 1.0). Only
   templates that can start with the utterance's first word are tried.
   A question about an animal's twitching stops here: it is for a vet (method "animal").
2. Repair by spelling: words not in our vocabulary are mapped to the closest vocabulary
   word when they are spelled alike ("magnesia" -> "magnesium"; runs of words may merge:
   "fast circulation" -> "fasciculation") or are two of our words run together
   ("anxietycause"); if the repaired text matches a template exactly, that wins (0.9).
3. Same words: the content words (function words aside, in any order) are those of a
   sentence of one target, or dropping one small word makes an exact match: "what causes
   of twitching" is "what causes twitching" with a small word misheard (0.85).
4. Guesses by sound: a recogniser outputs real words that sound like ours ("step" for
   "stop", "child" for "should", "fast ick you lay shun"); up to three sound-alikes per
   unknown word are tried, and a guess is taken only when it turns the whole utterance into
   an exact or same-words match, and guesses are at most half of its content words
   ("tell me a joke" is not "tell me a cheek") (0.8).
5. Scoring: each target (an answer id or a control intent) gets the sum of log-likelihood
   ratios of the utterance's words under a word model learned from the sampled template
   sentences (Bernoulli naive Bayes, absent words ignored so dropped words cost nothing),
   and a coverage: the share of the utterance's information the target explains. Words we
   have never seen weigh heavily in coverage, so "what are the symptoms of diabetes" is not
   mistaken for our symptoms answer. Two checks follow: a question about an everyday topic
   that says nothing of twitching ("how do i train for a marathon") is declined (method
   "everyday": intents whose metadata says ``everyday: true``), and an utterance about
   twitching that would be declined but ends with one of our sentences ("my muscles keep
   jumping, is that normal") is answered by it (method "question_at_end", 0.7). A target
   with ``required_keywords`` is scored only when one of them is said.

Everything is a plain function of the text and the loaded ``IntentSet``; no I/O.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from assistant.nlu.loader import TOPIC_SLOT, IntentSet
from assistant.nlu.phonetic import sound_key
from assistant.nlu.text import stem
from assistant.stages import IntentMatch, MatchMethod

EXACT_CONFIDENCE = 1.0
REPAIRED_EXACT_CONFIDENCE = 0.9
SAME_WORDS_CONFIDENCE = 0.85
SOUND_GUESS_CONFIDENCE = 0.8
MIN_SOUND_ALIKE_LENGTH = 3
"""Shorter words sound like too much ("a", "i", "oh") to be mapped by sound."""
MAX_SOUND_CHOICES = 3
MAX_SOUND_GUESSES = 9
"""Combinations of sound-alike guesses tried per utterance (bounded time)."""
MIN_SPLIT_PART = 2
MAX_SMALL_WORDS = 8
"""Dropping small words is tried on utterances with at most this many (bounded time)."""
MAX_INSERTED_WORDS = 2
SPELLING_MEMORY = 4096
"""Spelling repairs remembered (word -> closest vocabulary word); the memory is emptied when
full, so a long-running voice loop stays bounded."""
MIN_SPLIT_LENGTH = 5
MIN_LONG_KEY = 5
"""A run of words glued is mapped by sound only to a word with at least this many sounds."""
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
BACK_REFERENCES = frozenset({"it", "this", "that", "them", "these", "those"})
CONTROL_TARGETS_MIN_COVERAGE = 0.8
FUZZY_SPELLING_CUTOFF = 82
NEAR_TIE_RATIO = 0.85
MIN_MERGED_LENGTH = 7
MERGE_CUTOFF = 85
MERGE_SPANS = (5, 4, 3, 2)
"""Runs of heard words tried glued together, longest first."""
QUESTION_AT_END_CONFIDENCE = 0.7
MIN_STORY_WORDS = 2
MIN_QUESTION_WORDS = 3
"""A question after a story ("..., is that bad") counts when it has at least this many
words and follows at least MIN_STORY_WORDS."""
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
        words = intents.word_classes
        self.stop_words = words.stop_words
        self.filler = words.filler
        self.animals = words.animals
        self.domain_rules = words.domain_rules
        self.unfinished = words.unfinished
        self._prefixes: frozenset[tuple[str, ...]] | None = None
        self.answer_ids = answer_ids if answer_ids is not None else frozenset(intents.intents)
        self._topics: frozenset[str] | None = None
        self._controls: frozenset[str] | None = None
        self._patterns = [p for ps in intents.patterns.values() for p in ps]
        self._spelling: dict[tuple[str, int], str | None] = {}
        self._index_patterns()
        self._build_model()

    # -- model -----------------------------------------------------------------------------
    def _index_patterns(self) -> None:
        """Each template under the words its sentences can start with, so a match tries
        only the few templates that can start with the utterance's first word (and most
        regexes are never even compiled)."""
        self._free: list[int] = []
        """Templates that could say nothing at all: always tried."""
        self._by_first: dict[str, list[int]] = defaultdict(list)
        for i, pattern in enumerate(self._patterns):
            if pattern.first is None:
                self._free.append(i)
            for word in pattern.first or ():
                self._by_first[word].append(i)

    def _build_model(self) -> None:
        sets: dict[str, set[frozenset[str]]] = defaultdict(set)
        for template, expansion in self.intents.examples:
            target = dict(expansion.slots).get(TOPIC_SLOT, template.intent)
            content = frozenset(t for t in expansion.tokens if t not in self.stop_words)
            if content:
                sets[target].add(content)
        by_content: dict[frozenset[str], set[str]] = defaultdict(set)
        for target, examples in sets.items():
            for example in examples:
                by_content[example].add(target)
        self.same_words = {k: next(iter(v)) for k, v in by_content.items() if len(v) == 1}
        """Content words of a template sentence -> its target, when only one target has them."""
        self.longest_sentence = max((len(e.tokens) for _, e in self.intents.examples), default=0)
        """Tokens in the longest sampled sentence: longer utterances skip the sentence-making
        stages (same words, guesses by sound), which cannot succeed and cost time."""
        self.targets = sorted(sets)
        counts: dict[str, Counter[str]] = {t: Counter() for t in self.targets}
        for target, examples in sets.items():
            for example in examples:
                counts[target].update(example)
        vocab: set[str] = set()
        for target_counts in counts.values():
            vocab.update(target_counts)
        n_targets = len(self.targets)
        # Target frequency -> information weight (idf over targets).
        target_freq = Counter(w for target_counts in counts.values() for w in target_counts)
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
        self.muscle_words = self._rule_words("muscle")
        self._spell_vocab = tuple(sorted(w for w in vocab if len(w) >= 4 and w.isalpha()))
        by_length: dict[int, list[str]] = defaultdict(list)
        for w in self._spell_vocab:
            by_length[len(w)].append(w)
        self._spell_by_length = {n: tuple(ws) for n, ws in by_length.items()}
        """Spelling vocabulary by word length: a word can only reach a fuzzy-ratio cutoff
        against words of similar length, so only those are compared (same results, a
        fraction of the work on long stories)."""
        by_sound: dict[str, list[str]] = defaultdict(list)
        for w in sorted(vocab | self.stop_words | self.filler):
            if len(w) >= 2 and w.isalpha():
                by_sound[sound_key(w)].append(w)
        self.by_sound = {k: tuple(v) for k, v in by_sound.items() if k}
        """Sound key -> known words with that key (ours, function words, everyday words)."""
        self.long_by_sound: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
        for key, words in self.by_sound.items():
            long_words = tuple(w for w in words if len(w) >= MIN_MERGED_LENGTH and w in vocab)
            if len(key) >= MIN_LONG_KEY and long_words:
                self.long_by_sound[key[0]].append((key, long_words))
        """Long words of ours by the first sound of their key (a run of short heard words may
        be one of these)."""

    def _anchor_words(self) -> frozenset[str]:
        """Words that put a question in our domain for sure: twitch and muscle words.

        Topic names are not enough ("how do I make a good cup of coffee").
        """
        anchors = frozenset().union(*(self._rule_words(rule) for rule in self.domain_rules))
        return frozenset(a for a in anchors if a not in self.stop_words and a not in self.filler)

    def _rule_words(self, rule: str) -> frozenset[str]:
        """Every word an expansion rule of the intents can say (none if it is not defined)."""
        grammar = self.intents.grammar
        if rule not in grammar.rules:
            return frozenset()
        expansions = grammar.expand(grammar.rules[rule], cap=10_000)
        return frozenset(t for e in expansions for t in e.tokens)

    def _weight(self, token: str) -> float:
        if token in self.filler:
            return min(self.idf.get(token, FILLER_WEIGHT), FILLER_WEIGHT)
        return self.idf.get(token, UNKNOWN_WORD_WEIGHT)

    # -- public ----------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Compile every template regex now (~80 ms) instead of on first use; for long-running
        callers (the voice loop does it while the speech model loads)."""
        for pattern in self._patterns:
            pattern.regex  # noqa: B018 - compiled on access

    def match(self, text: str) -> IntentMatch:
        """Best intent for ``text`` (None when out of scope or not understood)."""
        ranked, toks, method = self.rank(text)
        normalized = " ".join(toks)
        if not ranked:
            ending = self._ending(toks) if method == "fuzzy" else None
            return ending or IntentMatch(None, 0.0, method=method, text=normalized)
        best = ranked[0]
        runner = ranked[1] if len(ranked) > 1 else None
        slots = {TOPIC_SLOT: best.target} if best.target in self._topic_values() else {}
        anchored = any(t in self.anchors for t in toks)
        min_coverage = MIN_COVERAGE_ANCHORED if anchored else MIN_COVERAGE
        if best.target in self._control_targets():
            min_coverage = CONTROL_TARGETS_MIN_COVERAGE
        if (
            method == "fuzzy"
            and best.target in self.intents.flagged("everyday")
            and not anchored
            and BACK_REFERENCES.isdisjoint(toks)
        ):
            return IntentMatch(
                None,
                round(best.confidence, 3),
                method="everyday",
                text=normalized,
                runner_up=best.target,
                runner_up_confidence=round(best.confidence, 3),
            )
        weak = best.coverage < min_coverage or best.evidence < MIN_EVIDENCE
        if method == "fuzzy" and weak:
            ending = self._ending(toks)
            if ending is not None:
                return ending
            # the runner-up of a decline is what a story about twitching would be about:
            # an answer, never a control ("stop", "that's all") that happened to score
            controls = self._control_targets()
            guess = next((c for c in ranked if c.target not in controls), None)
            return IntentMatch(
                None,
                round(best.confidence, 3),
                method="out_of_scope",
                text=normalized,
                runner_up=guess.target if guess else None,
                runner_up_confidence=round(guess.confidence, 3) if guess else 0.0,
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

    def rank(self, text: str, limit: int = 3) -> tuple[list[Scored], list[str], MatchMethod]:
        """Candidates best first, the normalised tokens, and how they were found."""
        toks = self.intents.normalize(text)
        if not toks:
            return [], toks, "empty"
        exact = self._exact(toks)
        if exact is not None:
            return [Scored(exact, 99.0, 1.0, EXACT_CONFIDENCE)], toks, "exact"
        if self._about_an_animal(toks):
            return [], toks, "animal"
        repaired = self._repair(toks)
        if repaired != toks:
            exact = self._exact(repaired)
            if exact is not None:
                return [Scored(exact, 99.0, 1.0, REPAIRED_EXACT_CONFIDENCE)], repaired, "exact"
        if len(repaired) > self.longest_sentence + MAX_INSERTED_WORDS:
            return self._score(repaired)[:limit], repaired, "fuzzy"  # no sentence is so long
        same = self._same_words(repaired)
        if same is not None:
            return [Scored(same, 99.0, 1.0, SAME_WORDS_CONFIDENCE)], repaired, "same_words"
        # Words mapped by sound alone are a guess ("joke" sounds like "cheek"): a guess is
        # taken only when it makes the whole utterance one of our sentences.
        if len(repaired) <= self.longest_sentence and any(self._unknown(t) for t in repaired):
            found_guess = self._guess_by_sound(toks, repaired)
            if found_guess is not None:
                target, heard = found_guess
                return [Scored(target, 99.0, 1.0, SOUND_GUESS_CONFIDENCE)], heard, "sound_guess"
        return self._score(repaired)[:limit], repaired, "fuzzy"

    def _ending(self, toks: list[str]) -> IntentMatch | None:
        """The question a story about twitching ends with, as a match (None if none)."""
        if not any(t in self.anchors for t in toks):
            return None
        ending = self._question_at_end(toks)
        if ending is None:
            return None
        return IntentMatch(
            ending,
            QUESTION_AT_END_CONFIDENCE,
            slots={TOPIC_SLOT: ending} if ending in self._topic_values() else {},
            method="question_at_end",
            text=" ".join(toks),
        )

    def _question_at_end(self, toks: list[str]) -> str | None:
        """The answer whose template the utterance ends with exactly, after a story: "my
        thumb's been flickering on and off all afternoon, is that bad". Only for utterances
        about twitching (the caller checks), so "my knee hurts, is that bad" stays declined."""
        first = max(MIN_STORY_WORDS, len(toks) - self.longest_sentence)  # no longer sentence
        for start in range(first, len(toks) - MIN_QUESTION_WORDS + 1):
            target = self._exact(toks[start:])
            if target is not None and target in self.answer_ids:
                return target
        return None

    def _guess_by_sound(
        self, toks: list[str], repaired: list[str]
    ) -> tuple[str, list[str]] | None:
        """The first combination of sound-alike guesses that makes one of our sentences."""
        options = self._repair_options(toks, by_sound=True)
        before = Counter(repaired)
        for guess in itertools.islice(itertools.product(*options), MAX_SOUND_GUESSES):
            heard = list(guess)
            if heard == repaired:
                return None  # nothing to guess
            guessed = sum((Counter(heard) - before).values())
            if 2 * guessed > sum(t not in self.stop_words for t in heard):
                return None  # mostly guesses (every combination guesses as many): "case"
            found = self._exact(heard) or self._same_words(heard, max_dropped=0)
            if found is not None:
                return found, heard
        return None

    # -- stages ----------------------------------------------------------------------------
    def _exact(self, toks: list[str]) -> str | None:
        return next(self._exact_matches(toks), None)

    def _exact_matches(self, toks: list[str]) -> Iterator[str]:
        """Targets of the templates ``toks`` match exactly, in template order."""
        text = "".join(t + " " for t in toks)
        present = set(toks)
        candidates = self._by_first.get(toks[0], []) if toks else []
        if self._free:
            candidates = sorted({*candidates, *self._free})
        for i in candidates:
            pattern = self._patterns[i]
            if not pattern.required <= present:
                continue
            target = self.intents.target(pattern, text)
            if target is not None:
                yield target

    def about_twitching(self, text: str) -> bool:
        """Whether the utterance says anything of twitching or muscles (our domain's anchor
        words), however else it rambles."""
        return any(t in self.anchors for t in self.intents.normalize(text))

    def is_complete(self, text: str) -> bool:
        """Whether ``text`` is one of our sentences, whole (the voice loop may end the
        utterance after a short silence)."""
        toks = self.intents.normalize(text)
        return bool(toks) and self._exact(toks) is not None

    def could_continue(self, text: str) -> bool:
        """Whether ``text`` plainly goes on: it ends on a word no question ends on ("my",
        "and"), or it is the start of one of our sentences ("why do my calves")."""
        toks = self.intents.normalize(text)
        if not toks:
            return False
        if toks[-1] in self.unfinished:
            return True
        if self._prefixes is None:
            # Built on first use (0.27 s, 8 MB for 62 000 sampled sentences): only the
            # voice loop asks, and it builds this while the speech model loads.
            self._prefixes = frozenset(
                tuple(e.tokens[:n]) for _, e in self.intents.examples
                for n in range(1, len(e.tokens))
            )
        return tuple(toks) in self._prefixes

    def unknown_words(self, text: str) -> list[str]:
        """Content words, as heard, that we have never seen and are not everyday filler.

        Not repaired: "weather" is spelled like "whether", but it is a new subject.
        """
        toks = self.intents.normalize(text)
        return [
            t
            for t in toks
            if t not in self.vocab and t not in self.stop_words and t not in self.filler
        ]

    def exact_targets(self, toks: list[str]) -> list[str]:
        """Every target whose templates match ``toks`` exactly (for overlap checks)."""
        return list(dict.fromkeys(self._exact_matches(toks)))

    def _same_words(self, toks: list[str], max_dropped: int = 1) -> str | None:
        """A target whose sentence has the same content words; small words may differ."""
        found = self.same_words.get(frozenset(t for t in toks if t not in self.stop_words))
        if found is not None:
            return found
        small = [i for i, t in enumerate(toks) if t in self.stop_words]
        if len(small) > MAX_SMALL_WORDS:
            return None
        # A recogniser inserts small words ("what causes of twitching"): drop them.
        for drop in range(1, max_dropped + 1):
            if len(toks) - drop > self.longest_sentence:
                continue
            for picked in itertools.combinations(small, drop):
                kept = [t for i, t in enumerate(toks) if i not in picked]
                found = self._exact(kept)
                if found is not None:
                    return found
        return None

    def _repair(self, toks: list[str]) -> list[str]:
        """Map unknown words to close vocabulary words by spelling (see _repair_options)."""
        return [choices[0] for choices in self._repair_options(toks, by_sound=False)]

    def _repair_options(self, toks: list[str], by_sound: bool) -> list[tuple[str, ...]]:
        """For each repaired position, the words it may be (one unless guessed by sound).

        A recogniser splits long words it does not know into short ones ("fast ick ulation"
        for "fasciculation"), so runs of up to five words that contain an unknown word are
        also tried glued together against our long words.
        """
        if all(t in self.vocab or t in self.stop_words or t in self.filler for t in toks):
            return [(t,) for t in toks]
        unknown = [self._unknown(t) for t in toks]
        out: list[tuple[str, ...]] = []
        i = 0
        while i < len(toks):
            merged = self._merge_at(toks, unknown, i, by_sound)
            if merged is not None:
                out.append((merged[0],))
                i += merged[1]
                continue
            tok = toks[i]
            i += 1
            if not unknown[i - 1]:
                out.append((tok,))
                continue
            spelled = self._closest(tok) if len(tok) >= 4 else None
            if spelled is not None:
                out.append((spelled,))
                continue
            split = self._split(tok)
            if split is not None:
                out.extend((part,) for part in split)
                continue
            out.append((self._sounds_alike(tok) if by_sound else ()) or (tok,))
        return out

    def _split(self, tok: str) -> tuple[str, str] | None:
        """Two of our words run together ("anxietycause", "ofals"), or None.

        Each part is a function word or one of our words of three letters or more.
        """
        if len(tok) < MIN_SPLIT_LENGTH:
            return None
        best: tuple[int, int, tuple[str, str]] | None = None
        for cut in range(MIN_SPLIT_PART, len(tok) - MIN_SPLIT_PART + 1):
            first, second = self._known_form(tok[:cut]), self._known_form(tok[cut:])
            if first is None or second is None:
                continue
            rank = (int(first in self.vocab) + int(second in self.vocab),
                    min(len(first), len(second)))
            if best is None or rank > best[:2]:
                best = (*rank, (first, second))
        return best[2] if best is not None and best[0] > 0 else None

    def _known_form(self, piece: str) -> str | None:
        for form in (piece, stem(piece)):
            ours = form in self.vocab and len(form) >= 3
            if ours or form in self.stop_words or form in self.filler:
                return form
        return None

    def _sounds_alike(self, tok: str) -> tuple[str, ...]:
        """Known words that sound like ``tok``, closest spelling first (at most three)."""
        if len(tok) < MIN_SOUND_ALIKE_LENGTH or not tok.isalpha() or not _VOWEL.search(tok):
            return ()  # a recogniser's words have vowels; "cckqz" is noise
        found = self.by_sound.get(sound_key(tok), ())
        return tuple(sorted(found, key=lambda w: (-fuzz.ratio(tok, w), w))[:MAX_SOUND_CHOICES])

    def _merge_at(
        self, toks: list[str], unknown: list[bool], i: int, by_sound: bool
    ) -> tuple[str, int] | None:
        if not any(unknown[i : i + MERGE_SPANS[0]]):
            return None
        for span in MERGE_SPANS:
            if i + span > len(toks) or not any(unknown[i : i + span]):
                continue
            run = toks[i : i + span]
            glued = "".join(run)
            if len(glued) < MIN_MERGED_LENGTH:
                continue
            found = self._closest(glued, MERGE_CUTOFF)
            if found is None and by_sound:
                found = self._long_sound_alike(glued)
            if found is not None and len(found) >= MIN_MERGED_LENGTH and found not in run:
                return found, span
        return None

    def _long_sound_alike(self, glued: str) -> str | None:
        """A long word of ours whose sound key is within one sound of ``glued``'s
        ("fast ick you lay shun" -> "fasciculation")."""
        key = sound_key(glued)
        if len(key) < MIN_LONG_KEY:
            return None
        close = [
            w
            for other, words in self.long_by_sound.get(key[0], ())
            if Levenshtein.distance(key, other, score_cutoff=1) <= 1
            for w in words
        ]
        return max(close, key=lambda w: (fuzz.ratio(glued, w), w)) if close else None

    def _about_an_animal(self, toks: list[str]) -> bool:
        """A pet's twitch is a question for a vet; "walking the dog" with a muscle word
        still concerns the person."""
        return any(t in self.animals for t in toks) and not any(
            t in self.muscle_words for t in toks
        )

    def _closest(
        self, word: str, cutoff: int = FUZZY_SPELLING_CUTOFF
    ) -> str | None:
        """The best-spelled vocabulary word for ``word`` (remembered: words recur)."""
        key = (word, cutoff)
        if key not in self._spelling:
            if len(self._spelling) >= SPELLING_MEMORY:
                self._spelling.clear()
            found = process.extractOne(
                word, self._similar_length(len(word), cutoff), scorer=fuzz.ratio,
                score_cutoff=cutoff,
            )
            self._spelling[key] = found[0] if found else None
        return self._spelling[key]

    def _similar_length(self, length: int, cutoff: int) -> list[str]:
        """Vocabulary words that could reach ``cutoff`` against a word of ``length``:
        ``fuzz.ratio`` is at most 200 * shorter / (shorter + longer), so the shorter must
        be at least cutoff / (200 - cutoff) of the longer."""
        share = cutoff / (200 - cutoff)
        low, high = math.ceil(length * share), math.floor(length / share)
        return [w for n in range(low, high + 1) for w in self._spell_by_length.get(n, ())]

    def _unknown(self, tok: str) -> bool:
        return tok not in self.vocab and tok not in self.stop_words and tok not in self.filler

    def _score(self, toks: list[str]) -> list[Scored]:
        content = [t for t in dict.fromkeys(toks) if t not in self.stop_words]
        if not content:
            return []
        weights = {t: self._weight(t) for t in content}
        total = sum(weights.values()) or 1.0
        scored = []
        present = set(content)
        for target in self.targets:
            required = self.intents.required.get(target)
            if required and required.isdisjoint(present):
                continue  # "twitching when i go to sleep" is not about babies
            table = self.loglr[target]
            evidence = 0.0
            explained = 0.0
            for t in content:
                llr = table.get(t)
                if llr is None:
                    continue
                evidence += llr if t not in self.filler else llr * FILLER_WEIGHT
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


_VOWEL = re.compile("[aeiouy]")


