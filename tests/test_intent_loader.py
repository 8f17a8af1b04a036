"""Loading intents (hassil file format): the shipped set, and a file:line error for every
malformed case, built as small intent folders in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialogue import CONTROL_INTENTS
from assistant.errors import DataError, DataErrors
from assistant.nlu.loader import load_intents
from assistant.nlu.text import stem
from assistant.resources import default_intents_dir

GOOD = """\
language: en
intents:
  hello:
    data:
      - sentences:
          - "hello there"
"""


def make(tmp_path: Path, files: dict[str, str | bytes], folders: tuple[str, ...] = ()) -> Path:
    directory = tmp_path / "intents"
    directory.mkdir()
    for name, content in files.items():
        target = directory / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    for name in folders:
        (directory / name).mkdir()
    return directory


def load_errors(directory: Path) -> list[DataError]:
    """The DataErrors a load raises (a single DataError counts as a list of one)."""
    with pytest.raises((DataError, DataErrors)) as info:
        load_intents(directory)
    exc = info.value
    errors = exc.errors if isinstance(exc, DataErrors) else [exc]
    assert errors, "DataErrors without any error"
    assert str(exc).strip(), "the error message is empty"
    assert "\n" not in exc.message, "the summary must fit on one line"
    return errors


def find_error(errors: list[DataError], path: Path, line: int | None, *fragments: str) -> DataError:
    """The error naming ``path:line`` whose message holds every fragment."""
    for error in errors:
        if (
            error.path == str(path)
            and error.line == line
            and all(f.lower() in error.message.lower() for f in fragments)
        ):
            where = f"{path}:{line}:" if line is not None else f"{path}:"
            assert error.message.startswith(where), error.message
            return error
    shown = "\n".join(e.message for e in errors)
    raise AssertionError(f"no error at {path}:{line} with {fragments}; got:\n{shown}")


# -- the shipped intents -------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    return load_intents(default_intents_dir())


def test_shipped_intents_load(shipped) -> None:
    assert shipped.language == "en"
    assert {"about_topic", "causes", "caffeine", "eyelid", "als"} <= set(shipped.intents)
    assert {"help", "more", "repeat", "why", "stop", "goodbye", "slower", "faster"} <= set(
        shipped.intents
    )
    assert len(shipped.templates) > 200
    assert {p.name for p in shipped.files} >= {
        "twitching.yaml",
        "conversation.yaml",
        "sounds_like.yaml",
    }


def test_shipped_templates_know_their_file_and_line(shipped) -> None:
    cache: dict[str, list[str]] = {}
    for template in shipped.templates:
        lines = cache.setdefault(
            template.path, Path(template.path).read_text(encoding="utf-8").splitlines()
        )
        assert template.line >= 1
        assert template.source in lines[template.line - 1], template


def test_shipped_topic_list_and_sounds_like_are_loaded(shipped) -> None:
    values = shipped.list_values("topic")
    assert values["coffee "] == "caffeine"
    assert values["magnesium "] == "magnesium"
    assert shipped.sounds_like[("fast", "circulation")] == ("fasciculation",)
    assert shipped.sounds_like[("magnesia",)] == ("magnesium",)
    assert shipped.sounds_like[("coffee", "in")] == ("caffeine",)


def test_control_intents_are_all_defined(shipped) -> None:
    missing = CONTROL_INTENTS - set(shipped.intents)
    assert not missing, f"dialogue handles intents no file defines: {sorted(missing)}"


def test_loading_is_deterministic(shipped) -> None:
    again = load_intents(default_intents_dir())
    assert again.intents == shipped.intents
    assert [t.source for t in again.templates] == [t.source for t in shipped.templates]


def test_minimal_folder_loads_and_yml_counts(tmp_path: Path) -> None:
    loaded = load_intents(make(tmp_path, {"a.yml": GOOD}))
    assert loaded.intents == ["hello"]
    assert loaded.templates[0].line == 6


# -- YAML-level errors -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("language: en\nintents:\n  hello: bad: colon\n", 3),
        (GOOD + "     bad: indent\n", 7),
        ("language: en\nintents: [a, b\nfoo: 1\n", 3),
        ("language: en\nintents:\n\thello: 1\n", 3),
    ],
    ids=["colon", "indent", "unclosed-flow", "tab"],
)
def test_yaml_syntax_error_names_file_and_line(tmp_path: Path, content: str, line: int) -> None:
    directory = make(tmp_path, {"broken.yaml": content})
    find_error(load_errors(directory), directory / "broken.yaml", line, "yaml")


def test_duplicate_key_names_the_second_key(tmp_path: Path) -> None:
    content = GOOD + '  hello:\n    data:\n      - sentences: ["hi"]\n'
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 7, "duplicate", "hello")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    content = f"language: en\nx: !!python/object/apply:os.system ['touch {marker}']\n"
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 2)
    assert not marker.exists()


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    directory = make(tmp_path, {"a.yaml": GOOD, "empty.yaml": content})
    find_error(load_errors(directory), directory / "empty.yaml", 1, "empty")


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    content = GOOD.encode() + b"# caf\xe9 in latin-1\n"
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 7, "utf-8")


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("- hello\n- there\n", 1, "mapping"),
        ("just a string\n", 1, "mapping"),
        ("42\n", 1, "mapping"),
    ],
)
def test_top_level_not_a_mapping(tmp_path: Path, content: str, line: int, fragment: str) -> None:
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", line, fragment)


# -- hassil-format errors ------------------------------------------------------------------
def test_unknown_top_level_key(tmp_path: Path) -> None:
    content = GOOD.replace("intents:", "colour: blue\nintents:")
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 2, "unknown", "colour")


def test_missing_language(tmp_path: Path) -> None:
    directory = make(tmp_path, {"a.yaml": GOOD.replace("language: en\n", "")})
    find_error(load_errors(directory), directory / "a.yaml", 1, "language")


def test_intent_without_data(tmp_path: Path) -> None:
    content = "language: en\nintents:\n  hello:\n    sentences: [hi]\n"
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 3, "hello", "data")


@pytest.mark.parametrize(
    "block",
    ["      - slots: {}\n", "      - sentences: []\n", "      - just text\n"],
    ids=["no-sentences-key", "empty-sentences", "block-not-mapping"],
)
def test_block_without_sentences(tmp_path: Path, block: str) -> None:
    content = "language: en\nintents:\n  hello:\n    data:\n" + block
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 5, "hello", "sentences")


def test_template_that_is_not_text(tmp_path: Path) -> None:
    content = GOOD + "          - 42\n"
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 7, "hello", "text")


@pytest.mark.parametrize(
    "template",
    ["(hello there", "hello there)", "[hello there", "hello (there|you", "()"],
)
def test_template_hassil_cannot_parse(tmp_path: Path, template: str) -> None:
    content = GOOD + f'          - "{template}"\n'
    directory = make(tmp_path, {"a.yaml": content})
    error = find_error(load_errors(directory), directory / "a.yaml", 7, "hello")
    assert template in error.message


def test_unknown_expansion_rule(tmp_path: Path) -> None:
    content = GOOD + '          - "hello <nowhere>"\n'
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 7, "unknown expansion rule", "nowhere")


def test_unknown_slot_list(tmp_path: Path) -> None:
    content = GOOD + '          - "hello {nowhere}"\n'
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 7, "unknown slot list", "nowhere")


def test_expansion_rule_that_refers_to_itself(tmp_path: Path) -> None:
    content = 'language: en\nexpansion_rules:\n  loop: "x <loop>"\n' + GOOD.split("\n", 1)[1]
    content += '          - "<loop>"\n'
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 3, "loop", "itself")


def test_range_list_is_refused_with_a_reason(tmp_path: Path) -> None:
    content = "language: en\nlists:\n  n:\n    range: {from: 1, to: 3}\n" + GOOD.split("\n", 1)[1]
    directory = make(tmp_path, {"a.yaml": content})
    find_error(load_errors(directory), directory / "a.yaml", 3, "values")


def test_duplicate_intent_across_two_files(tmp_path: Path) -> None:
    directory = make(tmp_path, {"a.yaml": GOOD, "b.yaml": "# the same again\n" + GOOD})
    error = find_error(load_errors(directory), directory / "b.yaml", 4, "hello", "already")
    assert f"{directory / 'a.yaml'}:3" in error.message


def test_different_languages_across_files(tmp_path: Path) -> None:
    other = GOOD.replace("language: en", "language: de").replace("hello", "hallo")
    directory = make(tmp_path, {"a.yaml": GOOD, "b.yaml": other})
    find_error(load_errors(directory), directory / "b.yaml", 1, "language")


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    directory = make(
        tmp_path,
        {
            "a.yaml": GOOD + '          - "(oops"\n',
            "b.yaml": "language: en\nintents: [\n",
            "c.yaml": GOOD.replace("hello", "bye") + '          - "bye {nowhere}"\n',
        },
    )
    errors = load_errors(directory)
    named = {Path(e.path).name for e in errors}
    assert named == {"a.yaml", "b.yaml", "c.yaml"}
    assert all(e.line is not None for e in errors)


# -- folders and files -----------------------------------------------------------------------
def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    error = find_error(load_errors(missing), missing, None, "not found")
    assert str(missing) in error.message


def test_a_file_given_as_the_folder(tmp_path: Path) -> None:
    file = tmp_path / "intents.yaml"
    file.write_text(GOOD, encoding="utf-8")
    find_error(load_errors(file), file, None, "folder")


def test_folder_without_yaml(tmp_path: Path) -> None:
    directory = make(tmp_path, {"notes.txt": GOOD, "intents.json": "{}"})
    find_error(load_errors(directory), directory, None, "no .yaml")


def test_a_yaml_name_that_is_a_directory(tmp_path: Path) -> None:
    directory = make(tmp_path, {"a.yaml": GOOD}, folders=("sub.yaml",))
    find_error(load_errors(directory), directory / "sub.yaml", None, "folder")


def test_folder_without_any_intent(tmp_path: Path) -> None:
    directory = make(tmp_path, {"a.yaml": "language: en\n"})
    errors = load_errors(directory)
    assert any("no intents" in e.message for e in errors)
    assert all(str(directory) in e.message for e in errors)


# -- sounds_like files ---------------------------------------------------------------------
SOUNDS_LIKE_OK = "sounds_like:\n  hello:\n    - hallo\n    - hell oh\n"


def test_sounds_like_file_loads(tmp_path: Path) -> None:
    loaded = load_intents(make(tmp_path, {"a.yaml": GOOD, "s.yaml": SOUNDS_LIKE_OK}))
    assert loaded.sounds_like[("hallo",)] == ("hello",)
    assert loaded.sounds_like[("hell", "oh")] == ("hello",)
    assert loaded.intents == ["hello"]


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("sounds_like:\n  - hallo\n", 1, "sounds_like"),
        ("sounds_like:\n  hello: hallo\n", 2, "hello"),
        ("sounds_like:\n  hello: []\n", 2, "hello"),
        ("sounds_like:\n  hello:\n    - hallo\n    - 5\n", 4, "text"),
        ("sounds_like:\n  hello:\n    - hallo\n    - '!!'\n", 4, "text"),
        ("sounds_like:\n  '?!':\n    - hallo\n", 2, "key"),
        ("language: en\nsounds_like:\n  hello:\n    - hallo\n", 1, "only"),
        ("sounds_like:\n  hello:\n    - hallo\n  there:\n    - hallo\n", 5, "already"),
    ],
    ids=[
        "not-a-mapping",
        "not-a-list",
        "empty-list",
        "number",
        "punctuation-only",
        "bad-key",
        "extra-key",
        "heard-twice",
    ],
)
def test_sounds_like_errors(tmp_path: Path, content: str, line: int, fragment: str) -> None:
    directory = make(tmp_path, {"a.yaml": GOOD, "s.yaml": content})
    find_error(load_errors(directory), directory / "s.yaml", line, fragment)


def test_shipped_word_classes_are_loaded(shipped) -> None:
    words = shipped.word_classes
    assert "twitch" in words.domain_rules and "muscle" in words.domain_rules
    assert {"the", "my", "it's"} <= words.stop_words
    assert stem("lately") in words.filler and stem("dog") in words.animals


def test_word_classes_errors_name_file_and_line(tmp_path: Path) -> None:
    directory = make(tmp_path, {
        "a.yaml": GOOD,
        "words.yaml": "word_classes:\n  domain_rules: [nowhere]\n  colours: red blue\n"
                      "  filler: 42\n",
    })
    errors = load_errors(directory)
    text = "\n".join(f"{Path(e.path).name}:{e.line}: {e.detail}" for e in errors)
    assert "words.yaml:2: domain rule <nowhere> is not an expansion rule" in text
    assert "words.yaml:3: unknown word class 'colours'" in text
    assert "words.yaml:4: word class 'filler' must be words" in text


def test_a_word_class_given_twice_is_an_error(tmp_path: Path) -> None:
    directory = make(tmp_path, {
        "a.yaml": GOOD,
        "w1.yaml": "word_classes:\n  filler: lately\n",
        "w2.yaml": "word_classes:\n  filler: often\n",
    })
    messages = [e.detail for e in load_errors(directory)]
    assert any("word class 'filler' is already given at" in m for m in messages)
