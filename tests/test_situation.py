"""The situation reader: the pattern language, the lexicon's validation (file:line), and what
context makes of each sign. Cases are written in other words than the red-team sets, so
that they test the kind of speech, not one sentence."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.app import load_signs
from assistant.errors import DataErrors
from assistant.resources import default_lexicon_files
from assistant.situation import Status, load_lexicon, read
from assistant.situation.phrases import PatternError, compile_pattern, finder

LEXICON = load_signs()


def statuses(text: str) -> dict[str, str]:
    """sign -> status for every sign found."""
    return {f.sign: f.status.value for f in read(text, LEXICON).findings}


# -- the pattern language --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "text", "hits"),
    [
        ("can't breathe", "i cannot breathe", True),
        ("can't breathe", "she can not breathing", True),
        ("(face|smile) [is] ... droop*", "her smile is kind of drooping", True),
        ("puff*", "her lips are puffing up", True),
        ("seizure*", "he had two seizures", True),
        ("[a|an] fit", "a fit", True),
        ("(is|has)* gone", "it is has gone", True),
        ("chest ...5 pain", "chest hurts a lot and the pain", True),
        ("chest ... pain", "chest hurts a lot and then the pain", False),
        ("* pain", "chest pain", True),
    ],
)
def test_patterns(pattern: str, text: str, hits: bool) -> None:
    from assistant.situation.reader import tokenize

    joined = " " + " ".join(tokenize(text)) + " "
    assert bool(finder(compile_pattern(pattern)).search(joined)) is hits


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("", "non-empty"),
        ("(a|b", "not closed"),
        ("a]", "unexpected"),
        ("[maybe]", "no words"),
        ("(a|[b])", "no words"),
        ("...20", "gap"),
        ("{nowhere}", "word groups"),
        ("x" * 1200, "longer"),
    ],
)
def test_bad_patterns_say_what_is_wrong(pattern: str, problem: str) -> None:
    with pytest.raises(PatternError, match=problem):
        compile_pattern(pattern)


# -- the lexicon's validation -----------------------------------------------------------------
def _broken(tmp_path: Path, old: str, new: str, which: int = 0) -> list[str]:
    paths = [tmp_path / "signs.yaml", tmp_path / "context.yaml"]
    for path, shipped in zip(paths, default_lexicon_files(), strict=True):
        path.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    text = paths[which].read_text(encoding="utf-8")
    assert old in text
    paths[which].write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataErrors) as caught:
        load_lexicon(*paths)
    return [e.message for e in caught.value.errors]


def test_a_broken_phrase_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    messages = _broken(tmp_path, '      - "chok*"', '      - "(chok*"')
    text = (tmp_path / "signs.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i + 1 for i, t in enumerate(text) if t == '      - "(chok*"')
    assert messages == [f"{tmp_path / 'signs.yaml'}:{line}: sign 'choking': '(' is not "
                        "closed by ')'"]


def test_an_unknown_kind_level_and_category_are_reported(tmp_path: Path) -> None:
    assert any("kind 'gasping'" in m for m in
               _broken(tmp_path, "    kind: choking\n", "    kind: gasping\n"))
    assert any("level must be emergency or doctor" in m for m in
               _broken(tmp_path, "    level: doctor\n", "    level: urgent\n"))
    assert any("unknown context category 'maybe'" in m for m in
               _broken(tmp_path, "  negated:\n", "  maybe:\n", which=1))


def test_a_trigger_without_a_window_is_reported(tmp_path: Path) -> None:
    messages = _broken(tmp_path, "      window: 5\n", "      window: 0\n", which=1)
    assert any("context.yaml:" in m and "window" in m for m in messages)


def test_assistant_check_reports_a_broken_lexicon(tmp_path: Path, monkeypatch) -> None:
    """``assistant check`` loads the same files: a broken lexicon is a file:line problem."""
    import assistant.app as app

    _broken(tmp_path, '      - "chok*"', '      - "(chok*"')
    paths = (tmp_path / "signs.yaml", tmp_path / "context.yaml")
    monkeypatch.setattr(app, "default_lexicon_files", lambda: paths)
    from assistant.commands import check

    class Args:
        intents = None
        knowledge = None
        model = None

    assert check.run(Args()) == 1


# -- context --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "sign", "status"),
    [
        # an interjection is not a negation; "can't <sign>" is the sign
        ("oh no oh no he's passed out", "collapse", "affirmed"),
        ("no no she can't get any air", "cant_breathe", "affirmed"),
        # a real negation, and one that reaches over a list
        ("there's no slurring and no weakness", "weakness", "negated"),
        ("i'm not dropping anything", "falls", "negated"),
        # long ago, recently, now
        ("my nan had a fit when she was little", "seizure", "historical"),
        ("she fainted on tuesday and has been fine since", "collapse", "recent"),
        ("he fainted twenty minutes ago", "collapse", "affirmed"),
        ("my uncle had a stroke years back and now he's having another one", "stroke",
         "affirmed"),
        # questions about the word
        ("how would you tell if someone is having a stroke", "stroke", "hypothetical"),
        ("what are the warning signs of a stroke", "stroke", None),
        ("could my twitching turn into weakness", "weakness", "hypothetical"),
        # a condition that may or may not be happening
        ("how do you help someone if they start fitting", "seizure", "unclear"),
        # figurative
        ("that phone bill nearly gave me a heart attack", "danger_word", "figurative"),
        ("we were in fits of laughter", "seizure", None),
        # normal in its context
        ("i'm always out of breath after a five k", "trouble_breathing", "normal"),
        # a pet
        ("our puppy is having a seizure", "seizure", "animal"),
    ],
)
def test_context(text: str, sign: str, status: str | None) -> None:
    assert statuses(text).get(sign) == status, statuses(text)


def test_a_danger_said_at_the_end_of_a_long_story_is_seen() -> None:
    story = "so basically my calf has been twitching on and off and i drink a lot of tea " * 40
    found = read(story + "and now my wife's face has dropped on one side", LEXICON)
    assert Status.AFFIRMED in {f.status for f in found.findings if f.sign == "stroke"}


def test_a_huge_paste_is_read_at_both_ends_and_fast() -> None:
    middle = "my eyelid twitches and i worry. " * 20_000
    started = time.perf_counter()
    found = read("he's choking. " + middle + " and she can't breathe", LEXICON)
    assert time.perf_counter() - started < 0.5
    assert {"choking", "cant_breathe"} <= {f.sign for f in found.affirmed()}


def test_reading_an_ordinary_utterance_is_fast() -> None:
    text = "my left calf keeps twitching after my runs is that caffeine or something worse"
    read(text, LEXICON)
    started = time.perf_counter()
    for _ in range(100):
        read(text, LEXICON)
    assert (time.perf_counter() - started) / 100 < 0.005
