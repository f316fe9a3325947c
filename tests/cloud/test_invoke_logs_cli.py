"""`refinery-tui invoke` and `logs` against the sandbox."""

from __future__ import annotations

import json
import shutil

import pytest

from refinery_tui import saved_inputs
from refinery_tui.cli import main
from tests.cloud.cloud_helpers import deploy
from tests.conftest import PROJECTS


@pytest.fixture(scope="module")
def hello(sandbox, tmp_path_factory):
    root = tmp_path_factory.mktemp("projects") / "hello"
    shutil.copytree(PROJECTS / "hello-world", root, ignore=shutil.ignore_patterns(".refinery"))
    deploy(sandbox, root, "cli")
    return root


def target(sandbox):
    return ["--stage", "cli", "--endpoint-url", sandbox.endpoint_url]


def test_invoke_wait_prints_like_run_and_remembers_the_input(sandbox, hello, capsys):
    assert main(["invoke", str(hello), *target(sandbox), "--input", '{"name": "Grace"}', "--wait"]) == 0
    out = capsys.readouterr().out
    assert "started at 'greet' (invoke)" in out
    for block in ("greet", "shout", "sign"):
        assert f"  {block}" in out
    assert "✓ succeeded" in out and "HELLO, GRACE!" in out
    assert saved_inputs.recall(hello, "greet") == {"name": "Grace"}


def test_invoke_json_ends_like_run_json(sandbox, hello, capsys):
    assert main(["invoke", str(hello), *target(sandbox), "--wait", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["event"] == "execution_started"
    assert [e["block"] for e in events if e["event"] == "invocation_finished"] == ["greet", "shout", "sign"]
    last = events[-1]
    assert last["event"] == "execution_finished" and last["status"] == "succeeded"
    assert last["outputs"] == [{"block": "sign", "output": {"message": "HELLO, GRACE!", "signed_for": "Grace"}}]


def test_invoke_without_wait_returns_the_id_at_once_and_logs_shows_that_execution(sandbox, hello, capsys):
    for name in ("Ada", "Grace"):  # earlier executions, so the list below has more than one, newest first
        assert main(["invoke", str(hello), *target(sandbox), "--input", json.dumps({"name": name}), "--wait"]) == 0
    capsys.readouterr()
    assert main(["invoke", str(hello), *target(sandbox), "--input", '{"name": "Linus"}']) == 0
    execution = capsys.readouterr().out.split("execution ", 1)[1].split()[0]
    assert sandbox.wait_idle(30)
    assert main(["logs", str(hello), *target(sandbox), "--execution", execution, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["execution_id"] for line in lines} == {execution}
    starts = [line["block"] for line in lines if line.get("record", {}).get("refinery") == "start"]
    assert starts == ["greet", "shout", "sign"]
    assert main(["logs", str(hello), *target(sandbox), "--execution", execution, "--block", "shout"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out and all(" shout " in line for line in out)
    assert main(["logs", str(hello), *target(sandbox), "--executions", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed[0]["execution_id"] == execution and listed[0]["status"] == "succeeded"
    assert listed[0]["duration_ms"] >= 0 and len(listed) >= 3
    assert main(["logs", str(hello), *target(sandbox), "--executions"]) == 0
    assert capsys.readouterr().out.startswith(f"{execution}  succeeded")
    assert main(["logs", str(hello), *target(sandbox), "--level", "PLATFORM", "--since", "1h"]) == 0
    assert all("RequestId" in line for line in capsys.readouterr().out.splitlines())


def test_usage_errors(sandbox, hello, capsys):
    assert main(["invoke", str(hello), *target(sandbox), "--block", "nope"]) == 2
    assert "no block named 'nope'" in capsys.readouterr().err
    assert main(["invoke", str(hello), *target(sandbox), "--input", "{bad"]) == 2
    assert "--input:1:2" in capsys.readouterr().err
    assert main(["logs", str(hello), *target(sandbox), "--since", "yesterday"]) == 2
    assert "not a duration" in capsys.readouterr().err
    assert main(["logs", str(hello), *target(sandbox), "--grep", "(", "--regex"]) == 2
    assert "not a regular expression" in capsys.readouterr().err
    assert main(["logs", str(hello), "--stage", "nothere", "--endpoint-url", sandbox.endpoint_url]) == 0
    assert "no log group of stage nothere exists yet" in capsys.readouterr().err
    assert main(["invoke", str(hello), "--stage", "nothere", "--endpoint-url", sandbox.endpoint_url]) == 1
    err = capsys.readouterr().err
    assert "could not start the execution" in err and "Traceback" not in err


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_invoke_through_the_api_route_the_queue_and_the_topic(sandbox, tmp_path, capsys):
    root = tmp_path / "orders"
    shutil.copytree(PROJECTS / "api-orders", root, ignore=shutil.ignore_patterns(".refinery"))
    deploy(sandbox, root, "via")
    where = ["--stage", "via", "--endpoint-url", sandbox.endpoint_url]
    order = '{"customer": "ada", "items": [{"sku": "tea", "quantity": 2}]}'
    assert main(["invoke", str(root), *where, "--block", "new-order", "--input", order, "--json"]) == 0
    started = json.loads(capsys.readouterr().out.splitlines()[0])
    assert started["how"] == "api" and started["reply"]["statusCode"] == 201 and started["execution_id"]
    accepted = json.dumps({"order_id": "ord-1", "order": json.loads(order)})
    assert main(["invoke", str(root), *where, "--block", "fulfilment", "--input", accepted, "--wait", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["how"] == "queue" and events[-1]["status"] == "succeeded"
    assert {e["block"] for e in events if e["event"] == "invocation_finished"} >= {"pack-orders", "notify-customer"}
    batch = '{"packed": 1, "parcels": [{"order_id": "ord-1", "units": 2}]}'
    assert main(["invoke", str(root), *where, "--block", "order-events", "--input", batch, "--wait", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["how"] == "topic" and events[-1]["status"] == "succeeded"
    assert sorted(o["block"] for o in events[-1]["outputs"]) == ["notify-customer", "update-stats"]
