"""Load YAML with ``safe_load`` semantics while remembering line numbers.

Mappings become ``LineDict`` and sequences ``LineList``: ordinary dicts and lists that also
know the (1-based) line of each key or item, so validation errors can say ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assistant.errors import DataError

MAX_YAML_BYTES = 5_000_000
"""Refuse data files beyond this size: ours are a few kB; a huge file is a mistake."""


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


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_text(path: Path) -> str:
    """Read a data file as UTF-8, turning every failure into a DataError."""
    try:
        if path.is_dir():
            raise DataError(path, None, "is a folder, expected a YAML file")
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise DataError(path, None, f"file is too large ({size} bytes; limit {MAX_YAML_BYTES})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except PermissionError:
        raise DataError(path, None, "permission denied") from None
    except OSError as exc:
        raise DataError(path, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(path, line, "not valid UTF-8 text") from None


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; syntax errors become DataError with the line."""
    text = read_text(path)
    try:
        return yaml.load(text, Loader=_LineLoader)
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
