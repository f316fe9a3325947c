"""The safe `if` evaluator: what it allows, every known escape it must refuse, and bounded work on any input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refinery_tui.runtime.expressions import (
    MAX_STEPS,
    ExpressionError,
    ExpressionRuntimeError,
    ExpressionSyntaxError,
    compile_expression,
    evaluate,
)

DATA = {
    "return_data": {"ok": True, "items": [3, 1, 2], "name": "Order-7"},
    "block_input": [1, 2, 3],
    "backpack": {"user": "ada", "n": 4},
}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("return_data['ok']", True),
        ("len(return_data['items']) > 2", True),
        ("return_data['items'][0] == 3 and backpack['n'] >= 4", True),
        ("sum(block_input) / len(block_input)", 2.0),
        ("max(return_data['items']) - min(return_data['items'])", 2),
        ("sorted(return_data['items'], reverse=True)", [3, 2, 1]),
        ("any(x > 2 for x in block_input)", True),
        ("all(isnum > 0 for isnum in block_input)", True),
        ("[x * 2 for x in block_input if x != 2]", [2, 6]),
        ("{k: v for k, v in backpack.items() if k == 'n'}", {"n": 4}),
        ("return_data['name'].lower().startswith('order')", True),
        ("backpack.get('missing', 'fallback')", "fallback"),
        ("'ada' in backpack.values()", True),
        ("'x' if backpack['n'] > 10 else 'y'", "y"),
        ("round(10 / 3, 2)", 3.33),
        ("str(backpack['n']) + '!'", "4!"),
        ("int('42') + float('0.5')", 42.5),
        ("abs(-3) ** 2", 9),
        ("return_data['items'][1:]", [1, 2]),
        ("not return_data['ok'] or None is None", True),
        ("True", True),
        ("return_data == 'test'", False),
    ],
)
def test_allowed_expressions(source, expected):
    assert evaluate(source, **DATA) == expected


ESCAPES = [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "[].__class__.__mro__[-1].__subclasses__()",
    "''.__class__.__mro__[1].__subclasses__()",
    "return_data.__class__",
    "backpack.get.__self__",
    "backpack.__init__.__globals__",
    "(lambda: 1)()",
    "(lambda f: f(f))(lambda f: f(f))",
    "eval('1+1')",
    "exec('import os')",
    "compile('1', 'x', 'eval')",
    "open('/etc/passwd').read()",
    "getattr(backpack, '__class__')",
    "globals()",
    "locals()['__builtins__']",
    "vars()",
    "dir()",
    "type(backpack)",
    "breakpoint()",
    "input()",
    "__builtins__",
    "__builtins__['eval']('1')",
    "str.__dict__",
    "str.mro()",
    "str.lower('A')",
    "sorted.__self__",
    "max.__call__(1, 2)",
    "[len][0]([])",
    "sorted(block_input, key=len)",
    "max(len, sum)",
    "'{0.__class__}'.format(1)",
    "f'{().__class__}'",
    "'%s' % backpack",
    "(x := 1)",
    "[*block_input]",
    "{**backpack}",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "[x for x in [1]][0].__class__",
    "str(1).__len__()",
    "'a'.split.__self__",
    "backpack['a'].__class__",
    "import os",
    "os.system('id')",
    "[x for __class__ in [1]]",
    "[len for len in [1]]",
    "(yield 1)",
    "await x",
    "9**9**9",
    "10**10**10",
    "2**100000",
    "(-2)**99999",
    "1 << 10**9",
    "int('9' * 5000)",
    "'x' * (2**62)",
    "'a' * 10**5 * 10**5",
    "[1] * 10**9",
    "round(10**100, -10**9)",
    "[1 for a in 'x' * 1000 for b in 'x' * 1000 for c in 'x' * 1000]",
    "sum(1 for a in 'x' * 100000 for b in 'x' * 100000)",
    "[" * 100 + "1" + "]" * 100,
    "-" * 5000 + "1",
    "not " * 200 + "True",
    "1 + " * 2000 + "1",
    "len(str([[0] * 99999] * 99999))",
    "len(sum([[0] * 99999] * 99999, []))",
    "[[0] * 99999] * 99999 == [[0] * 99999] * 99999",
    "sorted([[0] * 99999] * 99999)",
    "sum([[0] * 999] * 999, [])",
    "str([[[0] * 200] * 200] * 200)",
    "[x for x in [[1] * 1000] * 1000] == [x for x in [[1] * 1000] * 1000]",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_attempts_are_refused(source):
    with pytest.raises(ExpressionError):
        evaluate(source, **DATA)


def test_escape_attempts_end_in_bounded_time():
    """All attempts in one fresh interpreter: it must finish (a hang in C code would hit the timeout and fail)."""
    script = (
        "import json, sys\n"
        "from refinery_tui.runtime.expressions import evaluate, ExpressionError\n"
        "refused = 0\n"
        "for source in json.loads(sys.stdin.read()):\n"
        "    try:\n"
        "        evaluate(source, return_data={'a': 1}, block_input=[1], backpack={})\n"
        "    except ExpressionError:\n"
        "        refused += 1\n"
        "print(refused)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(ESCAPES), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(ESCAPES)


def test_big_input_data_can_still_be_looked_at():
    data = {"data": "x" * 10_000_000, "items": list(range(50_000))}
    assert evaluate("len(return_data['data']) > 5 and return_data['data'][:2] == 'xx'", return_data=data)
    assert evaluate("return_data['items'][-1] == 49999 and 7 in return_data['items']", return_data=data)


def test_work_is_counted_not_timed():
    with pytest.raises(ExpressionRuntimeError, match=str(MAX_STEPS)):
        evaluate("[1 for a in block_input for b in block_input for c in block_input]", block_input=list(range(100)))


def test_syntax_error_offset_points_into_the_expression():
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression("return_data['a'] = 1")
    assert info.value.offset > 1
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression("len(x)")
    assert "unknown name 'x'" in str(info.value)
    assert info.value.offset == 5


def test_runtime_errors_are_expression_errors():
    for source, data in [
        ("return_data['missing']", {}),
        ("1 / 0", None),
        ("return_data[5]", [1]),
        ("return_data + 1", "a"),
        ("min([])", None),
        ("-return_data", "x"),
    ]:
        with pytest.raises(ExpressionRuntimeError):
            evaluate(source, return_data=data)


TOKENS = [
    "return_data",
    "block_input",
    "backpack",
    "len",
    "sorted",
    "sum",
    "max",
    "str",
    "int",
    "round",
    "x",
    "y",
    "__class__",
    "__import__",
    "__subclasses__",
    "__globals__",
    "os",
    "import",
    "lambda",
    "for",
    "in",
    "if",
    "else",
    "and",
    "or",
    "not",
    "is",
    "None",
    "True",
    "0",
    "1",
    "9",
    "99999",
    "2.5",
    "'a'",
    "'__class__'",
    "+",
    "-",
    "*",
    "**",
    "/",
    "//",
    "%",
    "<<",
    ">>",
    "&",
    "|",
    "^",
    "~",
    "==",
    "!=",
    "<",
    ">=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ".",
    "get",
    "keys",
    "items",
    "lower",
    "split",
    "format",
    "mro",
    "=",
    ":=",
    "*",
    "f'{1}'",
    "yield",
]


def _assert_contained(source: str) -> None:
    try:
        compiled = compile_expression(source)
    except ExpressionSyntaxError:
        return
    try:
        compiled.evaluate(**DATA)
    except ExpressionError:
        pass


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25).map(" ".join))
def test_random_token_soup_never_escapes(source):
    _assert_contained(source)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_random_text_never_escapes(source):
    _assert_contained(source)


def _arithmetic():
    leaves = st.integers(min_value=-50, max_value=50).map(str) | st.sampled_from(["return_data['n']", "backpack['m']"])

    def extend(children):
        ops = st.sampled_from(["+", "-", "*", "//", "%", "==", "<", "and", "or"])
        return (
            st.tuples(children, ops, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
            | children.map(lambda c: f"(-{c})")
            | children.map(lambda c: f"abs({c})")
        )

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_arithmetic(), st.integers(-20, 20), st.integers(-20, 20))
def test_arithmetic_matches_python(source, n, m):
    env = {"return_data": {"n": n}, "backpack": {"m": m}}
    try:
        expected = eval(source, {"__builtins__": {"abs": abs}}, env)  # noqa: S307 - the reference, on our own strings
    except ZeroDivisionError:
        with pytest.raises(ExpressionRuntimeError):
            evaluate(source, **env)
        return
    assert evaluate(source, **env) == expected


# ---- the two costly expressions, through the real command line

MEASURED_RUN = """
import json, resource, subprocess, sys, time

def cap():  # a regression fails inside this cap instead of taking the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

started = time.monotonic()
child = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120, preexec_fn=cap)
print(json.dumps({
    "seconds": time.monotonic() - started,
    "max_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    "returncode": child.returncode,
    "output": child.stdout + child.stderr,
}))
"""


def _if_project(root, expression: str) -> None:
    (root / "blocks").mkdir(parents=True)
    for block in ("check", "done"):
        (root / "blocks" / f"{block}.py").write_text("def main(block_input, backpack):\n    return 1\n")
    (root / "project.yaml").write_text(
        "name: costly\n"
        "blocks:\n  check: {type: code, language: python}\n  done: {type: code, language: python}\n"
        f"transitions:\n  - {{from: check, to: done, type: if, expression: {json.dumps(expression)}}}\n"
    )


@pytest.mark.parametrize(
    "expression", [r"backpack[('\U000e0000' * 100000,) * 2500]", r"len(str(['\U000e0000' * 100000] * 2500)) > 0"]
)
def test_a_costly_if_fails_clearly_in_seconds_through_run(expression, tmp_path):
    """Shared references used to pass the limits, then a repr of gigabytes was built (80 s and 17 GB)."""
    project = tmp_path / "costly"
    _if_project(project, expression)
    command = [sys.executable, "-m", "refinery_tui", "run", str(project), "--input", "{}"]
    measured = subprocess.run(
        [sys.executable, "-c", MEASURED_RUN, *command], capture_output=True, text=True, timeout=180
    )
    assert measured.returncode == 0, measured.stderr
    result = json.loads(measured.stdout)
    assert result["returncode"] == 1, result["output"]
    assert "ExpressionError" in result["output"] and "expression too costly" in result["output"], result["output"]
    assert "internal error" not in result["output"]
    assert result["seconds"] < 5, result
    assert result["max_rss"] < 700 * 2**20, result


# ---- the cost model and the bounded repr


def test_shared_references_weigh_their_true_size():
    from refinery_tui.runtime.expression_cost import MAX_CHARACTERS, Weigher

    text = "\U000e0000" * 100_000
    elements, characters = Weigher().weight([text] * 2500)
    assert elements == 2501 and characters > MAX_CHARACTERS  # 250,000,000 characters, counted without a copy
    # the dict, "a", the list, its two texts, "b", the tuple and its three values: each counted once
    assert Weigher().weight({"a": [text, text], "b": (1, 2.5, None)}) == (1 + 1 + 1 + 2 + 1 + 1 + 3, 200_002)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=4), children, max_size=4)
            | st.tuples(children)
            | st.tuples(children, children)
        ),
        max_leaves=20,
    )
)
def test_str_is_python_repr_exactly(value):
    assert evaluate("str(return_data)", return_data=value) == str(value)


def test_messages_quote_huge_values_briefly():
    for source in ["backpack['\U000e0000' * 100000]", "[1, 2].index('x' * 100000)", "float('x' * 100000)"]:
        with pytest.raises(ExpressionRuntimeError) as info:
            evaluate(source, backpack={})
        assert len(str(info.value)) < 2_100 and "..." in str(info.value), str(info.value)[:300]
