"""The deployed Node runtime next to the Python one: mixed workflows match a local run; big payloads cross intact."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from refinery_tui.lambda_runtime import logline
from refinery_tui.local.session import LocalSession
from tests.cloud.cloud_helpers import deploy, run_deployed

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

# Python and Node blocks alternate through then, if/else, fan-out, fan-in, merge, exception, queues and topics.
PY, JS = "python", "node"
MIXED_BLOCKS: dict[str, tuple[str, str]] = {
    "entry": (PY, "backpack['trail'] = ['entry']\n    return list(range(block_input))"),
    "validate": (PY, "raise ValueError('bad input ' + str(len(block_input)))"),
    "oops": (JS, "return [blockInput.error.type, blockInput.error.message, blockInput.input, backpack];"),
    "square": (
        JS,
        "if (blockInput === 2) throw new TypeError('two is bad');\n"
        "  backpack['k' + blockInput] = blockInput;\n  return blockInput * blockInput;",
    ),
    "fix": (
        PY,
        "return {'fixed': block_input['input'], 'why': block_input['error']['type'] + ': ' + "
        "block_input['error']['message'], 'trail': backpack.get('trail')}",
    ),
    "collect": (JS, "backpack.trail = [...(backpack.trail || []), 'collect'];\n  return blockInput;"),
    "left": (PY, "return len(block_input)"),
    "right": (JS, "backpack.right = true;\n  return blockInput.length * 10;"),
    "never": (PY, "return 'else fired'"),
    "joined": (
        PY,
        "backpack['trail'] = backpack.get('trail', []) + ['joined']\n"
        "    return {'merged': block_input, 'keys': sorted(backpack)}",
    ),
    "picky": (JS, "throw new RangeError('picky says no: ' + blockInput.merged.join(','));"),
    "rescue": (
        PY,
        "return [block_input['error']['type'], block_input['error']['message'], block_input['input']['merged']]",
    ),
    "drain": (PY, "return {'batch': block_input, 'size': len(block_input), 'bp': sorted(backpack)}"),
    "batch-node": (JS, "return {batch: blockInput, size: blockInput.length, bp: Object.keys(backpack).sort()};"),
    "hear-py": (PY, "return ['py', block_input]"),
    "hear-node": (JS, "backpack.heard = 'node';\n  return ['node', blockInput];"),
    "echo-py": (PY, "return {'echo': block_input, 'heard': backpack.get('heard')}"),
}
MIXED_RESOURCES = {
    "jobs": {"type": "queue", "batch_size": 5},
    "backlog": {"type": "queue", "batch_size": 5},
    "news": {"type": "topic"},
    "alerts": {"type": "topic"},
}
MIXED_TRANSITIONS = [
    {"from": "entry", "to": "validate", "type": "if", "expression": "len(return_data) > 3"},
    {"from": "validate", "to": "oops", "type": "exception"},
    {"from": "entry", "to": "square", "type": "fan-out"},
    {"from": "square", "to": "fix", "type": "exception"},
    {"from": "square", "to": "collect", "type": "fan-in"},
    {"from": "fix", "to": "collect", "type": "fan-in"},
    {"from": "collect", "to": "left", "type": "if", "expression": "len(return_data) == 4 and backpack['k3'] == 3"},
    {"from": "collect", "to": "never", "type": "else"},
    {"from": "collect", "to": "right"},
    {"from": "right", "to": "joined", "type": "merge"},
    {"from": "left", "to": "joined", "type": "merge"},
    {"from": "joined", "to": "picky"},
    {"from": "picky", "to": "rescue", "type": "exception"},
    {"from": "right", "to": "jobs"},
    {"from": "jobs", "to": "drain"},
    {"from": "joined", "to": "backlog"},
    {"from": "backlog", "to": "batch-node"},
    {"from": "rescue", "to": "news"},
    {"from": "news", "to": "hear-py"},
    {"from": "news", "to": "hear-node"},
    {"from": "hear-node", "to": "alerts"},
    {"from": "alerts", "to": "echo-py"},
]


def write_project(
    root: Path,
    name: str,
    blocks: dict[str, tuple[str, str]],
    transitions: list[dict[str, Any]],
    resources: dict[str, dict[str, Any]] | None = None,
) -> Path:
    (root / "blocks").mkdir(parents=True)
    spec: dict[str, Any] = {}
    for block, (language, body) in blocks.items():
        stem = block.replace("-", "_")
        if language == PY:
            file, code = f"blocks/{stem}.py", f"def main(block_input, backpack):\n    {body}\n"
        else:
            file, code = f"blocks/{stem}.js", f"exports.main = async (blockInput, backpack) => {{\n  {body}\n}};\n"
        (root / file).write_text(code)
        spec[block] = {"type": "code", "language": language, "file": file, "timeout": 20}
    spec.update(resources or {})
    data = {"name": name, "blocks": spec, "transitions": transitions}
    (root / "project.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return root


NODE_RUNTIME = Path(__file__).resolve().parents[2] / "refinery_tui" / "lambda_runtime" / "node"
WIRE_VALUES = [
    None,
    True,
    0,
    -7,
    2**53,
    0.1,
    1e-7,
    1e22,
    2.5,
    "plain",
    'é😀\u2028\x7f\x01"\\',
    [],
    {},
    {"a": [1, {"b": None}], "ü": "x" * 300},
    ["é" * 2000],
    {"deep": [[[["x" * 5000]]]]},
]


def test_node_writes_json_and_log_fields_as_the_python_runtime_does():
    script = (
        f"const j = require({json.dumps(str(NODE_RUNTIME.parent.parent / 'runtime' / 'node' / 'jsontext.js'))});"
        f"const l = require({json.dumps(str(NODE_RUNTIME / 'logline.js'))});"
        "const values = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(values.map((v) => [j.compact(v), j.dumps(v), l.preview(v), "
        "l.valueFields('input', v)])));"
    )
    reply = subprocess.run(
        ["node", "-e", script], input=json.dumps(WIRE_VALUES), capture_output=True, text=True, check=True, timeout=60
    )
    for value, (compact, spaced, preview, fields) in zip(WIRE_VALUES, json.loads(reply.stdout)):
        assert compact == json.dumps(value, separators=(",", ":")), value
        assert spaced == json.dumps(value), value
        assert preview == logline.preview(value), value
        assert fields == logline.value_fields("input", value), value


def run_locally(root: Path, value: Any):
    with LocalSession(root) as session:
        return session.run(value)


def log_records(deployer, blocks: list[str], execution: str) -> list[dict[str, Any]]:
    """The runtime's JSON log lines of the execution in the given blocks' functions, once its end is logged."""
    logs = deployer.aws.client("logs")
    deadline = time.monotonic() + 30
    while True:
        records = []
        for block in blocks:
            group = deployer.target.names.log_group(block)
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
                for event in page["events"]:
                    record = json.loads(event["message"]) if event["message"].startswith("{") else {}
                    if record.get("execution_id") == execution:
                        records.append(record)
        if any(r["refinery"] == "execution_finished" for r in records) or time.monotonic() > deadline:
            return records


def test_mixed_python_and_node_blocks_match_the_local_run(sandbox, tmp_path, monkeypatch):
    args = ("mixed", MIXED_BLOCKS, MIXED_TRANSITIONS, MIXED_RESOURCES)
    local = run_locally(write_project(tmp_path / "local", *args), 4)
    assert local.status == "succeeded", local.errors
    assert {o["block"] for o in local.outputs} == {"oops", "drain", "batch-node", "hear-py", "echo-py"}
    root = write_project(tmp_path / "cloud", *args)
    monkeypatch.chdir(tmp_path)
    deployer = deploy(sandbox, root, "mx")
    cloud = run_deployed(sandbox, deployer, "entry", 4)
    assert (cloud.status, cloud.errors) == (local.status, local.errors)
    assert cloud.outputs == local.outputs
    # The state table counts claimed dispatches; a queue or topic is handled inline by the function sending to it.
    assert cloud.invocations == local.invocations - len(MIXED_RESOURCES)


def test_node_log_lines_have_the_python_runtimes_fields(sandbox, tmp_path, monkeypatch):
    blocks = {
        "first": (PY, "return block_input + 1"),
        "second": (JS, "return blockInput * 2"),
        "third": (PY, "return block_input - 1"),
        "fourth": (JS, "return blockInput + 100"),
    }
    transitions = [
        {"from": "first", "to": "second"},
        {"from": "second", "to": "third"},
        {"from": "third", "to": "fourth"},
    ]
    root = write_project(tmp_path / "logs", "loglines", blocks, transitions)
    monkeypatch.chdir(tmp_path)
    deployer = deploy(sandbox, root, "lg")
    cloud = run_deployed(sandbox, deployer, "first", 1)
    assert cloud.outputs == [{"block": "fourth", "output": 103, "backpack": {}}]
    records = log_records(deployer, list(blocks), cloud.execution_id)
    by_block = {(r["refinery"], r.get("block")): r for r in records}
    for kind in ("start", "end"):
        python, node = by_block[(kind, "third")], by_block[(kind, "second")]
        assert list(node) == list(python), kind
    assert by_block[("start", "second")]["input"] == 2 and by_block[("end", "second")]["output"] == 4
    assert by_block[("start", "second")]["parent"] == by_block[("end", "first")]["invocation_id"]
    assert by_block[("start", "third")]["parent"] == by_block[("end", "second")]["invocation_id"]
    transitions_out = [r for r in records if r["refinery"] == "transition"]
    assert [(r["source"], r["target"]) for r in transitions_out] == [
        ("first", "second"),
        ("second", "third"),
        ("third", "fourth"),
    ]
    assert list(transitions_out[1]) == list(transitions_out[0])
    finished = [r for r in records if r["refinery"] == "execution_finished"]
    assert [r["status"] for r in finished] == ["succeeded"]


def test_a_5_mb_input_crosses_node_blocks_intact(sandbox, tmp_path, monkeypatch):
    blocks = {
        "receive": (PY, "return block_input"),
        "relay": (JS, "backpack.size = blockInput.text.length;\n  return blockInput;"),
        "back-in-python": (PY, "return block_input"),
        "still-node": (JS, "return blockInput;"),
    }
    transitions = [
        {"from": "receive", "to": "relay"},
        {"from": "relay", "to": "back-in-python"},
        {"from": "relay", "to": "still-node"},
    ]
    root = write_project(tmp_path / "big", "bigpayload", blocks, transitions)
    monkeypatch.chdir(tmp_path)
    deployer = deploy(sandbox, root, "bg")
    text = "0123456789abcdefghijklmnopqrstuvwxyz" * (5_000_000 // 36) + 'é😀\u2028\x7f"\\ end'
    value = {"text": text, "numbers": list(range(1000)), "nested": {"unicode": "ünïcødé 🚀", "float": 0.5}}
    cloud = run_deployed(sandbox, deployer, "receive", value, timeout=300)
    assert cloud.status == "succeeded", cloud.errors
    assert [o["block"] for o in cloud.outputs] == ["back-in-python", "still-node"]
    for output in cloud.outputs:
        assert output["output"] == value
        assert output["backpack"] == {"size": len(text.encode("utf-16-le")) // 2}
