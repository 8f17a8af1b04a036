"""Load YAML with ``safe_load`` semantics while remembering line numbers, within bounds.

Mappings become ``LineDict`` and sequences ``LineList``: ordinary dicts and lists that also
know the (1-based) line of each key or item, so validation errors can say ``file:line``.

Every YAML the program reads (intents, knowledge, settings) goes through ``parse_yaml``:
the file is read by ``assistant.userfile`` (regular files only, size capped while reading),
and the node graph is measured *before* any object is built, counting each alias as the copy
it stands for. A 554-byte "billion laughs" file (aliases of aliases) is refused in
microseconds instead of growing to gigabytes when a message or a walk expands it. An integer
too long for Python (over 4300 digits) becomes a ``TooLongNumber`` value that validation
reports like any other wrong value, instead of failing the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant import userfile
from assistant.errors import DataError

MAX_YAML_BYTES = 5_000_000
"""Refuse data files beyond this size: ours are a few kB; a huge file is a mistake."""

MAX_YAML_NODES = 1_000_000
"""Nodes a document may hold with every alias expanded. Our largest file has about 10 000;
an alias bomb has billions."""


class YamlTooLarge(yaml.YAMLError):
    """The document would expand (through aliases) beyond MAX_YAML_NODES, or refers to itself."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class TooLongNumber:
    """An integer with more digits than Python converts (4300): kept as a value that every
    validator rejects with a short message, so one field fails, not the whole file."""

    digits: int
    negative: bool = False

    def __repr__(self) -> str:
        return f"a {self.digits}-digit number"

    __str__ = __repr__


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for one-line messages."""
    text = repr(value) if not isinstance(value, TooLongNumber) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class LineDict(dict):
    """A dict that knows the line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        """Line of ``key`` if present, else of the mapping itself."""
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A list that knows the line of itself and of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader (libyaml's when present) that builds LineDict/LineList; still no
    arbitrary object construction."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark
            ) from None
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_int(loader: _LineLoader, node: yaml.ScalarNode) -> int | TooLongNumber:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        text = str(node.value).replace("_", "").strip()
        digits = sum(ch.isdigit() for ch in text)
        return TooLongNumber(digits, text.startswith("-"))


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _check_expanded_size(root: yaml.Node, limit: int = MAX_YAML_NODES) -> None:
    """Count the nodes of ``root`` as if every alias were copied out, without copying.

    Linear in the number of distinct nodes (each node's expanded size is computed once);
    raises YamlTooLarge past ``limit`` or on an alias that contains itself.
    """
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if children_done:
            visiting.discard(key)
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > limit:
                raise YamlTooLarge(
                    f"the YAML expands to more than {limit:,} values through aliases "
                    "(&anchor/*alias); refusing it",
                    node.start_mark.line + 1,
                )
            sizes[key] = total
            continue
        if key in visiting:
            raise YamlTooLarge("an alias (*name) refers to itself", node.start_mark.line + 1)
        visiting.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in visiting and id(child) not in sizes:
                raise YamlTooLarge("an alias (*name) refers to itself", child.start_mark.line + 1)
            stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def parse_yaml(text: str) -> Any:
    """Parse one YAML document within MAX_YAML_NODES; raises yaml.YAMLError (YamlTooLarge
    included) or RecursionError for nesting deeper than Python's stack."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_text(path: Path) -> str:
    """Read a data file as UTF-8, turning every failure into a DataError."""
    try:
        raw = userfile.read_bytes(path, MAX_YAML_BYTES, "YAML file")
    except userfile.UserFileError as exc:
        reason = "file not found" if exc.reason == "no such file" else exc.reason
        if "too large" in reason:
            reason = f"file is too large (limit {MAX_YAML_BYTES} bytes)"
        raise DataError(path, None, reason) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(path, line, "not valid UTF-8 text") from None


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; syntax errors become DataError with the line."""
    text = read_text(path)
    try:
        return parse_yaml(text)
    except YamlTooLarge as exc:
        raise DataError(path, exc.line, exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        raise DataError(path, line, f"YAML syntax error: {what}") from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a position
        line = text.count("\n", 0, exc.position) + 1
        what = f"character #x{exc.character:04x} is not allowed (control characters are not)"
        raise DataError(path, line, f"YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise DataError(path, None, "YAML error: " + " ".join(str(exc).split())) from None
    except RecursionError:
        raise DataError(path, None, "YAML is nested too deeply") from None


def line_of(container: Any, key: Any) -> int | None:
    """Line of ``key`` inside a LineDict/LineList, or None for plain containers."""
    if isinstance(container, (LineDict, LineList)):
        return container.line_of(key)
    return None
