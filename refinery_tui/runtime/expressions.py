"""The safe evaluator for `if` expressions: a small interpreter over a whitelisted Python AST, with bounded work.

Stdlib only: it is shipped inside every deployed Lambda. Nothing here calls `eval` or `exec`; each node type
that is allowed is interpreted by hand, so there is no path to imports, dunders or unlisted builtins.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from refinery_tui.runtime.expression_builtins import BUILTINS, METHODS, bounded_str, sequence_index
from refinery_tui.runtime.expression_check import MAX_NESTING, VARIABLES, check
from refinery_tui.runtime.expression_cost import (
    CHARACTERS_PER_STEP,
    ELEMENTS_PER_STEP,
    MAX_CHARACTERS,
    MAX_INT_BITS,
    MAX_SECONDS,
    MAX_SEQUENCE,
    MAX_STEPS,
    MAX_WEIGHT,
    Weigher,
    check_binary,
    size,
)
from refinery_tui.runtime.expression_errors import (
    ExpressionError,
    ExpressionRuntimeError,
    ExpressionSyntaxError,
    bounded_message,
    too_costly,
)
from refinery_tui.runtime.expression_repr import short_repr
from refinery_tui.runtime.expression_tree import json_tree

__all__ = [
    "MAX_NESTING",
    "BUILTINS",
    "MAX_CHARACTERS",
    "MAX_INT_BITS",
    "MAX_SECONDS",
    "MAX_SEQUENCE",
    "MAX_STEPS",
    "MAX_WEIGHT",
    "VARIABLES",
    "CompiledExpression",
    "ExpressionError",
    "ExpressionRuntimeError",
    "ExpressionSyntaxError",
    "compile_expression",
    "evaluate",
    "expression_tree",
]

MAX_SOURCE_LENGTH = 4_000


_DATA_TYPES = (dict, list, tuple, str, int, float, bool, type(None), set, frozenset)

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b,
}

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}

_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.Not: lambda a: not a,
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: +a,
    ast.Invert: lambda a: ~a,
}


@dataclass(frozen=True)
class CompiledExpression:
    """A checked expression, ready to evaluate any number of times."""

    source: str
    tree: ast.Expression

    def evaluate(self, return_data: Any = None, block_input: Any = None, backpack: Any = None) -> Any:
        return _Interpreter({"return_data": return_data, "block_input": block_input, "backpack": backpack}).run(
            self.tree.body
        )


def compile_expression(source: str) -> CompiledExpression:
    """Parse and check an expression; raise ExpressionSyntaxError with a 1-based offset on any problem."""
    if not isinstance(source, str):
        raise ExpressionSyntaxError("the expression must be text")
    if not source.strip():
        raise ExpressionSyntaxError("the expression is empty")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionSyntaxError(f"the expression is longer than {MAX_SOURCE_LENGTH} characters")
    text = source.strip()
    lead = len(source) - len(source.lstrip())
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        at_end = not exc.offset or (exc.lineno or 1) > 1
        offset = (len(text) + 1 if at_end else exc.offset) + lead
        raise ExpressionSyntaxError(f"syntax error: {exc.msg}", offset, exc.lineno or 1) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionSyntaxError(f"the expression cannot be parsed: {type(exc).__name__}") from None
    check(tree, lead, set())
    return CompiledExpression(source, tree)


def evaluate(source: str, return_data: Any = None, block_input: Any = None, backpack: Any = None) -> Any:
    """Compile and evaluate in one go."""
    return compile_expression(source).evaluate(return_data, block_input, backpack)


def expression_tree(source: str) -> dict[str, Any]:
    """Check `source` exactly as `compile_expression` does (same errors) and describe it as plain JSON (see
    runtime/expression_tree.py for the nodes): what runtime/node/expressions.js interprets."""
    return json_tree(compile_expression(source).tree.body)


class _Interpreter:
    def __init__(self, variables: dict[str, Any]) -> None:
        self.scopes: list[dict[str, Any]] = [variables]
        self.weigher = Weigher()
        self.steps = 0
        self.next_clock_check = 1024
        self.deadline = time.thread_time() + MAX_SECONDS  # CPU time: a busy machine does not make it shorter

    def run(self, node: ast.AST) -> Any:
        try:
            return self.eval(node)
        except ExpressionError:
            raise
        except RecursionError:
            raise too_costly("the expression recursed too deeply") from None
        except MemoryError:
            raise too_costly("the expression used too much memory") from None
        except KeyError as exc:
            key = exc.args[0] if len(exc.args) == 1 else exc.args
            raise ExpressionRuntimeError(f"key {short_repr(key)} not found") from None
        except IndexError as exc:
            raise ExpressionRuntimeError(bounded_message(f"index out of range: {exc}")) from None
        except ZeroDivisionError:
            raise ExpressionRuntimeError("division by zero") from None
        except (TypeError, ValueError, OverflowError, AttributeError, ArithmeticError) as exc:
            name = "ValueError" if isinstance(exc, ValueError) else type(exc).__name__
            raise ExpressionRuntimeError(bounded_message(f"{name}: {exc}")) from None

    def tick(self, amount: int = 1) -> None:
        self.steps += amount
        if self.steps > MAX_STEPS:
            raise too_costly(f"the expression did more than {MAX_STEPS} steps of work")
        if self.steps >= self.next_clock_check:
            self.next_clock_check = self.steps + 1024
            if time.thread_time() > self.deadline:
                raise too_costly(f"the expression used more than {MAX_SECONDS:g} s of CPU time")

    def weigh(self, *values: Any) -> None:
        """Charge the work of going through values (nested and repeated parts counted); refuse too big ones."""
        elements = characters = 0
        for value in values:
            value_elements, value_characters = self.weigher.weight(value)
            elements += value_elements
            characters += value_characters
        if elements > MAX_WEIGHT:
            raise too_costly(f"the values to work on hold more than {MAX_WEIGHT} elements")
        if characters > MAX_CHARACTERS:
            raise too_costly(f"the values to work on hold more than {MAX_CHARACTERS} characters")
        self.tick(elements // ELEMENTS_PER_STEP + characters // CHARACTERS_PER_STEP)

    def read_texts(self, *values: Any) -> None:
        """Charge for reading texts by position (the Node twin counts code points to do it)."""
        for value in values:
            if isinstance(value, str):
                self.tick(len(value) // CHARACTERS_PER_STEP)

    def built(self, result: Any) -> Any:
        """Charge for a value the expression built and refuse it when it is too big to work with."""
        self.tick(size(result) // ELEMENTS_PER_STEP)
        self.weigher.check_result(result)
        return result

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in BUILTINS:
            return BUILTINS[name]
        raise ExpressionRuntimeError(f"unknown name '{name}'")

    def eval(self, node: ast.AST) -> Any:
        self.tick()
        method = getattr(self, "eval_" + type(node).__name__, None)
        if method is None:
            raise ExpressionRuntimeError(f"{type(node).__name__} is not allowed")
        return method(node)

    def eval_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def eval_Name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def eval_BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for value_node in node.values:
            result = self.eval(value_node)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def eval_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.eval(node.operand)
        if not isinstance(node.op, ast.Not):
            _require_number(operand, type(node.op).__name__)
        return _UNARY[type(node.op)](operand)

    def eval_BinOp(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        op = type(node.op)
        if op is ast.Mod and isinstance(left, str):
            raise ExpressionRuntimeError("% formatting of text is not allowed")
        check_binary(op, left, right)
        if op is ast.Mult:
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    self.weigher.repetition(sequence, count)
        elif isinstance(left, (list, tuple, str)) or isinstance(right, (list, tuple, str)):
            self.weigh(left, right)
        return self.built(_BINARY[op](left, right))

    def eval_Compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator)
            self.weigh(left, right)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def eval_IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def eval_Subscript(self, node: ast.Subscript) -> Any:
        container = self.eval(node.value)
        if not isinstance(container, (dict, list, tuple, str)):
            raise ExpressionRuntimeError(f"{type(container).__name__} cannot be indexed")
        if isinstance(node.slice, ast.Slice):
            parts = [
                None if part is None else self.eval(part)
                for part in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            self.read_texts(container)
            return self.built(container[slice(*parts)])
        index = self.eval(node.slice)
        self.read_texts(container, index)
        return container[index]

    def eval_List(self, node: ast.List) -> list:
        return [self.eval(element) for element in node.elts]

    def eval_Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.eval(element) for element in node.elts)

    def eval_Set(self, node: ast.Set) -> set:
        return {self.eval(element) for element in node.elts}

    def eval_Dict(self, node: ast.Dict) -> dict:
        result = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise ExpressionRuntimeError("** unpacking is not allowed")
            result[self.eval(key)] = self.eval(value)
        return result

    def eval_Attribute(self, node: ast.Attribute) -> Any:
        raise ExpressionRuntimeError(f"attribute '{node.attr}' can only be called as a method")

    def eval_Call(self, node: ast.Call) -> Any:
        args = [self.eval(arg) for arg in node.args]
        kwargs = {keyword.arg: self.eval(keyword.value) for keyword in node.keywords}
        if isinstance(node.func, ast.Attribute):
            target = self.eval(node.func.value)
            allowed = METHODS.get(type(target), frozenset())
            if node.func.attr not in allowed:
                raise ExpressionRuntimeError(f"{type(target).__name__} has no allowed method '{node.func.attr}'")
            function = getattr(target, node.func.attr)
            if node.func.attr == "split" and isinstance(target, str) and not kwargs:
                args = _bounded_split(args)
            if node.func.attr == "index" and isinstance(target, (list, tuple)):
                function = lambda *args, **kwargs: sequence_index(target, *args, **kwargs)  # noqa: E731
            self.weigh(target, *args)
        else:
            function = BUILTINS[node.func.id]  # the checker allows no other callable names
            if function is str:
                function = bounded_str
            if node.func.id != "len":
                self.weigh(*args, *kwargs.values())
            else:
                self.read_texts(*args)
            if node.func.id == "sum" and (len(args) > 1 or "start" in kwargs):
                start = args[1] if len(args) > 1 else kwargs["start"]
                if not isinstance(start, (int, float)) or isinstance(start, bool):
                    raise ExpressionRuntimeError("sum() adds numbers only: its start must be a number")
        for arg in args:
            if not isinstance(arg, _DATA_TYPES) and not _is_view(arg):
                raise ExpressionRuntimeError(f"{type(arg).__name__} cannot be passed to a function")
        result = function(*args, **kwargs)
        if _is_view(result):
            result = list(result)
        return self.built(result)

    def _comprehension(self, generators: list[ast.comprehension], emit: Callable[[], None]) -> None:
        def loop(index: int) -> None:
            if index == len(generators):
                emit()
                return
            generator = generators[index]
            iterable = self.eval(generator.iter)
            if _is_view(iterable):
                iterable = list(iterable)
            if not isinstance(iterable, (list, tuple, str, dict, set, frozenset)):
                raise ExpressionRuntimeError(f"cannot loop over {type(iterable).__name__}")
            for item in iterable:
                self.tick()
                self._bind(generator.target, item)
                if all(self.eval(condition) for condition in generator.ifs):
                    loop(index + 1)

        self.scopes.append({})
        try:
            loop(0)
        finally:
            self.scopes.pop()

    def _bind(self, target: ast.AST, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.scopes[-1][target.id] = value
            return
        if isinstance(target, ast.Tuple):
            items = list(value)
            if len(items) != len(target.elts):
                raise ExpressionRuntimeError("cannot unpack: wrong number of values")
            for element, item in zip(target.elts, items):
                self._bind(element, item)
            return
        raise ExpressionRuntimeError("loop variables must be plain names")

    def _collect(self, node: ast.AST, make: Callable[[], Any], add: Callable[[Any], None]) -> None:
        def emit() -> None:
            add(make())

        self._comprehension(node.generators, emit)

    def eval_ListComp(self, node: ast.ListComp) -> list:
        result: list = []
        self._collect(node, lambda: self.eval(node.elt), result.append)
        self.weigher.check_result(result)
        return result

    eval_GeneratorExp = eval_ListComp

    def eval_SetComp(self, node: ast.SetComp) -> set:
        result: set = set()
        self._collect(node, lambda: self.eval(node.elt), result.add)
        self.weigher.check_result(result)
        return result

    def eval_DictComp(self, node: ast.DictComp) -> dict:
        result: dict = {}
        self._collect(
            node, lambda: (self.eval(node.key), self.eval(node.value)), lambda pair: result.__setitem__(*pair)
        )
        self.weigher.check_result(result)
        return result


def _bounded_split(args: list[Any]) -> list[Any]:
    """str.split's arguments with at most MAX_SEQUENCE splits: a longer result is refused all the same, unbuilt."""
    if len(args) > 2 or (len(args) == 2 and not (type(args[1]) is int and -(2**63) <= args[1] < 2**63)):
        return args  # str.split raises its own error about them
    sep, maxsplit = [*args, *[None, -1][len(args) :]]
    return [sep, MAX_SEQUENCE if maxsplit < 0 or maxsplit > MAX_SEQUENCE else maxsplit]


def _is_view(value: Any) -> bool:
    return isinstance(value, (type({}.keys()), type({}.values()), type({}.items())))


def _require_number(value: Any, operation: str) -> None:
    if not isinstance(value, (int, float)):
        raise ExpressionRuntimeError(f"{operation} needs a number, not {type(value).__name__}")
