"""Find every danger sign in an utterance and decide its context (after ConText).

The utterance is split into sentences (on . ! ? ; and line breaks: speech has none, typed
text often does), each sentence into stemmed tokens, and the whole joined with a boundary
token between sentences. Signs, triggers, pseudo-triggers, terminators and idioms are all
regexes over that one string, so reading is linear in its length: a 300-word story is read
in a few milliseconds, and a sign said in its last sentence is seen like one said first.

Each trigger reaches ``window`` words forward, backward or both, stopping at a terminator
("but", "however") or a new clause ("he is", except for questions, conditions and time), and
at the end of a sentence unless it ``crosses_sentences``. A
trigger inside a sign's own words does not modify it ("can't breathe" is a sign, not a
negated one), and a sign that holds its own negation cannot be negated again ("no, he's not
breathing"); a trigger inside a pseudo-trigger ("oh no") is none. An idiom that contains a sign
("that gave me a heart attack") makes it figurative.

Why our own implementation rather than medspaCy's ConText: measured here (2026-12-02, 2 cores),
``import medspacy`` takes 1.1-1.2 s and loading its pipeline and reading one sentence 1.7-1.9 s
wall, +117 MB RSS and 283 MB installed (spaCy 3.7), against the 0.5 s start-up budget of
``assistant ask``; and it finds no sign until given target rules, so the sign lexicon would be
needed all the same. This module reads a 300-word story in about 10 ms.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from enum import Enum

from assistant.nlu.text import stem, words
from assistant.situation.lexicon import Category, Direction, Kind, Level, Lexicon, Sign

MAX_READ_CHARS = 20_000
"""About 3,500 words, twenty minutes of speech. Longer text (a pasted document) is read as its
first and last halves of this, so that a danger said at the very end is still seen while
reading stays within a few tens of milliseconds."""
MAX_READ_TOKENS = 3_000
"""Token cap after normalisation, kept as the first and last halves as well."""

BOUNDARY = "#"
"""Token between sentences; no word pattern matches it and gaps do not cross it."""
_SENTENCE_END = re.compile(r"[.!?;\n]+")


class Status(str, Enum):
    """What the context makes of one sign found, strongest first."""

    FIGURATIVE = "figurative"
    ANIMAL = "animal"
    NEGATED = "negated"
    HYPOTHETICAL = "hypothetical"
    UNCLEAR = "unclear"
    """May or may not be happening now ("what do i do if he has a fit")."""
    HISTORICAL = "historical"
    RECENT = "recent"
    """Over but recent (last week): an emergency sign then needs a doctor, not an ambulance."""
    HABITUAL = "habitual"
    """Keeps happening ("whenever i run"), not this minute."""
    NORMAL = "normal"
    """Made normal by its context (breathless after a sprint; settled by a doctor's check)."""
    AFFIRMED = "affirmed"
    """Happening now, to the speaker or to someone with them."""


_PRECEDENCE: tuple[tuple[Category, Status], ...] = (
    (Category.ANIMAL, Status.ANIMAL),
    (Category.NEGATED, Status.NEGATED),
    (Category.HYPOTHETICAL, Status.HYPOTHETICAL),
    (Category.UNCLEAR, Status.UNCLEAR),
    (Category.HISTORICAL, Status.HISTORICAL),
    (Category.RECENT, Status.RECENT),
    (Category.HABITUAL, Status.HABITUAL),
)
"""Which category decides when several reach one sign (figurative and ``unless`` aside)."""

INSIDE_NEGATION_SPAN = 5
"""The longest sign (in words) a negation inside it can deny ("my muscles are not
wasting"). A longer one spans clauses through its gaps ("this morning my legs went weak
and now i can't lift my arms"), where a "not" describes the sign instead of denying it.
Chosen with the evaluation sets: at 5 all of them hold; without the limit, two
emergencies of red-team set C were taken for denials."""

OWN_NEGATION = 2
"""A negation within a sign's first two words is the sign's own ("not breathing", "can't
breathe", "won't wake"); one further in is another clause's ("choking and no trouble
swallowing") and does not shield the sign from an outer "no"."""

_TIME_BOUND = frozenset(
    {Category.HISTORICAL, Category.RECENT, Category.HABITUAL, Category.GRADUAL}
)
_STORY_WIDE = frozenset({Category.ANIMAL, Category.CHECKED})
"""Facts about the whole story: a pet, a doctor's all-clear. Nothing ends their reach but its
size ("my dog has been twitching. now he's having a fit")."""

_NOW = (Category.CURRENT, Category.ACUTE)
"""Both say the sign is happening now; acute also says it came on within hours."""
"""Categories that a ``current`` trigger ("now", "again") in the same reach cancels: "it
comes back every time i start running again" is happening now."""

_WHOLE_CLAUSE = frozenset(
    {Category.HYPOTHETICAL, Category.UNCLEAR, Category.CURRENT, Category.ACUTE, Category.GRADUAL}
)
"""Questions, conditions and "now" govern whole clauses: clause starts do not end their
reach ("what do i do if my son has a fit", "tonight she suddenly ... her mouth is
drooping")."""


@dataclass(frozen=True)
class Finding:
    """One sign found in the utterance, with what its context makes of it."""

    sign: str
    kind: Kind
    status: Status
    start: int
    """Token index where the sign's words start (the utterance's tokens, see ``Situation``)."""
    end: int
    """Token index just past its words."""
    words: str
    """Its words as read (stemmed), for logs."""
    context: tuple[str, ...] = ()
    """The categories of the triggers that reached it, for logs."""

    @property
    def level(self) -> Level:
        return self.kind.level


@dataclass(frozen=True)
class Situation:
    """Everything found in one utterance."""

    findings: tuple[Finding, ...]
    tokens: tuple[str, ...]
    """Stemmed tokens read, with ``BOUNDARY`` between sentences."""
    words: tuple[str, ...] = ()
    """The same tokens as said (unstemmed), for rebuilding text without some of them."""
    present: frozenset[Category] = frozenset()
    """Context said anywhere, near a sign or not ("my neurologist said it's benign")."""

    def text_without(self, *statuses: Status, start: int = 0) -> str:
        """The words from token ``start`` on, leaving out findings with these statuses (an
        idiom's words say nothing about what is asked)."""
        dropped = {
            i
            for f in self.findings
            if f.status in statuses
            for i in range(f.start, f.end)
        }
        kept = [w for i, w in enumerate(self.words) if i >= start and i not in dropped]
        return " ".join(w for w in kept if w != BOUNDARY)

    def affirmed(self) -> tuple[Finding, ...]:
        """Signs happening now, most urgent first."""
        found = [f for f in self.findings if f.status is Status.AFFIRMED]
        return tuple(sorted(found, key=lambda f: (f.kind.rank, f.start)))

    def with_status(self, *statuses: Status) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status in statuses)


@dataclass(frozen=True)
class _Span:
    category: Category
    start: int
    end: int
    """The trigger's own words."""
    reach_start: int
    reach_end: int
    """Tokens it modifies: [reach_start, reach_end)."""


def tokenize(text: str) -> tuple[str, ...]:
    """Stemmed tokens of every sentence, joined by ``BOUNDARY``."""
    return _stemmed(surface_words(text))


def _stemmed(said: tuple[str, ...]) -> tuple[str, ...]:
    """``said`` with every word stemmed and the boundaries kept as they are."""
    return tuple(stem(w) if w != BOUNDARY else w for w in said)


def surface_words(text: str) -> tuple[str, ...]:
    """The words of every sentence as said, joined by ``BOUNDARY``."""
    if len(text) > MAX_READ_CHARS:
        half = MAX_READ_CHARS // 2
        text = f"{text[:half]}\n{text[-half:]}"
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        found = words(sentence, max_tokens=MAX_READ_TOKENS, max_chars=MAX_READ_CHARS)
        if not found:
            continue
        if out:
            out.append(BOUNDARY)
        out.extend(found)
    if len(out) > MAX_READ_TOKENS:  # text that normalisation expanded (U+FDFA is 18 letters)
        half = MAX_READ_TOKENS // 2
        out = [*out[:half], BOUNDARY, *out[-half:]]
    return tuple(out)


def read(text: str, lexicon: Lexicon) -> Situation:
    """Every sign in ``text`` with its context."""
    said = surface_words(text)
    tokens = _stemmed(said)
    if not tokens:
        return Situation((), ())
    joined = " " + " ".join(tokens) + " "
    starts = _token_starts(tokens)
    sentence_of = _sentence_ids(tokens)
    pseudo = _spans(lexicon.pseudo, joined, starts)
    idioms = _spans(lexicon.figurative, joined, starts)
    stops = [s for s, _ in _spans(lexicon.terminators, joined, starts)]
    clauses = [s for s, _ in _spans(lexicon.clause_starts, joined, starts)]
    reaches = _reaches(lexicon, joined, starts, sentence_of, pseudo, stops, clauses)
    findings = []
    for sign in lexicon.signs:
        if sign.requires is not None and not sign.requires.search(joined):
            continue
        for start, end in _spans(sign.regex, joined, starts):
            findings.append(_finding(sign, start, end, tokens, idioms, reaches))
    present = frozenset(r.category for r in reaches)
    return Situation(tuple(_drop_nested(findings)), tokens, said, present)


def _finding(
    sign: Sign,
    start: int,
    end: int,
    tokens: tuple[str, ...],
    idioms: list[tuple[int, int]],
    reaches: list[_Span],
) -> Finding:
    said = " ".join(tokens[start:end])
    if any(s <= start < e for s, e in idioms):  # the idiom owns the words it starts
        return Finding(sign.name, sign.kind, Status.FIGURATIVE, start, end, said, ("idiom",))
    reaching = [
        r
        for r in reaches
        # a trigger that starts inside the sign's own words does not modify it ("can't
        # breathe"), one that starts before it does ("worried i'm having a stroke"); time
        # words count wherever they are:
        # "since this morning his legs have been getting weaker" happens now; and a
        # negation inside the sign with sign words after it does, when the sign holds
        # without it ("my muscles are not wasting", but not "seeing things that aren't there")
        if (r.start < start or r.start >= end or r.category in _NOW
            or (r.category is Category.NEGATED and r.end < end
                and end - start <= INSIDE_NEGATION_SPAN
                and _still_the_sign(sign, tokens, start, end, r)))
        and r.reach_start < end
        and start < r.reach_end
    ]
    reached = {r.category for r in reaching}
    own = [r for r in reaches if r.category is Category.NEGATED
           and start <= r.start < start + OWN_NEGATION and r.end <= end]
    if own and not any(_still_the_sign(sign, tokens, start, end, r) for r in own):
        reached.discard(Category.NEGATED)  # "no, he's not breathing": the sign is the negation
    nows = [_distance(r, start, end) for r in reaching if r.category in _NOW]
    if nows and reached & _TIME_BOUND:
        # the nearer time word wins: "a stroke ten years ago and she's fine now" is past,
        # "had a tummy bug last week and since this morning he is weak" is now
        for category in reached & _TIME_BOUND:
            then = min(_distance(r, start, end) for r in reaching if r.category is category)
            if min(nows) <= then:
                reached.discard(category)
            else:
                reached -= set(_NOW)
    context = tuple(sorted(c.value for c in reached))
    status = _status(reached, sign)
    kind = sign.kind
    if status is Status.AFFIRMED and sign.escalates_to and Category.ACUTE in reached:
        kind = sign.escalates_to  # "my left arm went weak a few minutes ago": a stroke sign
    return Finding(sign.name, kind, status, start, end, said, context)


def _still_the_sign(sign: Sign, tokens: tuple[str, ...], start: int, end: int,
                    negation: _Span) -> bool:
    """Whether the sign's words still make the sign without this negation: then it is no
    part of the sign but says the person does not have it ("my muscles are not wasting",
    "have never wasted"); "can not breathe" without "not" is no sign, so there the
    negation is the sign's own."""
    kept = tokens[start:negation.start] + tokens[negation.end:end]
    if not kept:
        return False
    text = " " + " ".join(kept) + " "
    # the whole of what is left must be the sign, not a shorter phrase inside it:
    # "seeing things that are not there" less its "not" holds "seeing things that", which
    # is a sign too, but the words left over ("are there") are not
    return any(m.start(1) == 1 and m.end(1) >= len(text) - 1 for m in sign.regex.finditer(text))


def _status(reached: set[Category], sign: Sign) -> Status:
    """The strongest status among the categories that reach a sign; context that makes the
    sign normal (``unless``) outranks how often or how long ago it happens ("always out of
    breath after a run")."""
    for category, status in _PRECEDENCE:
        if category in _TIME_BOUND and reached & sign.unless:
            return Status.NORMAL
        if category in reached:
            return status
    if reached & sign.unless:
        return Status.NORMAL
    return Status.UNCLEAR if sign.mention else Status.AFFIRMED


def _distance(span: _Span, start: int, end: int) -> int:
    """Words between a trigger and a sign (0 when they touch or overlap)."""
    return max(0, span.start - end, start - span.end)


def _reaches(
    lexicon: Lexicon,
    joined: str,
    starts: list[int],
    sentence_of: list[int],
    pseudo: list[tuple[int, int]],
    terminators: list[int],
    clauses: list[int],
) -> list[_Span]:
    count = len(sentence_of)
    reaches = []
    for trigger in lexicon.triggers:
        if trigger.category in _STORY_WIDE or trigger.through_clauses:
            stops = []
        elif trigger.category in _WHOLE_CLAUSE:
            stops = terminators
        else:
            stops = terminators + clauses
        for start, end in _spans(trigger.regex, joined, starts):
            if any(s <= start and end <= e for s, e in pseudo):
                continue
            low, high = start, end
            if trigger.direction in (Direction.FORWARD, Direction.BOTH):
                high = min(count, end + trigger.window)
                # a terminator right at the trigger ("as a kid | he had") opens its clause,
                # it does not close it
                high = min([high, *(s for s in stops if s > end)])
                if not trigger.crosses_sentences:
                    high = _sentence_end(sentence_of, end, high)
            if trigger.direction in (Direction.BACKWARD, Direction.BOTH):
                low = max(0, start - trigger.window)
                low = max([low, *(s + 1 for s in stops if s < start)])
                if start in stops:
                    # a trigger that opens a clause ("... landed on my knee | now it
                    # aches") says nothing of the clause before it
                    low = start
                if not trigger.crosses_sentences:
                    low = _sentence_start(sentence_of, start, low)
            reaches.append(_Span(trigger.category, start, end, low, high))
    return reaches


def _sentence_end(sentence_of: list[int], at: int, limit: int) -> int:
    if at >= len(sentence_of):
        return limit
    own = sentence_of[min(at, len(sentence_of) - 1)]
    for index in range(at, limit):
        if sentence_of[index] != own:
            return index
    return limit


def _sentence_start(sentence_of: list[int], at: int, limit: int) -> int:
    own = sentence_of[max(0, at - 1)] if at > 0 else 0
    for index in range(at - 1, limit - 1, -1):
        if sentence_of[index] != own:
            return index + 1
    return limit


def _spans(
    regex: re.Pattern[str] | None, joined: str, starts: list[int]
) -> list[tuple[int, int]]:
    """Token spans [start, end) of the regex's matches in the joined token string."""
    if regex is None:
        return []
    spans = []
    for match in regex.finditer(joined):
        begin, finish = match.start(1), match.end(1)
        first = bisect_right(starts, begin) - 1
        last = bisect_right(starts, finish - 1)
        if last > first:
            spans.append((first, last))
    return spans


def _token_starts(tokens: tuple[str, ...]) -> list[int]:
    starts, at = [], 1
    for token in tokens:
        starts.append(at)
        at += len(token) + 1
    return starts


def _sentence_ids(tokens: tuple[str, ...]) -> list[int]:
    ids, current = [], 0
    for token in tokens:
        if token == BOUNDARY:
            current += 1
        ids.append(current)
    return ids


def _drop_nested(findings: list[Finding]) -> list[Finding]:
    """A sign inside a longer one of the same level says nothing more ("weakness" inside
    "sudden weakness of one arm")."""
    kept = []
    for finding in findings:
        if any(
            other is not finding
            and other.level is finding.level
            and other.start <= finding.start
            and finding.end <= other.end
            and (other.end - other.start) > (finding.end - finding.start)
            for other in findings
        ):
            continue
        kept.append(finding)
    return kept
