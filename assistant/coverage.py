"""Cross-checks between intents and knowledge, for loading and ``assistant check``."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from assistant.dialogue import CONTROL_INTENTS
from assistant.errors import DataError
from assistant.knowledge import Knowledge
from assistant.nlu.loader import TOPIC_SLOT, IntentSet, Pattern

SAMPLES_PER_TEMPLATE = 6
"""Sentences per template tried against other intents when looking for overlaps."""


def topic_values(intents: IntentSet) -> set[str]:
    if TOPIC_SLOT not in intents.grammar.lists:
        return set()
    return set(intents.list_values(TOPIC_SLOT).values())


def _topic_intents(intents: IntentSet) -> set[str]:
    """Intents whose templates use {topic}: they answer with the slot's value."""
    return {
        name
        for name, patterns in intents.patterns.items()
        if any(TOPIC_SLOT in p.groups.values() for p in patterns)
    }


def missing_answers(intents: IntentSet, kb: Knowledge) -> list[DataError]:
    """Intents (and topic values) that would have nothing to say: fatal at load."""
    errors = []
    slot_intents = _topic_intents(intents)
    by_intent = {t.intent: t for t in intents.templates}
    for name in intents.intents:
        if name in CONTROL_INTENTS or name in kb.answers or name in slot_intents:
            continue
        template = by_intent.get(name)
        errors.append(
            DataError(
                template.path if template else intents.files[0],
                template.line if template else None,
                f"intent '{name}' has no answer in {kb.path}",
            )
        )
    if TOPIC_SLOT in intents.grammar.lists:
        places = intents.value_places.get(TOPIC_SLOT, {})
        for value in sorted(topic_values(intents)):
            if value not in kb.answers and value not in CONTROL_INTENTS:
                path, line = places.get(value, (intents.files[0], None))
                errors.append(
                    DataError(
                        path, line, f"{{{TOPIC_SLOT}}} value '{value}' has no answer in {kb.path}"
                    )
                )
    return errors


@dataclass(frozen=True)
class Overlap:
    """A sentence that templates of two different intents both match exactly."""

    sentence: str
    first: str
    second: str
    path: str
    line: int


def unreached_answers(intents: IntentSet, kb: Knowledge) -> list[DataError]:
    """Answers that no intent or topic value leads to."""
    reachable = set(intents.intents) | topic_values(intents)
    return [
        DataError(kb.path, entry.line, f"answer '{entry.id}' is not reached by any intent")
        for entry in kb.answers.values()
        if entry.id not in reachable
    ]


def shared_templates(intents: IntentSet) -> list[Overlap]:
    """Sentences that exact-match templates of two intents with different answers.

    Near-linear in the number of templates: each sample is tried only against templates
    indexed under one of its words (see ``_TemplateIndex``), not against every template
    that starts with the same word (10 000 templates all starting "what ..." took 38 s).
    """
    index = _TemplateIndex(intents)
    overlaps: list[Overlap] = []
    seen: set[tuple[str, str]] = set()
    per_template: dict[int, int] = {}
    for template, expansion in intents.examples:
        key = id(template)
        if per_template.get(key, 0) >= SAMPLES_PER_TEMPLATE:
            continue
        per_template[key] = per_template.get(key, 0) + 1
        target = dict(expansion.slots).get(TOPIC_SLOT, template.intent)
        for other in index.targets(list(expansion.tokens)):
            pair = (min(target, other), max(target, other))
            if other != target and pair not in seen:
                seen.add(pair)
                overlaps.append(
                    Overlap(" ".join(expansion.tokens), target, other, template.path, template.line)
                )
    return overlaps


class _TemplateIndex:
    """Templates filed under their rarest required word (or, with none, under each word
    they can start with), so a sentence is only tried against templates whose filing word
    it contains. The regex decides, as in the matcher; the index only skips templates that
    cannot match."""

    def __init__(self, intents: IntentSet) -> None:
        self.intents = intents
        patterns = [p for ps in intents.patterns.values() for p in ps]
        frequency = Counter(word for p in patterns for word in p.required)
        self.by_word: dict[str, list[Pattern]] = defaultdict(list)
        self.always: list[Pattern] = []
        for pattern in patterns:
            if pattern.required:
                rarest = min(sorted(pattern.required), key=frequency.__getitem__)
                self.by_word[rarest].append(pattern)
            elif pattern.first is not None:
                for word in pattern.first:
                    self.by_word[word].append(pattern)
            else:
                self.always.append(pattern)

    def targets(self, toks: list[str]) -> list[str]:
        """Every target whose templates match ``toks`` exactly."""
        text = "".join(t + " " for t in toks)
        present = set(toks)
        found: dict[str, None] = {}
        tried: set[int] = set()
        candidates = [p for word in present for p in self.by_word.get(word, ())]
        for pattern in [*candidates, *self.always]:
            if id(pattern) in tried or not pattern.required <= present:
                continue
            tried.add(id(pattern))
            target = self.intents.target(pattern, text)
            if target is not None:
                found.setdefault(target, None)
        return list(found)
