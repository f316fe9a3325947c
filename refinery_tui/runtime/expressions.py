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

VARIABLES = ("return_data", "block_input", "backpack")
MAX_SOURCE_LENGTH = 4_000
MAX_NESTING = 60
MAX_STEPS = 100_000
MAX_SECONDS = 1.0
MAX_INT_BITS = 4_096
MAX_SEQUENCE = 100_000
MAX_WEIGHT = 1_000_000  # elements in a value, nested ones included (text counts 1 per 256 characters)


class ExpressionError(Exception):
    """Base of every error the evaluator raises."""


class ExpressionSyntaxError(ExpressionError):
    """The expression does not parse, or uses something the evaluator refuses. `offset` is 1-based."""

    def __init__(self, message: str, offset: int = 1, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.offset = max(1, offset)
        self.line = max(1, line)


class ExpressionRuntimeError(ExpressionError):
    """The expression parsed but failed while evaluating (a missing key, a division by zero, too much work)."""


def _round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > 300):
        raise ExpressionRuntimeError("round() digits must be an integer between -300 and 300")
    return round(number) if ndigits is None else round(number, ndigits)


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

_METHODS: dict[type, frozenset[str]] = {
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

_ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Attribute,
    ast.keyword,
    ast.And,
    ast.Or,
    *_BINARY,
    *_COMPARE,
    *_UNARY,
)

_REFUSED_NAMES: dict[type, str] = {
    ast.Lambda: "lambda",
    ast.NamedExpr: "the := operator",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Starred: "* unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
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
    _check(tree, lead, set())
    return CompiledExpression(source, tree)


def evaluate(source: str, return_data: Any = None, block_input: Any = None, backpack: Any = None) -> Any:
    """Compile and evaluate in one go."""
    return compile_expression(source).evaluate(return_data, block_input, backpack)


def _refuse(node: ast.AST, message: str, lead: int) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(message, getattr(node, "col_offset", 0) + 1 + lead, getattr(node, "lineno", 1))


def _check(node: ast.AST, lead: int, bound: set[str], depth: int = 0) -> None:
    if depth > MAX_NESTING:
        raise _refuse(node, f"the expression is nested more than {MAX_NESTING} levels deep", lead)
    if type(node) in _REFUSED_NAMES:
        raise _refuse(node, f"{_REFUSED_NAMES[type(node)]} is not allowed in an expression", lead)
    if not isinstance(node, _ALLOWED_NODES):
        raise _refuse(node, f"{type(node).__name__} is not allowed in an expression", lead)
    if isinstance(node, ast.Name):
        if (
            isinstance(node.ctx, ast.Load)
            and node.id not in VARIABLES
            and node.id not in BUILTINS
            and node.id not in bound
        ):
            allowed = ", ".join(VARIABLES)
            raise _refuse(node, f"unknown name '{node.id}' (use {allowed}, or one of: {', '.join(BUILTINS)})", lead)
        if node.id.startswith("_"):
            raise _refuse(node, f"names starting with '_' are not allowed ('{node.id}')", lead)
    elif isinstance(node, ast.Attribute):
        hint = "" if node.attr.startswith("_") else f" (use indexing: x['{node.attr}'])"
        raise _refuse(node, f"attribute '{node.attr}' is not allowed{hint}", lead)
    elif isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg not in ("reverse", "default", "start"):
                raise _refuse(node, f"keyword argument '{keyword.arg}' is not allowed", lead)
        if isinstance(node.func, ast.Name):
            if node.func.id not in BUILTINS or node.func.id in bound:
                raise _refuse(node, f"'{node.func.id}' cannot be called (allowed: {', '.join(BUILTINS)})", lead)
        elif isinstance(node.func, ast.Attribute):
            _check(node.func.value, lead, bound, depth + 1)
            method = node.func.attr
            if method.startswith("_") or not any(method in names for names in _METHODS.values()):
                raise _refuse(node.func, f"method '{method}' is not allowed", lead)
            for child in [*node.args, *(keyword.value for keyword in node.keywords)]:
                _check(child, lead, bound, depth + 1)
            return
        else:
            raise _refuse(node, "only allowed functions and methods can be called", lead)
    elif isinstance(node, ast.Dict) and any(key is None for key in node.keys):
        raise _refuse(node, "** unpacking is not allowed", lead)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise _refuse(node, f"constant {type(node.value).__name__} is not allowed", lead)
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        inner = set(bound)
        for generator in node.generators:
            if generator.is_async:
                raise _refuse(node, "async comprehensions are not allowed", lead)
            _check(generator.iter, lead, inner, depth + 1)
            for target in ast.walk(generator.target):
                if isinstance(target, ast.Name):
                    if target.id.startswith("_") or target.id in VARIABLES or target.id in BUILTINS:
                        raise _refuse(target, f"'{target.id}' cannot be used as a loop variable", lead)
                    inner.add(target.id)
                elif not isinstance(target, (ast.Tuple, ast.Store)):
                    raise _refuse(target, "loop variables must be plain names", lead)
            for condition in generator.ifs:
                _check(condition, lead, inner, depth + 1)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in parts:
            _check(part, lead, inner, depth + 1)
        return
    for child in ast.iter_child_nodes(node):
        _check(child, lead, bound, depth + 1)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, dict, set, frozenset)) else 1


class _Interpreter:
    def __init__(self, variables: dict[str, Any]) -> None:
        self.scopes: list[dict[str, Any]] = [variables]
        self.steps = 0
        self.next_clock_check = 1024
        self.deadline = time.monotonic() + MAX_SECONDS

    def run(self, node: ast.AST) -> Any:
        try:
            return self.eval(node)
        except ExpressionError:
            raise
        except RecursionError:
            raise ExpressionRuntimeError("the expression recursed too deeply") from None
        except MemoryError:
            raise ExpressionRuntimeError("the expression used too much memory") from None
        except KeyError as exc:
            raise ExpressionRuntimeError(f"key {exc} not found") from None
        except IndexError as exc:
            raise ExpressionRuntimeError(f"index out of range: {exc}") from None
        except ZeroDivisionError:
            raise ExpressionRuntimeError("division by zero") from None
        except (TypeError, ValueError, OverflowError, AttributeError, ArithmeticError) as exc:
            raise ExpressionRuntimeError(f"{type(exc).__name__}: {exc}") from None

    def tick(self, amount: int = 1) -> None:
        self.steps += amount
        if self.steps > MAX_STEPS:
            raise ExpressionRuntimeError(f"the expression did more than {MAX_STEPS} steps of work")
        if self.steps >= self.next_clock_check:
            self.next_clock_check = self.steps + 1024
            if time.monotonic() > self.deadline:
                raise ExpressionRuntimeError(f"the expression ran longer than {MAX_SECONDS} s")

    def weigh(self, *values: Any) -> int:
        """Charge the work of going through values (nested elements counted); refuse values that are too big."""
        total = sum(_weight(value) for value in values)
        if total > MAX_WEIGHT:
            raise ExpressionRuntimeError(
                f"the values are too large to work on in an expression (more than {MAX_WEIGHT} elements)"
            )
        self.tick(total // 16)
        return total

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
        _check_binary(type(node.op), left, right)
        if type(node.op) is ast.Mult:
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (list, tuple)) and isinstance(count, int) and count > 0:
                    if _weight(sequence) * count > MAX_WEIGHT:
                        raise ExpressionRuntimeError(f"the result of * would hold more than {MAX_WEIGHT} elements")
        elif isinstance(left, (list, tuple, str)) or isinstance(right, (list, tuple, str)):
            self.weigh(left, right)
        result = _BINARY[type(node.op)](left, right)
        self.tick(_size(result) // 64)
        _check_result(result)
        return result

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
            result = container[slice(*parts)]
            self.tick(_size(result) // 64)
            return result
        return container[self.eval(node.slice)]

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
            allowed = _METHODS.get(type(target), frozenset())
            if node.func.attr not in allowed:
                raise ExpressionRuntimeError(f"{type(target).__name__} has no allowed method '{node.func.attr}'")
            function = getattr(target, node.func.attr)
            self.weigh(target, *args)
        else:
            function = BUILTINS[node.func.id]  # the checker allows no other callable names
            if node.func.id != "len":
                self.weigh(*args, *kwargs.values())
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
        _check_result(result)
        return result

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
        return result

    eval_GeneratorExp = eval_ListComp

    def eval_SetComp(self, node: ast.SetComp) -> set:
        result: set = set()
        self._collect(node, lambda: self.eval(node.elt), result.add)
        return result

    def eval_DictComp(self, node: ast.DictComp) -> dict:
        result: dict = {}
        self._collect(
            node, lambda: (self.eval(node.key), self.eval(node.value)), lambda pair: result.__setitem__(*pair)
        )
        return result


def _is_view(value: Any) -> bool:
    return isinstance(value, (type({}.keys()), type({}.values()), type({}.items())))


def _require_number(value: Any, operation: str) -> None:
    if not isinstance(value, (int, float)):
        raise ExpressionRuntimeError(f"{operation} needs a number, not {type(value).__name__}")


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _check_binary(op: type, left: Any, right: Any) -> None:
    if op is ast.Mod and isinstance(left, str):
        raise ExpressionRuntimeError("% formatting of text is not allowed")
    if op is ast.Pow:
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            if _bits(left) > 1 and (_bits(left) - 1) * right > MAX_INT_BITS:
                raise ExpressionRuntimeError(f"the result of ** would exceed {MAX_INT_BITS} bits")
            if right > MAX_INT_BITS * 4 and abs(left) > 1:
                raise ExpressionRuntimeError("the exponent is too large")
        if isinstance(left, float) and isinstance(right, (int, float)) and abs(right) > 1e6 and abs(left) > 1:
            raise ExpressionRuntimeError("the exponent is too large")
    if op is ast.LShift and isinstance(right, int) and right > MAX_INT_BITS:
        raise ExpressionRuntimeError(f"the result of << would exceed {MAX_INT_BITS} bits")
    if op is ast.Mult:
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                if len(sequence) * max(count, 0) > MAX_SEQUENCE:
                    raise ExpressionRuntimeError(f"the result of * would be longer than {MAX_SEQUENCE}")
        if isinstance(left, int) and isinstance(right, int) and _bits(left) + _bits(right) > MAX_INT_BITS:
            raise ExpressionRuntimeError(f"the result of * would exceed {MAX_INT_BITS} bits")
    if op is ast.Add and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        if len(left) + len(right) > MAX_SEQUENCE:
            raise ExpressionRuntimeError(f"the result of + would be longer than {MAX_SEQUENCE}")


def _weight(value: Any, limit: int = MAX_WEIGHT) -> int:
    """How many elements value holds, nested ones and repeats included; stops counting past limit."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += 1 + len(item) // 256
        elif isinstance(item, dict):
            total += 1 + len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1 + len(item)
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += 1 + item.bit_length() // 64
        else:
            total += 1
        if total > limit:
            return limit + 1
    return total


def _check_result(result: Any) -> None:
    if isinstance(result, int) and not isinstance(result, bool) and _bits(result) > MAX_INT_BITS:
        raise ExpressionRuntimeError(f"the number exceeds {MAX_INT_BITS} bits")
    if isinstance(result, (list, tuple, dict, set)) and _weight(result) > MAX_WEIGHT:
        raise ExpressionRuntimeError(f"the result holds more than {MAX_WEIGHT} elements")
    if isinstance(result, (str, list, tuple, dict, set)) and len(result) > MAX_SEQUENCE:
        raise ExpressionRuntimeError(f"the result is longer than {MAX_SEQUENCE}")


_TREE_BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}
_TREE_COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_TREE_UNARY = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}


def expression_tree(source: str) -> dict[str, Any]:
    """Check `source` exactly as `compile_expression` does (same errors) and describe it as plain JSON.

    The tree is what the Node twin of the evaluator (runtime/node/expressions.js) interprets. One
    node per AST node the evaluator evaluates (so both count the same steps), each a dict with an "op":

        {"op": "const", "value": str | bool | None}       {"op": "int", "value": "<decimal or 0x hex>"}
        {"op": "float", "value": "<repr, e.g. 1.5, 1e+16, inf>"}
        {"op": "name", "id": NAME}
        {"op": "and" | "or", "values": [node, ...]}
        {"op": "unary", "operator": "not" | "-" | "+" | "~", "operand": node}
        {"op": "binary", "operator": "+" | "-" | "*" | "/" | "//" | "%" | "**" | "<<" | ">>" | "&" | "|" | "^",
         "left": node, "right": node}
        {"op": "compare", "left": node, "ops": ["==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in" | "is"
         | "is not", ...], "comparators": [node, ...]}
        {"op": "if", "test": node, "body": node, "orelse": node}
        {"op": "call", "func": BUILTIN, "args": [node, ...], "keywords": [[NAME, node], ...]}
        {"op": "method", "object": node, "name": METHOD, "args": [node, ...], "keywords": [[NAME, node], ...]}
        {"op": "subscript", "value": node, "index": node}
        {"op": "slice", "value": node, "lower": node | None, "upper": node | None, "step": node | None}
        {"op": "list" | "tuple" | "set", "items": [node, ...]}       {"op": "dict", "keys": [...], "values": [...]}
        {"op": "listcomp" | "setcomp", "element": node, "generators": [GENERATOR, ...]}   (a generator expression
         is a "listcomp": the evaluator builds a list for it)
        {"op": "dictcomp", "key": node, "value": node, "generators": [GENERATOR, ...]}
        {"op": "error", "message": TEXT}   (a node the evaluator refuses when it reaches it, e.g. a slice in a tuple)

    GENERATOR is {"target": TARGET, "iter": node, "ifs": [node, ...]}, TARGET a name or a list of TARGETs.
    Ints and floats are text so that JSON keeps them exact (big ints, 1.0 vs 1, inf).
    """
    return _tree(compile_expression(source).tree.body)


def _tree_keywords(keywords: list[ast.keyword]) -> list[list[Any]]:
    return [[keyword.arg, _tree(keyword.value)] for keyword in keywords]


def _tree_target(target: ast.AST) -> Any:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Tuple):
        return [_tree_target(element) for element in target.elts]
    raise ExpressionSyntaxError("loop variables must be plain names")  # the checker already refused it


def _tree_generators(generators: list[ast.comprehension]) -> list[dict[str, Any]]:
    return [
        {"target": _tree_target(g.target), "iter": _tree(g.iter), "ifs": [_tree(c) for c in g.ifs]} for g in generators
    ]


def _tree(node: ast.AST) -> dict[str, Any]:  # noqa: C901 - one branch per node type, as in _Interpreter
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return {"op": "const", "value": value}
        if isinstance(value, int):
            return {"op": "int", "value": str(value) if value.bit_length() < 12_000 else hex(value)}
        return {"op": "float", "value": repr(value)}
    if isinstance(node, ast.Name):
        return {"op": "name", "id": node.id}
    if isinstance(node, ast.BoolOp):
        return {"op": "and" if isinstance(node.op, ast.And) else "or", "values": [_tree(v) for v in node.values]}
    if isinstance(node, ast.UnaryOp):
        return {"op": "unary", "operator": _TREE_UNARY[type(node.op)], "operand": _tree(node.operand)}
    if isinstance(node, ast.BinOp):
        return {
            "op": "binary",
            "operator": _TREE_BINARY[type(node.op)],
            "left": _tree(node.left),
            "right": _tree(node.right),
        }
    if isinstance(node, ast.Compare):
        return {
            "op": "compare",
            "left": _tree(node.left),
            "ops": [_TREE_COMPARE[type(op)] for op in node.ops],
            "comparators": [_tree(c) for c in node.comparators],
        }
    if isinstance(node, ast.IfExp):
        return {"op": "if", "test": _tree(node.test), "body": _tree(node.body), "orelse": _tree(node.orelse)}
    if isinstance(node, ast.Call):
        args = [_tree(arg) for arg in node.args]
        if isinstance(node.func, ast.Attribute):
            return {
                "op": "method",
                "object": _tree(node.func.value),
                "name": node.func.attr,
                "args": args,
                "keywords": _tree_keywords(node.keywords),
            }
        return {
            "op": "call",
            "func": node.func.id,
            "args": args,  # type: ignore[attr-defined]
            "keywords": _tree_keywords(node.keywords),
        }
    if isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Slice):
            parts = (node.slice.lower, node.slice.upper, node.slice.step)
            lower, upper, step = (None if part is None else _tree(part) for part in parts)
            return {"op": "slice", "value": _tree(node.value), "lower": lower, "upper": upper, "step": step}
        return {"op": "subscript", "value": _tree(node.value), "index": _tree(node.slice)}
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return {"op": type(node).__name__.lower(), "items": [_tree(element) for element in node.elts]}
    if isinstance(node, ast.Dict):
        return {
            "op": "dict",
            "keys": [_tree(k) for k in node.keys],  # type: ignore[arg-type]
            "values": [_tree(v) for v in node.values],
        }
    if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        return {
            "op": "setcomp" if isinstance(node, ast.SetComp) else "listcomp",
            "element": _tree(node.elt),
            "generators": _tree_generators(node.generators),
        }
    if isinstance(node, ast.DictComp):
        return {
            "op": "dictcomp",
            "key": _tree(node.key),
            "value": _tree(node.value),
            "generators": _tree_generators(node.generators),
        }
    if isinstance(node, ast.Attribute):
        return {"op": "error", "message": f"attribute '{node.attr}' can only be called as a method"}
    return {"op": "error", "message": f"{type(node).__name__} is not allowed"}
