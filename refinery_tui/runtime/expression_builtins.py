"""The builtins and data methods an `if` expression may call, with the bounds Python's own ones lack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refinery_tui.runtime.expression_cost import MAX_SEQUENCE
from refinery_tui.runtime.expression_errors import ExpressionRuntimeError, too_costly
from refinery_tui.runtime.expression_repr import repr_within, short_repr


def _round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > 300):
        raise ExpressionRuntimeError("round() digits must be an integer between -300 and 300")
    return round(number) if ndigits is None else round(number, ndigits)


def bounded_str(*args: Any, **kwargs: Any) -> str:
    """str(), refusing to build a text longer than an expression may (the repr of a big structure)."""
    if len(args) != 1 or kwargs or isinstance(args[0], str):
        return str(*args, **kwargs)
    text = repr_within(args[0], MAX_SEQUENCE)
    if text is None:
        raise too_costly(f"str() would be longer than {MAX_SEQUENCE} characters")
    return text


def sequence_index(sequence: list | tuple, *args: Any, **keywords: Any) -> int:
    """list.index and tuple.index, with a message that quotes at most a bounded repr of the missing value."""
    if isinstance(sequence, list) and 1 <= len(args) <= 3 and not keywords:
        value, bounds = args[0], args[1:]
        try:
            found = value in sequence[slice(*bounds) if len(bounds) == 2 else slice(*bounds, None)]
        except TypeError:
            found = True  # index() raises its own error about the bounds
        if not found:
            raise ValueError(f"{short_repr(value)} is not in list")
    return sequence.index(*args, **keywords)


def _int(value: Any = 0, base: Any = None) -> int:
    if isinstance(value, str) and len(value) > 1_000:
        raise ExpressionRuntimeError("int() of a string longer than 1000 characters")
    return int(value) if base is None else int(value, base)


BUILTINS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "any": any,
    "all": all,
    "sum": sum,
    "abs": abs,
    "round": _round,
    "str": str,
    "int": _int,
    "float": float,
    "bool": bool,
    "sorted": sorted,
}

METHODS: dict[type, frozenset[str]] = {
    dict: frozenset({"get", "keys", "values", "items"}),
    str: frozenset(
        {
            "lower",
            "upper",
            "strip",
            "lstrip",
            "rstrip",
            "startswith",
            "endswith",
            "split",
            "count",
            "find",
            "isdigit",
            "isalpha",
            "isalnum",
            "islower",
            "isupper",
            "title",
            "capitalize",
        }
    ),
    list: frozenset({"index", "count"}),
    tuple: frozenset({"index", "count"}),
}
