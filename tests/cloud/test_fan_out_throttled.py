"""A 2,000-item fan-out under DynamoDB throttling ends with the right output, its state spread over partitions."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from refinery_tui.cloud.executions import Executions
from tests.cloud.cloud_helpers import deploy

ITEMS = int(os.environ.get("REFINERY_TEST_FAN_OUT_ITEMS", "2000"))
# Every UpdateItem is refused for THROTTLE_S seconds, twice in the run: longer than either runtime's client retries
# (botocore's standard mode: 3 attempts within ~3 s; the Node client: 4 attempts within ~3.5 s).
THROTTLE_S = 6
WAIT_S = float(os.environ.get("REFINERY_TEST_FAN_OUT_WAIT_S", "300"))
BLOCKS = {
    "python": {
        "split": ("blocks/split.py", "def main(block_input, backpack):\n    return list(range(block_input))\n"),
        "square": ("blocks/square.py", "def main(block_input, backpack):\n    return block_input * block_input\n"),
        "total": (
            "blocks/total.py",
            "def main(block_input, backpack):\n"
            "    return {'n': len(block_input), 'sum': sum(block_input), 'ordered': block_input == sorted(block_input)}\n",
        ),
    },
    "node": {
        "split": ("blocks/split.js", "exports.main = async (n) => Array.from({ length: n }, (_, i) => i);\n"),
        "square": ("blocks/square.js", "exports.main = async (x) => x * x;\n"),
        "total": (
            "blocks/total.js",
            "exports.main = async (xs) => ({ n: xs.length, sum: xs.reduce((a, b) => a + b, 0),\n"
            "  ordered: xs.every((x, i) => i === 0 || xs[i - 1] <= x) });\n",
        ),
    },
}


LANGUAGES = ["python", pytest.param("node", marks=pytest.mark.skipif(shutil.which("node") is None, reason="no node"))]


def write_project(root: Path, language: str) -> Path:
    (root / "blocks").mkdir(parents=True)
    blocks: dict[str, Any] = {}
    for name, (file, code) in BLOCKS[language].items():
        (root / file).write_text(code)
        blocks[name] = {"type": "code", "language": language, "file": file, "timeout": 120}
    transitions = [
        {"from": "split", "to": "square", "type": "fan-out"},
        {"from": "square", "to": "total", "type": "fan-in"},
    ]
    data = {"name": f"throttled-{language}", "blocks": blocks, "transitions": transitions}
    (root / "project.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return root


def partition_sizes(deployer: Any, execution_id: str) -> Counter[str]:
    """How many of the execution's items each partition key of the state table holds."""
    ddb = deployer.aws.client("dynamodb")
    sizes: Counter[str] = Counter()
    for page in ddb.get_paginator("scan").paginate(TableName=deployer.names.table()):
        for item in page["Items"]:
            if execution_id in item["pk"]["S"]:
                sizes[item["pk"]["S"]] += 1
    return sizes


@pytest.mark.parametrize(
    ("language", "items"),
    [
        ("python", ITEMS),
        # The Node twin writes the same layout through the same steps; a fifth of the items keeps the suite short.
        pytest.param(
            "node", ITEMS // 5, marks=pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
        ),
    ],
)
def test_a_2000_item_fan_out_under_throttling_ends_with_the_right_output(sandbox, tmp_path, language, items):
    deployer = deploy(sandbox, write_project(tmp_path / language, language), "throttled")
    executions = Executions(deployer.aws, deployer.target)
    # Two throttling storms: one while the items are dispatched and counted, one while they arrive at the fan-in.
    fault = sandbox.faults.add(
        "dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", every=items, burst=1, seconds=THROTTLE_S
    )
    began = time.monotonic()
    try:
        execution_id = executions.start("split", items)
        result = executions.wait(execution_id, timeout=WAIT_S)
    finally:
        sandbox.faults.clear()
    print(f"{language}: {items} items in {time.monotonic() - began:.1f} s, {fault.storms} throttling storms")
    assert fault.storms >= 1, "the throttling storm happened"
    assert result.status == "succeeded", result.errors
    assert result.outputs == [
        {
            "block": "total",
            "output": {"n": items, "sum": sum(i * i for i in range(items)), "ordered": True},
            "backpack": {},
        }
    ]
    sizes = partition_sizes(deployer, execution_id)
    assert len(sizes) >= 8, f"the execution's state is spread over partitions: {dict(sizes)}"
    assert max(sizes.values()) <= sum(sizes.values()) // 4, f"no partition holds most of it: {dict(sizes)}"


def log_lines(deployer: Any, block: str) -> list[dict[str, Any]]:
    logs = deployer.aws.client("logs")
    lines = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=deployer.names.log_group(block)):
        lines.extend(json.loads(e["message"]) for e in page["events"] if e["message"].startswith("{"))
    return lines


SHORT = {
    "python": {
        "first": ("blocks/first.py", "def main(block_input, backpack):\n    return block_input + 1\n"),
        "second": ("blocks/second.py", "def main(block_input, backpack):\n    return block_input * 10\n"),
    },
    "node": {
        "first": ("blocks/first.js", "exports.main = async (x) => x + 1;\n"),
        "second": ("blocks/second.js", "exports.main = async (x) => x * 10;\n"),
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_dispatch_throttled_past_its_functions_time_is_sent_again_not_lost(sandbox, tmp_path, language):
    root = tmp_path / language
    (root / "blocks").mkdir(parents=True)
    blocks: dict[str, Any] = {}
    for name, (file, code) in SHORT[language].items():
        (root / file).write_text(code)
        # `second`'s function has 8 + 10 s: its throttled counter update is given up with 5 s left, before the
        # 20 s storm ends.
        blocks[name] = {"type": "code", "language": language, "file": file, "timeout": 8 if name == "second" else 60}
    data = {"name": f"resent-{language}", "blocks": blocks, "transitions": [{"from": "first", "to": "second"}]}
    (root / "project.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    deployer = deploy(sandbox, root, "resent")
    executions = Executions(deployer.aws, deployer.target)
    # The first UpdateItem (first's counter) passes; the second (second's counter) starts one 20 s storm.
    sandbox.faults.add("dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", every=2, seconds=20, times=1)
    try:
        result = executions.wait(
            executions.start("first", 4), timeout=float(os.environ.get("REFINERY_TEST_RESENT_WAIT_S", "90"))
        )
    finally:
        sandbox.faults.clear()
    assert result.status == "succeeded", result.errors
    assert result.outputs == [{"block": "second", "output": 50, "backpack": {}}]
    lines = log_lines(deployer, "second")
    assert [line for line in lines if line["refinery"] == "released"], "the throttled dispatch was given back"
    assert len([line for line in lines if line["refinery"] == "start"]) >= 2
