"""Turn parsed hassil templates into the two forms the matcher needs.

* ``to_regex``: one regular expression over normalised tokens (each followed by a space),
  for exact matching. Slot lists become named groups, so slot values are recovered without
  expanding the (astronomically many) sentences a template can say.
* ``expand``: a bounded sample of the token sequences a template can say, chosen so that
  every alternative word appears at least once; the fuzzy matcher learns from these.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from hassil.expression import (
    Alternative,
    Expression,
    ListReference,
    Permutation,
    RuleReference,
    Sequence,
    TextChunk,
)

Tokenize = Callable[[str], list[str]]

EXPANSION_CAP = 400
"""Sequences kept per template node; enough to show every alternative at least once."""

MAX_PERMUTATION_ITEMS = 6
"""``(a;b;c)`` matches its items in any order: n items are n! orders, each written out in
the regex. 6 items = 720 orders; 11 would be 39.9 million (minutes and gigabytes)."""
MAX_REGEX_CHARS = 500_000
"""One template's regex beyond this is a mistake (rules nested inside rules); ours are at
most a few kB."""


class TemplateTooLarge(ValueError):
    """A template would expand beyond the caps above; the loader reports it with file:line."""


@dataclass(frozen=True)
class Expansion:
    """One sentence a template can say, as normalised tokens, with its slot values."""

    tokens: tuple[str, ...]
    slots: tuple[tuple[str, str], ...] = ()


@dataclass
class Grammar:
    """Expansion rules and slot lists, resolved to expressions once."""

    rules: dict[str, Expression]
    lists: dict[str, list[tuple[Expression, str]]]
    """list name -> [(value template, output value)]"""
    tokenize: Tokenize
    _rule_regex: dict[str, str] = field(default_factory=dict)
    _list_values: dict[str, dict[str, str]] = field(default_factory=dict)
    _expansions: dict[tuple[str, str], list[Expansion]] = field(default_factory=dict)
    _required: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    _first: dict[tuple[str, str], tuple[frozenset[str], bool]] = field(default_factory=dict)
    """Per rule and list: computed once (a rule used by many rules is not walked again)."""

    # -- regex -----------------------------------------------------------------------------
    def to_regex(self, expr: Expression, groups: dict[str, str]) -> str:
        """Regex source for ``expr``; ``groups`` collects group name -> list name."""
        if isinstance(expr, TextChunk):
            return "".join(re.escape(tok) + " " for tok in self.tokenize(expr.text))
        if isinstance(expr, Alternative):
            parts = sorted(
                {self.to_regex(item, groups) for item in expr.items}, key=len, reverse=True
            )
            body = "|".join(parts)
            return _capped(f"(?:{body})?" if expr.is_optional else f"(?:{body})")
        if isinstance(expr, Permutation):
            _check_permutation(expr)
            perms = [
                _capped("".join(self.to_regex(item, groups) for item in order))
                for order in itertools.permutations(expr.items)
            ]
            return _capped("(?:" + "|".join(perms) + ")")
        if isinstance(expr, Sequence):
            return _capped("".join(self.to_regex(item, groups) for item in expr.items))
        if isinstance(expr, RuleReference):
            if expr.rule_name not in self._rule_regex:
                self._rule_regex[expr.rule_name] = self.to_regex(self.rules[expr.rule_name], {})
            return self._rule_regex[expr.rule_name]
        if isinstance(expr, ListReference):
            name = f"g{len(groups)}"
            groups[name] = expr.list_name
            values = self.list_values(expr.list_name)
            alternatives = "|".join(
                re.escape(text) for text in sorted(values, key=len, reverse=True)
            )
            return f"(?P<{name}>(?:{alternatives}))"
        raise TypeError(f"unsupported template element: {type(expr).__name__}")

    def list_values(self, list_name: str) -> dict[str, str]:
        """Every way to say a list value (normalised, trailing space) -> its output value."""
        if list_name not in self._list_values:
            table: dict[str, str] = {}
            for value_expr, out in self.lists[list_name]:
                for expansion in self.expand(value_expr, cap=10_000):
                    text = "".join(tok + " " for tok in expansion.tokens)
                    if text:
                        table.setdefault(text, out)
            self._list_values[list_name] = table
        return self._list_values[list_name]

    # -- required words --------------------------------------------------------------------
    def required(self, expr: Expression) -> frozenset[str]:
        """Tokens every sentence of ``expr`` contains (a cheap pre-filter before the regex)."""
        if isinstance(expr, TextChunk):
            return frozenset(self.tokenize(expr.text))
        if isinstance(expr, Alternative):
            if expr.is_optional or not expr.items:
                return frozenset()
            sets = [self.required(item) for item in expr.items]
            return frozenset.intersection(*sets)
        if isinstance(expr, Permutation | Sequence):
            result: frozenset[str] = frozenset()
            for item in expr.items:
                result |= self.required(item)
            return result
        if isinstance(expr, RuleReference):
            key = ("rule", expr.rule_name)
            if key not in self._required:
                self._required[key] = self.required(self.rules[expr.rule_name])
            return self._required[key]
        if isinstance(expr, ListReference):
            key = ("list", expr.list_name)
            if key not in self._required:
                values = [self.required(v) for v, _ in self.lists[expr.list_name]]
                self._required[key] = frozenset.intersection(*values) if values else frozenset()
            return self._required[key]
        return frozenset()

    # -- first words -----------------------------------------------------------------------
    def first_words(self, expr: Expression) -> tuple[frozenset[str], bool]:
        """The tokens a sentence of ``expr`` can start with, and whether it can be empty.

        A sentence can only match a template that can start with its first word, so the
        matcher indexes templates by these and tries only a handful per utterance.
        """
        if isinstance(expr, TextChunk):
            toks = self.tokenize(expr.text)
            return (frozenset(toks[:1]), not toks)
        if isinstance(expr, Alternative):
            firsts: frozenset[str] = frozenset()
            empty = expr.is_optional or not expr.items
            for item in expr.items:
                item_first, item_empty = self.first_words(item)
                firsts |= item_first
                empty = empty or item_empty
            return firsts, empty
        if isinstance(expr, Permutation):
            parts = [self.first_words(item) for item in expr.items]
            firsts = frozenset().union(*(f for f, _ in parts))
            return firsts, all(e for _, e in parts)  # any item may come first
        if isinstance(expr, Sequence):
            firsts = frozenset()
            for item in expr.items:
                item_first, item_empty = self.first_words(item)
                firsts |= item_first
                if not item_empty:
                    return firsts, False
            return firsts, True
        if isinstance(expr, RuleReference):
            key = ("rule", expr.rule_name)
            if key not in self._first:
                self._first[key] = self.first_words(self.rules[expr.rule_name])
            return self._first[key]
        if isinstance(expr, ListReference):
            key = ("list", expr.list_name)
            if key not in self._first:
                firsts = frozenset()
                empty = False
                for value_expr, _ in self.lists[expr.list_name]:
                    value_first, value_empty = self.first_words(value_expr)
                    firsts |= value_first
                    empty = empty or value_empty
                self._first[key] = (firsts, empty)
            return self._first[key]
        raise TypeError(f"unsupported template element: {type(expr).__name__}")

    # -- expansion -------------------------------------------------------------------------
    def expand(self, expr: Expression, cap: int = EXPANSION_CAP) -> list[Expansion]:
        """A bounded, deterministic sample of what ``expr`` can say."""
        if isinstance(expr, TextChunk):
            return [Expansion(tuple(self.tokenize(expr.text)))]
        if isinstance(expr, Alternative):
            results: list[Expansion] = []
            per_item = [self.expand(item, cap) for item in expr.items]
            if expr.is_optional:
                per_item.append([Expansion(())])
            # Round-robin so every alternative is represented before any is repeated.
            for group in itertools.zip_longest(*per_item):
                results.extend(e for e in group if e is not None)
            return _dedupe(results)[:cap]
        if isinstance(expr, Permutation):
            _check_permutation(expr)
            results = []
            for order in itertools.permutations(expr.items):
                results.extend(self.expand(Sequence(items=list(order)), cap))
            return _dedupe(results)[:cap]
        if isinstance(expr, Sequence):
            return self._expand_sequence([self.expand(item, cap) for item in expr.items], cap)
        if isinstance(expr, RuleReference):
            key = ("rule", expr.rule_name)
            if key not in self._expansions:
                self._expansions[key] = self.expand(self.rules[expr.rule_name], cap)
            return self._expansions[key]
        if isinstance(expr, ListReference):
            key = ("list", expr.list_name)
            if key not in self._expansions:
                values = []
                for value_expr, out in self.lists[expr.list_name]:
                    for expansion in self.expand(value_expr, cap):
                        values.append(Expansion(expansion.tokens, ((expr.slot_name, out),)))
                self._expansions[key] = values
            return self._expansions[key]
        raise TypeError(f"unsupported template element: {type(expr).__name__}")

    @staticmethod
    def _expand_sequence(parts: list[list[Expansion]], cap: int) -> list[Expansion]:
        parts = [p for p in parts if p]
        total = 1
        for part in parts:
            total *= len(part)
        if total <= cap:
            combos: Iterator[tuple[Expansion, ...]] = itertools.product(*parts)
        else:
            # Diagonal sampling: combination i takes item (i * step_k) % n_k of part k, so
            # every alternative of every part appears, with varied company.
            longest = max(len(p) for p in parts)
            count = min(cap, max(longest, 1) * 2)
            steps = [1, 7, 3, 11, 5, 13, 17, 19]
            combos = (
                tuple(
                    part[(i * steps[k % len(steps)] + k) % len(part)]
                    for k, part in enumerate(parts)
                )
                for i in range(count)
            )
        results = []
        for combo in combos:
            toks: list[str] = []
            slots: list[tuple[str, str]] = []
            for expansion in combo:
                toks.extend(expansion.tokens)
                slots.extend(expansion.slots)
            results.append(Expansion(tuple(toks), tuple(slots)))
        return _dedupe(results)


def _check_permutation(expr: Permutation) -> None:
    if len(expr.items) > MAX_PERMUTATION_ITEMS:
        orders = math.factorial(len(expr.items))
        raise TemplateTooLarge(
            f"a permutation (a;b;...) of {len(expr.items)} items has {orders:,} orders; "
            f"use at most {MAX_PERMUTATION_ITEMS} items"
        )


def _capped(source: str) -> str:
    if len(source) > MAX_REGEX_CHARS:
        raise TemplateTooLarge(
            f"it expands to a pattern of over {MAX_REGEX_CHARS:,} characters "
            "(rules nested in rules, or too many alternatives)"
        )
    return source


def _dedupe(items: list[Expansion]) -> list[Expansion]:
    seen: set[Expansion] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
