"""Fuzzing: broken data files always give a clean ``file:line: message``, and any utterance
gets an answer in bounded time.

1. 1 000 seeded mutations of the shipped intents and knowledge YAML (deleted keys, wrong
   types, broken indentation, unknown slots and rules, duplicate intents, truncation, tabs,
   invalid UTF-8, a huge file, empty files, mappings turned into lists, ...), each loaded
   in-process with ``load_intents`` / ``load_knowledge``: it loads, or raises
   ``DataError``/``DataErrors`` whose every message is ``file[:line]: message`` on one line;
   never another exception. Loading the full ``intents/twitching.yaml`` takes ~0.2 s, so
   most intent cases mutate the small ``conversation.yaml`` and ``sounds_like.yaml``, and
   the twitching cases use its header (rules, lists, skip words) with two of its intents.
2. Random utterances (hypothesis: unicode, control characters, NUL, emoji, right-to-left
   text, 10 000 characters, empty, whitespace) through ``Skill.turn``: no exception, an
   ``Answer`` with a confidence in 0..1, and every call under 50 ms.
3. Seeded mutations of a settings file (aliases, 5000-digit numbers, unsafe tags, NUL,
   truncation...): ``load_settings`` never raises, answers within 0.5 s, never changes or
   renames the file, and any warning is one line. Random grammar files: phrases or one
   line. Corrupted, truncated, path-escaping and symlink model zips: installed as a valid
   model inside the models folder, or one-line ModelError with nothing left behind.
"""

from __future__ import annotations

import math
import random
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.app import load_data
from assistant.dialogue import Skill, State
from assistant.errors import DataError, DataErrors
from assistant.knowledge import load_knowledge
from assistant.nlu.loader import load_intents
from assistant.stages import Answer
from assistant.yamlfile import MAX_YAML_BYTES

ROOT = Path(__file__).resolve().parent.parent
CONVERSATION = (ROOT / "intents" / "conversation.yaml").read_text(encoding="utf-8")
SOUNDS_LIKE = (ROOT / "intents" / "sounds_like.yaml").read_text(encoding="utf-8")
TWITCHING = (ROOT / "intents" / "twitching.yaml").read_text(encoding="utf-8")
KNOWLEDGE = (ROOT / "knowledge" / "twitching.yaml").read_text(encoding="utf-8")

MESSAGE = re.compile(r"[^:\n]+(:\d+)?: [^\n]+")
"""file, optional line, message: all on one line."""
CASES = 1000
SHARES = {"conversation": 0.38, "sounds_like": 0.10, "twitching": 0.04, "knowledge": 0.48}
"""Share of the cases per base file (the twitching cases are the slow ones)."""


def _twitching_header_and(intents: tuple[str, ...]) -> str:
    """twitching.yaml up to ``intents:`` plus the named intents only."""
    lines = TWITCHING.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("intents:"))
    out = lines[: start + 1]
    keep = False
    for line in lines[start + 1 :]:
        name = re.match(r"^  ([A-Za-z_]\w*):\s*$", line)
        if name:
            keep = name.group(1) in intents
        if keep:
            out.append(line)
    return "".join(out)


TWITCHING_SMALL = _twitching_header_and(("what_is_twitching", "is_it_serious"))
MINIMAL_INTENTS = b"language: en\nintents:\n  help:\n    data:\n      - sentences: [help]\n"
"""Keeps a folder loadable when the file under test holds no intents of its own."""


# -- mutations (each: text, rng -> text; a few work on bytes) ------------------------------
_KEY_LINE = re.compile(r"^(\s*)(- )?([^\s:#'\"-][^:#]*):(\s.*)?$")
_ITEM_LINE = re.compile(r"^(\s*)- (.+)$")
_QUOTED = re.compile(r"\"[^\"\n]*\"")
WRONG_VALUES = (
    "42",
    "-1",
    "3.5",
    ".inf",
    "true",
    "null",
    "~",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    '""',
    "'   '",
    "2024-01-01",
    "0x1F",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "&anchor 1",
    "*nope",
    "|\n  block text",
    "[[[[]]]]",
)
BAD_TEMPLATE_BITS = (
    "{nope}",
    "<nope>",
    "{topic",
    "<twitch",
    "(a|b",
    "[x",
    "a|b)",
    "{}",
    "<>",
    "((",
    "]]",
    "{nope:slot}",
    "<<twitch>>",
    "{topic}{topic}",
    "(|)",
    "[]",
    "()",
    "\\",
    ";",
    "{0..100}",
    "{@x}",
    "<mytwitch> <mytwitch> <mytwitch>",
)
JUNK = (":", "{", "}", "[", "]", "&", "*", "!", "%", "@", "`", "|", ">", "'", '"', "#", "?", "-")


def _lines(text: str) -> list[str]:
    return text.split("\n")


def m_delete_key(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    keys = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
    if not keys:
        return text
    i = rng.choice(keys)
    indent = len(lines[i]) - len(lines[i].lstrip())
    end = i + 1
    while end < len(lines) and (
        not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
    ):
        end += 1
    return "\n".join(lines[:i] + lines[end:])


def m_change_type(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    spots = [i for i, line in enumerate(lines) if _KEY_LINE.match(line) or _ITEM_LINE.match(line)]
    if not spots:
        return text
    i = rng.choice(spots)
    value = rng.choice(WRONG_VALUES)
    key = _KEY_LINE.match(lines[i])
    if key:
        indent, dash, name = key.group(1), key.group(2) or "", key.group(3)
        value = value.replace("\n", "\n" + indent + "  ")
        lines[i] = f"{indent}{dash}{name}: {value}"
    else:
        item = _ITEM_LINE.match(lines[i])
        assert item is not None
        lines[i] = f"{item.group(1)}- {value}".replace("\n", "\n" + item.group(1) + "  ")
    return "\n".join(lines)


def m_indentation(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for _ in range(rng.randint(1, 3)):
        i = rng.choice(filled)
        body = lines[i].lstrip()
        indent = len(lines[i]) - len(body)
        indent = rng.choice([0, max(0, indent - rng.randint(1, 3)), indent + rng.randint(1, 3)])
        lines[i] = " " * indent + body
    return "\n".join(lines)


def m_unknown_reference(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    quoted = [i for i, line in enumerate(lines) if _QUOTED.search(line)]
    if not quoted:
        return text
    i = rng.choice(quoted)
    match = rng.choice(list(_QUOTED.finditer(lines[i])))
    at = rng.randint(match.start() + 1, match.end() - 1)
    lines[i] = lines[i][:at] + rng.choice(BAD_TEMPLATE_BITS) + lines[i][at:]
    return "\n".join(lines)


def m_tabs(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        if rng.random() < 0.5:
            lines[i] = "\t" + lines[i].lstrip(" ")
        else:
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + "\t" + lines[i][at:]
    return "\n".join(lines)


def m_mapping_to_list(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    keys = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
    if not keys:
        return text
    i = rng.choice(keys)
    key = _KEY_LINE.match(lines[i])
    assert key is not None
    choice = rng.random()
    if choice < 0.5:
        lines[i] = f"{key.group(1)}- {key.group(3)}:{key.group(4) or ''}"
    elif choice < 0.8:
        lines[i] = f"{key.group(1)}{key.group(3)}: [a, b, c]"
    else:
        return "- " + "\n  ".join(lines)
    return "\n".join(lines)


def m_swap_or_copy_lines(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    action = rng.random()
    if action < 0.4:
        lines[i], lines[j] = lines[j], lines[i]
    elif action < 0.7:
        lines.insert(j, lines[i])  # often a duplicate key
    else:
        del lines[i]
    return "\n".join(lines)


def m_junk_characters(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 5)):
        at = rng.randrange(len(chars) + 1)
        chars.insert(at, rng.choice(JUNK))
    return "".join(chars)


def m_odd_keys_and_tags(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    keys = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
    i = rng.choice(keys) if keys else 0
    indent = (len(lines[i]) - len(lines[i].lstrip())) if keys else 0
    odd = rng.choice(
        (
            "1: one",
            "null: nothing",
            "true: yes",
            "3.5: float",
            "? [a, b]\n: unhashable",
            "? {a: 1}\n: unhashable",
            "<<: *nope",
            "tagged: !!python/object/apply:os.system ['true']",
            "tagged: !!python/name:os.system",
            "tagged: !custom thing",
            "anchored: &a [1, 2]\nagain: *a",
            "'': empty key",
            "bad name!: x",
            "x" * 300 + ": long key",
        )
    )
    block = "\n".join(" " * indent + part for part in odd.split("\n"))
    lines.insert(i, block)
    return "\n".join(lines)


TEXT_MUTATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "delete_key": m_delete_key,
    "change_type": m_change_type,
    "indentation": m_indentation,
    "unknown_reference": m_unknown_reference,
    "tabs": m_tabs,
    "mapping_to_list": m_mapping_to_list,
    "swap_or_copy_lines": m_swap_or_copy_lines,
    "junk_characters": m_junk_characters,
    "odd_keys_and_tags": m_odd_keys_and_tags,
}
INVALID_UTF8 = (
    b"\xff",
    b"\xfe\xff",
    b"\xc3\x28",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\x80",
    b"\xc0\xaf",
)


def mutate(text: str, rng: random.Random) -> tuple[bytes, list[str]]:
    """1-3 text mutations, then maybe a byte-level one (truncation, invalid UTF-8)."""
    names = rng.choices(list(TEXT_MUTATIONS), k=rng.choice((1, 1, 1, 2, 3)))
    for name in names:
        text = TEXT_MUTATIONS[name](text, rng)
    data = text.encode("utf-8")
    roll = rng.random()
    if roll < 0.12:
        data = data[: rng.randrange(len(data) + 1)]
        names.append("truncate")
    elif roll < 0.2:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice(INVALID_UTF8) + data[at:]
        names.append("invalid_utf8")
    return data, names


SPECIAL_FILES: dict[str, bytes] = {
    "empty": b"",
    "newline": b"\n",
    "spaces": b"   \n\t\n",
    "document_marker": b"---\n",
    "comment_only": b"# nothing here\n",
    "null": b"null\n",
    "scalar": b"just text\n",
    "list": b"- a\n- b\n",
    "bom": b"\xef\xbb\xbf" + KNOWLEDGE.encode()[:200],
    "utf16": "language: en\n".encode("utf-16"),
    "deep_nesting": b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "two_documents": b"language: en\n---\nlanguage: de\n",
    "huge": b"# padding\n" * (MAX_YAML_BYTES // 10 + 1000),
}


# -- running the cases ---------------------------------------------------------------------
class Outcomes:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []

    def run(self, label: str, load: Callable[[], object]) -> None:
        try:
            load()
        except DataErrors as exc:
            messages = [e.message for e in exc.errors if isinstance(e, DataError)]
            if not messages or len(messages) != len(exc.errors):
                self.failures.append(f"{label}: DataErrors without DataError items: {exc}")
            self._check(label, messages)
            self.counts["errors"] += 1
        except DataError as exc:
            self._check(label, [exc.message])
            self.counts["errors"] += 1
        except Exception as exc:  # the point of the test: nothing else may escape
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self.failures.append(
                f"{label}: {type(exc).__name__}: {exc} at {where.filename}:{where.lineno}"
            )
        else:
            self.counts["loaded"] += 1

    def _check(self, label: str, messages: list[str]) -> None:
        for message in messages:
            if not MESSAGE.fullmatch(message):
                self.failures.append(f"{label}: message not file[:line]: text: {message!r}")


def _write(directory: Path, files: dict[str, bytes]) -> None:
    for old in directory.iterdir():
        old.unlink()
    for name, data in files.items():
        (directory / name).write_bytes(data)


def test_mutated_data_files_fail_cleanly(tmp_path: Path) -> None:
    intents_dir = tmp_path / "intents"
    intents_dir.mkdir()
    knowledge_dir = tmp_path / "knowledge"
    knowledge_dir.mkdir()
    knowledge_file = knowledge_dir / "twitching.yaml"
    outcomes = Outcomes()
    pristine_conversation = CONVERSATION.encode()
    started = time.perf_counter()
    plan = [kind for kind, share in SHARES.items() for _ in range(round(share * CASES))]
    specials = [(kind, name) for kind in ("conversation", "knowledge") for name in SPECIAL_FILES]
    cases = 0
    for kind, special in specials:
        data = SPECIAL_FILES[special]
        label = f"{kind} special {special}"
        if kind == "knowledge":
            _write(knowledge_dir, {"twitching.yaml": data})
            outcomes.run(label, lambda: load_knowledge(knowledge_file))
        else:
            _write(intents_dir, {"conversation.yaml": data})
            outcomes.run(label, lambda: load_intents(intents_dir))
        cases += 1
    duplicates = 0
    for seed, kind in enumerate(plan[: CASES - cases]):
        rng = random.Random(seed)
        label = f"{kind} seed {seed}"
        if kind == "knowledge":
            data, names = mutate(KNOWLEDGE, rng)
            _write(knowledge_dir, {"twitching.yaml": data})
            outcomes.run(f"{label} {names}", lambda: load_knowledge(knowledge_file))
        elif kind == "conversation" and seed % 25 == 0:
            # The same intent in two files (a mutation of it, or an exact copy).
            copy = _intent_block(CONVERSATION, rng)
            extra = ("language: en\nintents:\n" + copy).encode()
            if rng.random() < 0.5:
                extra, _ = mutate(extra.decode(), rng)
            files = {"conversation.yaml": pristine_conversation, "more.yaml": extra}
            _write(intents_dir, files)
            outcomes.run(f"{label} duplicate intent", lambda: load_intents(intents_dir))
            duplicates += 1
        else:
            base = {
                "conversation": CONVERSATION,
                "sounds_like": SOUNDS_LIKE,
                "twitching": TWITCHING_SMALL,
            }[kind]
            data, names = mutate(base, rng)
            files = {f"{kind}.yaml": data}
            if kind != "conversation":
                files["minimal.yaml"] = MINIMAL_INTENTS
            _write(intents_dir, files)
            outcomes.run(f"{label} {names}", lambda: load_intents(intents_dir))
        cases += 1
    elapsed = time.perf_counter() - started
    assert cases == CASES
    assert not outcomes.failures, "\n".join(outcomes.failures[:20])
    # The mutations must bite: most cases are errors, and the loaders are still exercised
    # on files that load.
    assert outcomes.counts["errors"] > CASES // 2, outcomes.counts
    assert outcomes.counts["loaded"] > 20, outcomes.counts
    assert duplicates >= 10
    print(f"\n{CASES} mutated data files in {elapsed:.1f} s: {dict(outcomes.counts)}")


def _intent_block(text: str, rng: random.Random) -> str:
    """One intent of a file (its lines under ``intents:``), as text."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("intents:"))
    heads = [i for i in range(start + 1, len(lines)) if re.match(r"^  [A-Za-z_]\w*:\s*$", lines[i])]
    k = rng.randrange(len(heads))
    end = heads[k + 1] if k + 1 < len(heads) else len(lines)
    return "\n".join(lines[heads[k] : end]) + "\n"


def test_duplicate_intent_across_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "conversation.yaml").write_text(CONVERSATION, encoding="utf-8")
    copy = _intent_block(CONVERSATION, random.Random(1))
    (tmp_path / "more.yaml").write_text("language: en\nintents:\n" + copy, encoding="utf-8")
    with pytest.raises(DataErrors) as caught:
        load_intents(tmp_path)
    messages = [e.message for e in caught.value.errors]
    assert any("already defined at" in m and "conversation.yaml:" in m for m in messages)
    assert all(MESSAGE.fullmatch(m) for m in messages)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\ufffe"])
@pytest.mark.parametrize("kind", ["intents", "knowledge"])
def test_control_character_gives_a_one_line_message(tmp_path: Path, kind: str, char: str) -> None:
    text = (CONVERSATION if kind == "intents" else KNOWLEDGE).split("\n")
    text[5] += char
    path = tmp_path / "twitching.yaml"
    path.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises((DataError, DataErrors)) as caught:
        load_intents(tmp_path) if kind == "intents" else load_knowledge(path)
    error = caught.value
    errors = error.errors if isinstance(error, DataErrors) else [error]
    for error in errors:
        assert MESSAGE.fullmatch(error.message), error.message
        assert error.line == 6


def test_huge_file_is_refused_by_size(tmp_path: Path) -> None:
    path = tmp_path / "twitching.yaml"
    path.write_bytes(SPECIAL_FILES["huge"])
    assert path.stat().st_size > 5_000_000
    with pytest.raises(DataError) as caught:
        load_knowledge(path)
    assert "too large" in caught.value.message


# -- random utterances ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def skill() -> Skill:
    intents, kb = load_data()
    built = Skill(intents, kb)
    # Templates compile their regex on first use (~0.5 s for all, once per process); do it
    # now so the time limit below measures answering, not that one-off start-up cost.
    for patterns in intents.patterns.values():
        for pattern in patterns:
            assert pattern.regex is not None
    return built


_WORDS_TEXT = (
    "twitch twitching muscle muscles caffeine coffee magnesium eyelid calf als weak weakness "
    "spreading can't breathe chest pain seizure stop help more why repeat slower faster "
    "what about tell me is it serious doctor um uh like so fast circulation i lid "
    "coffee in magnesia b f s a l s not no never the my and or"
)
WORDS = _WORDS_TEXT.split()
ODD = ("\x00", "\t", "\r", "\x1b[31m", "\u200b", "\u200f", "\u202e", "\ufeff", "\u0301", "🙂")
UTTERANCES = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=80),
    st.text(alphabet=st.characters(max_codepoint=0x1F, exclude_characters=()), max_size=40),
    st.text(
        alphabet=st.sampled_from("مرحبا كيف حالك שלום עולם 😀🤔💪👍🏽\u200f\u202e"), max_size=80
    ),
    st.lists(st.sampled_from(WORDS + list(ODD)), max_size=150).map(" ".join),
    st.builds(
        lambda chunk, n: (chunk * n)[:10_000],
        st.text(min_size=1, max_size=12),
        st.integers(min_value=1, max_value=10_000),
    ),
)
STATES = (
    State(),
    State(topic="caffeine", disclaimer_given=True, last_reply="Earlier answer.", turns=3),
    State(topic="eyelid", choices=("caffeine", "calcium"), turns=1),
)
TIME_LIMIT = 0.050


@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=UTTERANCES)
@example(text="")
@example(text=" ")
@example(text="\x00")
@example(text="\x00" * 10_000)
@example(text="\n\r\t\x0b\x0c")
@example(text="a" * 10_000)
@example(text="twitch " * 1_430)
@example(text="😀" * 10_000)
@example(text="\ufdfa" * 5_000)  # NFKC expands each to 18 characters
@example(text="\ud800 lone surrogate \udfff")
@example(text="مرحبا، لماذا ترتعش عضلاتي؟")
@example(text="\u202emy eyelid twitches\u202c")
@example(text="my hand twitches and feels weak, is it caffeine 💪🏽")
@example(text="I CAN'T BREATHE!!!")
def test_any_utterance_gets_a_bounded_answer(skill: Skill, text: str) -> None:
    for state in STATES:
        started = time.perf_counter()
        new_state, answer = skill.turn(state, text)
        elapsed = time.perf_counter() - started
        assert isinstance(new_state, State)
        assert isinstance(answer, Answer)
        assert isinstance(answer.text, str) and answer.text.strip()
        assert isinstance(answer.confidence, float | int)
        assert not math.isnan(answer.confidence)
        assert 0.0 <= answer.confidence <= 1.0
        assert elapsed < TIME_LIMIT, f"{elapsed * 1000:.1f} ms for {text[:60]!r}"


# -- settings, grammar files, model archives (issue 11) -------------------------------------
GOOD_SETTINGS = (
    "# twitch-assistant settings\nrate: 200\nvolume: 0.8\nvoice: en-us\n"
    "wake_phrase: hey computer\nalways_listening: false\ninput_device: 2\n"
    "output_device: speakers\n"
)
SETTINGS_PIECES = (
    "&a [1, 2]", "*a", "*nothing", "!!python/object:os.system x", "{", "[", "'", '"', "\t",
    "9" * 5000, "-" + "9" * 5000, ".nan", "-.inf", "1e999", "0x1F", "0o17", "~", "null",
    "[[[[[[[[[[[[[[[[", "\x00", "\xff", "é", "<<: *a", "? complex\n: key", "---\n---",
    "%YAML 1.1", "!!binary AAAA", "2001-12-14", "- item",
)


def _mutate_settings(text: str, rng: random.Random) -> bytes:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        choice = rng.random()
        piece = rng.choice(SETTINGS_PIECES)
        if choice < 0.4:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {piece}"
        elif choice < 0.6:
            lines.insert(i, piece)
        elif choice < 0.8:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        else:
            lines[i] = " " * rng.randint(1, 5) + lines[i]
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    if rng.random() < 0.1:
        data = data[: rng.randrange(len(data) + 1)]
    return data


def test_fuzzed_settings_never_raise_never_change_the_file(tmp_path: Path) -> None:
    from assistant.settings import Settings, load_settings

    rng = random.Random(11)
    path = tmp_path / "settings.yaml"
    for n in range(300):
        data = _mutate_settings(GOOD_SETTINGS, rng)
        path.write_bytes(data)
        started = time.perf_counter()
        settings = load_settings(path)
        assert time.perf_counter() - started < 0.5, data[:200]
        assert isinstance(settings, Settings)
        assert path.read_bytes() == data, f"case {n} changed the file"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.yaml"]
        if settings.warning is not None:
            assert "\n" not in settings.warning and len(settings.warning) < 2000
            assert "set_int_max_str_digits" not in settings.warning


GRAMMAR_PIECES = ("안녕하세요", "# comment", "", "   ", "\x00", "\ufeff", "a" * 5000, "é", "\r")


def test_fuzzed_grammar_files_give_phrases_or_one_line(tmp_path: Path) -> None:
    from assistant.commands.transcribe import read_phrases
    from assistant.errors import AssistantError

    rng = random.Random(12)
    path = tmp_path / "grammar.txt"
    for _ in range(200):
        kind = rng.random()
        if kind < 0.3:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        else:
            lines = [rng.choice(GRAMMAR_PIECES) for _ in range(rng.randint(0, 20))]
            data = "\n".join(lines).encode("utf-8")
        path.write_bytes(data)
        try:
            phrases = read_phrases(path)
        except AssistantError as exc:
            assert "\n" not in exc.message and exc.message.startswith(str(path))
        else:
            assert phrases and all(p.strip() and "\n" not in p for p in phrases)


def test_fuzzed_model_archives_install_or_fail_cleanly(tmp_path: Path) -> None:
    from test_download import model_zip, zip_bytes

    from assistant import modelstore
    from assistant.errors import ModelError

    rng = random.Random(13)
    good = model_zip()
    dest = tmp_path / "models"
    for n in range(120):
        kind = rng.random()
        if kind < 0.4:  # flipped bytes
            data = bytearray(good)
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        elif kind < 0.6:  # truncated
            data = good[: rng.randrange(len(good))]
        elif kind < 0.8:  # odd member names
            name = rng.choice(["../x", "/abs", "a/../../b", "C:/w", "m/./am/final.mdl", "\\x",
                               "m/" + "d/" * 50 + "f", "m/am/final.mdl/", ""])
            data = zip_bytes({name or "e": b"x", "m/conf/model.conf": b"y"})
        else:  # symlink members
            data = zip_bytes({"m/am/final.mdl": b"x"}, symlinks={"m/link": "/etc/passwd"})
        archive = tmp_path / f"case{n}.zip"
        archive.write_bytes(data)
        try:
            installed = modelstore.install_from(archive, dest, name=f"m{n}")
        except ModelError as exc:
            assert "\n" not in exc.message and "Traceback" not in exc.message
            assert not (dest / f"m{n}").exists()
        else:
            assert modelstore.is_model_dir(installed)
            assert installed.resolve().is_relative_to(dest.resolve())
    hidden = [p.name for p in dest.iterdir() if p.name.startswith(".")] if dest.exists() else []
    assert hidden == [], f"staging left behind: {hidden}"
