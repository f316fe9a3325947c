"""The checked `if` expression as a plain JSON tree: what the Node twin of the evaluator interprets."""

from __future__ import annotations

import ast
from typing import Any

from refinery_tui.runtime.expression_errors import ExpressionSyntaxError

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


def json_tree(node: ast.AST) -> dict[str, Any]:
    """Describe a checked expression (`CompiledExpression.tree.body`) as plain JSON.

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
    return _tree(node)


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
