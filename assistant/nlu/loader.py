"""Load and validate intent YAML (hassil's file format) into matcher-ready data.

Every problem becomes a ``DataError`` naming file, line and what is wrong; ``load_intents``
collects them all and raises ``DataErrors`` so ``assistant check`` can list every one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from hassil.expression import Expression, ListReference, RuleReference, Sequence
from hassil.parse_expression import parse_sentence

from assistant.errors import DataError, DataErrors
from assistant.nlu.templates import Expansion, Grammar, TemplateTooLarge
from assistant.nlu.text import stem, words
from assistant.yamlfile import LineDict, line_of, load_yaml, short

LOG = logging.getLogger("assistant.nlu")

TOPIC_SLOT = "topic"
"""An intent whose match carries this slot answers with the slot's value (``about_topic``)."""

SOUNDS_LIKE_KEY = "sounds_like"
WORD_CLASSES_KEY = "word_classes"
_HASSIL_KEYS = {"language", "intents", "lists", "expansion_rules", "skip_words", "settings"}
_DATA_KEYS = {
    "sentences",
    "slots",
    "metadata",
    "response",
    "requires_context",
    "excludes_context",
    "expansion_rules",
    "lists",
    "required_keywords",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")

METADATA_FLAGS = {
    "everyday": "the topic is part of everyday life (coffee, sleep, alcohol, a medicine): a "
    "question about it that says nothing of twitching is about the thing itself, and is "
    "declined unless matched exactly",
    "place": "the answer says where the twitch is (eyelid, calf, hand), not what it is "
    "about: a red flag names the topic asked about, not the place",
    "general": "the answer is a general one (is it serious, what causes it): the question a "
    "story ends with may be this general, and who the story is about can pick a better one",
    "baby": "the answer is about babies: a story about a baby that matches no sentence of "
    "ours exactly is answered with it",
    "child": "the answer is about children: a story about a child that matches no sentence "
    "of ours exactly is answered with it",
}
"""What an intent's ``metadata:`` may say (hassil keeps domain data there), and why."""


@dataclass(frozen=True)
class Template:
    """One sentence template and where it was written."""

    intent: str
    source: str
    """The template text as written in the YAML file."""
    path: str
    line: int


@dataclass
class Pattern:
    """A template as a regex over normalised tokens, compiled on first use.

    Compiling all templates up front would cost most of the start-up time; ``required``
    lets the matcher skip templates whose words are absent, so most never compile.
    """

    source: str
    groups: dict[str, str]
    """regex group name -> slot list name"""
    template: Template
    required: frozenset[str]
    """Tokens every sentence of this template contains."""
    expression: Expression | None = None
    """The parsed template (for sampling real sentences, e.g. a recogniser grammar); use
    ``parsed()``, which parses it again where the cache left it out."""
    first: frozenset[str] | None = None
    """Tokens a sentence of this template can start with (None: it can say nothing)."""
    _regex: re.Pattern[str] | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_regex"] = None  # compiled on use
        # The parse tree is a quarter of the cached objects and only the voice loop's
        # recogniser grammar reads it: parsed again from the template text when asked for.
        state["expression"] = None
        return state

    def parsed(self) -> Expression | None:
        """The parsed template (parsed again from its text when the cache left it out)."""
        if self.expression is None and self.template.source:
            self.expression = parse_sentence(self.template.source, keep_text=True).expression
        return self.expression

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            self._regex = re.compile(self.source)
        return self._regex


@dataclass(frozen=True)
class WordClasses:
    """Word classes the matcher weighs differently (``word_classes:`` in an intents file)."""

    domain_rules: tuple[str, ...] = ()
    """Expansion rules whose words put a question in our domain ("twitch", "muscle")."""
    stop_words: frozenset[str] = frozenset()
    """Function words, as written: they carry no topic."""
    filler: frozenset[str] = frozenset()
    """Everyday words that say little about what is asked, stemmed: they weigh little."""
    animals: frozenset[str] = frozenset()
    """Animal words, stemmed: twitching in an animal is a vet's matter."""
    unfinished: frozenset[str] = frozenset()
    """Words a spoken question does not end on ("and", "my", "because"), stemmed: the
    voice loop waits longer for the rest after them."""


_WORD_CLASS_KEYS = {"domain_rules", "stop_words", "filler", "animals", "unfinished"}


@dataclass
class IntentSet:
    """Everything the matcher needs, built once at load."""

    language: str
    intents: list[str]
    """Intent names in file order."""
    templates: list[Template]
    patterns: dict[str, list[Pattern]]
    """intent -> compiled templates"""
    examples: list[tuple[Template, Expansion]]
    """Sampled sentences per template (for fuzzy matching)."""
    grammar: Grammar
    skip_phrases: list[tuple[str, ...]]
    """Stemmed word sequences dropped before matching, longest first."""
    sounds_like: dict[tuple[str, ...], tuple[str, ...]]
    """Heard words -> the words we meant, longest heard phrase first."""
    files: list[Path] = field(default_factory=list)
    flags: dict[str, frozenset[str]] = field(default_factory=dict)
    """Metadata flag (``METADATA_FLAGS``) -> the intents whose metadata sets it."""
    required: dict[str, frozenset[str]] = field(default_factory=dict)
    """intent -> stemmed keywords, one of which an utterance must hold for a fuzzy match to
    that intent (hassil's ``required_keywords``): the babies answer needs a baby word."""
    word_classes: WordClasses = field(default_factory=WordClasses)
    """Stop, filler and animal words and the domain's anchor rules (empty when no file
    gives them)."""
    value_places: dict[str, dict[str, tuple[Path, int | None]]] = field(default_factory=dict)
    """list name -> value (its ``out``) -> file and line where the value is first given, so
    that a problem with a value (no answer for it) is reported where it is written."""

    def flagged(self, flag: str) -> frozenset[str]:
        """Intents whose ``metadata:`` sets ``flag`` (e.g. the everyday topics)."""
        return self.flags.get(flag, frozenset())

    def heard_words(self, text: str) -> list[str]:
        """Utterance -> words with spelled letters joined and misheard phrases fixed."""
        return apply_sounds_like(join_spelled_letters(words(text)), self.sounds_like)

    def normalize(self, text: str) -> list[str]:
        """Utterance -> stemmed tokens: sounds-like fixes, skip words removed."""
        return drop_skip_words([stem(w) for w in self.heard_words(text)], self.skip_phrases)

    def list_values(self, list_name: str) -> dict[str, str]:
        return self.grammar.list_values(list_name)

    def target(self, pattern: Pattern, text: str) -> str | None:
        """What ``text`` (normalised tokens, each followed by a space) asks for if it matches
        ``pattern`` exactly: the {topic} value said, else the template's intent; None when it
        does not match. The matcher and the overlap check both decide this way."""
        match = pattern.regex.fullmatch(text)
        if match is None:
            return None
        target = pattern.template.intent
        for group, list_name in pattern.groups.items():
            if list_name == TOPIC_SLOT and match.group(group):
                target = self.list_values(list_name).get(match.group(group), target)
        return target

    def spoken_sentences(self, per_template: int = 40) -> list[str]:
        """Real sentences (unstemmed words) sampled from every template, for building a
        speech recogniser grammar; each alternative word appears at least once."""
        surface = Grammar(rules=self.grammar.rules, lists=self.grammar.lists, tokenize=words)
        sentences: dict[str, None] = {}
        for patterns in self.patterns.values():
            for pattern in patterns:
                expression = pattern.parsed()
                if expression is None:
                    continue
                for expansion in surface.expand(expression, cap=per_template):
                    if expansion.tokens:
                        sentences.setdefault(" ".join(expansion.tokens), None)
        return list(sentences)

    def vocabulary(self) -> set[str]:
        """Every word (unstemmed) the templates and lists can say."""
        surface = Grammar(rules=self.grammar.rules, lists=self.grammar.lists, tokenize=words)
        found: set[str] = set()
        for patterns in self.patterns.values():
            for pattern in patterns:
                expression = pattern.parsed()
                if expression is not None:
                    for expansion in surface.expand(expression, cap=2000):
                        found.update(expansion.tokens)
        return found


def join_spelled_letters(heard: list[str]) -> list[str]:
    """Recognisers spell acronyms as letters: "a l s" -> "als", "b f s" -> "bfs"."""
    out: list[str] = []
    run: list[str] = []
    for word in [*heard, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) >= 2:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


def apply_sounds_like(heard: list[str], table: dict[tuple[str, ...], tuple[str, ...]]) -> list[str]:
    """Replace misheard phrases, longest match first, left to right."""
    if not table:
        return heard
    max_len = _longest_key(table)
    out: list[str] = []
    i = 0
    while i < len(heard):
        for size in range(min(max_len, len(heard) - i), 0, -1):
            replacement = table.get(tuple(heard[i : i + size]))
            if replacement is not None:
                out.extend(replacement)
                i += size
                break
        else:
            out.append(heard[i])
            i += 1
    return out


_LONGEST: dict[int, tuple[dict, int]] = {}


def _longest_key(table: dict[tuple[str, ...], tuple[str, ...]]) -> int:
    """Words in the longest misheard phrase, remembered per table (tables never change)."""
    cached = _LONGEST.get(id(table))
    if cached is None or cached[0] is not table:
        cached = (table, max(len(k) for k in table))
        _LONGEST[id(table)] = cached
    return cached[1]


def drop_skip_words(toks: list[str], phrases: list[tuple[str, ...]]) -> list[str]:
    """Remove filler words and phrases ("um", "you know"); ``phrases`` longest first."""
    if not phrases:
        return toks
    by_first = _phrases_by_first_word(tuple(phrases))
    out: list[str] = []
    i = 0
    while i < len(toks):
        for phrase in by_first.get(toks[i], ()):
            if tuple(toks[i : i + len(phrase)]) == phrase:
                i += len(phrase)
                break
        else:
            out.append(toks[i])
            i += 1
    return out


@lru_cache(maxsize=8)
def _phrases_by_first_word(
    phrases: tuple[tuple[str, ...], ...],
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Skip phrases grouped by their first word, in the given (longest first) order."""
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        if phrase:
            grouped.setdefault(phrase[0], []).append(phrase)
    return {first: tuple(group) for first, group in grouped.items()}


@dataclass(frozen=True)
class TemplateTokenizer:
    """Template text -> stemmed tokens without skip words (a class so it pickles)."""

    skip: frozenset[str]

    def __call__(self, text: str) -> list[str]:
        return [t for t in (stem(w) for w in words(text)) if t not in self.skip]


# -- loading -------------------------------------------------------------------------------
def intent_files(directory: Path) -> list[Path]:
    """The YAML files of an intents folder, sorted; errors if none or unreadable."""
    if not directory.exists():
        raise DataError(directory, None, "intents folder not found")
    if not directory.is_dir():
        raise DataError(directory, None, "is not a folder (--intents expects a folder of YAML)")
    try:
        files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    except OSError as exc:
        raise DataError(directory, None, f"cannot list folder: {exc.strerror or exc}") from None
    if not files:
        raise DataError(directory, None, "no .yaml files in the intents folder")
    return files


def load_intents(directory: Path | str) -> IntentSet:
    """Load every YAML file in ``directory``; raise DataErrors listing all problems."""
    directory = Path(directory)
    builder = _Builder()
    for path in intent_files(directory):
        builder.add_file(path)
    return builder.finish()


class _Builder:
    def __init__(self) -> None:
        self.errors: list[DataError] = []
        self.language: str | None = None
        self.intent_defs: dict[str, tuple[Path, LineDict | Any, int]] = {}
        self.rule_defs: dict[str, tuple[Path, int, str]] = {}
        self.list_defs: dict[str, tuple[Path, int, Any]] = {}
        self.skip_words: list[str] = []
        self.sounds_like: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.files: list[Path] = []
        self.flags: dict[str, set[str]] = {flag: set() for flag in METADATA_FLAGS}
        self.required: dict[str, set[str]] = {}
        self.word_classes: dict[str, tuple[Path, int | None, tuple[str, ...]]] = {}

    def error(self, path: Path, line: int | None, message: str) -> None:
        self.errors.append(DataError(path, line, message))

    # -- per file --------------------------------------------------------------------------
    def add_file(self, path: Path) -> None:
        try:
            doc = load_yaml(path)
        except DataError as exc:
            self.errors.append(exc)
            return
        self.files.append(path)
        if doc is None:
            self.error(path, 1, "file is empty")
            return
        if not isinstance(doc, dict):
            self.error(path, line_of(doc, 0) or 1, "top level must be a mapping of keys")
            return
        if SOUNDS_LIKE_KEY in doc:
            self._add_sounds_like(path, doc)
            return
        if WORD_CLASSES_KEY in doc:
            self._add_word_classes(path, doc)
            return
        for key in doc:
            if key not in _HASSIL_KEYS:
                self.error(
                    path,
                    line_of(doc, key),
                    f"unknown top-level key {key!r} "
                    f"(expected one of: {', '.join(sorted(_HASSIL_KEYS))})",
                )
        language = doc.get("language")
        if not isinstance(language, str) or not language:
            self.error(
                path, line_of(doc, "language") or 1, "missing 'language' (e.g. language: en)"
            )
        elif self.language is None:
            self.language = language
        elif language != self.language:
            self.error(
                path,
                line_of(doc, "language"),
                f"language {language!r} differs from {self.language!r} in other files",
            )
        self._add_skip_words(path, doc)
        self._add_named(path, doc, "expansion_rules", self.rule_defs, self._check_rule)
        self._add_named(path, doc, "lists", self.list_defs, self._check_list)
        self._add_intents(path, doc)

    def _add_skip_words(self, path: Path, doc: dict) -> None:
        skip = doc.get("skip_words", [])
        if not isinstance(skip, list):
            self.error(path, line_of(doc, "skip_words"), "'skip_words' must be a list of words")
            return
        for i, word in enumerate(skip):
            if not isinstance(word, str) or not word.strip():
                self.error(path, line_of(skip, i), "skip word must be non-empty text")
            else:
                self.skip_words.append(word)

    def _add_named(self, path, doc, key, table, check) -> None:
        section = doc.get(key)
        if section is None:
            return
        if not isinstance(section, dict):
            self.error(path, line_of(doc, key), f"'{key}' must be a mapping of names")
            return
        for name, body in section.items():
            line = line_of(section, name)
            if not isinstance(name, str) or not _NAME.match(name):
                self.error(path, line, f"bad name {name!r} in '{key}'")
                continue
            if name in table:
                other_path, other_line, _ = table[name]
                self.error(
                    path,
                    line,
                    f"'{name}' in '{key}' is already defined at {other_path}:{other_line}",
                )
                continue
            if check(path, line, name, body):
                table[name] = (path, line, body)

    def _check_rule(self, path: Path, line: int | None, name: str, body: Any) -> bool:
        if not isinstance(body, str) or not body.strip():
            self.error(path, line, f"expansion rule <{name}> must be a template string")
            return False
        return True

    def _check_list(self, path: Path, line: int | None, name: str, body: Any) -> bool:
        if not isinstance(body, dict) or "values" not in body:
            self.error(
                path,
                line,
                f"list {{{name}}} needs 'values:' (only value lists are "
                "supported; range and wildcard lists are not)",
            )
            return False
        values = body["values"]
        if not isinstance(values, list) or not values:
            self.error(
                path, line_of(body, "values"), f"list {{{name}}}: 'values' must be a non-empty list"
            )
            return False
        ok = True
        for i, value in enumerate(values):
            vline = line_of(values, i)
            if isinstance(value, str) and value.strip():
                continue
            if isinstance(value, dict):
                text_in, out = value.get("in"), value.get("out")
                extra = set(value) - {"in", "out", "context", "metadata"}
                if not isinstance(text_in, str) or not text_in.strip():
                    self.error(path, vline, f"list {{{name}}} value needs 'in:' text")
                    ok = False
                elif not isinstance(out, (str, int, float)):
                    self.error(path, vline, f"list {{{name}}} value needs 'out:' value")
                    ok = False
                elif extra:
                    self.error(
                        path,
                        vline,
                        f"list {{{name}}} value has unknown keys: "
                        f"{', '.join(sorted(map(str, extra)))}",
                    )
                    ok = False
                continue
            self.error(path, vline, f"list {{{name}}} value must be text or in/out")
            ok = False
        return ok

    def _add_intents(self, path: Path, doc: dict) -> None:
        intents = doc.get("intents")
        if intents is None:
            return
        if not isinstance(intents, dict):
            self.error(path, line_of(doc, "intents"), "'intents' must be a mapping of names")
            return
        for name, body in intents.items():
            line = line_of(intents, name)
            if not isinstance(name, str) or not _NAME.match(name):
                self.error(path, line, f"bad intent name {name!r}")
                continue
            if name in self.intent_defs:
                other_path, _, other_line = self.intent_defs[name]
                self.error(
                    path, line, f"intent '{name}' is already defined at {other_path}:{other_line}"
                )
                continue
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                self.error(
                    path, line, f"intent '{name}' needs 'data:', a list of blocks with 'sentences:'"
                )
                continue
            self.intent_defs[name] = (path, body, line or 0)

    def _add_sounds_like(self, path: Path, doc: dict) -> None:
        table = doc[SOUNDS_LIKE_KEY]
        extra = set(doc) - {SOUNDS_LIKE_KEY}
        if extra:
            self.error(
                path,
                line_of(doc, next(iter(extra))),
                "a sounds_like file holds only the 'sounds_like' key",
            )
        if not isinstance(table, dict):
            self.error(
                path,
                line_of(doc, SOUNDS_LIKE_KEY),
                "'sounds_like' must map each word to a list of what a recogniser hears instead",
            )
            return
        for meant, heard_list in table.items():
            line = line_of(table, meant)
            if not isinstance(meant, str) or not words(meant):
                self.error(path, line, "sounds_like key must be a word or phrase")
                continue
            if not isinstance(heard_list, list) or not heard_list:
                self.error(path, line, f"sounds_like '{meant}' needs a list of heard phrases")
                continue
            for i, heard in enumerate(heard_list):
                heard_words = words(heard) if isinstance(heard, str) else []
                if not heard_words:
                    self.error(path, line_of(heard_list, i), "heard phrase must be text")
                    continue
                key = tuple(heard_words)
                if key in self.sounds_like and self.sounds_like[key] != tuple(words(meant)):
                    self.error(
                        path,
                        line_of(heard_list, i),
                        f"'{heard}' already sounds like '{' '.join(self.sounds_like[key])}'",
                    )
                    continue
                self.sounds_like[key] = tuple(words(meant))

    def _add_word_classes(self, path: Path, doc: dict) -> None:
        table = doc[WORD_CLASSES_KEY]
        extra = set(doc) - {WORD_CLASSES_KEY}
        if extra:
            self.error(path, line_of(doc, next(iter(extra))),
                       "a word_classes file holds only the 'word_classes' key")
        if not isinstance(table, dict):
            self.error(path, line_of(doc, WORD_CLASSES_KEY),
                       "'word_classes' must map each class to its words")
            return
        for name, body in table.items():
            line = line_of(table, name)
            if name not in _WORD_CLASS_KEYS:
                self.error(path, line, f"unknown word class {name!r} "
                           f"(expected one of: {', '.join(sorted(_WORD_CLASS_KEYS))})")
                continue
            if name in self.word_classes:
                other_path, other_line, _ = self.word_classes[name]
                self.error(path, line, f"word class '{name}' is already given at "
                           f"{other_path}:{other_line}")
                continue
            if isinstance(body, str):
                items = body.split()
            elif isinstance(body, list) and all(isinstance(w, str) and w.strip() for w in body):
                items = [w.strip() for w in body]
            else:
                self.error(path, line, f"word class '{name}' must be words separated by "
                           "spaces, or a list of words")
                continue
            if not items:
                self.error(path, line, f"word class '{name}' is empty")
                continue
            self.word_classes[name] = (path, line, tuple(items))

    def _word_classes(self) -> WordClasses:
        """The word classes given, checked against the rules they name."""
        given = {name: entry[2] for name, entry in self.word_classes.items()}
        if "domain_rules" in self.word_classes:
            path, line, names = self.word_classes["domain_rules"]
            for name in names:
                if name not in self.rule_defs:
                    self.error(path, line, f"domain rule <{name}> is not an expansion rule")
        return WordClasses(
            domain_rules=given.get("domain_rules", ()),
            stop_words=frozenset(given.get("stop_words", ())),
            filler=frozenset(stem(w) for w in given.get("filler", ())),
            animals=frozenset(stem(w) for w in given.get("animals", ())),
            unfinished=frozenset(stem(w) for w in given.get("unfinished", ())),
        )

    # -- whole set -------------------------------------------------------------------------
    def finish(self) -> IntentSet:
        rules = self._parse_rules()
        lists, value_places = self._parse_lists(rules)
        skip_phrases = sorted(
            {tuple(stem(w) for w in words(p)) for p in self.skip_words if words(p)},
            key=len,
            reverse=True,
        )
        skip_single = frozenset(p[0] for p in skip_phrases if len(p) == 1)
        grammar = Grammar(rules=rules, lists=lists, tokenize=TemplateTokenizer(skip_single))
        templates, patterns, examples = self._compile_intents(grammar)
        word_classes = self._word_classes()
        if not self.intent_defs and not self.errors:
            self.errors.append(
                DataError(self.files[0] if self.files else "intents", None, "no intents defined")
            )
        if self.errors:
            raise DataErrors(self.errors)
        return IntentSet(
            language=self.language or "en",
            intents=list(self.intent_defs),
            templates=templates,
            patterns=patterns,
            examples=examples,
            grammar=grammar,
            skip_phrases=skip_phrases,
            sounds_like=dict(sorted(self.sounds_like.items(), key=lambda kv: -len(kv[0]))),
            files=self.files,
            flags={flag: frozenset(names) for flag, names in self.flags.items()},
            required={name: frozenset(words) for name, words in self.required.items()},
            word_classes=word_classes,
            value_places=value_places,
        )

    def _parse(self, path: Path, line: int | None, text: str, what: str) -> Expression | None:
        try:
            return parse_sentence(text, keep_text=True).expression
        except Exception as exc:  # hassil raises several types for bad templates
            reason = " ".join(str(exc).split())
            reason = reason if len(reason) <= 100 else reason[:97] + "..."
            self.error(path, line, f"{what}: cannot parse template {short(text)}: {reason}")
            return None

    def _parse_rules(self) -> dict[str, Expression]:
        rules: dict[str, Expression] = {}
        for name, (path, line, body) in self.rule_defs.items():
            expr = self._parse(path, line, body, f"expansion rule <{name}>")
            if expr is not None:
                rules[name] = expr
        for name, expr in rules.items():
            path, line, _ = self.rule_defs[name]
            self._check_references(
                expr, rules, path, line, f"expansion rule <{name}>", seen=(name,)
            )
        return rules

    def _parse_lists(
        self, rules: dict[str, Expression]
    ) -> tuple[
        dict[str, list[tuple[Expression, str]]], dict[str, dict[str, tuple[Path, int | None]]]
    ]:
        """Parse list values, and note where each value is first given; a value's unknown
        rule or list is reported on the value's own line (not on the line of some template
        that uses the list)."""
        lists: dict[str, list[tuple[Expression, str]]] = {}
        places: dict[str, dict[str, tuple[Path, int | None]]] = {}
        for name, (path, _line, body) in self.list_defs.items():
            values: list[tuple[Expression, str]] = []
            where = places.setdefault(name, {})
            for i, value in enumerate(body["values"]):
                vline = line_of(body["values"], i)
                text_in = value if isinstance(value, str) else value["in"]
                out = value if isinstance(value, str) else str(value["out"])
                where.setdefault(out, (path, vline))
                expr = self._parse(path, vline, text_in, f"list {{{name}}}")
                if expr is not None and self._check_references(
                    expr, rules, path, vline, f"list {{{name}}}"
                ):
                    values.append((expr, out))
            lists[name] = values
        return lists, places

    def _check_references(self, expr, rules, path, line, what, seen=(), checked=None) -> bool:
        """Every rule and list ``expr`` refers to exists, and no rule refers to itself.

        ``checked`` holds rules already verified for this expression, so a rule used by many
        rules is walked once (without it, rules nested in rules cost exponential time).
        """
        checked = set() if checked is None else checked
        ok = True
        for ref in _walk(expr):
            if isinstance(ref, RuleReference):
                if ref.rule_name not in rules and ref.rule_name not in self.rule_defs:
                    self.error(path, line, f"{what}: unknown expansion rule <{ref.rule_name}>")
                    ok = False
                elif ref.rule_name in seen:
                    self.error(
                        path, line, f"{what}: expansion rule <{ref.rule_name}> refers to itself"
                    )
                    ok = False
                elif ref.rule_name in rules and ref.rule_name not in checked:
                    found = self._check_references(
                        rules[ref.rule_name], rules, path, line, what, (*seen, ref.rule_name),
                        checked,
                    )
                    if found:
                        checked.add(ref.rule_name)
                    ok = found and ok
            elif isinstance(ref, ListReference) and ref.list_name not in self.list_defs:
                self.error(path, line, f"{what}: unknown slot list {{{ref.list_name}}}")
                ok = False
        return ok

    def _add_metadata(self, path: Path, name: str, block: dict) -> None:
        """Read a data block's ``metadata:`` flags (each true or false; unknown flags and
        values are errors with their line)."""
        metadata = block.get("metadata")
        if metadata is None:
            return
        line = line_of(block, "metadata")
        if not isinstance(metadata, dict):
            self.error(path, line, f"intent '{name}': metadata must be a mapping of flags")
            return
        for flag, value in metadata.items():
            fline = line_of(metadata, flag) or line
            if flag not in METADATA_FLAGS:
                known = ", ".join(sorted(METADATA_FLAGS))
                self.error(path, fline, f"intent '{name}': unknown metadata {flag!r} ({known})")
            elif not isinstance(value, bool):
                self.error(path, fline, f"intent '{name}': metadata {flag} is true or false")
            elif value:
                self.flags[flag].add(name)

    def _add_required(self, path: Path, name: str, block: dict) -> None:
        """Read ``required_keywords:`` (a list of words; stemmed like the text)."""
        keywords = block.get("required_keywords")
        if keywords is None:
            return
        line = line_of(block, "required_keywords")
        if not isinstance(keywords, list) or not keywords:
            self.error(path, line, f"intent '{name}': required_keywords is a list of words")
            return
        for i, keyword in enumerate(keywords):
            found = words(keyword) if isinstance(keyword, str) else []
            if len(found) != 1:
                self.error(path, line_of(keywords, i) or line,
                           f"intent '{name}': required keyword {keyword!r} must be one word")
                continue
            self.required.setdefault(name, set()).add(stem(found[0]))

    def _compile_intents(self, grammar: Grammar):
        templates: list[Template] = []
        patterns: dict[str, list[Pattern]] = {}
        examples: list[tuple[Template, Expansion]] = []
        for name, (path, body, _line) in self.intent_defs.items():
            patterns[name] = []
            for b, block in enumerate(body["data"]):
                bline = line_of(body["data"], b)
                sentences = block.get("sentences") if isinstance(block, dict) else None
                if not isinstance(sentences, list) or not sentences:
                    self.error(
                        path,
                        bline,
                        f"intent '{name}': each data block needs "
                        "'sentences:', a non-empty list of templates",
                    )
                    continue
                self._add_metadata(path, name, block)
                self._add_required(path, name, block)
                unknown = set(block) - _DATA_KEYS
                if unknown:
                    self.error(
                        path,
                        bline,
                        f"intent '{name}': unknown keys in data block: "
                        f"{', '.join(sorted(map(str, unknown)))}",
                    )
                for i, text in enumerate(sentences):
                    sline = line_of(sentences, i)
                    if not isinstance(text, str) or not text.strip():
                        self.error(path, sline, f"intent '{name}': template must be text")
                        continue
                    compiled = self._compile_one(grammar, name, text, path, sline)
                    if compiled is None:
                        continue
                    pattern, expr = compiled
                    try:
                        sampled = grammar.expand(expr)
                    except (TemplateTooLarge, RecursionError) as exc:
                        self.error(path, sline, _too_large(name, text, exc))
                        continue
                    templates.append(pattern.template)
                    patterns[name].append(pattern)
                    examples.extend((pattern.template, e) for e in sampled)
        return templates, patterns, examples

    def _compile_one(self, grammar, name, text, path, line) -> tuple[Pattern, Expression] | None:
        expr = self._parse(path, line, text, f"intent '{name}'")
        if expr is None:
            return None
        if not self._check_references(expr, grammar.rules, path, line, f"intent '{name}'"):
            return None
        groups: dict[str, str] = {}
        try:
            source = grammar.to_regex(expr, groups)
            required = grammar.required(expr)
            first, can_be_empty = grammar.first_words(expr)
        except (TemplateTooLarge, RecursionError) as exc:
            self.error(path, line, _too_large(name, text, exc))
            return None
        except (KeyError, TypeError) as exc:
            self.error(
                path, line, f"intent '{name}': template {short(text)} cannot be compiled: {exc}"
            )
            return None
        if not source:
            self.error(path, line, f"intent '{name}': template {short(text)} says nothing")
            return None
        template = Template(intent=name, source=text, path=str(path), line=line or 0)
        pattern = Pattern(
            source=source,
            groups=groups,
            template=template,
            required=required,
            expression=expr,
            first=None if can_be_empty else first,
        )
        return pattern, expr


def _too_large(name: str, text: str, exc: BaseException) -> str:
    why = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
    return f"intent '{name}': template {short(text)} is too large: {why}"


def _walk(expr: Expression) -> Iterable[Expression]:
    yield expr
    if isinstance(expr, Sequence) or hasattr(expr, "items"):
        for item in getattr(expr, "items", []):
            yield from _walk(item)
