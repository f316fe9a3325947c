"""The deployed runtime in the sandbox: big payloads, a 200-branch fan-in, redelivered dispatches, failing blocks."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import yaml

from refinery_tui.cloud.executions import Executions
from refinery_tui.local.session import LocalSession
from tests.cloud.cloud_helpers import deploy, run_deployed, running_sandbox


def write_project(root: Path, name: str, blocks: dict[str, str], transitions: list[dict]) -> Path:
    (root / "blocks").mkdir(parents=True)
    entries = {}
    for block, body in blocks.items():
        file = f"blocks/{block.replace('-', '_')}.py"
        (root / file).write_text(
            "def main(block_input, backpack):\n" + "".join(f"    {line}\n" for line in body.splitlines())
        )
        entries[block] = {"type": "code", "language": "python", "file": file, "timeout": 30}
    (root / "project.yaml").write_text(
        yaml.safe_dump({"name": name, "blocks": entries, "transitions": transitions}, sort_keys=False)
    )
    return root


def log_lines(deployer, block: str) -> list[dict]:
    logs = deployer.aws.client("logs")
    group = deployer.names.log_group(block)
    lines = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        for event in page["events"]:
            if event["message"].startswith("{"):
                lines.append(json.loads(event["message"]))
    return lines


def test_a_5_mb_payload_crosses_every_transition_type(sandbox, tmp_path):
    root = write_project(
        tmp_path / "big",
        "big",
        {
            "start": "return block_input",
            "check": "return block_input",
            "pick": "return [block_input['blob'], block_input['blob'][::-1]]",
            "fails": "raise ValueError('too big: ' + str(len(block_input['blob'])))",
            "caught": "return {'error': block_input['error']['type'], 'size': len(block_input['input']['blob'])}",
            "item": "return block_input.upper()",
            "joined": "return {'items': len(block_input), 'sizes': [len(x) for x in block_input], "
            "'first': block_input[0][:3], 'whole': block_input}",
            "both": "return {'joined': {k: v for k, v in block_input[0].items() if k != 'whole'}, "
            "'caught': block_input[1], 'whole': len(block_input[0]['whole'][1])}",
        },
        [
            {"from": "start", "to": "check"},
            {"from": "check", "to": "pick", "type": "if", "expression": "len(return_data['blob']) == 5000000"},
            {"from": "check", "to": "fails", "type": "else"},
            {"from": "start", "to": "fails", "type": "if", "expression": "len(return_data['blob']) > 1"},
            {"from": "fails", "to": "caught", "type": "exception"},
            {"from": "pick", "to": "item", "type": "fan-out"},
            {"from": "item", "to": "joined", "type": "fan-in"},
            {"from": "joined", "to": "both", "type": "merge"},
            {"from": "caught", "to": "both", "type": "merge"},
        ],
    )
    value = {"blob": "ab" * 2_500_000}
    with LocalSession(root) as session:
        local = session.run(value)
    assert local.status == "succeeded", local.errors
    deployer = deploy(sandbox, root, "big")
    deployed = run_deployed(sandbox, deployer, "start", value)
    assert deployed.status == "succeeded", deployed.errors
    assert deployed.outputs == local.outputs
    assert deployed.outputs[0]["output"] == {
        "joined": {"items": 2, "sizes": [5_000_000, 5_000_000], "first": "ABA"},
        "caught": {"error": "ValueError", "size": 5_000_000},
        "whole": 5_000_000,
    }
    keys = deployer.aws.client("s3").list_objects_v2(Bucket=deployer.target.bucket, Prefix="payloads/")
    assert keys["KeyCount"] >= 6, "the big values travelled by reference"


def test_a_fan_in_of_200_branches_fires_exactly_once(sandbox, tmp_path):
    root = write_project(
        tmp_path / "wide",
        "wide",
        {
            "split": "return list(range(block_input))",
            "square": "return block_input * block_input",
            "total": "return {'n': len(block_input), 'sum': sum(block_input), 'ordered': block_input == sorted(block_input)}",
        },
        [{"from": "split", "to": "square", "type": "fan-out"}, {"from": "square", "to": "total", "type": "fan-in"}],
    )
    deployer = deploy(sandbox, root, "wide")
    result = run_deployed(sandbox, deployer, "split", 200, timeout=240)
    assert result.status == "succeeded", result.errors
    assert result.outputs == [
        {"block": "total", "output": {"n": 200, "sum": sum(i * i for i in range(200)), "ordered": True}, "backpack": {}}
    ]
    starts = [line for line in log_lines(deployer, "total") if line["refinery"] == "start"]
    assert len(starts) == 1
    assert len([line for line in log_lines(deployer, "square") if line["refinery"] == "start"]) == 200


def test_the_same_dispatch_delivered_twice_runs_once(sandbox, tmp_path):
    root = write_project(
        tmp_path / "twice",
        "twice",
        {"first": "return block_input + 1", "second": "return block_input * 10"},
        [{"from": "first", "to": "second"}],
    )
    deployer = deploy(sandbox, root, "twice")
    result = run_deployed(sandbox, deployer, "first", 1)
    assert result.outputs == [{"block": "second", "output": 20, "backpack": {}}]
    start = next(line for line in log_lines(deployer, "second") if line["refinery"] == "start")
    envelope = {
        "refinery": 1,
        "id": start["invocation_id"],
        "block": "second",
        "input": start["input"],
        "backpack": {},
        "context": {"execution_id": start["execution_id"], "hops": 1, "frames": []},
        "attempt": 0,
        "parent": start["parent"],
        "via": start["via"],
        "units": 1,
    }
    lam = deployer.aws.client("lambda")
    for _ in range(2):
        reply = lam.invoke(
            FunctionName=deployer.names.function("second"),
            InvocationType="RequestResponse",
            Payload=json.dumps(envelope).encode(),
        )
        assert "FunctionError" not in reply
    lines = log_lines(deployer, "second")
    assert len([line for line in lines if line["refinery"] == "start"]) == 1
    skipped = [line for line in lines if line["refinery"] == "skipped"]
    assert len(skipped) == 2 and all(line["invocation_id"] == start["invocation_id"] for line in skipped)
    again = Executions(deployer.aws, deployer.target).read(start["execution_id"])
    assert again.status == "succeeded" and again.outputs == result.outputs


def test_a_raising_block_fires_its_exception_transition_and_is_not_retried(sandbox, tmp_path):
    root = write_project(
        tmp_path / "raises",
        "raises",
        {
            "boom": "raise RuntimeError('no good: ' + str(block_input))",
            "handler": "return [block_input['error']['type'], block_input['error']['message'], block_input['input']]",
        },
        [{"from": "boom", "to": "handler", "type": "exception"}],
    )
    deployer = deploy(sandbox, root, "raises")
    result = run_deployed(sandbox, deployer, "boom", 7)
    assert result.status == "succeeded"
    assert result.outputs == [{"block": "handler", "output": ["RuntimeError", "no good: 7", 7], "backpack": {}}]
    starts = [line for line in log_lines(deployer, "boom") if line["refinery"] == "start"]
    assert len(starts) == 1
    config = deployer.aws.client("lambda").get_function_event_invoke_config(
        FunctionName=deployer.names.function("boom")
    )
    assert config["MaximumRetryAttempts"] == 0


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_what_a_deployed_block_detaches_ends_with_its_worker_even_a_crashed_one(tmp_path):
    """Function workers run below a keeper too: what a block detached dies with the worker, even when the worker
    crashed (its orphans would otherwise outlive the sandbox)."""
    marker = f"30.{os.getpid()}{time.monotonic_ns() % 1000}"
    root = write_project(
        tmp_path / "detach",
        "detach",
        {
            "spawn": f"import os, subprocess\nsubprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
            "os._exit(3)"
        },
        [],
    )
    with running_sandbox(tmp_path / "own-sandbox") as own:
        deployer = deploy(own, root, "dev")
        Executions(deployer.aws, deployer.target).start("spawn", None)
        assert own.wait_idle(60)  # the function crashed; its execution is issue 15's to end
    assert _processes_with(f"sleep {marker}") == []
