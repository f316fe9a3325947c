"""The conformance suite (cases.yaml) against the deployed runtime: each case deployed to the sandbox and run."""

from __future__ import annotations

import shutil

import pytest

from tests.cloud.cloud_helpers import deploy, run_deployed
from tests.conformance.test_conformance import CASES, build_project

MODES = ["python", "node"]


def _entry(case: dict) -> str:
    targets = {t["to"] for t in case["transitions"]}
    return next((name for name in case["blocks"] if name not in targets), next(iter(case["blocks"])))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_deployed_conformance(case, mode, sandbox, tmp_path, monkeypatch):
    if mode == "node" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    root = build_project(case, mode, tmp_path / case["name"])
    monkeypatch.chdir(tmp_path)
    deployer = deploy(sandbox, root, "c" + mode[0])
    result = run_deployed(sandbox, deployer, _entry(case), case.get("input"))
    assert result.status == case.get("status", "succeeded"), result.errors
    assert result.outputs == case["outputs"]
    for fragment in case.get("errors", []):
        assert any(fragment in error for error in result.errors), (fragment, result.errors)
    if result.status == "succeeded":
        assert result.errors == []
