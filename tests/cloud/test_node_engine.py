"""Differential tests: the Node twin of the transition engine must give what the Python engine gives, exactly."""

from __future__ import annotations

import itertools
import json
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refinery_tui.model import validate_project
from refinery_tui.model.manifest import build_manifest
from refinery_tui.runtime.engine import Context, Frame, Invocation, Manifest, Outcome, Routing, is_json, route
from refinery_tui.runtime.expressions import (
    BUILTINS,
    ExpressionError,
    ExpressionSyntaxError,
    compile_expression,
    expression_tree,
)
from refinery_tui.runtime.joins import JoinState, join_input, merge_backpacks
from refinery_tui.runtime.resources import api_reply, api_request, schedule_input
from tests.conformance.test_conformance import CASES, build_project

NODE = shutil.which("node")

DRIVER = Path(__file__).with_name("node_engine_driver.js")
PYTHON_MINOR = sys.version_info.minor
REPLY_TIMEOUT_S = 120  # a guard against a hanging engine, far above what any batch here takes


class NodeDriver:
    """One `node` process for the whole module: each batch is one JSON line in, one JSON line out."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [NODE, str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )

    def run(self, mode: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        batch = {"mode": mode, "python_minor": PYTHON_MINOR, "cases": cases}
        self.process.stdin.write(json.dumps(batch) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], REPLY_TIMEOUT_S)
        if not ready:
            self.process.kill()
            pytest.fail(f"the node driver gave no answer within {REPLY_TIMEOUT_S} s: the Node engine hangs")
        line = self.process.stdout.readline()
        assert line, f"the node driver stopped (exit code {self.process.poll()})"
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def node():
    if NODE is None:
        pytest.skip("node is not on PATH, so the Node engine cannot be run")
    driver = NodeDriver()
    yield driver
    driver.close()


# ---- expressions

_BUILTIN_NAMES = {id(function): name for name, function in BUILTINS.items()}


def typed(value: Any) -> Any:
    """A Python value as JSON that keeps its type (the driver's TYPED form)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, tuple):
        return {"tuple": [typed(item) for item in value]}
    if isinstance(value, dict):
        return {"dict": [[typed(k), typed(v)] for k, v in value.items()]}
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(json.dumps(typed(item), separators=(",", ":"), ensure_ascii=False) for item in value)}
    if id(value) in _BUILTIN_NAMES:
        return {"builtin": _BUILTIN_NAMES[id(value)]}
    return {"unknown": repr(value)}


def python_result(source: str, data_text: str) -> dict[str, Any]:
    data = json.loads(data_text)
    try:
        value = compile_expression(source).evaluate(
            data.get("return_data"), data.get("block_input"), data.get("backpack")
        )
    except ExpressionError as exc:
        return {"error": {"name": type(exc).__name__, "message": str(exc)}}
    return {"ok": typed(value)}


def differences(node: NodeDriver, pairs: list[tuple[str, str]]) -> list[tuple[str, str, Any, Any]]:
    """Run every (expression, data) pair in Python and in Node (one batch); return the ones that differ."""
    cases = [{"tree": expression_tree(source), "data": data} for source, data in pairs]
    results = node.run("expressions", cases)
    found = []
    for (source, data), from_node in zip(pairs, results):
        expected = python_result(source, data)
        if expected != from_node:
            found.append((source, data, expected, from_node))
    return found


def data_set(return_data: Any, block_input: Any, backpack: Any) -> str:
    return json.dumps(
        {"return_data": return_data, "block_input": block_input, "backpack": backpack}, ensure_ascii=False
    )


DATA_SETS = [
    data_set(
        {
            "ok": True,
            "items": [3, 1, 2],
            "name": "Order-7",
            "price": 19.99,
            "n": 4,
            "empty": [],
            "nested": {"a": [1, {"b": None}]},
            "text": "  Hello World  ",
        },
        [1, 2, 3],
        {"user": "ada", "n": 4},
    ),
    data_set(7, -2.5, {}),
    data_set("héllo wörld ß", None, {"flag": False}),
    data_set([1, 2.0, "3", None, True, [4, [5]], {"k": "v"}], {"a": 1, "b": 2}, {"list": []}),
    data_set(None, True, {"x": 0, "y": 1.0}),
    data_set({"n": -7, "f": -0.0, "big": 12345678901234567890123, "s": "", "z": 0}, [[]], {"k": [1, 2]}),
    data_set(1e300, "abc", {"t": "x"}),
    data_set([5.5, -1, 0, 2**70, 1e-7], "😀a\u00e9", {"Σ": "ΑΣ"}),
]

EXPRESSIONS = [
    # arithmetic, int vs float, Python's division and modulo rules
    "1 + 2",
    "1 + 2.0",
    "7 // 2",
    "-7 // 2",
    "7 // -2",
    "7 % 3",
    "-7 % 3",
    "7 % -3",
    "7.5 % 2",
    "-7.5 % 2",
    "7.5 // 2",
    "-7.5 // 2",
    "-0.0 % 5",
    "5 % -0.5",
    "7 / 2",
    "1 / 3",
    "2 ** 10",
    "2 ** -1",
    "(-2) ** 3",
    "2.0 ** 0.5",
    "10 ** 20",
    "10 ** 20 / 3",
    "2 ** 64 // 3",
    "2 ** 1000 / 2 ** 999",
    "2 ** 2000 / 3 ** 900",
    "2 ** 1100 / 3",
    "2 ** 1100 + 0.5",
    "float(2 ** 1100)",
    "1e308 * 10",
    "0.1 + 0.2",
    "1 - 0.9",
    "1e-320 / 10",
    "-0.0",
    "0.0 * -1",
    "1e16",
    "1e15",
    "123456789.123",
    "1e-5",
    "0.0001",
    "1.5e-7",
    "100.0",
    "2.5e100",
    "3 * 'ab'",
    "'ab' * -1",
    "[1, 2] * 2",
    "(1,) * 3",
    "True + True",
    "True * 3",
    "-True",
    "~5",
    "~True",
    "+False",
    "5 & 3",
    "5 | 3",
    "5 ^ 3",
    "True & False",
    "True | 1",
    "1 << 10",
    "1024 >> 3",
    "-1 >> 10",
    "1 << -1",
    "{1, 2} | {3}",
    "{1, 2} & {2, 3}",
    "{1, 2} - {2}",
    "{1, 2} ^ {2, 3}",
    "{'a': 1} | {'b': 2}",
    "1 / 0",
    "1 // 0",
    "1 % 0",
    "1.0 / 0",
    "1.5 // 0.0",
    "0 ** -1",
    "0.0 ** -1.0",
    "10.0 ** 400",
    "1 + None",
    "'a' + 1",
    "[1] + (2,)",
    "(1,) + [2]",
    "None * None",
    "[1] * 1.5",
    "2.5 * 'a'",
    "'a' - 'b'",
    "1.5 << 1",
    "[1] % 2",
    "10 ** 20 * 1.5",
    "-(2 ** 63)",
    "abs(-2 ** 200) // 7 ** 30",
    "1 ** 10 ** 30",
    "(-1) ** (10 ** 30 + 1)",
    "0.5 ** 10 ** 7",
    "float('inf') // 1",
    "float('inf') % 2",
    "-float('inf') * 0",
    # comparisons, equality, membership, identity
    "1 == 1.0",
    "1 == True",
    "'1' == 1",
    "[1, 2] == [1, 2.0]",
    "[1] == (1,)",
    "{'a': 1} == {'a': 1.0}",
    "{1, 2} == {2, 1}",
    "1 < 2 < 3",
    "3 > 2 > 2",
    "1 < 'a'",
    "[1, 2] < [1, 3]",
    "[1, 2] < [1, 2, 0]",
    "(1, 'a') < (1, 'b')",
    "[1, 'a'] < [1, 2]",
    "'abc' < 'abd'",
    "'Z' < 'a'",
    "'é' > 'z'",
    "'\uffff' < '😀'",
    "None < None",
    "{1} < {1, 2}",
    "{1, 2} <= {1, 2}",
    "{'a': 1} < {'b': 2}",
    "1 <= 1.0 >= True",
    "float('nan') == float('nan')",
    "float('nan') < 1",
    "2 ** 53 + 1 == float(2 ** 53 + 1)",
    "2 ** 53 + 1 > float(2 ** 53)",
    "None is None",
    "1 is 1",
    "1000 is 1000",
    "'a' is 'a'",
    "'abc' is 'abc'",
    "() is ()",
    "[] is not []",
    "return_data is return_data",
    "3 in [1, 2, 3]",
    "3.0 in [1, 2, 3]",
    "'ell' in 'hello'",
    "1 in 'abc'",
    "'a' in {'a': 1}",
    "[1] in {'a': 1}",
    "1 in 5",
    "'x' not in backpack",
    "None in [None]",
    "len in [len]",
    "len == len",
    "len < len",
    # boolean operators return operands; conditional expressions
    "0 or 'x'",
    "'' or [] or 0",
    "1 and 'y'",
    "[] and 1",
    "not []",
    "not 'a'",
    "None or None",
    "1 if [] else 2",
    "'yes' if {'a': 0} else 'no'",
    "return_data or block_input",
    "backpack and return_data",
    # indexing and slicing
    "return_data['items'][-1]",
    "return_data['items'][5]",
    "return_data['items'][1:]",
    "return_data['items'][::-1]",
    "return_data['items'][::2]",
    "return_data['items'][::0]",
    "return_data['name'][0]",
    "return_data['name'][-1]",
    "return_data['name'][1:4]",
    "return_data['name'][::-1]",
    "return_data[0]",
    "return_data[-1]",
    "return_data[1:3]",
    "return_data[::-2]",
    "return_data[10 ** 30]",
    "return_data['missing']",
    "return_data[[1]]",
    "return_data[1.5]",
    "return_data[True]",
    "return_data[(1, 2)]",
    "return_data['nested']['a'][1]['b']",
    "block_input[0]",
    "block_input['a']",
    "block_input[0:2]",
    "block_input[-3:]",
    "backpack['n']",
    "backpack['Σ']",
    "'abc'[1.0]",
    "'abc'['x']",
    "(1, 2, 3)[1:]",
    "(1, 2, 3)[5]",
    "(1,)['a']",
    "[1, 2, 3][1:2:0]",
    "[1, 2, 3]['a':]",
    "{'a': 1}[1:2]",
    "{'a': 1}[[1]:]",
    "None[0]",
    "5[0]",
    "len[0]",
    "[1, 2, 3][-10:10]",
    "'hello'[-3:]",
    "[0, 1, 2, 3, 4][4:1:-2]",
    "[0, 1, 2, 3, 4][10:-10:-1]",
    "[0, 1][True:]",
    "{(1, 2): 'x'}[(1, 2)]",
    "{1: 'a', 1.0: 'b', True: 'c'}",
    "{[1]: 2}",
    "{1, 1.0, True}",
    "{'a': 1, 'a': 2}",
    "{(): 1}[()]",
    "[1, 2][1:2, 3]",
    "{'a': 1}['b']",
    "{(1, 'x'): 1}[(1, 'y')]",
    # builtins
    "len(return_data)",
    "len(5)",
    "len('héllo')",
    "len(backpack)",
    "min(block_input)",
    "max(block_input)",
    "min([])",
    "max([], default=7)",
    "min(3, 1, 2)",
    "max('abc')",
    "min([1, 'a'])",
    "max(1, 2, default=0)",
    "max([1, 1.0])",
    "min([1.0, 1])",
    "sum(block_input)",
    "sum([0.1] * 10)",
    "sum([1, 2.5, 3])",
    "sum([1.5, 2 ** 70])",
    "sum([2 ** 63, 1])",
    "sum([True, True])",
    "sum(['a'])",
    "sum([1], 0.5)",
    "sum([[1]], [])",
    "sum({1: 'a', 2: 'b'})",
    "sum([0.1, 0.2, 0.3], 1)",
    "sum([1e100, 1.0, -1e100])",
    "abs(-3)",
    "abs(-2.5)",
    "abs(True)",
    "abs('a')",
    "round(2.5)",
    "round(3.5)",
    "round(-2.5)",
    "round(2.675, 2)",
    "round(0.125, 2)",
    "round(1234.5678, -2)",
    "round(1234, -2)",
    "round(1250, -2)",
    "round(1350, -2)",
    "round(5, 1)",
    "round(True)",
    "round(1.5, 'a')",
    "round(1.5, 400)",
    "round(float('inf'))",
    "round(float('nan'))",
    "round(-0.4)",
    "round(-0.4, 0)",
    "round(1e300, -299)",
    "round(0.5, True)",
    "str(True)",
    "str(1.0)",
    "str([1, 'a'])",
    "str(None)",
    "str({'a': [1, 2.5, None]})",
    "str((1,))",
    "str(())",
    'str("it\'s")',
    'str("a\'b\\"c")',
    "str(['\\n', '\\x00', 'é', '\\u200b', '\\x7f', '\\\\'])",
    "str(1e16)",
    "str(-0.0)",
    "str(2 ** 100)",
    "str({1} - {1})",
    "str({1})",
    "str(len)",
    "str([len])",
    "str(return_data)",
    "str(block_input)",
    "str(backpack)",
    "str('😀')",
    "str(['😀\\ud800'])",
    "int('42')",
    "int(' -42 ')",
    "int('1_000')",
    "int('0x1f', 16)",
    "int('0x1f', 0)",
    "int('010', 0)",
    "int('0', 0)",
    "int('z', 36)",
    "int('12', 2)",
    "int(3.9)",
    "int(-3.9)",
    "int(True)",
    "int('3.5')",
    "int(None)",
    "int(float('inf'))",
    "int('١٢٣')",
    "int(1.5, 10)",
    "int('1', 1)",
    "int('_1')",
    "int('1__0')",
    "int('0b_101', 0)",
    "int('+7')",
    "int('')",
    "int('1', 2.0)",
    "int(1e20)",
    "float('1.5')",
    "float(' 1e3 ')",
    "float('inf')",
    "float('-Infinity')",
    "float('nan')",
    "float('1_0.5')",
    "float('abc')",
    "float(2)",
    "float(True)",
    "float(None)",
    "float('1.')",
    "float('.5')",
    "float('1e500')",
    "float('0x10')",
    "float('')",
    "bool([])",
    "bool('0')",
    "bool(0.0)",
    "bool(float('nan'))",
    "sorted(block_input)",
    "sorted(return_data, reverse=True)",
    "sorted('hello')",
    "sorted([3, 1, 2], reverse=True)",
    "sorted([1, 'a'])",
    "sorted({'b': 1, 'a': 2})",
    "sorted([[2], [1, 5], [1]])",
    "sorted([(1, 'b'), (1, 'a')])",
    "sorted([1.5, 1, True, 0])",
    "sorted([3, 1], reverse=None)",
    "sorted([3, 'a', 1, 2.5])",
    "sorted([1, 1.0, True], reverse=True)",
    "sorted([2, 1], reverse=2)",
    "any([])",
    "all([])",
    "any([0, '', None])",
    "all([1, 'a'])",
    "any(x > 2 for x in block_input)",
    "all(5)",
    # methods
    "return_data['name'].lower()",
    "return_data['name'].upper()",
    "'  a b  '.strip()",
    "'xxaxx'.strip('x')",
    "return_data['text'].lstrip()",
    "return_data['text'].rstrip(' d')",
    "'a,b,,c'.split(',')",
    "' a  b c '.split()",
    "'a b c'.split(None, 1)",
    "'a,b,c'.split(',', 1)",
    "'abc'.split('')",
    "' a b '.split(None, 0)",
    "'hello'.count('l')",
    "'hello'.count('')",
    "'hello'.count('l', -2)",
    "'hello'.find('l', 3)",
    "'hello'.find('z')",
    "'hello'.find('', 9)",
    "'hello'.startswith('he')",
    "'hello'.startswith(('x', 'h'))",
    "'hello'.endswith('lo', 0, 4)",
    "'hello'.startswith('', 10)",
    "'hello'.startswith((1,))",
    "'hello'.find(1)",
    "'123'.isdigit()",
    "'²'.isdigit()",
    "''.isdigit()",
    "'abc'.isalpha()",
    "'ab1'.isalnum()",
    "'abc'.islower()",
    "'ABC'.isupper()",
    "'Ab'.islower()",
    "'hello world'.title()",
    "\"they're bill's\".title()",
    "'ǆemal'.title()",
    "'ßtraße'.capitalize()",
    "'ΑΣ ΟΔΟΣ'.lower()",
    "'ΑΣ'.capitalize()",
    "'ΑΣ ΣΑ'.title()",
    "'ﬁne'.title()",
    "'éa'.upper()",
    "[1, 2, 3].index(2)",
    "[1, 2, 3].index(5)",
    "(1, 2).index(3)",
    "[1, 2, 1].index(1, 1)",
    "[1, 1, 2].count(1)",
    "{'a': 1}.items()",
    "{'a': 1}.keys()",
    "backpack.values()",
    "backpack.get('n')",
    "backpack.get('zz', 5)",
    "backpack.get([1])",
    "True.lower()",
    "[1].lower()",
    "'a'.index('a')",
    "{'a': 1}.count(1)",
    "(1, 2).count(2)",
    "return_data.get('ok')",
    "block_input.split()",
    # comprehensions
    "[x * 2 for x in block_input if x != 2]",
    "{k: v for k, v in backpack.items()}",
    "[c for c in 'abc']",
    "[(a, b) for a in [1, 2] for b in 'xy']",
    "[x for x in 5]",
    "[a for a, b in [[1, 2], [3]]]",
    "[a for a, b in [1]]",
    "{x: x for x in [[1]]}",
    "[k for k in {'b': 1, 'a': 2}]",
    "sum(x for x in [1, 2, 3])",
    "[[y for y in x] for x in [[1], [2, 3]]]",
    "[x for x in [1, 2] if x if x > 1]",
    "[len for x in [1]]",
    "[x for x in [1, 2, 3]][1:]",
    "{x % 2 for x in [1, 2, 3]}",
    "[a + b for (a, b) in {'xy': 1}]",
    "[v for v in return_data]",
    "{k: 1 for k in block_input}",
]

ARITY = [
    f"{target}.{method}({', '.join(args)})"
    for target, methods, argument in [
        ("{'a': 1}", ["get", "keys", "values", "items"], "'a'"),
        ("'a b'", ["lower", "strip", "startswith", "split", "count", "find", "isdigit", "title"], "'a'"),
        ("[1, 2]", ["index", "count"], "1"),
        ("(1, 2)", ["index", "count"], "1"),
    ]
    for method in methods
    for args in [
        [],
        [argument],
        [argument, "0"],
        [argument, "0", "0"],
        [argument, "0", "0", "0"],
        [argument, "reverse=1"],
        ["default=1"],
        [argument, "start=1"],
    ]
] + [
    f"{function}({', '.join(args)})"
    for function in ["len", "min", "max", "any", "all", "sum", "abs", "round", "str", "int", "float", "bool", "sorted"]
    for args in [
        [],
        ["[1]"],
        ["[1]", "1"],
        ["[1]", "1", "1"],
        ["[1]", "1", "1", "1"],
        ["[1]", "reverse=1"],
        ["default=1"],
        ["1", "2", "start=1"],
        ["'7'", "default=1"],
    ]
]

HOSTILE = [
    "9**9**9",
    "10**10**10",
    "2**100000",
    "(-2)**99999",
    "1 << 10**9",
    "int('9' * 5000)",
    "'x' * (2**62)",
    "'a' * 10**5 * 10**5",
    "[1] * 10**9",
    "'' * 10 ** 30",
    "[] * 10 ** 30",
    "round(10**100, -10**9)",
    "[1 for a in 'x' * 1000 for b in 'x' * 1000 for c in 'x' * 1000]",
    "sum(1 for a in 'x' * 100000 for b in 'x' * 100000)",
    "[[[[[0] * 100] * 100] * 100] * 100]",
    "len(str([[0] * 99999] * 99999))",
    "len(sum([[0] * 99999] * 99999, []))",
    "[[0] * 99999] * 99999 == [[0] * 99999] * 99999",
    "sorted([[0] * 99999] * 99999)",
    "sum([[0] * 999] * 999, [])",
    "str([[[0] * 200] * 200] * 200)",
    "[x for x in [[1] * 1000] * 1000] == [x for x in [[1] * 1000] * 1000]",
    "str([0] * 60000)",
    "[[[0] * 100] * 100] * 100",
    "[1 for a in block_input for b in block_input for c in block_input]",
    "2 ** 4097",
    "1 << 4097",
    "(2 ** 4000) * (2 ** 200)",
    "int('9' * 1001)",
    "round(1, 301)",
    "'ab' * 50001",
    "[0] * 50001 + [0] * 50001",
    "len([0] * 99999 * 10)",
    "[str(x) * 100 for x in [1] * 100000]",
    "{(i, j, k): 0 for i in block_input for j in block_input for k in 'ab'}",
    "block_input * 10 ** 6",
    "-(2 ** 4096) - 2 ** 4096",
]


def test_expression_tree_refuses_what_compile_expression_refuses():
    bad = [
        "",
        "   ",
        "x",
        "return_data.__class__",
        "lambda: 1",
        "(x := 1)",
        "f'{1}'",
        "[*block_input]",
        "{**backpack}",
        "import os",
        "return_data[",
        "len(x)",
        "open('f')",
        "'a'.format(1)",
        "sorted(block_input, key=len)",
        "[len for len in [1]]",
        "[x for x.y in [1]]",
        "await x",
        "1 @ 2",
        "b'bytes'",
        "1j",
        "...",
        "[x async for x in y]",
        "a if b",
        "return_data = 1",
        "x" * 5000,
        "[" * 70 + "]" * 70,
        "_private",
        "[_ for _ in [1]]",
    ]
    for source in bad:
        with pytest.raises(ExpressionSyntaxError) as compiled:
            compile_expression(source)
        with pytest.raises(ExpressionSyntaxError) as tree:
            expression_tree(source)
        assert (str(tree.value), tree.value.offset, tree.value.line) == (
            str(compiled.value),
            compiled.value.offset,
            compiled.value.line,
        ), source


def test_expression_tree_is_plain_json():
    for source in EXPRESSIONS + HOSTILE:
        tree = expression_tree(source)
        assert json.loads(json.dumps(tree, allow_nan=False)) == tree, source


def test_expressions_match_python(node):
    assert len(EXPRESSIONS) > 100
    pairs = [(source, data) for source in EXPRESSIONS for data in DATA_SETS]
    assert differences(node, pairs) == []


def test_argument_errors_match_python(node):
    assert differences(node, [(source, DATA_SETS[0]) for source in ARITY]) == []


def test_hostile_expressions_are_refused_alike(node):
    pairs = [(source, data_set({"a": 1}, list(range(100)), {})) for source in HOSTILE]
    for source, data in pairs:
        assert "error" in python_result(source, data), source
    started = time.monotonic()
    results = node.run("expressions", [{"tree": expression_tree(source), "data": data} for source, data in pairs])
    assert time.monotonic() - started < 30, "every hostile expression must end within its bounds"
    assert [result["error"]["name"] for result in results] == ["ExpressionRuntimeError"] * len(pairs)
    assert differences(node, pairs) == []


def test_big_data_is_still_bounded(node):
    data = data_set({"data": "x" * 1_000_000, "items": list(range(50_000))}, [[0] * 1000] * 100, {})
    sources = [
        "len(return_data['data']) > 5 and return_data['data'][:2] == 'xx'",
        "return_data['items'][-1] == 49999 and 7 in return_data['items']",
        "sum(return_data['items'])",
        "sorted(return_data['items'], reverse=True)[:3]",
        "str(return_data['items'])[:20]",
        "[x for x in return_data['items'] if x % 1000 == 0]",
        "block_input == block_input",
        "return_data['data'].upper()[:3]",
        "return_data['data'].count('x')",
    ]
    assert differences(node, [(source, data) for source in sources]) == []


# A small grammar of expressions over JSON data, for the property test.


def _json_values():
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(-(10**6), 10**6)
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=6)
    )
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
        max_leaves=12,
    )


def _expressions():
    atoms = st.sampled_from(
        [
            "return_data",
            "block_input",
            "backpack",
            "0",
            "1",
            "-3",
            "7",
            "2.5",
            "0.1",
            "-0.0",
            "1e300",
            "'a'",
            "''",
            "'Ab c'",
            "None",
            "True",
            "False",
            "[]",
            "[1, 'a']",
            "{}",
            "{'a': 1}",
            "(1, 2.5)",
        ]
    )

    def extend(children):
        binary = st.sampled_from(
            [
                "+",
                "-",
                "*",
                "/",
                "//",
                "%",
                "==",
                "!=",
                "<",
                "<=",
                ">",
                ">=",
                "in",
                "not in",
                "and",
                "or",
                "&",
                "|",
                "^",
            ]
        )
        calls = st.sampled_from(
            ["len", "str", "bool", "abs", "sorted", "min", "max", "sum", "round", "int", "float", "any", "all"]
        )
        methods = st.sampled_from(
            [
                "get",
                "keys",
                "values",
                "items",
                "lower",
                "upper",
                "strip",
                "split",
                "count",
                "find",
                "startswith",
                "isdigit",
                "title",
                "index",
            ]
        )
        return st.one_of(
            st.tuples(children, binary, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(children, st.integers(0, 3)).map(lambda t: f"({t[0]} ** {t[1]})"),
            st.tuples(st.sampled_from(["not ", "-", "+", "~"]), children).map(lambda t: f"({t[0]}{t[1]})"),
            st.tuples(calls, children).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(children, methods, st.lists(children, max_size=2)).map(
                lambda t: f"({t[0]}).{t[1]}({', '.join(t[2])})"
            ),
            st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(
                children,
                st.sampled_from(["", "1", "-1", "None"]),
                st.sampled_from(["", "2", "-2"]),
                st.sampled_from(["", ":-1", ":2"]),
            ).map(lambda t: f"{t[0]}[{t[1]}:{t[2]}{t[3]}]"),
            st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            st.tuples(children, children).map(lambda t: f"[v {'+'} {t[1]} for v in {t[0]}]"),
            st.tuples(children, children).map(lambda t: f"[{t[0]}, {t[1]}]"),
        )

    return st.recursive(atoms, extend, max_leaves=8)


def _compiles(source: str) -> bool:
    try:
        compile_expression(source)
    except ExpressionSyntaxError:
        return False
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(
        st.tuples(_expressions().filter(_compiles), _json_values(), _json_values(), _json_values()),
        min_size=20,
        max_size=40,
    )
)
def test_generated_expressions_match_python(node, cases):
    pairs = [(source, data_set(r, b, p)) for source, r, b, p in cases]
    assert differences(node, pairs) == []


# ---- route()


def routing_json(routing: Routing) -> dict[str, Any]:
    def invocation(inv: Invocation | None) -> dict[str, Any] | None:
        if inv is None:
            return None
        return {
            "id": inv.id,
            "block": inv.block,
            "input": inv.input,
            "backpack": inv.backpack,
            "context": inv.context.to_json(),
            "attempt": inv.attempt,
            "parent": inv.parent,
            "via": inv.via,
        }

    outcome = routing.outcome
    return json.loads(
        json.dumps(
            {
                "outcome": {
                    "ok": outcome.ok,
                    "output": outcome.output,
                    "backpack": outcome.backpack,
                    "error": outcome.error,
                },
                "dispatches": [invocation(inv) for inv in routing.dispatches],
                "arrivals": [{**vars(a), "context": a.context.to_json()} for a in routing.arrivals],
                "taken": [list(t) for t in routing.taken],
                "retry": invocation(routing.retry),
                "failure": routing.failure,
                "final": routing.final,
            }
        )
    )


OUTPUTS = [0, 1, -1, 7, 5.5, "no", "", [], [1, 2, 3], [[1], []], {"n": 1}, {"x": [1, 2]}, None, True, {"missing": 3}]
INPUTS = [1, "no", {"missing": 2}, None]


def synthetic_routes(manifest: dict[str, Any]) -> list[tuple[dict, dict, dict]]:
    """(invocation JSON, outcome JSON) pairs for every block: successes, failures, retries, fan-out frames."""
    fan_outs = [t["index"] for t in manifest["transitions"] if t["type"] == "fan-out"]
    contexts = [Context("exec", 0), Context("exec", int(manifest["max_hops"]))]
    for fan_out in fan_outs:
        contexts.append(Context("exec", 3, (Frame(f"inv.{fan_out}", 1, 3),)))
        contexts.append(Context("exec", 5, (Frame("outer.99", 0, 2), Frame(f"deep.inv.{fan_out}", 2, 3))))
    routes = []
    counter = itertools.count()
    for block in manifest["blocks"]:
        for context in contexts:
            for output in OUTPUTS:
                n = next(counter)
                invocation = Invocation(f"inv-{n}", block, INPUTS[n % len(INPUTS)], {"bp": n % 3}, context)
                outcome = Outcome.success(output, None if n % 2 else {"k": n, "x": 1})
                routes.append((invocation, outcome))
            for attempt in range(3):
                invocation = Invocation(
                    f"inv-f{attempt}", block, INPUTS[attempt], {"old": True}, context, attempt, parent="p", via=0
                )
                routes.append((invocation, Outcome.failure("ValueError", f"boom {attempt}", "Traceback: ...")))
    return [
        (
            manifest,
            {
                "id": inv.id,
                "block": inv.block,
                "input": inv.input,
                "backpack": inv.backpack,
                "context": inv.context.to_json(),
                "attempt": inv.attempt,
                "parent": inv.parent,
                "via": inv.via,
            },
            {"ok": out.ok, "output": out.output, "backpack": out.backpack, "error": out.error},
        )
        for inv, out in routes
    ]


def python_route(manifest: dict, invocation: dict, outcome: dict) -> dict[str, Any]:
    ids = itertools.count()
    inv = Invocation(
        invocation["id"],
        invocation["block"],
        invocation["input"],
        invocation["backpack"],
        Context.from_json(invocation["context"]),
        invocation["attempt"],
        invocation["parent"],
        invocation["via"],
    )
    out = Outcome(outcome["ok"], outcome["output"], outcome["backpack"], outcome["error"])
    return {"ok": routing_json(route(Manifest(manifest), inv, out, lambda: f"id-{next(ids)}"))}


def conformance_manifest(case: dict, root: Path) -> dict[str, Any]:
    build_project(case, "python", root)
    result = validate_project(root)
    assert result.ok, [d.format() for d in result.errors]
    return build_manifest(result.project)


def compare_routes(node: NodeDriver, routes: list[tuple[dict, dict, dict]]) -> list[Any]:
    results = node.run("route", [{"manifest": m, "invocation": i, "outcome": o, "ids": 0} for m, i, o in routes])
    return [
        (i["block"], i, o, python_route(m, i, o), got)
        for (m, i, o), got in zip(routes, results)
        if python_route(m, i, o) != got
    ]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_route_matches_python(node, case, tmp_path):
    manifest = conformance_manifest(case, tmp_path / case["name"])
    for transition in manifest["transitions"]:
        assert ("expression_tree" in transition) == (transition["type"] == "if")
    routes = synthetic_routes(manifest)
    assert routes
    assert compare_routes(node, routes) == []


def test_route_of_an_expression_that_does_not_compile(node, tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "project.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "broken",
                "blocks": {"a": {"type": "topic"}, "b": {"type": "topic"}, "c": {"type": "topic"}},
                "transitions": [
                    {"from": "a", "to": "b", "type": "if", "expression": "return_data >"},
                    {"from": "a", "to": "c", "type": "exception"},
                ],
            }
        )
    )
    project = validate_project(root).project
    assert project is not None
    manifest = build_manifest(project)
    assert manifest["transitions"][0]["expression_tree"] is None
    invocation = {
        "id": "i",
        "block": "a",
        "input": 1,
        "backpack": {},
        "context": Context("e").to_json(),
        "attempt": 0,
        "parent": None,
        "via": None,
    }
    outcome = {"ok": True, "output": 1, "backpack": {}, "error": None}
    assert compare_routes(node, [(manifest, invocation, outcome)]) == []
    assert "failed: syntax error" in json.dumps(python_route(manifest, invocation, outcome))


def test_route_without_expression_trees_is_a_clear_error(node, tmp_path):
    manifest = conformance_manifest(CASES[1], tmp_path / "old")
    for transition in manifest["transitions"]:
        transition.pop("expression_tree", None)
    invocation = {
        "id": "i",
        "block": "a",
        "input": 1,
        "backpack": {},
        "context": Context("e").to_json(),
        "attempt": 0,
        "parent": None,
        "via": None,
    }
    [result] = node.run(
        "route",
        [
            {
                "manifest": manifest,
                "invocation": invocation,
                "outcome": {"ok": True, "output": 1, "backpack": {}},
                "ids": 0,
            }
        ],
    )
    assert "expression_tree" in result["error"]["message"] and "older" in result["error"]["message"]


# ---- joins and resources


def test_joins_and_resources_match_python(node):
    state = JoinState(
        "k",
        "fan-in",
        "t",
        3,
        Context("e"),
        {2: ("c", {"x": 3}, "s2"), 0: ("a", {"x": 1, "y": 1}, "s0"), 1: ("b", None, "s1")},
    )
    values, backpack, sources = join_input(state)
    calls = [
        (
            "merge_backpacks",
            [[{"a": 1, "b": 1}, None, {"b": 2}, {}]],
            merge_backpacks([{"a": 1, "b": 1}, None, {"b": 2}, {}]),
        ),
        (
            "join_input",
            [{"size": 3, "slots": {str(k): list(v) for k, v in state.slots.items()}}],
            [values, backpack, sources],
        ),
    ]
    blocks = [{"path": "/hook", "method": "post"}, {}, {"input": {"n": 41}}, {"input": None}]
    values_in = [
        None,
        {"n": 1},
        "text",
        [1],
        {"body": '{"a": 1}', "headers": {"Content-Type": "application/json"}},
        {"body": "not json", "headers": {"content-type": "text/json"}},
        {"rawPath": "/x"},
        {"body": 1, "rawPath": "/y", "requestContext": {"http": {"method": "PUT"}}},
        {"statusCode": 201, "body": "created"},
        {"statusCode": None},
    ]
    for block in blocks:
        for value in values_in:
            calls.append(("api_request", [block, value], api_request(block, value)))
            calls.append(("schedule_input", [block, value], schedule_input(block, value)))
    for value in values_in:
        calls.append(("api_reply", [value], api_reply(value)))
        calls.append(("is_json", [value], is_json(value)))
    results = node.run("calls", [{"fn": fn, "args": args} for fn, args, _ in calls])
    assert [r.get("ok", r) for r in results] == [json.loads(json.dumps(expected)) for _, _, expected in calls]
