"""The whitelist an `if` expression is checked against before it runs: allowed nodes, names, calls, nesting."""

from __future__ import annotations

import ast

from refinery_tui.runtime.expression_builtins import BUILTINS, METHODS
from refinery_tui.runtime.expression_errors import ExpressionSyntaxError

VARIABLES = ("return_data", "block_input", "backpack")
MAX_NESTING = 60
OPERATORS = (
    *(ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow),
    *(ast.LShift, ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor),
    *(ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot),
    *(ast.Not, ast.USub, ast.UAdd, ast.Invert),
)

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
    *OPERATORS,
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


def _refuse(node: ast.AST, message: str, lead: int) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(message, getattr(node, "col_offset", 0) + 1 + lead, getattr(node, "lineno", 1))


def check(node: ast.AST, lead: int, bound: set[str], depth: int = 0) -> None:
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
            check(node.func.value, lead, bound, depth + 1)
            method = node.func.attr
            if method.startswith("_") or not any(method in names for names in METHODS.values()):
                raise _refuse(node.func, f"method '{method}' is not allowed", lead)
            for child in [*node.args, *(keyword.value for keyword in node.keywords)]:
                check(child, lead, bound, depth + 1)
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
            check(generator.iter, lead, inner, depth + 1)
            for target in ast.walk(generator.target):
                if isinstance(target, ast.Name):
                    if target.id.startswith("_") or target.id in VARIABLES or target.id in BUILTINS:
                        raise _refuse(target, f"'{target.id}' cannot be used as a loop variable", lead)
                    inner.add(target.id)
                elif not isinstance(target, (ast.Tuple, ast.Store)):
                    raise _refuse(target, "loop variables must be plain names", lead)
            for condition in generator.ifs:
                check(condition, lead, inner, depth + 1)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in parts:
            check(part, lead, inner, depth + 1)
        return
    for child in ast.iter_child_nodes(node):
        check(child, lead, bound, depth + 1)
