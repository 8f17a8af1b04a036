"""A small pattern language for signs and context triggers, compiled to regular expressions.

Patterns are written as people speak, and words go through the same normalisation as the
text (contractions expanded, then ``nlu.text.stem``), so ``"can't breathe"`` matches "cannot
breathe", "can not breathing" and "cant breathe". The syntax:

- ``word``: one word, compared after stemming (``"drooping"`` also matches "droops").
- ``word*``: any word that starts with these letters, compared unstemmed against the stemmed
  text (``convuls*`` matches "convulsing" and "convulsions"); ``*`` alone: any one word.
- ``(a|b c)``: one of the alternatives; ``[a b]``, ``[a|b c]`` or ``(a|b c)?``: optional
  words; ``(is|has)*``: up to three of the alternatives in a row ("has been getting").
- ``...``: a gap of up to three words of any kind; ``...8``: up to eight (at most
  ``MAX_GAP_WORDS``), for stories whose parts come far apart.
- ``{name}``: any phrase of the word group ``name`` (defined in the data, with the
  recogniser's near-misses for its key word).

A compiled pattern runs over ``" " + " ".join(tokens) + " "``: every token is followed by
one space, so each element of a pattern ends with a space and elements simply concatenate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from assistant.nlu.text import stem, words

GAP_WORDS = 3
"""How many words ``...`` may skip: enough for "my left arm", few enough to stay local."""

MAX_GAP_WORDS = 16

ANY_WORD = r"[^#\s]\S* "
"""One token of any kind, never the sentence boundary token ``#`` (see ``reader``)."""

MAX_PATTERN_CHARS = 1000
"""A pattern longer than this is a mistake in the data, not a phrase anyone says."""

_SYNTAX = re.compile(
    r"\.\.\.\d*"  # a gap
    r"|\)[?*]|[()\[\]|{}]"  # structure
    r"|[^\s()\[\]|{}.]+(?:\.(?!\.\.)[^\s()\[\]|{}.]*)*"  # a word (may hold a dot: "e.g")
)


class PatternError(ValueError):
    """A pattern that cannot be compiled; the message says what is wrong in plain words."""


def compile_pattern(
    pattern: str, resolve: Callable[[str], str] | None = None
) -> str:
    """``pattern`` as a regular expression source (no anchors); ``resolve`` turns a group
    name into the regex of its alternatives. Raises PatternError."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise PatternError("a pattern must be non-empty text")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"pattern is longer than {MAX_PATTERN_CHARS} characters")
    parser = _Parser(_SYNTAX.findall(pattern), resolve)
    source = parser.sequence(closing=None)
    if parser.nullable:
        raise PatternError(f"pattern {pattern!r} can match no words at all")
    return source


def compile_group(
    phrases: list[str], resolve: Callable[[str], str] | None = None
) -> str:
    """Several patterns as one alternation (longest written first, so that the more
    specific phrase wins where two start at the same word)."""
    sources = [compile_pattern(p, resolve) for p in sorted(phrases, key=len, reverse=True)]
    return "(?:" + "|".join(sources) + ")"


def finder(source: str) -> re.Pattern[str]:
    """A compiled regex that matches at every word start of a joined token string, the
    match in group 1. Matches may overlap: "had a stroke" must not hide "stroke years back
    and now he's having another one", which starts inside it."""
    return re.compile("(?<= )(?=(" + source + "))")


class _Parser:
    def __init__(self, items: list[str], resolve: Callable[[str], str] | None) -> None:
        self.items = items
        self.at = 0
        self.resolve = resolve
        self.nullable = True

    def sequence(self, closing: str | None) -> str:
        """Elements up to ``closing``; sets ``self.nullable`` when all of them may be absent
        (checked structurally: compiling every pattern alone to test it costs 0.2 s)."""
        parts: list[str] = []
        nullable = True
        while self.at < len(self.items):
            item = self.items[self.at]
            if item in ("|", ")", ")?", ")*", "]", "}"):
                if item == "|" and closing in (")", "]"):
                    break
                if item == closing or (closing == ")" and item in (")?", ")*")):
                    break
                raise PatternError(f"unexpected '{item}'")
            self.at += 1
            if item == "(":
                source, optional = self.alternatives()
                parts.append(source)
                nullable = nullable and optional
            elif item == "[":
                parts.append(self.alternatives(closing="]")[0] + "?")
            elif item == "{":
                parts.append(self.group())
                nullable = False
            elif item.startswith("..."):
                parts.append(f"(?:{ANY_WORD}){{0,{_gap(item)}}}")
            else:
                parts.append(_word(item))
                nullable = False
        if closing is None and self.at < len(self.items):
            raise PatternError(f"unexpected '{self.items[self.at]}'")
        self.nullable = nullable
        return "".join(parts)

    def alternatives(self, closing: str = ")") -> tuple[str, bool]:
        """``(a|b)`` or ``[a|b]``: the regex, and whether it may match nothing."""
        options = [self.sequence(closing=closing)]
        nullable = self.nullable
        while self.at < len(self.items) and self.items[self.at] == "|":
            self.at += 1
            options.append(self.sequence(closing=closing))
            nullable = nullable or self.nullable
        suffix = self.expect(closing)
        # stemming makes some alternatives the same ("looks|look|looking" -> "look"): each
        # is kept once, which changes no match and shortens what start-up must compile
        options = list(dict.fromkeys(options))
        return "(?:" + "|".join(options) + ")" + suffix, nullable or suffix != ""

    def group(self) -> str:
        if self.at + 1 >= len(self.items) or self.items[self.at + 1] != "}":
            raise PatternError("a word group is written {name}")
        name = self.items[self.at]
        self.at += 2
        if self.resolve is None:
            raise PatternError(f"word groups cannot be used here ({{{name}}})")
        return self.resolve(name)

    def expect(self, closing: str) -> str:
        """Step over ``closing``; returns the regex suffix it carries (``)?``, ``)*``)."""
        found = self.items[self.at] if self.at < len(self.items) else None
        if found == closing:
            self.at += 1
            return ""
        if closing == ")" and found in (")?", ")*"):
            self.at += 1
            return "?" if found == ")?" else f"{{0,{GAP_WORDS}}}"
        opening = {")": "(", "]": "["}[closing]
        raise PatternError(f"'{opening}' is not closed by '{closing}'")


def _word(item: str) -> str:
    """One written word (or a contraction that expands to several) as regex source."""
    if item == "*":
        return ANY_WORD
    if item.endswith("*"):
        prefix = item[:-1].lower()
        if not prefix or not re.fullmatch(r"[^\W_]+", prefix):
            raise PatternError(f"'{item}': a prefix is letters followed by *")
        return re.escape(_stem_prefix(prefix)) + r"\S* "
    found = words(item)
    if not found:
        raise PatternError(f"'{item}' is not a word")
    return "".join(re.escape(stem(w)) + " " for w in found)


def _stem_prefix(prefix: str) -> str:
    """What the stemmed forms of words starting with ``prefix`` share: "puffing" is read
    "puf" and "seizure" "seizur", so ``puff*`` must look for "puf" and ``seizure*`` for
    "seizur". Never shorter than three letters."""
    forms = [prefix] + [stem(prefix + end) for end in ("ing", "ed", "s", "es")]
    shared = forms[0]
    for form in forms[1:]:
        while not form.startswith(shared):
            shared = shared[:-1]
    return shared if len(shared) >= 3 else prefix[:3]


def _gap(item: str) -> int:
    if item == "...":
        return GAP_WORDS
    size = int(item[3:])
    if not 1 <= size <= MAX_GAP_WORDS:
        raise PatternError(f"'{item}': a gap is from 1 to {MAX_GAP_WORDS} words")
    return size


def group_resolver(groups: Mapping[str, str]) -> Callable[[str], str]:
    """A ``resolve`` for ``compile_pattern`` from already compiled group sources."""

    def resolve(name: str) -> str:
        if name not in groups:
            raise PatternError(f"unknown word group {{{name}}}")
        return groups[name]

    return resolve
