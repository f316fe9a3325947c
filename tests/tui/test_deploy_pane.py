"""The Deploy pane driven with Pilot against a real sandbox: plan, apply, re-plan, a code change, teardown, the AWS
command log, retry after a failed step, and the errors a user can run into (each a readable line, never a crash)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from refinery_tui.tui.app import WorkbenchApp
from refinery_tui.tui.command_log import MAX_CALLS, CallQueue
from refinery_tui.tui.messages import DeployFailed, DeployFinished, DeployPlanned
from refinery_tui.tui.modals import Confirm, TypeToConfirm
from refinery_tui.tui.palette import workbench_commands
from tests.cloud.cloud_helpers import running_sandbox, without_credentials
from tests.conftest import PROJECTS

SIZE = (80, 24)  # everything here works at the smallest size the workbench supports


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("sandbox-state")) as running:
        yield running


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "all-transitions"
    shutil.copytree(PROJECTS / "all-transitions", root, ignore=shutil.ignore_patterns(".refinery"))
    return root


@pytest.fixture
def endpoint(sandbox, monkeypatch):
    """The sandbox's URL in AWS_ENDPOINT_URL, as `refinery-tui sandbox` suggests; the pane prefills it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    return sandbox.endpoint_url


def functions_of(endpoint_url: str, stage: str) -> list[str]:
    client = boto3.client("lambda", endpoint_url=endpoint_url, region_name="us-east-1")
    names = [f["FunctionName"] for page in client.get_paginator("list_functions").paginate() for f in page["Functions"]]
    return sorted(name for name in names if name.startswith(f"all-transitions_{stage}_"))


def of_type(posted, kind):
    return [message for message in posted if isinstance(message, kind)]


async def settle(pilot) -> None:
    """Until the pane is idle: a worker's message may start another worker (plan, then apply), so wait again."""
    app = pilot.app
    for _ in range(20):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not app.deploy_pane.busy and not any(worker.is_running for worker in app.workers):
            return


async def set_field(pilot, name: str, value: str) -> None:
    pilot.app.deploy_pane.query_one(f"#deploy-{name}").value = value
    await pilot.pause()


def actions(pane) -> dict[str, str]:
    """row key → the action shown in the table's first column (its word, after the symbol)."""
    table = pane.table
    return {key.value: str(table.get_row(key.value)[0]).split()[-1] for key in table.rows}


async def test_plan_apply_replan_change_teardown(sandbox, endpoint, project):
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.deploy_pane
        await pilot.press("5")
        assert app.query_one("#bottom").active == "tab-deploy" and app.focused is pane.table
        assert pane.current_target().endpoint == endpoint and pane.current_target().stage == "dev"

        await pilot.press("p")
        await settle(pilot)
        plan = of_type(posted, DeployPlanned)[-1].plan
        assert pane.table.row_count == 32 == len(plan.changes)
        assert set(actions(pane).values()) == {"create"}
        assert "32 to create, 0 to update, 0 to delete, 0 unchanged" in pane.status_text()
        assert json.loads((project / ".refinery" / "deploy-target.json").read_text())["stage"] == "dev"

        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, Confirm) and "+ 32 to create" in str(app.screen.question)
        await pilot.press("enter")
        await settle(pilot)
        finished = of_type(posted, DeployFinished)[-1]
        assert finished.result.ok and len(finished.result.done) == 32
        assert set(pane.table.states.values()) == {"done"} and len(pane.table.states) == 32
        assert all("done" in str(pane.table.get_row(key.value)[1]) for key in pane.table.rows)
        assert pane.progress.percentage == 1.0
        assert "deployed: 32 change(s)" in pane.status_text()
        assert len(functions_of(endpoint, "dev")) == 10

        await pilot.press("p")
        await settle(pilot)
        assert set(actions(pane).values()) == {"unchanged"} and pane.table.row_count == 32
        assert "0 to create, 0 to update, 0 to delete, 32 unchanged" in pane.status_text()

        path = project / "blocks" / "total.py"
        path.write_text(path.read_text() + "\n# a change of code\n")
        await pilot.press("p")
        await settle(pilot)
        updates = [key for key, action in actions(pane).items() if action == "update"]
        assert updates == ["function:all-transitions_dev_total"]
        row = pane.table.get_row(updates[0])
        assert "code" in str(row[5]) and row[3] == "total"
        assert "0 to create, 1 to update, 0 to delete, 31 unchanged" in pane.status_text()
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        updated = of_type(posted, DeployFinished)[-1]
        assert updated.result.ok and [change.name for change in updated.result.done] == ["all-transitions_dev_total"]

        await pilot.press("z")  # zoom: the pane takes the screen, the way to read it all at 80x24
        assert app.screen.maximized is pane
        await pilot.press("escape")
        await pilot.press("@")
        await pilot.pause()
        log = pane.command_log
        assert log.display and log.line_count > 32
        lines = [log.lines[index] for index in range(log.line_count)]
        assert any(
            line.startswith("ok  lambda CreateFunction") and "all-transitions_dev_start" in line for line in lines
        )
        assert any(line.startswith("ok  lambda UpdateFunctionCode") for line in lines)
        assert "2,000" in str(log.border_title)

        await pilot.press("T")
        await settle(pilot)
        assert isinstance(app.screen, TypeToConfirm)
        await pilot.press(*"prod", "enter")  # the wrong name deletes nothing
        await pilot.pause()
        assert isinstance(app.screen, TypeToConfirm) and len(functions_of(endpoint, "dev")) == 10
        app.screen.query_one("Input").value = ""
        await pilot.press(*"dev", "enter")
        await settle(pilot)
        teardown = of_type(posted, DeployFinished)[-1]
        assert teardown.teardown and teardown.result.ok and teardown.left == []
        assert "torn down: 32 resources deleted" in pane.status_text()
        assert functions_of(endpoint, "dev") == []
        assert not of_type(posted, DeployFailed)


async def test_a_failed_step_shows_in_its_row_and_r_retries(sandbox, endpoint, project):
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.deploy_pane
        await pilot.press("5")
        await set_field(pilot, "stage", "retry")
        await pilot.press("p")
        await settle(pilot)

        def refuse(service, operation, params):
            if operation == "CreateFunction" and params.get("FunctionName", "").endswith("_total"):
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "not allowed to create this one"}}, operation
                )

        pane.deployer.aws.fault = refuse
        await pilot.press("a", "enter")
        await settle(pilot)
        failed = of_type(posted, DeployFinished)[-1]
        assert not failed.result.ok
        key = "function:all-transitions_retry_total"
        assert pane.table.states[key] == "failed"
        reason = str(pane.table.get_row(key)[5])
        assert reason.startswith("step '") and "AccessDeniedException: not allowed to create this one" in reason
        assert "deploy failed: 1 step(s) failed" in pane.status_text() and "r retries" in pane.status_text()
        assert pane.table.highlighted_key() == key  # the cursor goes to the failure; the line below shows it whole
        assert "not allowed to create this one" in str(pane.query_one("#deploy-detail").render())

        await pilot.press("r")  # plans again (a new connection: no fault) and applies: the deployer converges
        await settle(pilot)
        retried = of_type(posted, DeployFinished)[-1]
        assert retried is not failed and retried.result.ok
        assert 1 <= len(retried.result.done) < 32
        assert len(functions_of(sandbox.endpoint_url, "retry")) == 10
        await pilot.press("r")
        await pilot.pause()
        assert any("nothing to retry" in str(n.message) for n in app._notifications)


async def test_an_unreachable_endpoint_is_a_readable_error(sandbox, project, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.deploy_pane
        await pilot.press("5", "p")
        await settle(pilot)
        error = of_type(posted, DeployFailed)[-1]
        assert error.operation == "plan" and "cannot reach sandbox http://127.0.0.1:9" in error.error
        assert "refinery-tui sandbox" in error.error and "Traceback" not in pane.status_text()
        assert pane.status_text().startswith("✗ cannot plan: cannot reach")
        assert app.is_running and not pane.busy
        await set_field(pilot, "endpoint", sandbox.endpoint_url)  # the app keeps working: fix it, plan again
        pane.table.focus()
        await pilot.press("p")
        await settle(pilot)
        assert of_type(posted, DeployPlanned) and pane.table.row_count == 32


async def test_the_sandbox_target_needs_no_credentials(sandbox, project, monkeypatch, tmp_path):
    without_credentials(monkeypatch, tmp_path)
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.deploy_pane
        await pilot.press("5")
        assert pane.current_target().endpoint == "http://127.0.0.1:4566"  # the default, with no AWS_ENDPOINT_URL
        await set_field(pilot, "endpoint", sandbox.endpoint_url)
        await set_field(pilot, "stage", "nocreds")
        pane.query_one("#deploy-stage").focus()
        await pilot.press("enter")  # Enter in a target field plans
        await settle(pilot)
        assert not of_type(posted, DeployFailed) and pane.table.row_count == 32
        assert app.focused is pane.table


async def test_bad_targets_and_an_invalid_project_are_readable_errors(project, monkeypatch, tmp_path):
    without_credentials(monkeypatch, tmp_path)
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.deploy_pane
        await pilot.press("5")
        pane.query_one("#deploy-kind").value = "profile"
        await pilot.pause()
        pane.table.focus()
        await pilot.press("p")
        await settle(pilot)
        assert "no AWS credentials found" in of_type(posted, DeployFailed)[-1].error
        assert "sandbox" in pane.status_text()

        await set_field(pilot, "profile", "no-such-profile")
        assert pane.query_one("#deploy-profile").display and not pane.query_one("#deploy-endpoint").display
        pane.table.focus()
        await pilot.press("p")
        await settle(pilot)
        assert "no-such-profile" in of_type(posted, DeployFailed)[-1].error
        assert "could not be found" in pane.status_text() and "list-profiles" in pane.status_text()

        pane.query_one("#deploy-kind").value = "endpoint"
        await set_field(pilot, "endpoint", "localhost:4566")
        await pilot.press("p")
        await settle(pilot)
        assert "must start with http:// or https://" in of_type(posted, DeployFailed)[-1].error

        await set_field(pilot, "endpoint", "http://127.0.0.1:9")
        await set_field(pilot, "stage", "Not A Stage")
        await pilot.press("p")
        await settle(pilot)
        assert "is not a valid name" in of_type(posted, DeployFailed)[-1].error

        (project / "project.yaml").write_text(
            (project / "project.yaml").read_text().replace("type: merge}", "type: merj}", 1)
        )
        await set_field(pilot, "stage", "qa")
        await pilot.press("a")  # with no plan, `a` plans first: the project is checked before any AWS call
        await settle(pilot)
        error = of_type(posted, DeployFailed)[-1].error
        assert "error(s) to fix before deploying" in error and "merj" in error
        assert not isinstance(app.screen, Confirm) and app.is_running
    saved = json.loads((project / ".refinery" / "deploy-target.json").read_text())
    assert saved == {
        "kind": "endpoint",
        "endpoint": "http://127.0.0.1:9",
        "profile": "no-such-profile",
        "region": "",
        "stage": "qa",
    }
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        target = app.deploy_pane.current_target()
        assert (target.kind, target.endpoint, target.stage) == ("endpoint", "http://127.0.0.1:9", "qa")
        assert not app.deploy_pane.query_one("#deploy-profile").display


async def test_help_keys_palette_and_remapping(sandbox, endpoint, project, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "keymap.toml").write_text('[keymap]\n"deploy.plan" = "f9"\n')
    monkeypatch.setenv("REFINERY_TUI_CONFIG_DIR", str(config))
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        await pilot.press("5", "f1")
        await pilot.pause()
        assert "## Deploy" in app.screen.markdown and "type the stage name" in app.screen.markdown
        await pilot.press("escape")
        await pilot.press("5", "question_mark")
        await pilot.pause()
        for binding_id in ("deploy.plan", "deploy.apply", "deploy.retry", "deploy.teardown", "deploy.log"):
            assert binding_id in app.screen.markdown
        await pilot.press("escape")
        titles = [command.title for command in workbench_commands(app, app.focused)]
        assert {"Deploy: Plan", "Deploy: Apply", "Deploy: Tear down", "Deploy: AWS command log"} <= set(titles)
        await pilot.press("5", "f9")
        await settle(pilot)
        assert of_type(posted, DeployPlanned)
        assert not app.run_pane.table.row_count  # the pane's keys win over the app's (`r` run, `p` pause...)


async def test_the_command_log_keeps_the_last_2000_calls(project):
    from refinery_tui.cloud.aws import Call

    calls = [Call("lambda", "GetFunction", True, 1.0, target=f"fn-{index}") for index in range(MAX_CALLS + 100)]
    queue = CallQueue(lambda: None)
    for call in calls:
        queue.add(call)
    assert len(queue.take()) == MAX_CALLS and queue.take() == []
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        log = app.deploy_pane.command_log
        log.add_calls(calls)
        log.add_calls([Call("s3", "CreateBucket", False, 3.0, "BucketAlreadyExists", "my-bucket")])
        await pilot.pause()
        assert log.line_count == MAX_CALLS
        assert log.lines[-1] == "ERR s3 CreateBucket 3 ms BucketAlreadyExists my-bucket"
        assert "2,101 calls" in str(log.border_subtitle)


def test_the_target_module_imports_no_textual():
    code = "import sys, refinery_tui.tui.deploy_target\nprint('textual' in sys.modules, 'boto3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr
