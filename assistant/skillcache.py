"""The built skill on disk as plain JSON data: nothing in the file can run code.

Why a cache at all: building the skill from the YAML (parsing ~450 templates, sampling
sentences, training the matcher) takes about 0.55 s, which would push ``assistant ask`` over
its 0.5 s start-up budget; reading this cache takes about 0.1 s (measured, see README).

Why not pickle (used before): a pickle names functions to call while loading, so anyone who
can write the cache folder could run code as the user. This format holds only JSON values.
Objects are rebuilt by ``object.__new__`` plus their attribute dict, and only for classes
already imported from the ``assistant`` and ``hassil`` packages (looked up in
``sys.modules``: reading never imports a module); no constructor, ``__setstate__`` or other
method named by the file is ever called. A damaged or hostile file can therefore at worst
give a wrong skill object of our own classes, which ``load_skill`` never trusts beyond its
type, and the file name carries a hash of the data and code, so a stale file is never read.

Encoding: atoms (str, int, float, bool, None) as themselves; everything else is a list whose
first item is a tag: ``["t", ...]`` tuple, ``["f", ...]`` frozenset, ``["p", str]`` path,
``["x", pattern, flags]`` compiled regex, ``["E", str]`` a sampled sentence without
slots (``Expansion``, the bulk of the data), and, with an id so shared objects stay shared,
``["P", id, firsts, seconds]`` a list of pairs, ``["l", id, ...]`` list, ``["s", id, ...]``
set, ``["d", id, k, v, ...]`` dict,
``["D", id, factory, k, v, ...]`` defaultdict, ``["o", id, class, value, ...]`` object (the
class entry lists the attribute names),
``["r", id]`` a reference to one already read, ``["N", class, value]`` a member of one of
our enums (looked up by value in the class: no code of the file's choosing runs).
"""

from __future__ import annotations

import collections
import enum
import json
import re
import sys
from pathlib import PurePath
from typing import Any

FORMAT = "twitch-assistant skill cache"
VERSION = 1
ALLOWED_PACKAGES = ("assistant", "hassil")
"""Only classes of these packages (already imported) may be rebuilt."""
_FACTORIES: dict[str, Any] = {"list": list, "set": set, "int": int, "dict": dict}
_SEP = "\x1f"
"""Joins a tuple of strings into one JSON string (``["T", "a\x1fb"]``): decoding 100 000
short tuples item by item in Python is what made a naive format slower than no cache."""


class CacheFormatError(ValueError):
    """The file is not a cache this code can read (damaged, other version, unknown class)."""


# -- writing ------------------------------------------------------------------------------------


class _Encoder:
    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive so ids stay unique
        self.classes: dict[tuple[type, tuple[str, ...]], int] = {}
        """(class, attribute names) -> number; objects list only their values."""

    def _new_id(self, obj: Any) -> int | None:
        """The object's id if new; None when it was written already."""
        key = id(obj)
        if key in self.ids:
            return None
        self.ids[key] = len(self.ids)
        self.keep.append(obj)
        return self.ids[key]

    def encode(self, obj: Any) -> Any:
        if isinstance(obj, enum.Enum):  # before str: our enums are str enums
            if not _is_allowed_class(type(obj)):
                raise CacheFormatError(f"cannot cache {type(obj).__qualname__}")
            number = self.classes.setdefault((type(obj), ()), len(self.classes))
            return ["N", number, self.encode(obj.value)]
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        kind = type(obj)
        if kind in (int, float):
            return obj
        if kind is _expansion_class() and not obj.slots:
            return ["E", _SEP.join(obj.tokens)] if _joinable(obj.tokens) else [
                "e", self.encode(obj.tokens)]
        if kind is tuple or kind is frozenset:
            if _joinable(obj):
                return ["T" if kind is tuple else "F", _SEP.join(obj)]
            return ["t" if kind is tuple else "f", *(self.encode(x) for x in obj)]
        if isinstance(obj, PurePath):
            return ["p", str(obj)]
        if isinstance(obj, re.Pattern):
            return ["x", obj.pattern, obj.flags]
        if kind in (list, set, dict, collections.defaultdict) or _is_allowed_object(obj):
            new = self._new_id(obj)
            if new is None:
                return ["r", self.ids[id(obj)]]
            if kind is list:
                if obj and all(type(x) is tuple and len(x) == 2 for x in obj):
                    firsts = self.encode([x[0] for x in obj])
                    seconds = self.encode([x[1] for x in obj])
                    return ["P", new, firsts, seconds]
                return ["l", new, *(self.encode(x) for x in obj)]
            if kind is set:
                return ["s", new, *(self.encode(x) for x in obj)]
            if kind is dict:
                return ["d", new, *self._pairs(obj)]
            if kind is collections.defaultdict:
                factory = next((n for n, f in _FACTORIES.items() if f is obj.default_factory),
                               None)
                if factory is None:
                    raise CacheFormatError(f"cannot cache a defaultdict of {obj.default_factory}")
                return ["D", new, factory, *self._pairs(obj)]
            state = getattr(obj, "__getstate__", None)
            attributes = state() if callable(state) else vars(obj)
            if attributes is None:  # object.__getstate__ of an object without attributes
                attributes = {}
            if not isinstance(attributes, dict):
                raise CacheFormatError(f"cannot cache {kind.__qualname__}: no attribute dict")
            names = tuple(attributes)
            number = self.classes.setdefault((kind, names), len(self.classes))
            return ["o", new, number, *(self.encode(value) for value in attributes.values())]
        raise CacheFormatError(f"cannot cache a {kind.__module__}.{kind.__qualname__}")

    def _pairs(self, mapping: dict[Any, Any]) -> list[Any]:
        out: list[Any] = []
        for key, value in mapping.items():
            out.append(self.encode(key))
            out.append(self.encode(value))
        return out


def _joinable(strings: tuple[Any, ...]) -> bool:
    return bool(strings) and all(type(x) is str and _SEP not in x for x in strings)


def _expansion_class() -> type:
    from assistant.nlu.templates import Expansion

    return Expansion


def _is_allowed_object(obj: Any) -> bool:
    return _is_allowed_class(type(obj)) and hasattr(obj, "__dict__")


def _is_allowed_class(kind: type) -> bool:
    return kind.__module__.split(".", 1)[0] in ALLOWED_PACKAGES


def dumps(obj: Any, key: str) -> str:
    """``obj`` as cache text; raises CacheFormatError for anything it cannot hold."""
    encoder = _Encoder()
    root = encoder.encode(obj)
    classes = sorted(encoder.classes.items(), key=lambda item: item[1])
    header = {
        "format": FORMAT,
        "version": VERSION,
        "key": key,
        "classes": [
            [f"{cls.__module__}:{cls.__qualname__}", *names] for (cls, names), _ in classes
        ],
    }
    return json.dumps({**header, "root": root}, ensure_ascii=False, separators=(",", ":"))


# -- reading ------------------------------------------------------------------------------------


def _resolve_class(entry: Any) -> tuple[type, tuple[str, ...]]:
    """A class named ``module:Qualname`` from an allowed, already imported module, with the
    attribute names its objects list."""
    if not isinstance(entry, list) or not entry or not all(isinstance(x, str) for x in entry):
        raise CacheFormatError("bad class entry")
    spec, names = entry[0], tuple(entry[1:])
    if ":" not in spec:
        raise CacheFormatError("bad class name")
    module_name, qualname = spec.split(":", 1)
    if module_name.split(".", 1)[0] not in ALLOWED_PACKAGES:
        raise CacheFormatError(f"class {spec} is not allowed")
    module = sys.modules.get(module_name)
    if module is None:
        raise CacheFormatError(f"module {module_name} is not loaded")
    found: Any = module
    for part in qualname.split("."):
        found = found.__dict__.get(part) if hasattr(found, "__dict__") else None
    if not isinstance(found, type) or found.__module__ != module_name:
        raise CacheFormatError(f"{spec} is not a class")
    if issubclass(found, enum.Enum):
        return found, names  # members are looked up by value, never constructed
    if issubclass(found, BaseException) or found.__new__ is not object.__new__:
        raise CacheFormatError(f"{spec} cannot be rebuilt from data")
    return found, names


class _Decoder:
    def __init__(self, classes: list[tuple[type, tuple[str, ...]]]) -> None:
        self.classes = classes
        self.objects: dict[int, Any] = {}
        self.expansion = _expansion_class()

    def items(self, item: list[Any], start: int) -> list[Any]:
        decode = self.decode
        return [decode(x) if type(x) is list else x for x in item[start:]]

    def decode(self, item: Any) -> Any:
        if type(item) is not list:
            if isinstance(item, dict):
                raise CacheFormatError("unexpected mapping")
            return item
        if not item:
            raise CacheFormatError("empty tag")
        tag = item[0]
        if tag == "T":
            return tuple(item[1].split(_SEP))
        if tag == "t":
            return tuple(self.items(item, 1))
        if tag == "r":
            try:
                return self.objects[item[1]]
            except (KeyError, IndexError, TypeError):
                raise CacheFormatError("dangling reference") from None
        if tag == "E":
            expansion: Any = object.__new__(self.expansion)
            expansion.__dict__.update(tokens=tuple(item[1].split(_SEP)), slots=())
            return expansion
        if tag == "e":
            expansion = object.__new__(self.expansion)
            expansion.__dict__.update(tokens=self.decode(item[1]), slots=())
            return expansion
        if tag == "F":
            return frozenset(item[1].split(_SEP))
        if tag == "f":
            return frozenset(self.items(item, 1))
        if tag == "p":
            from pathlib import Path

            return Path(str(item[1]))
        if tag == "x":
            return re.compile(str(item[1]), int(item[2]))
        if tag == "N":
            try:
                cls, _ = self.classes[item[1]]
            except (IndexError, TypeError):
                raise CacheFormatError("unknown class number") from None
            if not issubclass(cls, enum.Enum):
                raise CacheFormatError("not an enum")
            try:
                return cls(self.decode(item[2]))
            except ValueError:
                raise CacheFormatError(f"no {cls.__qualname__} {item[2]!r}") from None
        if len(item) < 2 or type(item[1]) is not int or item[1] in self.objects:
            raise CacheFormatError("bad object id")
        number = item[1]
        if tag == "o":
            try:
                cls, names = self.classes[item[2]]
            except (IndexError, TypeError):
                raise CacheFormatError("unknown class number") from None
            if len(item) - 3 != len(names):
                raise CacheFormatError("wrong number of attributes")
            result: Any = object.__new__(cls)
            self.objects[number] = result
            result.__dict__.update(zip(names, self.items(item, 3), strict=True))
            return result
        if tag == "P":
            result = []
            self.objects[number] = result
            firsts, seconds = self.decode(item[2]), self.decode(item[3])
            if type(firsts) is not list or type(seconds) is not list:
                raise CacheFormatError("bad pair list")
            result.extend(zip(firsts, seconds, strict=True))
            return result
        if tag == "l":
            result = []
            self.objects[number] = result
            result.extend(self.items(item, 2))
            return result
        if tag == "d":
            result = {}
            self.objects[number] = result
            self._fill(result, item, 2)
            return result
        if tag == "s":
            result = set()
            self.objects[number] = result
            result.update(self.items(item, 2))
            return result
        if tag == "D":
            factory = _FACTORIES.get(item[2]) if len(item) > 2 else None
            if factory is None:
                raise CacheFormatError("bad defaultdict")
            result = collections.defaultdict(factory)
            self.objects[number] = result
            self._fill(result, item, 3)
            return result
        raise CacheFormatError(f"unknown tag {tag!r}")

    def _fill(self, target: dict[Any, Any], item: list[Any], start: int) -> None:
        values = self.items(item, start)
        if len(values) % 2:
            raise CacheFormatError("odd number of keys and values")
        target.update(zip(values[0::2], values[1::2], strict=True))


def loads(text: str | bytes, key: str) -> Any:
    """The object in cache ``text`` written for ``key``; CacheFormatError otherwise."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CacheFormatError(f"not a cache file ({type(exc).__name__})") from None
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or document.get("version") != VERSION
        or document.get("key") != key
        or not isinstance(document.get("classes"), list)
    ):
        raise CacheFormatError("not a cache file for this data and code")
    classes = [_resolve_class(spec) for spec in document["classes"]]
    try:
        return _Decoder(classes).decode(document.get("root"))
    except (TypeError, ValueError, re.error, RecursionError, AttributeError) as exc:
        raise CacheFormatError(f"damaged cache ({type(exc).__name__})") from None
