"""repr() built with a bound: `str()` of a value refuses to build more than it may return, messages cut reprs short.

The text is exactly Python's repr of the data types the evaluator knows; a shared value (a list holding the same
string 2,500 times) is written out as often as it appears, and the writer stops as soon as the bound is passed,
so no huge text is ever built. runtime/node/pyrepr.js is the Node twin.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

MESSAGE_REPR = 200  # characters of a value quoted in an error message


class _Full(Exception):
    """The bound is passed: stop writing."""


class _Writer:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.length = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)
        if self.length > self.limit:
            raise _Full

    def leaf(self, value: Any) -> None:
        if isinstance(value, str) and len(value) + 2 > self.limit - self.length:
            self.add(_string_repr_start(value, self.limit - self.length + 1))  # it overflows: the start will do
        else:
            self.add(repr(value))

    def value(self, value: Any) -> None:
        stack: list[Iterator[Any]] = [iter((value,))]
        while stack:
            item = next(stack[-1], _END)
            if item is _END:
                stack.pop()
            elif isinstance(item, _Text):
                self.add(item.text)
            elif isinstance(item, list):
                stack.append(_items(item, "[", "]"))
            elif isinstance(item, tuple):
                stack.append(_items(item, "(", ",)" if len(item) == 1 else ")"))
            elif isinstance(item, dict):
                stack.append(_entries(item))
            elif isinstance(item, (set, frozenset)):
                if item:
                    stack.append(_items(item, "{", "}") if isinstance(item, set) else _items(item, "frozenset({", "})"))
                else:
                    self.add("set()" if isinstance(item, set) else "frozenset()")
            elif isinstance(item, slice):
                stack.append(_items((item.start, item.stop, item.step), "slice(", ")"))
            else:
                self.leaf(item)


def _string_repr_start(text: str, count: int) -> str:
    """The repr of text's first `count` characters, quoted and escaped as repr(text) quotes and escapes them."""
    start = repr(text[:count])
    if "'" in text and '"' not in text:
        return start if start[0] == '"' else '"' + start[1:-1] + '"'
    return start if start[0] == "'" else repr(text[:count] + '"')[:-2] + "'"


class _Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_END = _Text("")
_COMMA = _Text(", ")
_COLON = _Text(": ")


def _items(items: Iterable[Any], opening: str, closing: str) -> Iterator[Any]:
    yield _Text(opening)
    for index, item in enumerate(items):
        if index:
            yield _COMMA
        yield item
    yield _Text(closing)


def _entries(mapping: dict[Any, Any]) -> Iterator[Any]:
    yield _Text("{")
    for index, (key, entry) in enumerate(mapping.items()):
        if index:
            yield _COMMA
        yield key
        yield _COLON
        yield entry
    yield _Text("}")


def repr_within(value: Any, limit: int) -> str | None:
    """repr(value) when it is at most `limit` characters long, else None (found without building the whole text)."""
    writer = _Writer(limit)
    try:
        writer.value(value)
    except _Full:
        return None
    return "".join(writer.parts)


def short_repr(value: Any, limit: int = MESSAGE_REPR) -> str:
    """repr(value) for a message: its first `limit` characters and "..." when it is longer."""
    writer = _Writer(limit)
    try:
        writer.value(value)
    except _Full:
        return "".join(writer.parts)[:limit] + "..."
    return "".join(writer.parts)
