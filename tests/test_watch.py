"""Hot reload: saving a block file while `run --watch` runs re-runs from that block only; a broken project.yaml
reports its errors and the last good model keeps running."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading

from refinery_tui.local.session import LocalSession
from refinery_tui.local.watcher import HotReloader
from refinery_tui.runtime.events import Event
from tests.test_executor import CHAIN, CHAIN_TRANSITIONS, write_project


class Lines:
    """Reads a process's output on a thread so a test can wait for a line (no sleeping)."""

    def __init__(self, stream) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.queue.put(line) for line in stream], daemon=True).start()

    def until(self, predicate, timeout: float = 60) -> list[dict]:
        seen = []
        while True:
            line = self.queue.get(timeout=timeout)
            event = json.loads(line)
            seen.append(event)
            if predicate(event):
                return seen


def test_saving_a_block_while_run_watch_runs_reruns_from_that_block_only(tmp_path):
    write_project(tmp_path, CHAIN, CHAIN_TRANSITIONS)
    process = subprocess.Popen(
        [sys.executable, "-m", "refinery_tui", "run", str(tmp_path), "--input", "1", "--json", "--watch"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = Lines(process.stdout)
        first = lines.until(lambda e: e["event"] == "execution_finished")
        assert first[-1]["outputs"] == [{"block": "c", "output": 19}]
        lines.until(lambda e: e["event"] == "watching")
        (tmp_path / "blocks/b.py").write_text("def main(block_input, backpack):\n    return block_input * 100\n")
        rerun = lines.until(lambda e: e["event"] == "outputs_compared")
        started = [e["block"] for e in rerun if e["event"] == "invocation_started"]
        assert started == ["b", "c"]  # 'a' was not executed again
        finished = next(e for e in rerun if e["event"] == "execution_finished")
        assert finished["outputs"] == [{"block": "c", "output": 199}]
        assert finished["replay_of"] == first[0]["execution_id"]
        assert rerun[-1]["changed"] == ["b", "c"]
    finally:
        process.terminate()
        process.wait(30)


def test_a_broken_project_file_keeps_the_last_good_model(tmp_path):
    write_project(tmp_path, CHAIN, CHAIN_TRANSITIONS)
    events: list[Event] = []
    with LocalSession(tmp_path) as session:
        reloader = HotReloader(session, events.append)
        good = (tmp_path / "project.yaml").read_text()
        (tmp_path / "project.yaml").write_text(good + "- {from: c, to: nowhere}\n")
        reloader.handle([tmp_path / "project.yaml"])
        assert events[-1].kind == "project_invalid"
        assert "nowhere" in events[-1].errors[0]
        assert session.run(1).outputs[0]["output"] == 19  # still the last good model
        (tmp_path / "project.yaml").write_text(good.replace("- from: b\n  to: c\n", ""))
        reloader.handle([tmp_path / "project.yaml"])
        assert events[-1].kind == "project_reloaded"
        assert session.run(1).outputs[0]["output"] == 20  # c is gone: b's output is final


def test_a_saved_file_with_no_run_yet_runs_the_project(tmp_path):
    write_project(tmp_path, CHAIN, CHAIN_TRANSITIONS)
    events: list[Event] = []
    with LocalSession(tmp_path) as session:
        results = HotReloader(session, events.append).handle([tmp_path / "blocks/c.py"])
        records = session.history.invocations(results[0].execution_id)
    assert [r.block for r in records] == ["a"]  # the whole project, from its entry (with no input, 'a' fails)
    assert [e.kind for e in events] == ["file_changed"]
