"""The knowledge base: the shipped answers (length, first sentence, the article's errors
corrected, never a diagnosis) and a file:line DataError for every malformed case."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from assistant.coverage import missing_answers, unreached_answers
from assistant.dialogue import _first_sentence
from assistant.errors import DataError, DataErrors
from assistant.knowledge import (
    MAX_ANSWER_WORDS,
    MESSAGE_KEYS,
    SAFETY_TEXTS,
    Knowledge,
    load_knowledge,
)
from assistant.nlu.loader import load_intents
from assistant.resources import default_intents_dir, default_knowledge_file, default_lexicon_files
from assistant.situation import load_lexicon

SHIPPED_FILE = default_knowledge_file()
SHIPPED = SHIPPED_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge(SHIPPED_FILE)


def every_text(kb: Knowledge) -> list[tuple[str, str]]:
    """(where, text) for everything the assistant can say."""
    out = [("disclaimer", kb.disclaimer)]
    out += [(f"messages.{k}", v) for k, v in kb.messages.items()]
    out += [(f"safety.{key}", getattr(kb.safety, key)) for key in SAFETY_TEXTS]
    for name, kind in load_lexicon(*default_lexicon_files()).kinds.items():
        out += [(f"signs.yaml kinds.{name}.{part}", text)
                for part, text in (("lead", kind.lead), ("steps", kind.steps)) if text]
    for entry in kb.answers.values():
        out += [(f"{entry.id}.text", entry.text), (f"{entry.id}.more", entry.more)]
        if entry.why:
            out.append((f"{entry.id}.why", entry.why))
    return out


# -- the shipped knowledge -----------------------------------------------------------------
def test_shipped_knowledge_loads(kb: Knowledge) -> None:
    assert len(kb.answers) >= 30
    assert set(kb.messages) == set(MESSAGE_KEYS)
    assert kb.safety.emergency_numbers["GB"] == "999"
    for entry in kb.answers.values():
        assert entry.title and entry.text and entry.more and entry.sources
        assert SHIPPED.splitlines()[entry.line - 1].strip() == f"{entry.id}:"


def test_every_intent_has_an_answer_and_every_answer_is_reached(kb: Knowledge) -> None:
    intents = load_intents(default_intents_dir())
    assert [e.message for e in missing_answers(intents, kb)] == []
    assert [e.message for e in unreached_answers(intents, kb)] == []


def test_answers_are_short_enough_for_the_ear(kb: Knowledge) -> None:
    counts = {}
    for entry in kb.answers.values():
        n = len(entry.text.split())
        counts[entry.id] = n
        assert 25 <= n <= 70, f"{entry.id}: text has {n} words (want about 40-60)"
        assert len(entry.more.split()) <= MAX_ANSWER_WORDS, entry.id
    assert 40 <= statistics.mean(counts.values()) <= 60


# Words the first sentence must contain (any one) for it to answer the question asked.
FIRST_SENTENCE_ANSWERS = {
    "alcohol": ("alcohol",),
    "age": ("age", "older"),
    "strength_endurance": ("lifting", "run"),
    "cold": ("shivering",),
    "stop_now": ("stop",),
    "mouth_lip": ("lip", "mouth"),
    "hand_thumb": ("thumb", "hand"),
    "foot": ("foot", "toes"),
    "tongue": ("tongue",),
    "chest": ("chest",),
    "stomach": ("stomach", "belly"),
    "pregnancy": ("pregnancy",),
    "menopause": ("menopause",),
    "baby": ("babies",),
    "child_tics": ("tics",),
    "after_infection": ("infection",),
    "nicotine": ("nicotine",),
    "potassium": ("potassium",),
    "vitamin_d": ("vitamin d",),
    "does_it_hurt": ("hurt",),
    "emg": ("emg",),
    "als_start": ("als",),
    "als_or_bfs": ("weakness",),
    "bfs_how_long": ("lasts",),
    "ms": ("multiple sclerosis",),
    "antidepressants": ("antidepressants",),
    "stimulants": ("stimulant",),
    "inhalers": ("inhalers",),
    "statins": ("statins",),
    "steroids": ("steroid",),
    "diuretics": ("diuretics", "water tablets"),
    "parkinsons": ("parkinson",),
    "dementia": ("dementia",),
    "health_anxiety": ("worry",),
    "tremor": ("tremor",),
    "thyroid": ("thyroid",),
    "blood_tests": ("blood",),
    "neurologist": ("neurologist",),
    "sleep_starts": ("sleep start", "hypnic"),
    "restless_legs": ("restless legs",),
    "danger_signs": ("emergency",),
    "twitch_or_seizure": ("twitch",),
    "what_is_twitching": ("fasciculation",),
    "is_it_serious": ("usually not", "rarely", "harmless"),
    "causes": ("cause",),
    "benign_causes": ("harmless", "benign", "common"),
    "neurological_causes": ("nerve", "neurological"),
    "bfs": ("benign fasciculation syndrome",),
    "symptoms": ("cramp", "spasm", "weakness"),
    "paresthesia": ("tingling", "pins and needles"),
    "cramps_spasms": ("twitch", "cramp"),
    "when_to_see_doctor": ("see a doctor",),
    "doctor_visit": ("doctor",),
    "how_long": ("pass", "days", "weeks"),
    "caffeine": ("caffeine",),
    "dehydration": ("dehydration",),
    "anxiety": ("stress", "anxiety"),
    "nutrition": ("diet", "nutrition"),
    "calcium": ("calcium",),
    "vitamin_b12": ("b12",),
    "magnesium": ("magnesium",),
    "medications": ("medicine", "medication"),
    "eyelid": ("eyelid",),
    "calf": ("calf", "calves", "leg"),
    "all_over": ("many places", "all over", "everywhere"),
    "pnh": ("hyperexcitability",),
    "als": ("als",),
    "muscular_dystrophy": ("muscular dystrophy",),
    "myopathy": ("myopathy",),
    "sma": ("spinal muscular atrophy",),
    "remedies": ("diet", "exercise", "caffeine", "water"),
    "diet": ("diet",),
    "exercise": ("exercise",),
    "after_exercise": ("run", "workout", "exercise"),
    "at_night": ("night", "rest"),
    "sleep": ("sleep",),
    "relaxation": ("relax",),
    "massage": ("massage",),
    "homeopathy": ("homeopathy",),
    "salt_processed_food": ("salt", "processed"),
    "can_you_diagnose": ("diagnose", "can't tell"),
}


def test_first_sentence_answers_the_question(kb: Knowledge) -> None:
    for entry in kb.answers.values():
        first = _first_sentence(entry.text)
        assert first != entry.text, f"{entry.id}: one long sentence"
        assert len(first.split()) <= 30, f"{entry.id}: first sentence too long: {first!r}"
        wanted = FIRST_SENTENCE_ANSWERS.get(entry.id)
        if wanted:
            assert any(w in first.lower() for w in wanted), f"{entry.id}: {first!r}"


def test_known_answers_are_all_checked(kb: Knowledge) -> None:
    # Guards the table above against silently shrinking as answers are renamed.
    checked = set(FIRST_SENTENCE_ANSWERS) & set(kb.answers)
    assert len(checked) >= 0.9 * len(kb.answers)


def test_text_is_written_for_the_ear(kb: Knowledge) -> None:
    for where, said in every_text(kb):
        text = re.sub(r"\{(first|second|title|service|number|steps|signs)\}", "", said)
        assert not re.search(r"[()\[\]{}*#@_=+|\\<>;%&/]", text), f"{where}: {said!r}"
        assert not re.search(r"\d", text.replace("B12", "")), f"{where}: digits: {text!r}"


# -- the article's three known errors are corrected ----------------------------------------
def test_no_answer_calls_fasciculations_voluntary(kb: Knowledge) -> None:
    for where, text in every_text(kb):
        assert not re.search(r"\bvoluntary\b", text, re.I), f"{where}: {text!r}"
    what_is = kb.answers["what_is_twitching"].text.lower()
    assert "involuntary" in what_is or "don't control" in what_is


def test_paresthesia_is_an_abnormal_sensation_not_reduced_sensation(kb: Knowledge) -> None:
    text = kb.answers["paresthesia"].text.lower()
    assert "tingling" in text or "pins and needles" in text
    assert "reduced sensation" not in text


def test_homeopathy_is_not_recommended(kb: Knowledge) -> None:
    entry = kb.answers["homeopathy"]
    text = entry.text.lower()
    assert "no good" in text and "evidence" in text
    assert "doctor or pharmacist" in text or "pharmacist or doctor" in text
    assert "positive effect" not in (entry.text + entry.more).lower()
    remedies = kb.answers["remedies"]
    mention = remedies.text + " " + remedies.more
    if "homeopath" in mention.lower():
        assert "no good" in mention.lower() and "evidence" in mention.lower()


# -- never a diagnosis ---------------------------------------------------------------------
DISEASE = (
    r"(als|motor neuron|motor neurone|disease|dystrophy|myopathy|atrophy|syndrome|"
    r"hyperexcitability|sclerosis|parkinson|cancer|paresthesia|disorder|condition|deficiency)"
)
DIAGNOSIS = re.compile(
    r"(?<!if )(?<!whether )\byou(?: have| have got|'ve got| probably have| may have| might have"
    r"| could have| likely have| definitely have| are suffering from| suffer from)"
    r"(?: \w+){0,3} " + DISEASE,
    re.I,
)


def test_diagnosis_pattern_catches_a_diagnosis() -> None:
    assert DIAGNOSIS.search("It sounds like you have ALS.")
    assert DIAGNOSIS.search("You probably have benign fasciculation syndrome.")
    assert not DIAGNOSIS.search("If you have weakness, see a doctor.")


def test_no_answer_says_you_have_a_disease(kb: Knowledge) -> None:
    for where, text in every_text(kb):
        assert not DIAGNOSIS.search(text), f"{where}: {text!r}"


def test_disclaimer_is_one_short_sentence(kb: Knowledge) -> None:
    text = kb.disclaimer
    assert "diagnose" in text.lower() and "doctor" in text.lower()
    assert len(text.split()) <= 25
    assert text.count(".") == 1 and text.endswith(".")


def test_safety_wording(kb: Knowledge) -> None:
    assert "emergency" in kb.safety.emergency.lower()
    assert "doctor" in kb.safety.red_flag_advice.lower()
    for kind in load_lexicon(*default_lexicon_files()).kinds.values():
        assert kind.lead.endswith("."), kind.name
        assert kind.sources, kind.name


# -- malformed knowledge -------------------------------------------------------------------
def line_no(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the only line containing ``needle`` (after the line ``after``)."""
    lines = text.splitlines()
    start = line_no(text, after) if after else 0
    found = [i + 1 for i, line in enumerate(lines) if i >= start and needle in line]
    assert found, f"{needle!r} not in the knowledge file"
    return found[0]


def edit(text: str, needle: str, replacement: str, after: str | None = None) -> str:
    """Replace the line holding ``needle`` (a line of its own: '' deletes it)."""
    lines = text.splitlines(keepends=True)
    index = line_no(text, needle, after) - 1
    lines[index] = replacement
    return "".join(lines)


def load_errors(tmp_path: Path, text: str | bytes) -> tuple[Path, list[DataError]]:
    path = tmp_path / "kb.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises((DataError, DataErrors)) as info:
        load_knowledge(path)
    exc = info.value
    errors = exc.errors if isinstance(exc, DataErrors) else [exc]
    assert "\n" not in exc.message
    return path, errors


def assert_error(path: Path, errors: list[DataError], line: int, *fragments: str) -> None:
    for error in errors:
        if (
            error.path == str(path)
            and error.line == line
            and all(f.lower() in error.message.lower() for f in fragments)
        ):
            assert error.message.startswith(f"{path}:{line}: ")
            return
    shown = "\n".join(e.message for e in errors)
    raise AssertionError(f"no error at line {line} with {fragments}; got:\n{shown}")


CAFFEINE = "  caffeine:"


@pytest.mark.parametrize("field", ["title", "text", "more", "sources"])
def test_required_answer_field_missing(tmp_path: Path, field: str) -> None:
    text = edit(SHIPPED, f"    {field}:", "", after=CAFFEINE)
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, CAFFEINE), field)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("title", "[caffeine, coffee]"),
        ("text", "42"),
        ("more", "{a: b}"),
        ("why", '""'),
        ("sources", '"article"'),
        ("sources", "[]"),
        ("sources", "[1, 2]"),
    ],
)
def test_answer_field_of_the_wrong_type(tmp_path: Path, field: str, bad: str) -> None:
    text = edit(SHIPPED, f"    {field}:", f"    {field}: {bad}\n", after=CAFFEINE)
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, f"    {field}:", after=CAFFEINE), field)


def test_unknown_answer_key(tmp_path: Path) -> None:
    text = edit(SHIPPED, "    title:", '    title: "caffeine"\n    colour: "brown"\n', CAFFEINE)
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "colour:"), "unknown", "colour")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = SHIPPED + "\nextras: 1\n"
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "extras:"), "unknown", "extras")


def test_unknown_message_and_safety_keys(tmp_path: Path) -> None:
    text = edit(SHIPPED, "  stop:", '  stop: "Okay."\n  shout: "Hey!"\n')
    text = edit(text, "  animal:", '  animal: "x."\n  dizziness: "y."\n', "safety:")
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "  shout:"), "shout")
    assert_error(path, errors, line_no(text, "  dizziness:"), "dizziness")


def test_missing_message(tmp_path: Path) -> None:
    text = edit(SHIPPED, "  thanks:", "")
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "messages:"), "thanks")


def test_safety_text_without_its_placeholder(tmp_path: Path) -> None:
    text = edit(SHIPPED, "  call:", '  call: "Call for help now."\n')
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "  call:"), "{service}")


def test_emergency_number_that_is_not_digits(tmp_path: Path) -> None:
    text = edit(SHIPPED, "    GB:", '    GB: "nine nine nine"\n')
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "    GB:"), "digits")


@pytest.mark.parametrize(
    ("key", "bad", "mark"),
    [
        ("clarify", '"Did you mean {first}?"', "{second}"),
        ("more_end", '"That is all."', "{title}"),
        ("why_none", '"No reason."', "{title}"),
    ],
)
def test_missing_placeholder(tmp_path: Path, key: str, bad: str, mark: str) -> None:
    text = edit(SHIPPED, f"  {key}:", f"  {key}: {bad}\n")
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, f"  {key}:"), key, mark)


@pytest.mark.parametrize("field", ["text", "more"])
def test_over_long_answer(tmp_path: Path, field: str) -> None:
    long = " ".join(["Caffeine can trigger twitching."] * 40)
    text = edit(SHIPPED, f"    {field}:", f'    {field}: "{long}"\n', after=CAFFEINE)
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, f"    {field}:", after=CAFFEINE), "words")


def test_bad_answer_id(tmp_path: Path) -> None:
    text = edit(SHIPPED, CAFFEINE, "  Caffeine-Answer:\n")
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "  Caffeine-Answer:"), "Caffeine-Answer")


def test_safety_wording_is_enforced(tmp_path: Path) -> None:
    text = edit(SHIPPED, "  emergency:", '  emergency: "Please sit down."\n')
    text = edit(text, "  red_flag_advice:", '  red_flag_advice: "Rest a while."\n')
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "  emergency:"), "emergency")
    assert_error(path, errors, line_no(text, "  red_flag_advice:"), "doctor")


def test_missing_disclaimer(tmp_path: Path) -> None:
    path, errors = load_errors(tmp_path, edit(SHIPPED, "disclaimer:", ""))
    assert any(e.path == str(path) and e.line and "disclaimer" in e.message for e in errors)


@pytest.mark.parametrize(
    ("needle", "replacement"),
    [
        ("  greeting:", "  greeting: [hello, hi]\n"),
        ("disclaimer:", "disclaimer: 12\n"),
        ("  past:", "  past: {a: b}\n"),
    ],
)
def test_message_of_the_wrong_type(tmp_path: Path, needle: str, replacement: str) -> None:
    text = edit(SHIPPED, needle, replacement)
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, needle), needle.strip(" :"))


def test_answers_not_a_mapping(tmp_path: Path) -> None:
    head = SHIPPED[: SHIPPED.index("\nanswers:")]
    text = head + "\nanswers: [caffeine]\n"
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "answers:"), "answers")


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    path, errors = load_errors(tmp_path, "- just\n- a list\n")
    assert_error(path, errors, 1, "mapping")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = edit(SHIPPED, "  stop:", '  stop: "Okay." extra: words\n')
    path, errors = load_errors(tmp_path, text)
    assert_error(path, errors, line_no(text, "  stop:"), "yaml")


def test_non_utf8(tmp_path: Path) -> None:
    raw = SHIPPED.encode() + b"# caf\xe9\n"
    path, errors = load_errors(tmp_path, raw)
    assert_error(path, errors, SHIPPED.count("\n") + 1, "utf-8")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found") as info:
        load_knowledge(tmp_path / "nope.yaml")
    assert str(tmp_path / "nope.yaml") in info.value.message
    with pytest.raises(DataError, match="folder"):
        load_knowledge(tmp_path)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = edit(SHIPPED, "  thanks:", "")
    text = edit(text, "    title:", '    title: "caffeine"\n    colour: "brown"\n', CAFFEINE)
    text = edit(text, "  clarify:", '  clarify: "Which?"\n')
    _, errors = load_errors(tmp_path, text)
    assert len(errors) >= 3


def test_intent_pointing_at_a_missing_answer(tmp_path: Path, kb: Knowledge) -> None:
    text = edit(SHIPPED, "  calcium:", "  calcium_old:\n")
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    broken = load_knowledge(path)
    intents = load_intents(default_intents_dir())
    problems = missing_answers(intents, broken)
    assert problems
    assert all(re.match(r"^.+:\d+: |^.+: ", p.message) for p in problems)
    assert any("calcium" in p.message and p.line for p in problems)
    assert any("calcium_old" in e.message for e in unreached_answers(intents, broken))
