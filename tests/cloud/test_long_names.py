"""A project and stage whose names together are 60 characters: every AWS name is cut with a hash, yet keeps the
prefix discovery lists by, so the stage deploys, re-plans unchanged, and a second deploy really deploys new code.
The real command line in a subprocess against a real sandbox over HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from refinery_tui.cloud.naming import LIMITS, Names
from tests.cloud.cloud_helpers import sandbox_cli

PROJECT, STAGE, REGION = "p" * 39 + "x", "s" * 19 + "y", "us-east-1"
PROJECT_YAML = f"""name: {PROJECT}
blocks:
  start: {{type: code, language: python}}
  finish: {{type: code, language: python}}
transitions:
  - {{from: start, to: finish}}
"""
START = "def main(block_input, backpack):\n    return {'n': block_input['n'] + 1}\n"
FINISH = "def main(block_input, backpack):\n    return {'version': VERSION, 'n': block_input['n']}\n\n\nVERSION = @V@\n"


def cli(sandbox, *args: str) -> subprocess.CompletedProcess:
    result = sandbox_cli(sandbox, *args, region=REGION)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def plan(sandbox, root: Path) -> dict[str, int]:
    lines = cli(sandbox, "deploy", str(root), "--stage", STAGE, "--plan", "--json").stdout.splitlines()
    return next(event for event in map(json.loads, lines) if event["event"] == "plan")


def finished_with(sandbox, root: Path) -> dict:
    given = json.dumps({"n": 1})
    result = cli(
        sandbox, "invoke", str(root), "--stage", STAGE, "--block", "start", "--input", given, "--wait", "--json"
    )
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["event"] == "execution_finished" and last["status"] == "succeeded", last
    [output] = last["outputs"]
    return output["output"]


def test_a_60_character_project_and_stage_deploys_replans_unchanged_and_deploys_new_code(sandbox, tmp_path):
    assert len(PROJECT) + len(STAGE) == 60
    names = Names(PROJECT, STAGE, REGION)
    for kind, name in (("function", names.function("finish")), ("role", names.role("finish"))):
        assert len(name) == LIMITS[kind] and name.startswith(names.list_prefix(kind)), (kind, name)
    root = tmp_path / "long"
    (root / "blocks").mkdir(parents=True)
    (root / "project.yaml").write_text(PROJECT_YAML)
    (root / "blocks" / "start.py").write_text(START)
    (root / "blocks" / "finish.py").write_text(FINISH.replace("@V@", "1"))

    cli(sandbox, "deploy", str(root), "--stage", STAGE, "--yes")
    counts = plan(sandbox, root)
    assert (counts["create"], counts["update"], counts["delete"], counts["unchanged"]) == (0, 0, 0, 8), counts
    assert finished_with(sandbox, root) == {"version": 1, "n": 2}

    (root / "blocks" / "finish.py").write_text(FINISH.replace("@V@", "2"))
    counts = plan(sandbox, root)
    assert (counts["create"], counts["update"], counts["delete"]) == (0, 1, 0), counts
    deployed = cli(sandbox, "deploy", str(root), "--stage", STAGE, "--yes").stdout
    assert f"update function:{names.function('finish')}" in deployed, deployed
    assert finished_with(sandbox, root) == {"version": 2, "n": 2}
    counts = plan(sandbox, root)
    assert (counts["create"], counts["update"], counts["delete"]) == (0, 0, 0), counts

    cli(sandbox, "teardown", str(root), "--stage", STAGE, "--yes")
    counts = plan(sandbox, root)
    assert (counts["create"], counts["unchanged"]) == (8, 0), counts
