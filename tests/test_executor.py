"""The local executor end to end: big payloads, big fan-outs, stepping, breakpoints, editing, cancelling, history,
replay and crash safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading

import yaml

from refinery_tui.local.history import History, compare_executions
from refinery_tui.local.session import LocalSession
from refinery_tui.runtime.events import Event


def write_project(root, blocks: dict[str, str], transitions: list[dict], **extra) -> None:
    """blocks: name -> Python body of main (one or more lines, indented by 4 inside main)."""
    (root / "blocks").mkdir(parents=True, exist_ok=True)
    spec = {}
    for name, body in blocks.items():
        (root / f"blocks/{name.replace('-', '_')}.py").write_text(f"def main(block_input, backpack):\n    {body}\n")
        spec[name] = {"type": "code", "language": "python", **extra.pop(name, {})}
    (root / "project.yaml").write_text(
        yaml.safe_dump({"name": "executor-test", "blocks": spec, "transitions": transitions, **extra}, sort_keys=False)
    )


def test_a_100_mb_payload_passes_through_a_three_block_chain(tmp_path):
    write_project(
        tmp_path,
        {"a": "return block_input", "b": "return block_input", "c": "return len(block_input['data'])"},
        [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
        a={"memory": 2048, "max_return": 128},  # returns are capped (32 MB by default): this chain allows 128 MB
        b={"memory": 2048, "max_return": 128},
        c={"memory": 2048},
    )
    payload = {"data": "x" * (100 * 1024 * 1024)}
    with LocalSession(tmp_path) as session:
        result = session.run(payload)
        assert result.status == "succeeded", result.errors
        assert result.outputs[0]["output"] == 100 * 1024 * 1024
        records = session.history.invocations(result.execution_id)
        assert records[1].output == payload  # stored once, by hash, and read back whole
    stored = list((tmp_path / ".refinery" / "payloads").iterdir())
    assert len(stored) == 1


def test_a_10000_item_fan_out_and_its_fan_in(tmp_path):
    write_project(
        tmp_path,
        {
            "a": "return list(range(10000))",
            "b": "return block_input * 2",
            "c": "return [len(block_input), sum(block_input), block_input[:3], block_input[-1]]",
        },
        [{"from": "a", "to": "b", "type": "fan-out"}, {"from": "b", "to": "c", "type": "fan-in"}],
    )
    with LocalSession(tmp_path) as session:
        result = session.run()
    assert result.status == "succeeded", result.errors[:3]
    assert result.outputs[0]["output"] == [10000, 2 * sum(range(10000)), [0, 2, 4], 19998]
    assert result.invocations == 10002


CHAIN = {"a": "return block_input + 1", "b": "return block_input * 10", "c": "return block_input - 1"}
CHAIN_TRANSITIONS = [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]


class Recorder:
    """Collects events and lets a test wait for one (no sleeping)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.condition = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self.condition:
            self.events.append(event)
            self.condition.notify_all()

    def wait_for(self, kind: str, count: int = 1, timeout: float = 30) -> Event:
        with self.condition:
            ok = self.condition.wait_for(lambda: len(self.of(kind)) >= count, timeout)
        assert ok, f"no {kind} #{count}; saw {[e.kind for e in self.events]}"
        return self.of(kind)[count - 1]

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


def _run_in_thread(session, **kwargs):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", session.run(**kwargs)))
    thread.start()
    return thread, box


def test_stepping_runs_one_invocation_per_step(tmp_path):
    write_project(tmp_path, CHAIN, CHAIN_TRANSITIONS)
    recorder = Recorder()
    with LocalSession(tmp_path, on_event=recorder) as session:
        thread, box = _run_in_thread(session, value=1, step=True)
        for number, block in enumerate(["a", "b", "c"], start=1):
            paused = recorder.wait_for("paused", number)
            assert paused.block == block
            assert len(recorder.of("invocation_finished")) == number - 1
            session.executor.step()
        thread.join(30)
    assert box["result"].outputs[0]["output"] == 19


def test_breakpoint_pauses_and_a_pending_input_can_be_edited(tmp_path):
    write_project(tmp_path, CHAIN, CHAIN_TRANSITIONS)
    recorder = Recorder()
    with LocalSession(tmp_path, on_event=recorder) as session:
        session.executor.set_breakpoints({"b"})
        thread, box = _run_in_thread(session, value=1)
        paused = recorder.wait_for("paused")
        assert (paused.block, paused.reason, paused.input_preview) == ("b", "breakpoint", "2")
        assert [e.block for e in recorder.of("invocation_finished")] == ["a"]
        session.executor.edit_input(paused.invocation_id, 5)
        recorder.wait_for("invocation_edited")
        session.executor.resume()
        thread.join(30)
    assert box["result"].outputs[0]["output"] == 49  # (5 * 10) - 1: the edited input was used


def test_pause_and_cancel(tmp_path):
    write_project(
        tmp_path,
        {
            "a": "return list(range(50))",
            "b": "import time\n    time.sleep(0.05)\n    return 1",
            "c": "return sum(block_input)",
        },
        [{"from": "a", "to": "b", "type": "fan-out"}, {"from": "b", "to": "c", "type": "fan-in"}],
    )
    recorder = Recorder()
    with LocalSession(tmp_path, on_event=recorder, concurrency=2) as session:
        thread, box = _run_in_thread(session)
        recorder.wait_for("invocation_finished", 3)
        session.executor.pause()
        recorder.wait_for("paused")
        finished_when_paused = len(recorder.of("invocation_finished"))
        session.executor.cancel()
        thread.join(30)
        result = box["result"]
        assert result.status == "cancelled"
        assert result.invocations < 52
        assert finished_when_paused <= result.invocations
        assert recorder.of("invocation_cancelled")
        assert session.history.execution(result.execution_id).status == "cancelled"
        again = session.run()
        assert again.status == "succeeded", again.errors  # the session goes on


def test_history_lists_shows_and_compares(tmp_path):
    write_project(tmp_path, CHAIN, CHAIN_TRANSITIONS)
    with LocalSession(tmp_path) as session:
        first = session.run(1)
        second = session.run(2)
        listed = session.history.executions()
        assert [e.id for e in listed[:2]] == [second.execution_id, first.execution_id]
        shown = session.history.invocations(first.execution_id)
        assert [(r.block, r.input, r.output, r.status) for r in shown] == [
            ("a", 1, 2, "succeeded"),
            ("b", 2, 20, "succeeded"),
            ("c", 20, 19, "succeeded"),
        ]
        assert all(r.ended >= r.started for r in shown)
        comparison = compare_executions(session.history, first.execution_id, second.execution_id)
        assert comparison["changed"] == ["a", "b", "c"]
        third = session.run(1)
        assert compare_executions(session.history, first.execution_id, third.execution_id)["changed"] == []


def test_replay_from_a_block_reuses_upstream_and_join_inputs(tmp_path):
    write_project(
        tmp_path,
        {
            "start": "return block_input",
            "left": "return block_input + 1",
            "right": "return block_input + 2",
            "join": "return block_input",
        },
        [
            {"from": "start", "to": "left"},
            {"from": "start", "to": "right"},
            {"from": "left", "to": "join", "type": "merge"},
            {"from": "right", "to": "join", "type": "merge"},
        ],
    )
    with LocalSession(tmp_path) as session:
        base = session.run(10)
        (tmp_path / "blocks/right.py").write_text("def main(block_input, backpack):\n    return block_input * 100\n")
        replay = session.replay("right")
        blocks = [r.block for r in session.history.invocations(replay.execution_id)]
        assert blocks == ["right", "join"]  # start and left did not run again
        assert replay.outputs[0]["output"] == [11, 1000]
        assert compare_executions(session.history, base.execution_id, replay.execution_id)["changed"] == [
            "join",
            "right",
        ]


def test_stdout_and_stderr_are_recorded_per_invocation(tmp_path):
    write_project(
        tmp_path,
        {"a": "import sys\n    print('hello', block_input)\n    print('warn', file=sys.stderr)\n    return 1"},
        [],
    )
    with LocalSession(tmp_path) as session:
        result = session.run(5)
        record = session.history.invocations(result.execution_id)[0]
    assert record.stdout == "hello 5\n" and record.stderr == "warn\n"


def test_an_interrupted_run_leaves_a_readable_store(tmp_path):
    write_project(
        tmp_path,
        {"a": "return 1", "b": "import time\n    time.sleep(600)"},
        [{"from": "a", "to": "b"}],
        b={"timeout": 900},
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "refinery_tui", "run", str(tmp_path), "--json"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "invocation_started" and event["block"] == "b":
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    database = tmp_path / ".refinery" / "history.sqlite3"
    assert sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    history = History(tmp_path)
    execution = history.executions()[0]
    assert execution.status == "interrupted"
    assert [r.block for r in history.invocations(execution.id)] == ["a"]
    history.close()
    (tmp_path / "blocks/b.py").write_text("def main(block_input, backpack):\n    return block_input + 1\n")
    with LocalSession(tmp_path) as session:  # and the project runs again
        assert session.run().outputs[0]["output"] == 2
