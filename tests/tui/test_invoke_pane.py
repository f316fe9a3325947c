"""The Invoke pane driven with Pilot against a real sandbox: invoke an entry block, follow the execution to its end
(its rows, the tree's states, the Run pane), remembered inputs, bad JSON, sync and async, an API route, and the
errors a user can run into (each a readable line, never a crash)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading

import pytest

from refinery_tui import saved_inputs
from refinery_tui.cloud.stage import StageTarget
from refinery_tui.local.session import LocalSession
from refinery_tui.tui.app import WorkbenchApp
from refinery_tui.tui.deploy_target import load_target
from refinery_tui.tui.invoke_job import InvokeJob, InvokeRequest
from refinery_tui.tui.invoke_pane import InvokePane
from refinery_tui.tui.messages import CloudExecutionFinished, CloudExecutionStarted, CloudExecutionUpdated, InvokeFailed
from refinery_tui.tui.palette import workbench_commands
from tests.cloud.cloud_helpers import deploy, run_deployed, running_sandbox
from tests.conftest import PROJECTS

SIZE = (80, 24)  # everything here works at the smallest size the workbench supports
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("sandbox-state")) as running:
        yield running


def copy_of(folder, name: str):
    root = folder / name
    shutil.copytree(PROJECTS / name, root, ignore=shutil.ignore_patterns(".refinery", "__pycache__"))
    return root


def point_at(root, sandbox, stage: str = "dev") -> None:
    """The target file the Deploy pane writes when it plans: the sandbox, and the stage."""
    (root / ".refinery").mkdir(exist_ok=True)
    (root / ".refinery" / "deploy-target.json").write_text(
        json.dumps({"kind": "sandbox", "endpoint": sandbox.endpoint_url, "profile": "", "region": "", "stage": stage})
    )


def target_of(sandbox, stage: str = "dev") -> StageTarget:
    return StageTarget("sandbox", sandbox.endpoint_url, "", "", stage)


@pytest.fixture(scope="module")
def hello(sandbox, tmp_path_factory):
    root = copy_of(tmp_path_factory.mktemp("hello"), "hello-world")
    greet = root / "blocks" / "greet.py"
    greet.write_text(greet.read_text().replace("    backpack[", "    print('greeting', name)\n    backpack[", 1))
    deployer = deploy(sandbox, root, "dev")
    point_at(root, sandbox)
    return root, deployer


def of_type(posted, kind):
    return [message for message in posted if isinstance(message, kind)]


async def settle(pilot) -> None:
    """Until the invoke (and the following of its execution) is over: wait for the workers, then for messages."""
    app = pilot.app
    pane = app.query_one(InvokePane)
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not pane.starting and not pane.following and not any(worker.is_running for worker in app.workers):
            return
    raise AssertionError("the Invoke pane did not settle")


def rows(pane) -> list[tuple[str, str, str, str]]:
    table = pane.table
    return [tuple(str(cell) for cell in table.get_row(key.value)) for key in table.rows]


async def test_invoke_follows_the_execution_to_its_end(sandbox, hello):
    root, deployer = hello
    value = {"name": "Grace"}
    deployed = run_deployed(sandbox, deployer, "greet", value)
    with LocalSession(root) as session:
        local = session.run(value)
    assert deployed.outputs == local.outputs and deployed.status == "succeeded"

    app = WorkbenchApp(root, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.query_one(InvokePane)
        await pilot.press("6")
        await settle(pilot)
        assert app.query_one("#bottom").active == "tab-invoke" and app.focused is pane
        assert pane.block == "greet" and pane.how == "invoke" and not pane.sync
        assert "stage dev" in str(pane.query_one("#invoke-target").render())
        pane.input_box.load_text(json.dumps(value))
        await pilot.press("r")
        await settle(pilot)

        started = of_type(posted, CloudExecutionStarted)[-1].started
        execution_id = started.execution_id
        assert execution_id and started.block == "greet" and started.how == "invoke"
        assert posted.index(of_type(posted, CloudExecutionStarted)[-1]) < posted.index(
            of_type(posted, CloudExecutionUpdated)[0]
        )  # the id shows before any invocation
        finished = of_type(posted, CloudExecutionFinished)[-1]
        assert finished.execution_id == execution_id and finished.error is None
        assert finished.execution.status == "succeeded"
        assert finished.execution.outputs == deployed.outputs == local.outputs
        assert pane.status_text().startswith(f"✓ succeeded · execution {execution_id} · 3 invocations")
        assert rows(pane) == [
            ("greet", "✓ succeeded", rows(pane)[0][2], '"Hello, Grace"'),
            ("shout", "✓ succeeded", rows(pane)[1][2], '"HELLO, GRACE!"'),
            ("sign", "✓ succeeded", rows(pane)[2][2], '{"message": "HELLO, GRACE!", "signed_for": "Grace"}'),
        ]
        result = str(pane.query_one("#invoke-result").render())
        assert 'output sign: {"message": "HELLO, GRACE!", "signed_for": "Grace"}' in result

        # the tree and the Run pane show the cloud execution like a local run
        assert app.block_tree.states == {"greet": "succeeded", "shout": "succeeded", "sign": "succeeded"}
        run_pane = app.run_pane
        assert run_pane.cloud_run.execution_id == execution_id and run_pane.table.row_count == 3
        run_rows = [str(run_pane.table.get_row(key.value)[1]) for key in run_pane.table.rows]
        assert run_rows == ["succeeded"] * 3
        assert str(run_pane.query_one("#run-status").render()).startswith("☁ ✓ succeeded · 3 invocations in ")
        assert f"stage dev · execution {execution_id}" in str(run_pane.query_one("#run-status").render())

        await pilot.press("o")
        await pilot.pause()
        assert app.query_one("#bottom").active == "tab-run" and app.focused is run_pane.table
        detail = str(run_pane.query_one("#run-detail").render())
        assert detail.startswith("greet  succeeded") and "☁ deployed" in detail
        assert '"name": "Grace"' in detail and "Hello, Grace" in detail and "greeting Grace" in detail
        await pilot.press("j")
        await pilot.pause()
        assert str(run_pane.query_one("#run-detail").render()).startswith("shout  succeeded")

    assert saved_inputs.recall(root, "greet") == value
    app = WorkbenchApp(root, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        pane = app.query_one(InvokePane)
        assert json.loads(pane.input_box.text) == value  # reopened: the input given last to greet
        assert app.run_pane.input_value() == value  # the Run pane shares it: greet is its entry block


async def test_recent_executions_list_status_and_duration_and_one_is_followed_again(sandbox, hello):
    from textual.widgets import OptionList

    from refinery_tui.tui.invoke_pane import PickExecution

    root, deployer = hello
    earlier = run_deployed(sandbox, deployer, "greet", {"name": "Edsger"})
    app = WorkbenchApp(root, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.query_one(InvokePane)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, PickExecution)
        options = app.screen.query_one(OptionList)
        first = str(options.get_option_at_index(0).prompt)
        assert first.startswith(f"✓ {earlier.execution_id}  succeeded") and first.endswith(" ms")
        await pilot.press("enter")
        await settle(pilot)
        finished = of_type(posted, CloudExecutionFinished)[-1]
        assert finished.execution_id == earlier.execution_id and finished.execution.status == "succeeded"
        assert finished.execution.outputs == earlier.outputs
        assert [row[0] for row in rows(pane)] == ["greet", "shout", "sign"]
        assert app.block_tree.states == {"greet": "succeeded", "shout": "succeeded", "sign": "succeeded"}


async def test_bad_json_invokes_nothing_and_sync_waits_for_the_entry(sandbox, hello):
    root, _ = hello
    app = WorkbenchApp(root, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.query_one(InvokePane)
        await pilot.press("6")
        await settle(pilot)
        pane.input_box.load_text('{"name":\n  "Ada",,}')
        await pilot.press("r")
        await settle(pilot)
        assert (
            pane.status_text() == "✗ the input is not valid JSON at line 2:9: Expecting property name "
            "enclosed in double quotes"
        )
        assert app.focused is pane.input_box and pane.input_box.cursor_location == (1, 8)
        assert not of_type(posted, CloudExecutionStarted) and not of_type(posted, InvokeFailed)
        assert saved_inputs.recall(root, "greet") != {"name": "Ada"}

        pane.input_box.load_text('{"name": "Ada"}')
        await pilot.press("ctrl+j")  # from the input box: ctrl+j (ctrl+enter) invokes
        await settle(pilot)
        assert not pane.sync and of_type(posted, CloudExecutionStarted)[-1].sync is False
        first = of_type(posted, CloudExecutionFinished)[-1]
        assert first.execution.status == "succeeded"

        pane.focus()
        await pilot.press("s")
        assert pane.sync and str(pane.query_one("#invoke-sync").render()) == "sync"
        await pilot.press("enter")
        await settle(pilot)
        started = of_type(posted, CloudExecutionStarted)[-1]
        assert started.sync is True and started.started.execution_id != first.execution_id
        second = of_type(posted, CloudExecutionFinished)[-1]
        assert second.execution.status == "succeeded" and second.execution.outputs == first.execution.outputs
        assert [row[1] for row in rows(pane)] == ["✓ succeeded"] * 3
        assert not of_type(posted, InvokeFailed)


async def test_readable_errors_no_target_and_a_stage_not_deployed(sandbox, hello, tmp_path):
    root = copy_of(tmp_path, "hello-world")
    app = WorkbenchApp(root, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.query_one(InvokePane)
        await pilot.press("6")
        await settle(pilot)
        assert "no target" in str(pane.query_one("#invoke-target").render())
        await pilot.press("r")
        await settle(pilot)
        assert "no deploy target yet" in pane.status_text() and "Deploy pane (5" in pane.status_text()
        assert not of_type(posted, CloudExecutionStarted)

        app.state.choose_target(target_of(sandbox, "nowhere"))  # as the Deploy pane does when it plans
        await pilot.press("r")
        await settle(pilot)
        error = of_type(posted, InvokeFailed)[-1].error
        assert error.startswith(f"stage nowhere of hello-world is not deployed on sandbox {sandbox.endpoint_url}")
        assert "Deploy pane (5)" in error and "Traceback" not in pane.status_text()
        assert pane.status_text().startswith("✗ stage nowhere")
        assert app.is_running and not pane.starting and not of_type(posted, CloudExecutionStarted)

        app.state.choose_target(target_of(sandbox))  # the stage the module deployed: hello-world is the same project
        await pilot.press("r")
        await settle(pilot)
        assert of_type(posted, CloudExecutionFinished)[-1].execution.status == "succeeded"


async def test_keys_help_and_palette(hello):
    root, _ = hello
    app = WorkbenchApp(root, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6", "f1")
        await pilot.pause()
        assert "## Invoke" in app.screen.markdown and "`o` **opens** it in the Run pane" in app.screen.markdown
        await pilot.press("escape", "6", "question_mark")
        await pilot.pause()
        for binding_id in ("invoke.start", "invoke.sync", "invoke.block", "invoke.input", "invoke.open"):
            assert binding_id in app.screen.markdown
        await pilot.press("escape")
        titles = {command.title for command in workbench_commands(app, app.focused)}
        assert {"Invoke: Start", "Invoke: Toggle sync", "Invoke: Choose block", "Invoke: Open in Run pane"} <= titles
        await pilot.press("6", "b")
        await pilot.pause()
        assert app.query_one("#invoke-block").expanded  # the block picker is open
        await pilot.press("escape", "6", "o")
        await pilot.pause()
        assert any("no execution followed yet" in str(n.message) for n in app._notifications)


@needs_node
async def test_all_transitions_states_in_the_tree_and_the_run_pane(sandbox, tmp_path):
    root = copy_of(tmp_path, "all-transitions")
    deployer = deploy(sandbox, root, "dev")
    point_at(root, sandbox)
    value = {"numbers": [3, 8, -1]}
    with LocalSession(root) as session:
        local = session.run(value)
        records = session.history.invocations(local.execution_id)
    local_states: dict[str, str] = {}
    for record in records:
        if local_states.get(record.block) != "failed":
            local_states[record.block] = record.status
    app = WorkbenchApp(root, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.query_one(InvokePane)
        await pilot.press("6")
        await settle(pilot)
        assert pane.block == "start"
        pane.input_box.load_text(json.dumps(value))
        await pilot.press("r")
        await settle(pilot)
        finished = of_type(posted, CloudExecutionFinished)[-1]
        assert finished.execution.status == local.status == "succeeded"
        assert finished.execution.outputs == local.outputs
        assert sorted(row[0].split("[")[0] for row in rows(pane)) == sorted(r.block for r in records)
        assert ("square[2]", "✗ failed") in {(row[0], row[1]) for row in rows(pane)}
        skipped = {name: "skipped" for name in deployer.target.manifest["blocks"] if name not in local_states}
        assert app.block_tree.states == {**local_states, **skipped}
        assert app.run_pane.table.row_count == len(records)
        failed = next(
            key.value for key in app.run_pane.table.rows if str(app.run_pane.table.get_row(key.value)[1]) == "failed"
        )
        app.run_pane.show_details_of(failed)
        detail = str(app.run_pane.query_one("#run-detail").render())
        assert detail.startswith("square  failed") and "error" in detail and "-1" in detail


@needs_node
async def test_an_api_route_shows_the_reply(sandbox, tmp_path):
    root = copy_of(tmp_path, "api-orders")
    deploy(sandbox, root, "dev")
    point_at(root, sandbox)
    app = WorkbenchApp(root, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.query_one(InvokePane)
        await pilot.press("6")
        await settle(pilot)
        assert pane.block == "new-order" and pane.how == "api"
        assert json.loads(pane.input_box.text) == json.loads((root / "input.json").read_text())
        await pilot.press("r")
        await settle(pilot)
        started = of_type(posted, CloudExecutionStarted)[-1].started
        assert started.how == "api" and started.reply["statusCode"] == 201
        assert started.reply["body"]["items"] == 1 and started.execution_id
        result = str(pane.query_one("#invoke-result").render())
        assert result.startswith("reply 201: {") and '"order_id"' in result
        finished = of_type(posted, CloudExecutionFinished)[-1]
        assert finished.execution.status == "succeeded", finished
        blocks = {row[0] for row in rows(pane)}
        assert {
            "new-order",
            "validate-order",
            "accept-order",
            "reply",
            "fulfilment",
            "pack-orders",
            "order-events",
            "notify-customer",
            "update-stats",
        } <= blocks
        assert app.block_tree.states["reject-order"] == "skipped"
        assert app.block_tree.states["pack-orders"] == "succeeded"

        pane.input_box.load_text('{"body": {"customer": "bo", "items": []}}')
        await pilot.press("r")
        await settle(pilot)
        rejected = of_type(posted, CloudExecutionStarted)[-1].started
        assert rejected.reply["statusCode"] == 400
        assert str(pane.query_one("#invoke-result").render()).startswith("reply 400: ")
        assert of_type(posted, CloudExecutionFinished)[-1].execution.status == "succeeded"
        assert app.block_tree.states["reject-order"] == "succeeded"
        assert app.block_tree.states["fulfilment"] == "skipped"

        pane.query_one("#invoke-block").value = "fulfilment"  # a queue: the input is the message sent to it
        await pilot.pause()
        assert pane.how == "queue"
        order = {"order_id": "ord-1", "order": {"items": [{"sku": "tea", "quantity": 3}]}}
        pane.input_box.load_text(json.dumps(order))
        await pilot.press("r")
        await settle(pilot)
        sent = of_type(posted, CloudExecutionStarted)[-1].started
        assert sent.how == "queue" and sent.reply is None
        queued = of_type(posted, CloudExecutionFinished)[-1]
        assert queued.execution_id == sent.execution_id and queued.execution.status == "succeeded"
        assert sorted(o["output"] for o in queued.execution.outputs if o["block"] == "notify-customer") == [
            ["order ord-1: 3 units packed"]
        ]
        assert saved_inputs.recall(root, "fulfilment") == order


class Recorder:
    """A driver that keeps what the job reports; `stop_when_started` asks it to stop following at once."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.events: list[tuple] = []
        self.stop = stop

    def started(self, started, target, sync):
        self.events.append(("started", started.execution_id))
        if self.stop is not None:
            self.stop.set()

    def updated(self, run):
        self.events.append(("updated", run.execution_id))

    def finished(self, execution_id, run, execution, error, note):
        self.events.append(("finished", execution_id, execution, error, note))

    def failed(self, error):
        self.events.append(("failed", error))


def test_the_job_without_textual_follows_and_stops_when_asked(hello):
    root, _ = hello
    request = InvokeRequest(root, load_target(root), "greet", "invoke", {"name": "Job"}, False)
    done = Recorder()
    InvokeJob(request, done, threading.Event()).run()
    kinds = [event[0] for event in done.events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and "updated" in kinds
    _, execution_id, execution, error, note = done.events[-1]
    assert execution.status == "succeeded" and error is None and note is None
    assert execution.outputs[0]["output"] == {"message": "HELLO, JOB!", "signed_for": "Job"}

    stop = threading.Event()
    stopped = Recorder(stop)
    InvokeJob(request, stopped, stop).run()
    assert stopped.events[0][0] == "started" and stopped.events[-1][0] == "finished"
    assert stopped.events[-1][2] is None and "stopped following" in stopped.events[-1][4]

    missing = Recorder()
    InvokeJob(InvokeRequest(root, load_target(root), "nope", "invoke", 1, False), missing, threading.Event()).run()
    assert (
        missing.events == [("failed", missing.events[0][1])]
        and "there is no block named 'nope'" in missing.events[0][1]
    )


def test_the_invoke_job_module_imports_no_textual():
    code = "import sys, refinery_tui.tui.invoke_job\nprint('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False"], result.stderr
