"""Opening a stage (cloud/stage.py): what a Stage gives, and one wording for every reason it cannot be opened,
the same from the command line and the workbench."""

from __future__ import annotations

import shutil

import pytest

from refinery_tui.cli import main
from refinery_tui.cloud.stage import NO_CREDENTIALS, StageError, StageTarget, one_line, open_stage
from refinery_tui.tui.deploy_target import connect, readable
from tests.cloud.cloud_helpers import without_credentials
from tests.conftest import PROJECTS


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "hello"
    shutil.copytree(PROJECTS / "hello-world", root)
    return root


def failure(project, stage, **options) -> str:
    with pytest.raises(StageError) as raised:
        open_stage(project, stage, **options)
    return str(raised.value)


def test_an_opened_stage_gives_the_project_its_names_clients_and_services(sandbox, project):
    calls = []
    stage = open_stage(project, "opened", endpoint_url=sandbox.endpoint_url, on_call=calls.append)
    assert stage.name == "opened" and stage.project.name == "hello-world"
    assert stage.placement.account == stage.aws.account and stage.placement.manifest is stage.manifest
    assert set(stage.manifest["blocks"]) == set(stage.project.blocks)
    assert [call.operation for call in calls] == ["GetCallerIdentity"]  # the account is resolved on opening
    assert stage.where() == f"AWS ({sandbox.endpoint_url} (us-east-1))"
    deployer = stage.deployer()
    assert deployer is stage.deployer() and deployer.target is stage.placement
    assert deployer.names.prefix == stage.names.prefix == "hello-world_opened"
    code = [name for name, block in stage.manifest["blocks"].items() if block["type"] == "code"]
    assert stage.log_groups() == {stage.names.log_group(name): name for name in code}
    assert stage.invoker().placement is stage.placement and stage.executions().placement is stage.placement


def test_every_reason_a_stage_cannot_be_opened_is_one_readable_error(sandbox, project, tmp_path, monkeypatch):
    missing = failure(tmp_path / "nowhere", "dev", endpoint_url=sandbox.endpoint_url)
    assert "no such file" in missing and "a refinery-tui project?" in missing

    assert "is not a valid name" in failure(project, "Not A Stage", endpoint_url=sandbox.endpoint_url)
    assert "must start with http:// or https://" in failure(project, "dev", kind="endpoint", endpoint_url="x:1")
    assert failure(project, "", kind="sandbox", endpoint_url=sandbox.endpoint_url).startswith("type a stage name")

    unreachable = failure(project, "dev", kind="sandbox", endpoint_url="http://127.0.0.1:9")
    assert unreachable.startswith("cannot reach sandbox http://127.0.0.1:9: ")
    assert unreachable.endswith("\n    hint: is the sandbox running? `refinery-tui sandbox` starts it")
    assert failure(project, "dev", endpoint_url="http://127.0.0.1:9").startswith(
        "cannot reach AWS (http://127.0.0.1:9 (us-east-1)): "
    )

    without_credentials(monkeypatch, tmp_path)
    assert failure(project, "dev") == NO_CREDENTIALS
    assert "could not be found" in failure(project, "dev", profile="no-such-profile")
    assert failure(project, "dev", profile="no-such-profile").endswith("`aws configure list-profiles` lists them")
    opened = open_stage(project, "dev", kind="sandbox", endpoint_url=sandbox.endpoint_url)  # the sandbox needs none
    assert opened.aws.account

    (project / "project.yaml").write_text((project / "project.yaml").read_text().replace("type: code", "type: nope", 1))
    invalid = failure(project, "dev", kind="sandbox", endpoint_url=sandbox.endpoint_url)
    assert f"{project}: the project has 1 error(s) to fix before deploying; first: " in invalid
    assert invalid.endswith(f"\n    hint: `refinery-tui validate {project}` lists them")


def test_the_command_line_and_the_workbench_say_the_same(sandbox, project, tmp_path, monkeypatch, capsys):
    without_credentials(monkeypatch, tmp_path)
    for options, arguments in (({}, []), ({"profile": "no-such-profile"}, ["--profile", "no-such-profile"])):
        message = failure(project, "dev", **options)
        assert main(["deploy", str(project), "--stage", "dev", "--plan", *arguments]) == 2
        assert capsys.readouterr().err == f"refinery-tui: {message}\n"
        kind = "profile" if options else "aws"
        target = StageTarget(kind, "", options.get("profile", ""), "", "dev")
        with pytest.raises(StageError) as raised:
            connect(project, target)
        assert readable(raised.value, target) == one_line(message)  # one line, the same words
