"""Tailing a stage's logs in the sandbox (exact counts) and executions rebuilt from the runtime's lines."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from refinery_tui.cloud.executions import Executions
from refinery_tui.cloud.logfilter import FilterError, LogFilter, since_ms
from refinery_tui.cloud.logtail import LogTail, stage_groups
from refinery_tui.cloud.rebuild import Rebuilder
from refinery_tui.local.session import LocalSession
from refinery_tui.runtime.events import ExecutionFinished
from tests.cloud.cloud_helpers import deploy, run_deployed
from tests.conftest import PROJECTS

PRINTS = 3


def chain(root: Path, count: int, name: str = "chain") -> Path:
    (root / "blocks").mkdir(parents=True, exist_ok=True)
    blocks, transitions = {}, []
    for number in range(count):
        block = f"b{number:02d}"
        (root / f"blocks/{block}.py").write_text(
            "def main(block_input, backpack):\n"
            f"    for line in range({PRINTS}):\n        print('{block} says', line, block_input)\n"
            "    return block_input + 1\n"
        )
        blocks[block] = {"type": "code", "file": f"blocks/{block}.py"}
        if number:
            transitions.append({"from": f"b{number - 1:02d}", "to": block})
    (root / "project.yaml").write_text(
        yaml.safe_dump({"name": name, "blocks": blocks, "transitions": transitions}, sort_keys=False)
    )
    return root


def test_twenty_groups_at_once_new_streams_and_a_restart_with_the_same_window(sandbox, tmp_path):
    deployer = deploy(sandbox, chain(tmp_path / "twenty", 20), "tail")
    groups = stage_groups(deployer.names, deployer.target.manifest)
    assert len(groups) == 20
    started = int(time.time() * 1000) - 1
    tail = LogTail(deployer.aws, groups, started, mode="poll", page_size=4)
    assert tail.poll() == []
    assert tail.missing_groups == set()
    result = run_deployed(sandbox, deployer, "b00", 0)
    assert result.outputs[0]["output"] == 20
    assert sandbox.wait_idle(30)
    lines = tail.poll()
    per_group = {}
    for line in lines:
        per_group.setdefault(line.block, []).append(line)
    assert sorted(per_group) == sorted(groups.values())
    for block, found in per_group.items():
        user = [line for line in found if line.message.startswith(f"{block} says")]
        assert len(user) == PRINTS, block
        assert all(line.execution_id == result.execution_id for line in user)
        assert [line.kind for line in found if line.record][:2] == (
            ["execution_started", "start"] if block == "b00" else ["start", "end"]
        )
    assert tail.calls > 2 * 20, "small pages were followed to the end"
    assert tail.poll() == [], "no line twice"
    again = LogTail(deployer.aws, groups, started, mode="poll")
    replay = again.poll()
    assert sorted(line.key for line in replay) == sorted(line.key for line in lines)
    assert len(replay) == len(lines)

    # A block added later: its group appears, its first stream too, and the running tail picks both up.
    root = tmp_path / "twenty"
    (root / "blocks/late.py").write_text(
        "def main(block_input, backpack):\n    print('late says hi')\n    return block_input\n"
    )
    data = yaml.safe_load((root / "project.yaml").read_text())
    data["blocks"]["late"] = {"type": "code", "file": "blocks/late.py"}
    data["transitions"].append({"from": "b19", "to": "late"})
    (root / "project.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    tail.groups[deployer.names.log_group("late")] = "late"
    tail.cursors[deployer.names.log_group("late")] = type(tail.cursors[next(iter(tail.cursors))])(started)
    assert tail.poll() == [] and tail.missing_groups == {deployer.names.log_group("late")}
    deployer = deploy(sandbox, root, "tail")
    second = run_deployed(sandbox, deployer, "b00", 100)
    assert sandbox.wait_idle(30)
    fresh = tail.poll()
    late = [line for line in fresh if line.block == "late"]
    assert any(line.message == "late says hi" and line.execution_id == second.execution_id for line in late)
    assert {line.execution_id for line in fresh if line.record} == {second.execution_id}


def test_all_transitions_merged_stream_and_rebuilt_execution_equal_the_local_run(sandbox, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    root = tmp_path / "all-transitions"
    shutil.copytree(PROJECTS / "all-transitions", root, ignore=shutil.ignore_patterns(".refinery"))
    value = {"numbers": [3, 8, -1]}
    with LocalSession(root) as session:
        local = session.run(value)
        local_blocks = sorted(r.block for r in session.history.invocations(local.execution_id))
    deployer = deploy(sandbox, root, "merged")
    tail = LogTail(deployer.aws, stage_groups(deployer.names, deployer.target.manifest), mode="poll")
    deployed = run_deployed(sandbox, deployer, "start", value)
    assert deployed.outputs == local.outputs and deployed.status == local.status
    assert sandbox.wait_idle(30)
    lines = tail.poll()
    assert [line.timestamp for line in lines] == sorted(line.timestamp for line in lines)
    rebuilt = Rebuilder()
    rebuilt.feed(lines)
    run = rebuilt.runs[deployed.execution_id]
    assert run.status == "succeeded"
    assert sorted(i.block for i in run.invocations.values()) == local_blocks
    finals = sorted((i.block, i.output) for i in run.invocations.values() if i.final)
    assert finals == sorted((o["block"], o["output"]) for o in local.outputs)
    seen_blocks = {line.block for line in lines if line.record and line.kind == "start"}
    assert seen_blocks == {r for r in local_blocks if deployer.target.manifest["blocks"][r]["type"] == "code"}
    for invocation in run.invocations.values():
        assert (
            invocation.started is not None and invocation.ended is not None and invocation.started <= invocation.ended
        )
        if invocation.parent in run.invocations:
            assert run.invocations[invocation.parent].started <= invocation.started
    events = run.to_events()
    assert isinstance(events[-1], ExecutionFinished)
    assert (events[-1].execution_id, events[-1].status) == (deployed.execution_id, "succeeded")
    assert Executions(deployer.aws, deployer.target).recent()[0].execution_id == deployed.execution_id


def test_filters():
    from refinery_tui.cloud.loglines import make_line

    lines = [
        make_line("g", "s", 1, "1", '{"refinery":"start","execution_id":"e1","block":"a","invocation_id":"i"}', "a"),
        make_line("g", "s", 2, "2", "2026-11-27T10:00:00Z\treq\tERROR\tbad thing", "b"),
        make_line("g", "s", 3, "3", "[WARNING]\t2026\treq\tcareful", "b"),
        make_line("g", "s", 4, "4", "REPORT RequestId: x Duration: 1 ms", "b"),
    ]
    assert [line.level for line in lines] == ["INFO", "ERROR", "WARN", "PLATFORM"]
    assert [line.event_id for line in lines if LogFilter(blocks=frozenset({"b"})).matches(line)] == ["2", "3", "4"]
    assert [line.event_id for line in lines if LogFilter(levels=frozenset({"ERROR"})).matches(line)] == ["2"]
    assert [line.event_id for line in lines if LogFilter(text="BAD").matches(line)] == ["2"]
    assert [line.event_id for line in lines if LogFilter(text=r"Dur\w+: \d", regex=True).matches(line)] == ["4"]
    assert [line.event_id for line in lines if LogFilter(execution="e1").matches(line)] == ["1"]
    with pytest.raises(FilterError):
        LogFilter(text="(", regex=True)
    assert since_ms("10m", now=1000.0) == (1000 - 600) * 1000
    assert since_ms("2h", now=10_000.0) == (10_000 - 7200) * 1000
    with pytest.raises(FilterError):
        since_ms("ten minutes")


def test_live_tail_sessions_of_ten_groups_reconnect_and_report_sampling(sandbox, tmp_path):
    import threading

    deployer = deploy(sandbox, chain(tmp_path / "live", 12, name="live"), "live")
    groups = stage_groups(deployer.names, deployer.target.manifest)
    result = run_deployed(sandbox, deployer, "b00", 0)
    assert result.status == "succeeded" and sandbox.wait_idle(30)
    expected = LogTail(deployer.aws, groups, 0, mode="poll").poll()
    tail = LogTail(deployer.aws, groups, 0, mode="live", interval_s=0.05)
    got, stop = [], threading.Event()

    def emit(lines):
        got.extend(lines)
        if len(got) >= len(expected) and deployer.aws.log.count("StartLiveTail") >= 4:
            stop.set()

    follower = threading.Thread(target=tail.follow, args=(emit, stop))
    follower.start()
    follower.join(60)
    stop.set()
    assert tail.mode == "live"
    assert deployer.aws.log.count("StartLiveTail") >= 4, "two sessions (10 + 2 groups), each reconnected"
    assert sorted((line.group, line.stream, line.timestamp, line.message) for line in got) == sorted(
        (line.group, line.stream, line.timestamp, line.message) for line in expected
    )
    assert not tail.sampled

    loud = tmp_path / "loud"
    (loud / "blocks").mkdir(parents=True)
    (loud / "blocks/loud.py").write_text(
        "def main(block_input, backpack):\n    for n in range(600):\n        print('line', n)\n    return n\n"
    )
    (loud / "project.yaml").write_text(
        "name: loud\nblocks:\n  loud: {type: code, file: blocks/loud.py}\ntransitions: []\n"
    )
    noisy = deploy(sandbox, loud, "live")
    run_deployed(sandbox, noisy, "loud", None)
    assert sandbox.wait_idle(30)
    sampled_tail = LogTail(noisy.aws, stage_groups(noisy.names, noisy.target.manifest), 0, mode="live")
    seen, done = [], threading.Event()

    def take(lines):
        seen.extend(lines)
        done.set()

    follower = threading.Thread(target=sampled_tail.follow, args=(take, done))
    follower.start()
    follower.join(30)
    done.set()
    assert sampled_tail.sampled and seen and all(line.sampled for line in seen)
