"""Hostile `if` expressions against both evaluators, each twin in a real process of its own.

tests/fixtures/hostile_expressions.json is the shared list. Each twin evaluates every expression in one process
(tests/cloud/hostile_expressions_driver.py for Python, node_engine_driver.js's "measured" mode for Node) and
reports, per expression, its CPU and wall-clock time and the process's peak RSS. Every expression must be
answered (an error or a value) in under a second of CPU time (the machine's other load cannot inflate it; the
wall clock gets a guard three times as wide), the peak must stay within ~100 MB of the process's own size before
the first expression, and the twins must give the same answer.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from refinery_tui.runtime.expressions import expression_tree

HERE = Path(__file__).parent
FIXTURE = HERE.parent / "fixtures" / "hostile_expressions.json"
PYTHON_DRIVER = HERE / "hostile_expressions_driver.py"
NODE_DRIVER = HERE / "node_engine_driver.js"
NODE = shutil.which("node")

MAX_CPU_SECONDS_EACH = 1.0
MAX_WALL_SECONDS_EACH = 3.0
MAX_GROWTH = 100 * 2**20
SAFETY_CAP = 2 * 2**30  # a regression dies inside this instead of taking the shared machine's memory
RUN_TIMEOUT_S = 600  # a guard against a hang, far above what the whole list takes


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (SAFETY_CAP, SAFETY_CAP))


def _python_run() -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(PYTHON_DRIVER), str(FIXTURE)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=RUN_TIMEOUT_S,
        preexec_fn=_cap_address_space,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def _node_run() -> dict[str, Any]:
    fixture = _fixture()
    batch = {
        "mode": "measured",
        "python_minor": sys.version_info.minor,
        "data": json.dumps(fixture["data"]),
        "cases": [{"tree": expression_tree(source)} for source in fixture["expressions"]],
    }
    completed = subprocess.run(
        [NODE, "--expose-gc", f"--max-old-space-size={SAFETY_CAP // 2**20}", str(NODE_DRIVER)],
        input=json.dumps(batch) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=RUN_TIMEOUT_S,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def _over_bounds(run: dict[str, Any]) -> list[str]:
    found = []
    for source, result in zip(_fixture()["expressions"], run["results"]):
        growth = result["peak_rss"] - run["baseline_rss"]
        slow = result["cpu_seconds"] >= MAX_CPU_SECONDS_EACH or result["seconds"] >= MAX_WALL_SECONDS_EACH
        if slow or growth >= MAX_GROWTH:
            found.append(
                f"{source!r}: {result['cpu_seconds']:.2f} s of CPU, {result['seconds']:.2f} s, "
                f"peak {growth / 2**20:.0f} MB above the start"
            )
    return found


def _answer(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key in ("ok", "error")}


@pytest.fixture(scope="module")
def python_run() -> dict[str, Any]:
    return _python_run()


def test_the_list_is_hostile_and_compiles():
    expressions = _fixture()["expressions"]
    assert len(expressions) >= 100 and len(set(expressions)) == len(expressions)
    for source in expressions:
        expression_tree(source)  # the Node twin only ever gets expressions that compile


def test_python_answers_each_hostile_expression_within_bounds(python_run):
    assert len(python_run["results"]) == len(_fixture()["expressions"])
    assert _over_bounds(python_run) == []


def test_the_issue_expressions_are_too_costly(python_run):
    by_source = dict(zip(_fixture()["expressions"], python_run["results"]))
    for source in [r"backpack[('\U000e0000' * 100000,) * 2500]", r"len(str(['\U000e0000' * 100000] * 2500)) > 0"]:
        assert by_source[source]["error"]["message"].startswith("expression too costly: "), by_source[source]
    assert by_source["(-1) ** 0.5"]["error"]["message"].startswith("ValueError: a negative number raised to a")


def test_node_answers_each_hostile_expression_within_bounds_and_as_python(python_run):
    if NODE is None:
        pytest.skip("node is not on PATH, so the Node twin cannot be run")
    node_run = _node_run()
    assert _over_bounds(node_run) == []
    disagreements = [
        (source, _answer(from_python), _answer(from_node))
        for source, from_python, from_node in zip(_fixture()["expressions"], python_run["results"], node_run["results"])
        if _answer(from_python) != _answer(from_node)
    ]
    assert disagreements == []
