"""The cost model of the `if` evaluator: true sizes of values, counted before any big value is built.

A value's weight is what going through it costs: one element per value in it (nested ones, and each appearance
of a shared one, included) and one character per character of its text, again per appearance: a list of 2,500
references to one 100,000-character string weighs 250,000,000 characters. Weights are remembered per object for
one evaluation (values never change during one), so weighing shared structures costs their distinct parts only.
runtime/node/expressions.js carries the twin of these rules; both must refuse the same things.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from refinery_tui.runtime.expression_errors import too_costly

MAX_STEPS = 100_000
MAX_SECONDS = 1.0
MAX_INT_BITS = 4_096
MAX_SEQUENCE = 100_000  # items or characters in a value the expression builds
MAX_WEIGHT = 1_000_000  # elements in the values one operation goes through (nested and repeated ones included)
MAX_CHARACTERS = 10_000_000  # characters in the values one operation goes through (repeated ones included)
ELEMENTS_PER_STEP = 16
CHARACTERS_PER_STEP = 256

_CONTAINERS = (list, tuple, dict, set, frozenset)
_HOLDERS = frozenset(_CONTAINERS)


def _leaf_weight(value: Any) -> tuple[int, int] | None:
    """(elements, characters) of a value that holds no others; None for a container."""
    if isinstance(value, str):
        return 1, len(value)
    return None if isinstance(value, _CONTAINERS) else (1, 0)


def _parts(value: Any) -> tuple[Any, ...]:
    return (value.keys(), value.values()) if isinstance(value, dict) else (value,)


class Weigher:
    """True weights of values for one evaluation, each distinct container walked once."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[Any, int, int]] = {}  # id -> (the object, kept alive; elements; characters)

    def weight(self, value: Any) -> tuple[int, int]:
        """(elements, characters) of value; elements stop counting past MAX_WEIGHT, characters past MAX_CHARACTERS."""
        leaf = self._known(value)
        if leaf is not None:
            return leaf
        totals = [[1, 0]]
        stack = [(value, self._nested(value, totals[-1]))]
        while stack:
            container, nested = stack[-1]
            total = totals[-1]
            if total[0] > MAX_WEIGHT:
                return MAX_WEIGHT + 1, total[1]  # the walk stops: no more than MAX_WEIGHT visits
            for child in nested:
                child_weight = self._known(child)
                if child_weight is None:
                    totals.append([1, 0])
                    stack.append((child, self._nested(child, totals[-1])))
                    break
                total[0] += child_weight[0]
                total[1] = min(total[1] + child_weight[1], MAX_CHARACTERS + 1)
                if total[0] > MAX_WEIGHT:
                    return MAX_WEIGHT + 1, total[1]
            else:
                stack.pop()
                totals.pop()
                self.known[id(container)] = (container, total[0], total[1])
                if not totals:
                    return total[0], total[1]
                totals[-1][0] += total[0]
                totals[-1][1] = min(totals[-1][1] + total[1], MAX_CHARACTERS + 1)
                if totals[-1][0] > MAX_WEIGHT:
                    return MAX_WEIGHT + 1, totals[-1][1]
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _nested(container: Any, total: list[int]) -> Iterator[Any]:
        """Count the leaves of container into total at C speed; give the children that are containers."""
        nested: list[Any] = []
        for part in _parts(container):
            kinds = set(map(type, part))
            total[0] += len(part)
            if str in kinds:
                texts = part if kinds == {str} else [item for item in part if type(item) is str]
                total[1] = min(total[1] + sum(map(len, texts)), MAX_CHARACTERS + 1)
            if not kinds.isdisjoint(_HOLDERS):
                total[0] -= sum(1 for item in part if type(item) in _HOLDERS)  # they count themselves
                nested.extend(item for item in part if type(item) in _HOLDERS)
        return iter(nested)

    def _known(self, value: Any) -> tuple[int, int] | None:
        leaf = _leaf_weight(value)
        if leaf is not None:
            return leaf
        known = self.known.get(id(value))
        return None if known is None else (known[1], known[2])

    def repetition(self, sequence: Any, count: int) -> None:
        """Refuse `sequence * count` before building it when the result would be too big."""
        if len(sequence) * max(count, 0) > MAX_SEQUENCE:
            raise too_costly(f"the result of * would be longer than {MAX_SEQUENCE}")
        if isinstance(sequence, (list, tuple)) and count > 0:
            elements, characters = self.weight(sequence)
            if 1 + (elements - 1) * count > MAX_WEIGHT:
                raise too_costly(f"the result of * would hold more than {MAX_WEIGHT} elements")
            if characters * count > MAX_CHARACTERS:
                raise too_costly(f"the result of * would hold more than {MAX_CHARACTERS} characters")

    def check_result(self, result: Any) -> None:
        """Refuse a value the expression built that is too big to keep working with."""
        if isinstance(result, complex):
            raise ExpressionValueError(
                "a negative number raised to a fractional power has a complex result, which expressions do not support"
            )
        if isinstance(result, int) and not isinstance(result, bool) and bits(result) > MAX_INT_BITS:
            raise too_costly(f"the number exceeds {MAX_INT_BITS} bits")
        if isinstance(result, (list, tuple, dict, set)):
            elements, characters = self.weight(result)
            if elements > MAX_WEIGHT:
                raise too_costly(f"the result holds more than {MAX_WEIGHT} elements")
            if characters > MAX_CHARACTERS:
                raise too_costly(f"the result holds more than {MAX_CHARACTERS} characters")
        if isinstance(result, (str, list, tuple, dict, set)) and len(result) > MAX_SEQUENCE:
            raise too_costly(f"the result is longer than {MAX_SEQUENCE}")


class ExpressionValueError(ValueError):
    """A ValueError the evaluator raises itself (told as Python's own: "ValueError: ...")."""


def bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, dict, set, frozenset)) else 1


def check_binary(op: type, left: Any, right: Any) -> None:
    """Refuse an arithmetic operation before computing it when its result would be too big or too slow to get."""
    if op is ast.Pow:
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            if bits(left) > 1 and (bits(left) - 1) * right > MAX_INT_BITS:
                raise too_costly(f"the result of ** would exceed {MAX_INT_BITS} bits")
            if right > MAX_INT_BITS * 4 and abs(left) > 1:
                raise too_costly("the exponent is too large")
        if isinstance(left, float) and isinstance(right, (int, float)) and abs(right) > 1e6 and abs(left) > 1:
            raise too_costly("the exponent is too large")
    if op is ast.LShift and isinstance(right, int) and right > MAX_INT_BITS:
        raise too_costly(f"the result of << would exceed {MAX_INT_BITS} bits")
    if op is ast.Mult and isinstance(left, int) and isinstance(right, int) and bits(left) + bits(right) > MAX_INT_BITS:
        raise too_costly(f"the result of * would exceed {MAX_INT_BITS} bits")
    if op is ast.Add and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        if len(left) + len(right) > MAX_SEQUENCE:
            raise too_costly(f"the result of + would be longer than {MAX_SEQUENCE}")
