"""`refinery-tui deploy` and `teardown` from the command line, against the sandbox."""

from __future__ import annotations

import json
import shutil

from refinery_tui.cli import main
from tests.conftest import PROJECTS


def test_plan_deploy_redeploy_and_teardown(sandbox, tmp_path, capsys):
    root = tmp_path / "hello"
    shutil.copytree(PROJECTS / "hello-world", root)
    target = ["--stage", "cli", "--endpoint-url", sandbox.endpoint_url]
    assert main(["deploy", str(root), *target, "--plan"]) == 0
    out = capsys.readouterr().out
    assert "+ create    function     hello-world_cli_greet" in out
    assert "plan: 11 to create, 0 to update, 0 to delete, 0 unchanged" in out

    assert main(["deploy", str(root), *target, "--yes", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["event"] == "deploy_finished" and events[-1]["ok"] and events[-1]["changed"] == 11
    assert {e["id"] for e in events if e["event"] == "resource_done"} >= {"function:hello-world_cli_greet"}

    assert main(["deploy", str(root), *target, "--yes"]) == 0
    assert "nothing to change." in capsys.readouterr().out

    assert main(["teardown", str(root), *target, "--yes"]) == 0
    assert "torn down: 11 resources deleted." in capsys.readouterr().out
    assert main(["teardown", str(root), *target, "--yes"]) == 0
    assert "nothing of hello-world stage cli is deployed" in capsys.readouterr().out


def test_deploy_refuses_an_invalid_project_and_asks_for_yes_without_a_terminal(sandbox, tmp_path, capsys):
    root = tmp_path / "broken"
    shutil.copytree(PROJECTS / "hello-world", root)
    (root / "project.yaml").write_text((root / "project.yaml").read_text().replace("type: code", "type: nope", 1))
    assert main(["deploy", str(root), "--stage", "x", "--endpoint-url", sandbox.endpoint_url]) == 2
    err = capsys.readouterr().err
    assert "error(s) to fix before deploying" in err and "project.yaml:" in err and "Traceback" not in err
    good = tmp_path / "good"
    shutil.copytree(PROJECTS / "hello-world", good)
    assert main(["deploy", str(good), "--stage", "x", "--endpoint-url", sandbox.endpoint_url]) == 2
    assert "add --yes" in capsys.readouterr().err


def test_an_unreachable_endpoint_is_a_clear_error(tmp_path, capsys):
    root = tmp_path / "hello"
    shutil.copytree(PROJECTS / "hello-world", root)
    assert main(["deploy", str(root), "--stage", "x", "--endpoint-url", "http://127.0.0.1:9", "--plan"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach AWS" in err and "Traceback" not in err
