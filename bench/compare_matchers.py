"""Our matcher side by side with hassil, padacioso and a rapidfuzz nearest-sentence match.

    python bench/compare_matchers.py             # accuracy by category, load and match times
    python bench/compare_matchers.py --curve     # accuracy vs word error rate, robustness.png
    python bench/compare_matchers.py --quick     # leave out padacioso (slow)

Peers come from the ``bench`` extra (``pip install '.[bench]'``: padacioso, matplotlib);
hassil and rapidfuzz are already dependencies. Every matcher gets the same intents
(``intents/twitching.yaml`` and ``intents/conversation.yaml``; ``sounds_like.yaml`` is
ours alone and hassil cannot read it) and the same evaluation sets
(``tests/eval/cases.yaml``, ``holdout.yaml`` and ``holdout3.yaml``; single-turn cases
only, follow-ups need a dialogue).

The matchers:

* ours: ``assistant.app.load_skill()``, judged on ``skill.matcher.match(text)``;
* hassil: ``hassil.recognize_best`` over our YAML files loaded with ``Intents.from_files``
  (``about_topic`` + slot ``topic`` -> the slot value, as ours does; no match = out of scope);
* padacioso: ``IntentContainer`` fed sentences sampled from our templates, at most N per
  target; two variants, exact (``fuzz=False``, padacioso's default) and fuzzy
  (``fuzz=True``, a confidence threshold tuned for out of scope);
* rapidfuzz: the nearest sampled sentence (``process.extractOne``) with a tuned threshold.

Sampled sentences come two ways, both tried: ``hassil.sample.sample_intents`` (its first N
per intent, in its enumeration order; per topic value for ``about_topic``, whose sentences
belong to that value as ours do) and a seeded random walk over the same hassil-parsed
templates (round-robin over a target's templates, so every template is represented).

Peer thresholds, the rapidfuzz scorer and the sampler are tuned on ``cases.yaml`` only
(best mean accuracy over topic, asr, control and out_of_scope; the best variant of each
family is reported); the held-out sets are reported with them as tuned. Ours is not tuned
here.

Red flags (categories red_flag and emergency, and the few asr cases that expect a safety
answer) are judged two ways: "+safety": ours is the full ``Skill.turn`` answer, a peer is its
intent with our ``safety.check`` layered on top (a red flag or emergency found by the safety
layer wins); "raw": the matcher alone, right when it does not answer with a twitching fact
(it declines, or picks ``when_to_see_doctor``).

Results: printed, and written to ``bench/results/compare_matchers.md`` (the table),
``bench/results/robustness.png`` (``--curve``) and ``bench/results/*.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.noise import Noise, corpus_wer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
INTENT_FILES = [ROOT / "intents" / "twitching.yaml", ROOT / "intents" / "conversation.yaml"]
EVAL_SETS = {
    "cases": ROOT / "tests" / "eval" / "cases.yaml",
    "holdout": ROOT / "tests" / "eval" / "holdout.yaml",
    "holdout3": ROOT / "tests" / "eval" / "holdout3.yaml",
    "real_blind": ROOT / "tests" / "eval" / "corpus_blind.yaml",
}
"""The development set (peer thresholds are tuned on it), two sets written blind, and the
blind part of the corpus of questions people really asked (labelled blind)."""
SAFETY_INTENTS = frozenset({"red_flag", "emergency"})
SAFE_RAW = frozenset({None, "when_to_see_doctor"})
"""A matcher alone is right on a red flag when it declines or sends to a doctor."""
TUNE_CATEGORIES = ("topic", "asr", "control", "out_of_scope")
COLUMNS = (
    ("topic", "clean"),
    ("asr", "misheard"),
    ("out_of_scope", "out-of-scope"),
    ("control", "controls"),
    ("red_flags", "red flags +safety"),
    ("red_flags_raw", "red flags raw"),
)
WER_LEVELS = tuple(range(0, 45, 5))


# -- evaluation data ----------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    set_name: str
    category: str
    say: str
    expect: tuple[str | None, ...]

    @property
    def safety(self) -> bool:
        """Expects a red-flag or emergency answer (whatever its category)."""
        return any(e in SAFETY_INTENTS for e in self.expect)


def load_cases() -> list[Case]:
    """Single-turn cases of every evaluation set (follow-ups need a dialogue: skipped)."""
    cases = []
    for set_name, path in EVAL_SETS.items():
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            if "turns" in raw:
                continue
            if "urgency" in raw:  # the real-question corpus (tests/eval/corpus_blind.yaml)
                expect = _corpus_expectation(raw)
            else:
                expect = raw["expect"] if isinstance(raw["expect"], list) else [raw["expect"]]
            cases.append(Case(set_name, raw["category"], raw["say"], tuple(expect)))
    return cases


# -- sentences sampled from our templates (for padacioso and rapidfuzz) ---------------------
def _corpus_expectation(raw: dict) -> list[str | None]:
    """The corpus labels answers for every question and urgency apart; for this comparison a
    red flag or emergency expects the safety answer, out of scope a decline."""
    if raw["category"] in SAFETY_INTENTS:
        return [raw["category"]]
    if raw["category"] == "out_of_scope" or raw["expect"] == "decline":
        return [None]
    return list(raw["expect"])


def sample_sentences(intents, per_target: int = 200, seed: int = 0, tries: int = 40):
    """target -> sentences our templates can say, from hassil's parse of them.

    A seeded random walk over each template (``tries`` walks, duplicates dropped), then
    round-robin over the templates of a target up to ``per_target``, so every template is
    represented. ``about_topic`` templates are walked once per topic value and their
    sentences belong to that value.
    """
    from hassil.expression import (
        Alternative,
        ListReference,
        Permutation,
        RuleReference,
        Sequence,
        TextChunk,
    )

    rng = random.Random(seed)
    rules = intents.expansion_rules
    lists = intents.slot_lists

    def walk(expr, forced: dict, out: list[str]) -> None:
        if isinstance(expr, TextChunk):
            out.append(expr.original_text if expr.original_text is not None else expr.text)
        elif isinstance(expr, Alternative):
            walk(rng.choice(expr.items), forced, out)
        elif isinstance(expr, Permutation):
            items = list(expr.items)
            rng.shuffle(items)
            for item in items:
                out.append(" ")
                walk(item, forced, out)
        elif isinstance(expr, Sequence):
            for item in expr.items:
                walk(item, forced, out)
        elif isinstance(expr, RuleReference):
            walk(rules[expr.rule_name].expression, forced, out)
        elif isinstance(expr, ListReference):
            value = forced.get(expr.list_name) or rng.choice(lists[expr.list_name].values)
            walk(value.text_in, forced, out)
        else:
            raise TypeError(f"unexpected template element {type(expr).__name__}")

    topic_values = lists["topic"].values if "topic" in lists else []
    pools: dict[str, list[list[str]]] = defaultdict(list)
    for name, intent in intents.intents.items():
        for data in intent.data:
            for sentence in data.sentences:
                uses_topic = "topic" in set(sentence.expression.list_names(rules))
                variants = (
                    [(str(v.value_out), {"topic": v}) for v in topic_values]
                    if uses_topic
                    else [(name, {})]
                )
                for target, forced in variants:
                    found: dict[str, None] = {}
                    for _ in range(tries):
                        out: list[str] = []
                        walk(sentence.expression, forced, out)
                        text = " ".join("".join(out).split())
                        if text:
                            found.setdefault(text, None)
                    pools[target].append(list(found))
    result = {}
    for target, per_template in pools.items():
        chosen: dict[str, None] = {}
        for group in itertools.zip_longest(*per_template):
            for text in group:
                if text is not None:
                    chosen.setdefault(text, None)
        result[target] = list(chosen)[:per_target]
    return result


def sample_sentences_in_order(intents, per_target: int = 200) -> dict[str, list[str]]:
    """The same, from ``hassil.sample.sample_intents`` (``--sampler hassil``): its first
    ``per_target`` sentences per intent, and per topic value for ``about_topic``."""
    from hassil.intents import TextSlotList
    from hassil.sample import sample_intents

    result: dict[str, list[list[str]]] = defaultdict(list)
    topic = intents.slot_lists.get("topic")
    for name in intents.intents:
        if name == "about_topic" and isinstance(topic, TextSlotList):
            for value in topic.values:
                only = {"topic": TextSlotList(name="topic", values=[value])}
                found = sample_intents(
                    intents,
                    slot_lists=only,
                    intent_names={name},
                    max_sentences_per_intent=per_target,
                )
                result[str(value.value_out)].append([text for _, text in found])
        else:
            found = sample_intents(
                intents, intent_names={name}, max_sentences_per_intent=per_target
            )
            result[name].append([text for _, text in found])
    merged = {}
    for target, sources in result.items():
        texts = (t for group in itertools.zip_longest(*sources) for t in group if t is not None)
        merged[target] = list(dict.fromkeys(texts))[:per_target]
    return merged


def load_hassil_intents():
    from hassil import Intents

    return Intents.from_files(INTENT_FILES)


# -- the matchers -------------------------------------------------------------------------
Prediction = tuple  # (intent or None, score in 0..1)


@dataclass
class Contender:
    name: str
    note: str
    predict: Callable[[str], Prediction]
    load_seconds: float
    load_note: str = ""
    threshold: float = 0.0
    """Predictions scoring below this are out of scope (tuned on cases.yaml)."""
    shipped: Callable[[str], Prediction] | None = None
    """The library's own entry point when ``predict`` is an equivalent in-process loop."""
    timing_repeats: int = 5
    """Passes over the utterances after the first (cold) one, for steady-state times."""
    errors: list[str] = field(default_factory=list)
    family: str = ""
    """Variants of one family (scorers, samplers) compete on cases.yaml; the best is shown."""

    def __post_init__(self) -> None:
        self.family = self.family or self.name

    def decide(self, prediction: Prediction) -> str | None:
        intent, score = prediction
        return intent if intent is not None and score >= self.threshold else None


def make_ours() -> tuple[Contender, object]:
    """Our skill, loaded as the CLI does (a cold build, then from the skill cache)."""
    from assistant.app import load_skill

    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("ASSISTANT_CACHE_DIR")
        os.environ["ASSISTANT_CACHE_DIR"] = cache
        try:
            started = time.perf_counter()
            load_skill()
            cold = time.perf_counter() - started
            started = time.perf_counter()
            skill = load_skill()
            warm = time.perf_counter() - started
        finally:
            if old is None:
                os.environ.pop("ASSISTANT_CACHE_DIR", None)
            else:
                os.environ["ASSISTANT_CACHE_DIR"] = old

    def predict(text: str) -> Prediction:
        found = skill.matcher.match(text)
        return found.intent, found.confidence

    return (
        Contender(
            "ours",
            "assistant.app.load_skill(); skill.matcher.match(text)",
            predict,
            warm,
            f"cached skill {1000 * warm:.0f} ms; cold build {1000 * cold:.0f} ms",
        ),
        skill,
    )


def make_hassil() -> Contender:
    from hassil import recognize_best

    started = time.perf_counter()
    intents = load_hassil_intents()
    load = time.perf_counter() - started

    def predict(text: str) -> Prediction:
        result = recognize_best(text, intents)
        if result is None:
            return None, 0.0
        if result.intent.name == "about_topic" and "topic" in result.entities:
            return str(result.entities["topic"].value), 1.0
        return result.intent.name, 1.0

    return Contender("hassil", "hassil.recognize_best on our YAML (no sounds_like)", predict, load)


_SIMPLEMATCH_CACHE: dict = {}


def _cache_padacioso_regexes() -> Callable[[], None]:
    """padacioso's fuzzy pass builds a ``simplematch.Matcher`` (a fresh regex compile) and a
    wildcard variant list per sample on every query; cache both (same results, much faster;
    the timings we report for it are then, if anything, flattering). Returns an undo."""
    import simplematch
    from padacioso import IntentContainer

    original_match = simplematch.match
    original_fuzzed = IntentContainer.__dict__["_get_fuzzed"]

    @functools.cache
    def matcher(pattern: str, case_sensitive: bool):
        return simplematch.Matcher(pattern, case_sensitive=case_sensitive)

    def match(pattern, string, case_sensitive=True):
        return matcher(pattern, case_sensitive).match(string)

    simplematch.match = match
    IntentContainer._get_fuzzed = staticmethod(functools.cache(original_fuzzed.__func__))

    def undo() -> None:
        simplematch.match = original_match
        IntentContainer._get_fuzzed = original_fuzzed

    return undo


def make_padacioso(
    samples: dict[str, list[str]], fuzz: bool, per_target: int, sample_s: float, sampler: str
) -> Contender:
    import logging

    from padacioso import IntentContainer

    logging.getLogger("padacioso").setLevel(logging.WARNING)
    started = time.perf_counter()
    container = IntentContainer(fuzz=fuzz)
    for target, sentences in samples.items():
        container.add_intent(target, sentences[:per_target])
    load = time.perf_counter() - started + sample_s
    count = sum(len(s[:per_target]) for s in samples.values())

    def predict(text: str) -> Prediction:
        """``calc_intent`` without its per-query process pool: each intent's ``_match`` in
        turn, the best confidence wins (the first on a tie, in intent order)."""
        best = None
        for name, regexes in container.intent_samples.items():
            found = container._match(text, name, regexes)
            if found is not None and (best is None or found["conf"] > best["conf"]):
                best = found
        if best is None:
            return None, 0.0
        return best["name"], float(best["conf"])

    def shipped(text: str) -> Prediction:
        found = container.calc_intent(text)
        return found.get("name"), float(found.get("conf", 0.0))

    family = "padacioso fuzzy" if fuzz else "padacioso exact"
    return Contender(
        f"{family} [{sampler}]",
        f"IntentContainer(fuzz={fuzz}), {count} sampled sentences (<= {per_target} per target); "
        "in-process loop over _match",
        predict,
        load,
        f"incl. {1000 * sample_s:.0f} ms sampling",
        shipped=shipped,
        timing_repeats=0 if fuzz else 3,
        family=family,
    )


RAPIDFUZZ_SCORERS = ("token_set_ratio", "WRatio", "token_sort_ratio", "ratio")


def make_rapidfuzz(
    samples: dict[str, list[str]], scorer_name: str, sample_s: float, sampler: str
) -> Contender:
    from rapidfuzz import fuzz, process, utils

    started = time.perf_counter()
    choices: list[str] = []
    targets: list[str] = []
    for target, sentences in samples.items():
        for sentence in sentences:
            choices.append(utils.default_process(sentence))
            targets.append(target)
    scorer = getattr(fuzz, scorer_name)
    load = time.perf_counter() - started + sample_s

    def predict(text: str) -> Prediction:
        query = utils.default_process(text)
        if not query:
            return None, 0.0
        found = process.extractOne(query, choices, scorer=scorer, processor=None)
        if found is None:
            return None, 0.0
        return targets[found[2]], found[1] / 100.0

    return Contender(
        f"rapidfuzz {scorer_name} [{sampler}]",
        f"process.extractOne over {len(choices)} sampled sentences, fuzz.{scorer_name}",
        predict,
        load,
        f"incl. {1000 * sample_s:.0f} ms sampling",
        family="rapidfuzz",
    )


# -- judging ------------------------------------------------------------------------------
def safety_layer(skill) -> Callable[[str], str | None]:
    """Our safety check as the dialogue runs it: "emergency", "red_flag" or None."""
    from assistant import safety
    from assistant.situation import read
    from assistant.stages import Urgency

    def check(text: str) -> str | None:
        urgency = safety.assess(read(text, skill.lexicon)).urgency
        if urgency is None:
            return None
        return "emergency" if urgency is Urgency.EMERGENCY else "red_flag"

    return check


def score_cases(
    contender: Contender,
    cases: list[Case],
    predictions: dict[str, Prediction],
    with_safety: Callable[[str], str | None],
) -> dict[str, dict[str, list[int]]]:
    """set name -> column -> [passed, total]; also the failures, for the report."""
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    failures: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        intent = contender.decide(predictions[case.say])
        if case.safety:
            column = "red_flags" if case.category in SAFETY_INTENTS else case.category
            got = with_safety(case.say)
            ok = got in case.expect
            if column == "red_flags":
                _add(table, case.set_name, "red_flags_raw", intent in SAFE_RAW)
        else:
            column, got = case.category, intent
            ok = got in case.expect
        _add(table, case.set_name, column, ok)
        if not ok:
            failures[column].append(f"{case.say!r}: expected {list(case.expect)}, got {got}")
    contender.errors = [f"{k}: {v}" for k, vs in failures.items() for v in vs]
    return {k: dict(v) for k, v in table.items()}


def _add(table, set_name: str, column: str, ok: bool) -> None:
    for name in (set_name, "combined"):
        table[name][column][0] += int(ok)
        table[name][column][1] += 1


def tune_threshold(contender: Contender, cases: list[Case], predictions) -> float:
    """Threshold with the best mean accuracy over TUNE_CATEGORIES on cases.yaml."""
    dev = [c for c in cases if c.set_name == "cases" and not c.safety]
    dev = [c for c in dev if c.category in TUNE_CATEGORIES]
    scores = sorted({predictions[c.say][1] for c in dev} | {0.0})
    best_t, best_value = 0.0, -1.0
    for t in scores:
        contender.threshold = t
        value = _balanced(contender, dev, predictions)
        if value > best_value + 1e-12:
            best_t, best_value = t, value
    contender.threshold = best_t
    return best_value


def _tune(contender: Contender, cases: list[Case], predictions) -> float:
    """Peers get a tuned threshold; ours keeps its own out-of-scope logic (threshold 0)."""
    if contender.name == "ours":
        dev = [c for c in cases if c.set_name == "cases" and not c.safety]
        return _balanced(contender, [c for c in dev if c.category in TUNE_CATEGORIES], predictions)
    return tune_threshold(contender, cases, predictions)


def _balanced(contender: Contender, cases: list[Case], predictions) -> float:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in cases:
        per[case.category][0] += contender.decide(predictions[case.say]) in case.expect
        per[case.category][1] += 1
    return statistics.mean(p / t for p, t in per.values())


# -- timing -------------------------------------------------------------------------------
def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def first_pass(contender: Contender, texts: list[str]) -> tuple[dict, list[float]]:
    """Predictions for ``texts`` and the time of each call: the first pass, with cold
    caches, as one ``assistant ask`` process sees it."""
    predictions: dict[str, Prediction] = {}
    times: list[float] = []
    for text in texts:
        started = time.perf_counter()
        predictions[text] = contender.predict(text)
        times.append(time.perf_counter() - started)
    return predictions, times


def steady(contender: Contender, texts: list[str], repeats: int) -> list[float]:
    """Time of each call over ``repeats`` more passes (warm caches)."""
    times: list[float] = []
    for _ in range(repeats):
        for text in texts:
            started = time.perf_counter()
            contender.predict(text)
            times.append(time.perf_counter() - started)
    return times


def time_shipped(contender: Contender, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        started = time.perf_counter()
        contender.shipped(text)
        times.append(time.perf_counter() - started)
    return times


# -- building everything ------------------------------------------------------------------
def build(args) -> tuple[list[Contender], object, dict[str, tuple[dict, float]]]:
    """Ours, hassil, and every padacioso-exact and rapidfuzz variant (scorer x sampler)."""
    ours, skill = make_ours()
    contenders = [ours, make_hassil()]
    samples: dict[str, tuple[dict, float]] = {}
    intents = load_hassil_intents()
    for sampler in ("hassil", "walk") if args.sampler == "both" else (args.sampler,):
        started = time.perf_counter()
        if sampler == "hassil":
            found = sample_sentences_in_order(intents, per_target=args.per_target)
        else:
            found = sample_sentences(intents, per_target=args.per_target, seed=0)
        samples[sampler] = (found, time.perf_counter() - started)
    for sampler, (found, seconds) in samples.items():
        if not args.quick:
            contenders.append(make_padacioso(found, False, args.per_target, seconds, sampler))
        for scorer in RAPIDFUZZ_SCORERS:
            contenders.append(make_rapidfuzz(found, scorer, seconds, sampler))
    return contenders, skill, samples


def choose(contenders: list[Contender], tuned: dict[str, float]) -> list[Contender]:
    """The best variant of each family, as tuned on cases.yaml (first on a tie)."""
    best: dict[str, Contender] = {}
    for contender in contenders:
        held = best.get(contender.family)
        if held is None or tuned[contender.name] > tuned[held.name] + 1e-12:
            best[contender.family] = contender
    return [c for c in contenders if best[c.family] is c]


def add_fuzzy(args, chosen: list[Contender], samples) -> Contender | None:
    """padacioso fuzz=True (slow), built from the sampler that served padacioso exact best."""
    exact = next((c for c in chosen if c.family == "padacioso exact"), None)
    if exact is None:
        return None
    sampler = exact.name.rsplit("[", 1)[1].rstrip("]")
    found, seconds = samples[sampler]
    return make_padacioso(found, True, args.fuzzy_per_target, seconds, sampler)


def variant_report(contenders: list[Contender], tuned: dict[str, float]) -> dict:
    families = defaultdict(list)
    for contender in contenders:
        families[contender.family].append(contender)
    return {
        c.name: {"threshold": c.threshold, "dev_balanced_accuracy": tuned[c.name]}
        for members in families.values()
        if len(members) > 1
        for c in members
    }


# -- main comparison ----------------------------------------------------------------------
def compare(args) -> dict:
    undo = _cache_padacioso_regexes() if not args.quick else None
    contenders, skill, samples = build(args)
    cases = load_cases()
    texts = list(dict.fromkeys(c.say for c in cases))
    check = safety_layer(skill)
    turn_intent = _turn_intent(skill)
    results: dict = {"matchers": {}, "variant_tuning": {}, "meta": _meta(args, cases)}
    tuned: dict[str, float] = {}
    runs: dict[str, tuple[dict, list[float]]] = {}

    def first(contender: Contender) -> None:
        print(f"running {contender.name} ...", file=sys.stderr, flush=True)
        predictions, times = first_pass(contender, texts)
        tuned[contender.name] = _tune(contender, cases, predictions)
        runs[contender.name] = (predictions, times)

    for contender in contenders:
        first(contender)
    results["variant_tuning"] = variant_report(contenders, tuned)
    chosen = choose(contenders, tuned)
    fuzzy = add_fuzzy(args, chosen, samples)
    if fuzzy is not None:
        first(fuzzy)
        at = next(i for i, c in enumerate(chosen) if c.family == "padacioso exact")
        chosen.insert(at + 1, fuzzy)
    for contender in chosen:
        predictions, first_times = runs[contender.name]
        times = steady(contender, texts, contender.timing_repeats) or first_times

        def with_safety(text: str, predictions=predictions, contender=contender):
            level = check(text)
            return level if level else contender.decide(predictions[text])

        layered = turn_intent if contender.name == "ours" else with_safety
        table = score_cases(contender, cases, predictions, layered)
        entry = {
            "note": contender.note,
            "load_ms": 1000 * contender.load_seconds,
            "load_note": contender.load_note,
            "threshold": contender.threshold,
            "p50_ms": 1000 * percentile(times, 50),
            "p99_ms": 1000 * percentile(times, 99),
            "max_ms": 1000 * max(times),
            "timed_calls": len(times),
            "first_p50_ms": 1000 * percentile(first_times, 50),
            "first_p99_ms": 1000 * percentile(first_times, 99),
            "table": table,
            "failures": contender.errors,
        }
        if contender.shipped is not None and args.shipped > 0:
            if undo is not None:
                undo()
            shipped = time_shipped(contender, texts[: args.shipped])
            if undo is not None:
                undo = _cache_padacioso_regexes()
            entry["shipped_ms"] = [1000 * t for t in shipped]
        results["matchers"][contender.name] = entry
    if undo is not None:
        undo()
    return results


def _turn_intent(skill) -> Callable[[str], str | None]:
    from assistant.dialogue import State

    def intent(text: str) -> str | None:
        return skill.turn(State(), text)[1].intent

    return intent


def _meta(args, cases: list[Case]) -> dict:
    import hassil
    import rapidfuzz

    counts: dict[str, int] = defaultdict(int)
    for case in cases:
        counts[f"{case.set_name}/{case.category}"] += 1
    versions = {"python": platform.python_version(), "hassil": _version("hassil", hassil)}
    versions["rapidfuzz"] = rapidfuzz.__version__
    if not args.quick:
        versions["padacioso"] = _version("padacioso")
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "versions": versions,
        "cases": dict(sorted(counts.items())),
        "per_target": args.per_target,
        "fuzzy_per_target": args.fuzzy_per_target,
    }


def _version(dist: str, module=None) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return getattr(module, "__version__", "?")


# -- robustness curve ---------------------------------------------------------------------
def curve(args) -> dict:
    undo = _cache_padacioso_regexes() if not args.quick else None
    contenders, _skill, samples = build(args)
    cases = load_cases()
    texts = list(dict.fromkeys(c.say for c in cases))
    tuned: dict[str, float] = {}

    def tune(contender: Contender) -> None:
        print(f"tuning {contender.name} ...", file=sys.stderr, flush=True)
        workers = args.workers if contender.family == "padacioso fuzzy" else 1
        tuned[contender.name] = _tune(contender, cases, predict_many(contender, texts, workers))

    for contender in contenders:
        tune(contender)
    contenders = choose(contenders, tuned)
    fuzzy = add_fuzzy(args, contenders, samples)
    if fuzzy is not None:
        tune(fuzzy)
        contenders.append(fuzzy)
    in_scope = [c for c in cases if c.category in ("topic", "asr", "control") and not c.safety]
    vocabulary = {
        w
        for found, _ in samples.values()
        for sentences in found.values()
        for s in sentences
        for w in s.split()
    }
    noise = Noise(vocabulary, known={} if args.no_known else None)
    seeds = list(range(args.seeds))
    noisy: dict[tuple[int, int], list[str]] = {}
    measured: dict[int, float] = {}
    for wer in WER_LEVELS:
        pairs = []
        for seed in seeds:
            heard = [noise.corrupt(c.say, wer / 100, seed) for c in in_scope]
            noisy[(wer, seed)] = heard
            pairs.extend(zip([c.say.lower() for c in in_scope], heard, strict=True))
        measured[wer] = 100 * corpus_wer(pairs)
    series: dict[str, dict[int, list[float]]] = {}
    every_text = list(dict.fromkeys(t for heard in noisy.values() for t in heard))
    for contender in contenders:
        print(f"curve {contender.name} ({len(every_text)} texts) ...", file=sys.stderr, flush=True)
        slow = contender.family == "padacioso fuzzy"
        memo = predict_many(contender, every_text, args.workers if slow else 1)
        points: dict[int, list[float]] = {}
        for wer in WER_LEVELS:
            accuracies = []
            for seed in seeds:
                heard = noisy[(wer, seed)]
                right = sum(
                    contender.decide(memo[text]) in case.expect
                    for case, text in zip(in_scope, heard, strict=True)
                )
                accuracies.append(100 * right / len(in_scope))
            points[wer] = accuracies
        series[contender.name] = points
    if undo is not None:
        undo()
    examples = {
        wer: [(in_scope[i].say, noisy[(wer, 0)][i]) for i in (0, 40, 120)] for wer in (10, 30)
    }
    return {
        "cases": len(in_scope),
        "seeds": seeds,
        "measured_wer": measured,
        "series": series,
        "thresholds": {c.name: c.threshold for c in contenders},
        "examples": examples,
    }


_WORKER: Contender | None = None


def _worker_predict(texts: list[str]) -> list[Prediction]:
    assert _WORKER is not None
    return [_WORKER.predict(text) for text in texts]


def predict_many(contender: Contender, texts: list[str], workers: int) -> dict[str, Prediction]:
    """``predict`` over ``texts``, in forked worker processes when ``workers`` > 1 (used for
    the slow padacioso fuzzy search; results are the same, only sooner)."""
    global _WORKER
    if workers <= 1 or sys.platform == "win32":
        return {text: contender.predict(text) for text in texts}
    import multiprocessing

    _WORKER = contender
    chunks = [texts[i :: workers * 8] for i in range(workers * 8)]
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_worker_predict, chunks)
    finally:
        _WORKER = None
    return {
        text: prediction
        for chunk, part in zip(chunks, parts, strict=True)
        for text, prediction in zip(chunk, part, strict=True)
    }


def plot(curve_results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    markers = itertools.cycle("os^vDx*")
    for name, points in curve_results["series"].items():
        wers = sorted(int(w) for w in points)
        values = [points[_key(points, w)] for w in wers]  # int keys, or str from JSON
        means = [statistics.mean(v) for v in values]
        low = [m - min(v) for v, m in zip(values, means, strict=True)]
        high = [max(v) - m for v, m in zip(values, means, strict=True)]
        ax.errorbar(
            wers,
            means,
            yerr=[low, high],
            marker=next(markers),
            capsize=3,
            linewidth=2.2 if name == "ours" else 1.3,
            label=name,
        )
    ax.set_xlabel("simulated word error rate (%)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(list(WER_LEVELS))
    ax.grid(alpha=0.3)
    ax.set_title(
        f"In-scope questions ({curve_results['cases']} topic, asr, control cases), "
        f"{len(curve_results['seeds'])} seeds",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# -- printing and the report --------------------------------------------------------------
def _cell(pair: list[int] | None) -> str:
    if not pair or not pair[1]:
        return "n/a"
    return f"{100 * pair[0] / pair[1]:5.1f}% ({pair[0]}/{pair[1]})"


def table_lines(results: dict, set_name: str) -> list[str]:
    head = ["matcher", *[label for _, label in COLUMNS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, entry in results["matchers"].items():
        row = entry["table"].get(set_name, {})
        lines.append("| " + " | ".join([name, *[_cell(row.get(k)) for k, _ in COLUMNS]]) + " |")
    return lines


def timing_lines(results: dict) -> list[str]:
    lines = [
        "| matcher | load | p50 / utterance | p99 / utterance | max | calls timed "
        "| first pass p50 / p99 | threshold |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, e in results["matchers"].items():
        load = f"{e['load_ms']:.0f} ms" + (f" ({e['load_note']})" if e["load_note"] else "")
        lines.append(
            f"| {name} | {load} | {e['p50_ms']:.3f} ms | {e['p99_ms']:.3f} ms | "
            f"{e['max_ms']:.1f} ms | {e['timed_calls']} | "
            f"{e['first_p50_ms']:.3f} / {e['first_p99_ms']:.3f} ms | {e['threshold']:.3f} |"
        )
    return lines


def shipped_lines(results: dict) -> list[str]:
    lines = []
    for name, e in results["matchers"].items():
        if e.get("shipped_ms"):
            values = ", ".join(f"{v / 1000:.1f} s" for v in e["shipped_ms"])
            lines.append(
                f"- {name}, as shipped (`IntentContainer.calc_intent`, a process pool per "
                f"query): {values} for the first {len(e['shipped_ms'])} utterances"
            )
    return lines


def speed_lines(results: dict) -> list[str]:
    """How many times slower than ours each peer is, steady and in a cold first pass."""
    matchers = results["matchers"]
    ours, ours_cold = matchers["ours"]["p99_ms"], matchers["ours"]["first_p99_ms"]
    lines = []
    for name, e in matchers.items():
        if name == "ours":
            continue
        lines.append(
            f"- {name} / ours at p99: {e['p99_ms'] / ours:,.1f}x steady, "
            f"{e['first_p99_ms'] / ours_cold:,.1f}x in the first (cold) pass"
        )
        if e.get("shipped_ms"):
            worst = max(e["shipped_ms"])
            lines.append(f"- slowest shipped {name} call / ours p99: {worst / ours:,.0f}x")
    return lines


def verdict_lines(results: dict) -> list[str]:
    """Where ours is not the most accurate (combined sets), said plainly."""
    matchers = results["matchers"]
    lines = []
    combined = {n: e["table"].get("combined", {}) for n, e in matchers.items()}
    for key, label in COLUMNS:

        def acc(name: str, key=key) -> float:
            pair = combined[name].get(key)
            return pair[0] / pair[1] if pair and pair[1] else -1.0

        best = max(acc(n) for n in matchers)
        mine = acc("ours")
        winners = [n for n in matchers if acc(n) == best]
        if mine >= best:
            tie = (
                f" (tied with {', '.join(w for w in winners if w != 'ours')})"
                if len(winners) > 1
                else ""
            )
            lines.append(f"- {label}: ours best, {100 * mine:.1f}%{tie}")
        else:
            lines.append(
                f"- {label}: ours {100 * mine:.1f}% LOSES to {', '.join(winners)} "
                f"({100 * best:.1f}%)"
            )
    lines.append(
        "  (red flags raw rewards declining: a matcher that matches nothing scores 100%; ours "
        "never runs without the safety layer, which the +safety column measures)"
    )
    fastest = min(matchers, key=lambda n: matchers[n]["p99_ms"])
    lines.append(
        f"- fastest at p99: {fastest}"
        + ("" if fastest == "ours" else f" (ours is {matchers['ours']['p99_ms']:.3f} ms)")
    )
    return lines


def print_main(results: dict) -> None:
    meta = results["meta"]
    print(f"\n{meta['machine']}; {json.dumps(meta['versions'])}")
    print(
        "columns: clean=topic, misheard=asr (matcher alone; its safety cases +safety), "
        "out-of-scope=declined, controls=help/stop/slower..., red flags +safety = ours "
        "Skill.turn / peer + our safety.check, red flags raw = matcher alone did not "
        "answer with a twitching fact"
    )
    for set_name in (*EVAL_SETS, "combined"):
        print(f"\n## {set_name}")
        print("\n".join(table_lines(results, set_name)))
    print(
        "\n## time per utterance (matcher call only; p50/p99 over the passes after a first "
        "pass; first pass = cold caches, as in one `assistant ask` process)"
    )
    print("\n".join(timing_lines(results)))
    for line in shipped_lines(results) + speed_lines(results):
        print(line)
    if results.get("variant_tuning"):
        print("\nvariants tuned on cases.yaml (balanced accuracy; the best of each is shown):")
        for name, t in results["variant_tuning"].items():
            print(
                f"  {name}: threshold {t['threshold']:.2f}, {100 * t['dev_balanced_accuracy']:.1f}%"
            )
    print("\n## verdict (combined)")
    print("\n".join(verdict_lines(results)))
    fails = results["matchers"]["ours"]["failures"]
    print(f"\n## ours: {len(fails)} failures (all sets)")
    for line in fails:
        print("  " + line)


def print_curve(c: dict) -> None:
    print(f"\n## accuracy (%) vs simulated WER, {c['cases']} in-scope cases, seeds {c['seeds']}")
    print("\n".join(curve_lines(c)))
    print("\n".join(curve_verdict(c)))


def curve_lines(c: dict) -> list[str]:
    wers = sorted(int(w) for w in c["measured_wer"])
    head = ["matcher", *[f"{w}%" for w in wers], "drop 0->40"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    measured = [f"{c['measured_wer'][_key(c['measured_wer'], w)]:.1f}" for w in wers]
    lines.append("| measured WER | " + " | ".join(measured) + " | |")
    for name, points in c["series"].items():
        means = [statistics.mean(points[_key(points, w)]) for w in wers]
        cells = [f"{m:.1f}" for m in means]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {means[0] - means[-1]:.1f} |")
    return lines


def curve_verdict(c: dict) -> list[str]:
    """Most accurate at each rate, and who loses the least from 0 to 40 %, said plainly."""
    series = c["series"]
    wers = sorted(int(w) for w in c["measured_wer"])

    def mean(name: str, w: int) -> float:
        return statistics.mean(series[name][_key(series[name], w)])

    best_everywhere = all(
        mean("ours", w) >= max(mean(n, w) for n in series) for w in wers if "ours" in series
    )
    drops = {n: mean(n, wers[0]) - mean(n, wers[-1]) for n in series}
    kept = {n: mean(n, wers[-1]) / mean(n, wers[0]) if mean(n, wers[0]) else 0 for n in series}
    least = min(drops, key=drops.get)
    lines = [
        f"- most accurate at every rate: {'ours' if best_everywhere else 'NOT ours everywhere'}",
        f"- loses the fewest points from {wers[0]} to {wers[-1]} %: {least} "
        f"({drops[least]:.1f}); ours loses {drops['ours']:.1f}",
        "- share of clean accuracy kept at "
        f"{wers[-1]} %: " + ", ".join(f"{n} {100 * kept[n]:.0f}%" for n in series),
    ]
    return lines


def _key(mapping: dict, wer: int):
    return wer if wer in mapping else str(wer)


def write_markdown(main: dict | None, curve_results: dict | None, path: Path) -> None:
    out = [
        "# Matchers compared",
        "",
        "Generated by `bench/compare_matchers.py` (tables) and "
        "`bench/compare_matchers.py --curve` (robustness); see the script's docstring for "
        "what each matcher and column means. Single-turn cases of `tests/eval/cases.yaml` "
        "(tuning set for peer thresholds), `tests/eval/holdout.yaml` and "
        "`tests/eval/holdout3.yaml` (both written blind).",
        "",
    ]
    if main is not None:
        meta = main["meta"]
        out += [
            f"Machine: {meta['machine']}. Versions: "
            + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
            + ".",
            "",
            "Columns: *clean* = topic questions, *misheard* = ASR-style (matcher alone; the "
            "asr cases that expect a safety answer are judged +safety), "
            "*out-of-scope* = declined, *controls* = help/stop/slower..., "
            "*red flags +safety* = red_flag + emergency cases with ours as the full "
            "`Skill.turn` and each peer's intent under our `safety.check`, *red flags raw* = "
            "the matcher alone did not answer with a twitching fact.",
            "",
        ]
        for set_name in ("combined", *EVAL_SETS):
            out += [f"## Accuracy: {set_name}", "", *table_lines(main, set_name), ""]
        out += [
            "## Time per utterance",
            "",
            "The matcher call only (the safety layer is not timed). p50/p99/max over the "
            "passes that follow a first pass over every utterance; *first pass* is that "
            "first pass, with cold caches (lazily compiled regexes), as one "
            "`assistant ask` process sees it. Load = building the matcher from the YAML "
            "(for ours, reading the skill cache the CLI uses; the cold build is given too).",
            "",
            *timing_lines(main),
            "",
        ]
        out += shipped_lines(main) + speed_lines(main) + [""]
        out += ["## Verdict (combined)", "", *verdict_lines(main), ""]
        if main.get("variant_tuning"):
            out += [
                "Peer variants as tuned on cases.yaml (mean accuracy over clean, misheard, "
                "out-of-scope and controls; the best of each family is in the tables):",
                "",
            ]
            for name, t in main["variant_tuning"].items():
                out.append(
                    f"- {name}: threshold {t['threshold']:.2f}, "
                    f"{100 * t['dev_balanced_accuracy']:.1f}%"
                )
            out.append("")
        out += ["## Where ours fails (all sets)", ""]
        out += [f"- {line}" for line in main["matchers"]["ours"]["failures"]] + [""]
    if curve_results is not None:
        c = curve_results
        out += [
            "## Robustness: accuracy vs simulated word error rate",
            "",
            "![accuracy vs word error rate](robustness.png)",
            "",
            f"{c['cases']} in-scope single-turn cases (topic, asr, control of all sets), "
            f"corrupted by `bench/noise.py` (substitutions by sound, deletions, insertions, "
            f"splits, merges) with seeds {c['seeds']}; mean accuracy (%) over the seeds, "
            "thresholds as tuned on clean cases.yaml. The measured WER row is the word-level "
            "edit distance the simulator actually produced.",
            "",
            *curve_lines(c),
            "",
            *curve_verdict(c),
            "",
            "Examples (seed 0):",
            "",
        ]
        for wer, pairs in c["examples"].items():
            for clean, noisy in pairs:
                out.append(f"- {wer}%: `{clean}` -> `{noisy}`")
        out.append("")
        sensitivity = RESULTS / "no-known-robustness.json"
        if sensitivity.exists() and path.parent == RESULTS:
            out += [
                "Fairness check: several of the simulator's known confusions (magnesia, "
                "coffee in, fast circulation, i lid) are also in our `sounds_like.yaml`. "
                "Without any known confusions "
                "(`python bench/compare_matchers.py --curve --quick --no-known --out no-known`):",
                "",
                *curve_lines(json.loads(sensitivity.read_text(encoding="utf-8"))),
                "",
            ]
    path.write_text("\n".join(out), encoding="utf-8")


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--curve", action="store_true", help="accuracy vs word error rate")
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds for --curve")
    parser.add_argument("--quick", action="store_true", help="leave out padacioso")
    parser.add_argument("--per-target", type=int, default=200, help="sampled sentences/target")
    parser.add_argument(
        "--fuzzy-per-target",
        type=int,
        default=50,
        help="sentences per target for padacioso fuzz=True (it is slow: ~0.5 s a query at 50)",
    )
    parser.add_argument(
        "--sampler",
        choices=("both", "hassil", "walk"),
        default="both",
        help="how padacioso and rapidfuzz get sentences: hassil.sample.sample_intents (in its "
        "enumeration order), a seeded random walk over the parsed templates, or both (each "
        "tried, the better on cases.yaml kept)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="results name (default compare_matchers / robustness); e.g. a trial run",
    )
    parser.add_argument(
        "--no-known",
        action="store_true",
        help="--curve without the noise simulator's known confusions (several are also in "
        "our sounds_like.yaml): a fairness check",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="only re-render the .md (and the plot) from the saved JSON results",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the padacioso fuzzy search in --curve",
    )
    parser.add_argument(
        "--shipped",
        type=int,
        default=3,
        help="utterances timed through padacioso's own calc_intent (a process pool per query)",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    RESULTS.mkdir(parents=True, exist_ok=True)
    prefix = f"{args.out}-" if args.out else ""
    main_json = RESULTS / f"{prefix}compare_matchers.json"
    curve_json = RESULTS / f"{prefix}robustness.json"
    png = RESULTS / f"{prefix}robustness.png"
    markdown = RESULTS / f"{prefix}compare_matchers.md"
    if args.render:
        curve_results = json.loads(curve_json.read_text()) if curve_json.exists() else None
        if curve_results is not None:
            plot(curve_results, png)
        main_results = json.loads(main_json.read_text()) if main_json.exists() else None
        write_markdown(main_results, curve_results, markdown)
        print(f"wrote {markdown}")
        return
    if args.curve:
        started = time.perf_counter()
        results = curve(args)
        results["seconds"] = time.perf_counter() - started
        results["known_confusions"] = not args.no_known
        curve_json.write_text(json.dumps(results, indent=1), encoding="utf-8")
        plot(results, png)
        print_curve(results)
        print(f"\nwrote {png} ({results['seconds']:.0f} s)")
    else:
        started = time.perf_counter()
        results = compare(args)
        results["seconds"] = time.perf_counter() - started
        main_json.write_text(json.dumps(results, indent=1), encoding="utf-8")
        print_main(results)
    main_results = json.loads(main_json.read_text()) if main_json.exists() else None
    curve_results = json.loads(curve_json.read_text()) if curve_json.exists() else None
    write_markdown(main_results, curve_results, markdown)
    print(f"wrote {markdown} ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
