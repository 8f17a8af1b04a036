"""The sign lexicon (``signs.yaml``) and the context triggers (``context.yaml``): loaded once,
validated with file:line errors, compiled to regular expressions.

The categories of context are fixed here because the reader gives each one a meaning
(``Status`` in ``reader``); every word that triggers them is data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from assistant.errors import DataError, DataErrors
from assistant.situation.phrases import (
    PatternError,
    compile_group,
    compile_pattern,
    finder,
    group_resolver,
)
from assistant.yamlfile import line_of, load_yaml


class Level(str, Enum):
    """How urgent a sign is when it is affirmed."""

    EMERGENCY = "emergency"
    """Call emergency services now."""
    DOCTOR = "doctor"
    """See a doctor promptly (a red flag)."""


class Category(str, Enum):
    """What a context trigger says about the signs in its scope (ConText's modifiers, plus
    the ones spoken questions about twitching need)."""

    NEGATED = "negated"
    """"no weakness", "i'm not short of breath"."""
    HISTORICAL = "historical"
    """Long ago: "as a kid", "years ago", "used to"."""
    RECENT = "recent"
    """Over, but recent: "last week", "a few days ago" (an emergency sign then needs a doctor)."""
    CURRENT = "current"
    """"now", "again", "still": cancels historical and recent in its scope."""
    HYPOTHETICAL = "hypothetical"
    """A question about the word, a fear of the future: "what does a seizure look like"."""
    UNCLEAR = "unclear"
    """A condition that may or may not be happening: "what do i do if she has a fit"."""
    HABITUAL = "habitual"
    """"whenever i run", "i get ... sometimes": recurring, not happening this minute."""
    EXERTION = "exertion"
    """"after a sprint": makes signs that list it under ``unless`` normal."""
    ACUTE = "acute"
    """Came on within minutes or hours ("a few minutes ago", "since lunchtime", "suddenly"):
    a red flag that lists ``escalates_to`` is then an emergency (weakness -> stroke)."""
    GRADUAL = "gradual"
    """"over the past few months", "gradually": makes signs that list it under ``unless``
    (slurred speech, choking on drinks) a slow change for a doctor, not a sudden emergency."""
    SHORT = "short"
    """"for a couple of days", "since the weekend": makes signs that list it under ``unless``
    (twitching "nonstop") too short-lived to be a red flag; the NHS says two weeks."""
    CHECKED = "checked"
    """"my neurologist said it's benign": makes signs that list it under ``unless`` settled."""
    ANIMAL = "animal"
    """"my dog": the person asks about a pet, a vet's matter."""
    BABY = "baby"
    """"my six week old": the story is about a baby (whom the answer should be about)."""
    CHILD = "child"
    """"my seven year old", "our toddler": the story is about a child."""


class Direction(str, Enum):
    FORWARD = "forward"
    """The trigger modifies signs after it ("no weakness")."""
    BACKWARD = "backward"
    """... signs before it ("seizures as a kid")."""
    BOTH = "both"


@dataclass(frozen=True)
class Kind:
    """One kind of danger sign, and what the assistant says about it."""

    name: str
    level: Level
    lead: str
    """The first sentence of the advice ("Twitching together with weakness needs ...")."""
    steps: str
    """Emergencies: the few safe things to do while help comes ('' for red flags)."""
    sources: tuple[str, ...]
    spoken: str
    """Red flags: what to call it when the person says they do not have it ("weakness",
    "trouble swallowing"); '' where the data gives no name."""
    passed_needs_doctor: bool
    """Emergencies: whether the sign, once over ("she fainted last week"), still needs a
    doctor; a choke that cleared at once does not."""
    rank: int
    """Position in the file: lower is more urgent; the most urgent sign leads the answer."""
    answer_first: bool = False
    """Red flags: when the person asked a question we can answer, answer it and close with
    this kind's advice, rather than lead with the advice. For signs that call for a routine
    visit, not a prompt one: twitching that has gone on for weeks (NHS: see a GP after two
    weeks) in someone asking whether it is stress."""


@dataclass(frozen=True)
class Sign:
    """One danger sign: the words people use for it."""

    name: str
    kind: Kind
    regex: re.Pattern[str]
    """All its phrases as one compiled alternation over stemmed tokens."""
    unless: frozenset[Category]
    """Context that makes this sign normal (breathless AFTER a sprint)."""
    escalates_to: Kind | None
    """The emergency this red flag is when it came on acutely (weakness, speech -> stroke)."""
    mention: bool
    """The word alone ("stroke", "seizure"): a mention, not a report. Affirmed, it is only
    unclear (the answer leads with "if this is happening now"), never an alarm."""
    line: int
    requires: re.Pattern[str] | None = None
    """Words that must be said somewhere in the utterance for the sign to count: three
    weeks of a rash is not three weeks of twitching."""


@dataclass(frozen=True)
class Trigger:
    """Words that modify the signs around them."""

    category: Category
    regex: re.Pattern[str]
    direction: Direction
    window: int
    """How many words on the chosen side(s) the trigger reaches."""
    crosses_sentences: bool
    """True for facts about the whole story ("my neurologist said it's benign")."""
    line: int
    through_clauses: bool = False
    """True for the time frame a story opens with ("in august my arm started quivering,
    then my speech has been slurry"): clause starts and terminators ("then my", "but")
    do not end its reach, only its window does."""


@dataclass(frozen=True)
class Lexicon:
    """Everything the situation reader needs, compiled."""

    signs: tuple[Sign, ...]
    kinds: dict[str, Kind]
    """Keyed ``"level/name"``, e.g. ``"doctor/weakness"``."""
    triggers: tuple[Trigger, ...]
    pseudo: re.Pattern[str] | None
    """Phrases that hold a trigger's words but are not triggers ("oh no", "not sure")."""
    terminators: re.Pattern[str] | None
    """Words that end every trigger's reach ("but", "however")."""
    clause_starts: re.Pattern[str] | None
    """A new clause ("he is", "my son has"): ends the reach of every trigger but a question
    or a condition, which govern whole clauses ("what do i do if my son has a fit")."""
    figurative: re.Pattern[str] | None
    """Idioms: a sign inside one is not a sign ("gave me a heart attack")."""
    paths: tuple[Path, ...]

    def kind(self, level: Level, name: str) -> Kind:
        return self.kinds[f"{level.value}/{name}"]


_SIGN_KEYS = {"level", "kind", "phrases", "unless", "mention", "escalates_to", "requires"}
_KIND_KEYS = {"lead", "steps", "sources", "when_passed", "name", "answer_first"}
_TRIGGER_KEYS = {"phrases", "direction", "window", "crosses_sentences", "through_clauses"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_WINDOW = 200


class _Collector:
    """Collects every problem of one file, so ``assistant check`` can list them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[DataError] = []

    def error(self, line: int | None, message: str) -> None:
        self.errors.append(DataError(self.path, line, message))


def load_lexicon(signs_path: Path | str, context_path: Path | str) -> Lexicon:
    """Load both files; raises DataErrors listing every problem with file:line."""
    signs_path, context_path = Path(signs_path), Path(context_path)
    errors: list[DataError] = []
    signs_doc = _load(signs_path, errors)
    context_doc = _load(context_path, errors)
    if errors:
        raise DataErrors(errors)
    sign_file = _Collector(signs_path)
    groups = _groups(signs_doc, sign_file)
    resolve = group_resolver(groups)
    kinds = _kinds(signs_doc, sign_file)
    signs = _signs(signs_doc, kinds, resolve, sign_file)
    context_file = _Collector(context_path)
    triggers = _triggers(context_doc, resolve, context_file)
    pseudo = _phrase_list(context_doc, "pseudo", resolve, context_file)
    terminators = _phrase_list(context_doc, "terminators", resolve, context_file)
    clause_starts = _phrase_list(context_doc, "clause_starts", resolve, context_file)
    figurative = _phrase_list(context_doc, "figurative", resolve, context_file)
    for key in context_doc:
        if key not in {"version", "triggers", "pseudo", "terminators", "clause_starts",
                       "figurative"}:
            context_file.error(line_of(context_doc, key), f"unknown top-level key {key!r}")
    errors = sign_file.errors + context_file.errors
    if errors:
        raise DataErrors(errors)
    return Lexicon(
        signs=tuple(signs),
        kinds=kinds,
        triggers=tuple(triggers),
        pseudo=pseudo,
        terminators=terminators,
        clause_starts=clause_starts,
        figurative=figurative,
        paths=(signs_path, context_path),
    )


def _load(path: Path, errors: list[DataError]) -> dict:
    try:
        doc = load_yaml(path)
    except DataError as exc:
        errors.append(exc)
        return {}
    if not isinstance(doc, dict):
        errors.append(DataError(path, 1, "top level must be a mapping"))
        return {}
    return doc


def _groups(doc: dict, out: _Collector) -> dict[str, str]:
    """Word groups, compiled in file order: a group may use the groups above it."""
    section = doc.get("groups", {})
    compiled: dict[str, str] = {}
    if not isinstance(section, dict):
        out.error(line_of(doc, "groups"), "'groups' must map a name to a list of phrases")
        return compiled
    resolve = group_resolver(compiled)
    for name, phrases in section.items():
        line = line_of(section, name)
        if not isinstance(name, str) or not _NAME.match(name):
            out.error(line, f"group name {name!r} must be lower_case_with_underscores")
            continue
        source = _compile_list(phrases, resolve, out, line, f"group '{name}'")
        if source is not None:
            compiled[name] = source
    return compiled


def _compile_list(
    phrases: Any, resolve, out: _Collector, line: int | None, what: str
) -> str | None:
    if not isinstance(phrases, list) or not phrases:
        out.error(line, f"{what}: expected a non-empty list of phrases")
        return None
    ok = True
    for index, phrase in enumerate(phrases):
        try:
            compile_pattern(phrase, resolve)
        except PatternError as exc:
            out.error(line_of(phrases, index) or line, f"{what}: {exc}")
            ok = False
    return compile_group(list(phrases), resolve) if ok else None


def _kinds(doc: dict, out: _Collector) -> dict[str, Kind]:
    section = doc.get("kinds")
    kinds: dict[str, Kind] = {}
    if not isinstance(section, dict):
        out.error(line_of(doc, "kinds") or 1, "'kinds' must have 'emergency' and 'doctor'")
        return kinds
    rank = 0
    for level in Level:
        by_name = section.get(level.value)
        if not isinstance(by_name, dict) or not by_name:
            out.error(line_of(section, level.value), f"'kinds' needs a '{level.value}' mapping")
            continue
        for name, body in by_name.items():
            line = line_of(by_name, name)
            if not isinstance(name, str) or not _NAME.match(name) or not isinstance(body, dict):
                out.error(line, f"kind {name!r}: a lower_case name mapping to lead and sources")
                continue
            for key in body:
                if key not in _KIND_KEYS:
                    out.error(line_of(body, key), f"kind '{name}': unknown key {key!r}")
            lead = _text(body, "lead", out, line, f"kind '{name}'")
            steps = ""
            if level is Level.EMERGENCY:
                steps = _text(body, "steps", out, line, f"kind '{name}'")
            sources = body.get("sources")
            if not isinstance(sources, list) or not all(
                isinstance(s, str) and s.strip() for s in sources
            ) or not sources:
                out.error(line_of(body, "sources") or line, f"kind '{name}': 'sources' must be "
                          "a non-empty list naming where its advice comes from")
                sources = []
            when_passed = body.get("when_passed", "doctor")
            if when_passed not in ("doctor", "none"):
                out.error(line_of(body, "when_passed"),
                          f"kind '{name}': when_passed must be doctor or none")
            spoken = body.get("name", "")
            if not isinstance(spoken, str):
                out.error(line_of(body, "name"), f"kind '{name}': name must be text")
                spoken = ""
            answer_first = body.get("answer_first", False)
            if not isinstance(answer_first, bool) or (answer_first and level is not Level.DOCTOR):
                out.error(line_of(body, "answer_first"),
                          f"kind '{name}': answer_first is true or false, for red flags only")
                answer_first = False
            kinds[f"{level.value}/{name}"] = Kind(
                name, level, lead, steps, tuple(sources), spoken.strip(),
                when_passed == "doctor", rank, answer_first,
            )
            rank += 1
    for key in section:
        if key not in {level.value for level in Level}:
            out.error(line_of(section, key), f"unknown level {key!r} (emergency or doctor)")
    return kinds


def _text(body: dict, key: str, out: _Collector, line: int | None, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        out.error(line_of(body, key) if key in body else line, f"{what}: '{key}' must be text")
        return ""
    return " ".join(value.split())


def _signs(doc: dict, kinds: dict[str, Kind], resolve, out: _Collector) -> list[Sign]:
    section = doc.get("signs")
    signs: list[Sign] = []
    if not isinstance(section, dict) or not section:
        out.error(line_of(doc, "signs") or 1, "'signs' must map sign names to their phrases")
        return signs
    for name, body in section.items():
        line = line_of(section, name) or 0
        if not isinstance(name, str) or not _NAME.match(name) or not isinstance(body, dict):
            out.error(line, f"sign {name!r}: a lower_case name mapping to level, kind, phrases")
            continue
        for key in body:
            if key not in _SIGN_KEYS:
                out.error(line_of(body, key), f"sign '{name}': unknown key {key!r}")
        level_name = body.get("level")
        try:
            level = Level(level_name)
        except ValueError:
            out.error(line_of(body, "level") or line,
                      f"sign '{name}': level must be emergency or doctor, not {level_name!r}")
            continue
        kind = kinds.get(f"{level.value}/{body.get('kind')}")
        if kind is None:
            out.error(line_of(body, "kind") or line, f"sign '{name}': kind {body.get('kind')!r} "
                      f"is not listed under kinds: {level.value}")
            continue
        unless = _categories(body.get("unless", []), out, line_of(body, "unless") or line, name)
        source = _compile_list(body.get("phrases"), resolve, out,
                               line_of(body, "phrases") or line, f"sign '{name}'")
        mention = body.get("mention", False)
        if not isinstance(mention, bool):
            out.error(line_of(body, "mention"), f"sign '{name}': mention is true or false")
            mention = False
        escalates_to = None
        if "escalates_to" in body:
            escalates_to = kinds.get(f"{Level.EMERGENCY.value}/{body['escalates_to']}")
            if escalates_to is None or level is not Level.DOCTOR:
                out.error(line_of(body, "escalates_to"), f"sign '{name}': escalates_to must "
                          "name an emergency kind, on a red flag")
        requires = None
        if "requires" in body:
            required = _compile_list(body.get("requires"), resolve, out,
                                     line_of(body, "requires") or line, f"sign '{name}' requires")
            requires = finder(required) if required is not None else None
        if source is not None:
            signs.append(
                Sign(name, kind, finder(source), unless, escalates_to, mention, line, requires)
            )
    return signs


def _categories(value: Any, out: _Collector, line: int, name: str) -> frozenset[Category]:
    if not isinstance(value, list):
        out.error(line, f"sign '{name}': 'unless' must be a list of context categories")
        return frozenset()
    found = set()
    for item in value:
        try:
            found.add(Category(item))
        except ValueError:
            out.error(line, f"sign '{name}': unknown context category {item!r}")
    return frozenset(found)


def _triggers(doc: dict, resolve, out: _Collector) -> list[Trigger]:
    section = doc.get("triggers")
    triggers: list[Trigger] = []
    if not isinstance(section, dict):
        out.error(line_of(doc, "triggers") or 1, "'triggers' must map categories to entries")
        return triggers
    for category_name, entries in section.items():
        line = line_of(section, category_name) or 0
        try:
            category = Category(category_name)
        except ValueError:
            names = ", ".join(c.value for c in Category)
            out.error(line, f"unknown context category {category_name!r} (one of: {names})")
            continue
        if not isinstance(entries, list):
            out.error(line, f"'{category_name}' must be a list of trigger entries")
            continue
        for index, entry in enumerate(entries):
            trigger = _trigger(category, entry, resolve, out, line_of(entries, index) or line)
            if trigger is not None:
                triggers.append(trigger)
    return triggers


def _trigger(category: Category, entry: Any, resolve, out: _Collector, line: int):
    what = f"{category.value} trigger"
    if not isinstance(entry, dict):
        out.error(line, f"{what}: expected a mapping with phrases, direction, window")
        return None
    for key in entry:
        if key not in _TRIGGER_KEYS:
            out.error(line_of(entry, key), f"{what}: unknown key {key!r}")
    try:
        direction = Direction(entry.get("direction"))
    except ValueError:
        out.error(line_of(entry, "direction") or line,
                  f"{what}: direction must be forward, backward or both")
        return None
    window = entry.get("window")
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= MAX_WINDOW:
        out.error(line_of(entry, "window") or line,
                  f"{what}: window must be a whole number of words from 1 to {MAX_WINDOW}")
        return None
    crosses = entry.get("crosses_sentences", False)
    if not isinstance(crosses, bool):
        out.error(line_of(entry, "crosses_sentences"), f"{what}: crosses_sentences is true/false")
        return None
    through = entry.get("through_clauses", False)
    if not isinstance(through, bool):
        out.error(line_of(entry, "through_clauses"), f"{what}: through_clauses is true/false")
        return None
    source = _compile_list(entry.get("phrases"), resolve, out,
                           line_of(entry, "phrases") or line, what)
    if source is None:
        return None
    return Trigger(category, finder(source), direction, window, crosses, line, through)


def _phrase_list(doc: dict, key: str, resolve, out: _Collector) -> re.Pattern[str] | None:
    if key not in doc:
        return None
    source = _compile_list(doc[key], resolve, out, line_of(doc, key), f"'{key}'")
    return finder(source) if source is not None else None
