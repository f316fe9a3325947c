"""The conformance suite (cases.yaml), run on the local executor with Python blocks, Node blocks and a mix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from refinery_tui.local.session import LocalSession
from refinery_tui.model import validate_project
from tests.conformance.behaviours import render

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text())
MODES = ["python", "node", "mixed"]
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def build_project(case: dict, mode: str, root: Path) -> Path:
    blocks = {}
    (root / "blocks").mkdir(parents=True)
    for index, (name, spec) in enumerate(case["blocks"].items()):
        if "type" in spec:
            blocks[name] = dict(spec)
            continue
        language = mode if mode != "mixed" else ("python" if index % 2 == 0 else "node")
        extension = ".py" if language == "python" else ".js"
        file = f"blocks/{name.replace('-', '_')}{extension}"
        (root / file).write_text(render(language, spec))
        blocks[name] = {"type": "code", "language": language, "file": file, "timeout": 20}
        if "retries" in spec:
            blocks[name]["retries"] = spec["retries"]
    data = {"name": "conformance", "blocks": blocks, "transitions": case["transitions"]}
    for key in ("on_exception", "max_hops"):
        if key in case:
            data[key] = case[key]
    (root / "project.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return root


def run_case(case: dict, mode: str, root: Path):
    build_project(case, mode, root)
    assert validate_project(root).ok, [d.format() for d in validate_project(root).errors]
    with LocalSession(root) as session:
        return session.run(case.get("input"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_conformance(case, mode, tmp_path):
    if mode != "python" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    result = run_case(case, mode, tmp_path / case["name"])
    assert result.status == case.get("status", "succeeded"), result.errors
    assert result.outputs == case["outputs"]
    for fragment in case.get("errors", []):
        assert any(fragment in error for error in result.errors), (fragment, result.errors)
    if result.status == "succeeded":
        assert result.errors == []


def test_cases_cover_every_transition_type():
    used = {t.get("type", "then") for case in CASES for t in case["transitions"]}
    assert used == {"then", "if", "else", "exception", "fan-out", "fan-in", "merge"}
