"""Processes a block starts: `run` ends as soon as the block returns, and nothing a block started outlives the worker
(detached with `setsid`, double-forked, or left behind by a worker that crashed). Real CLI, real processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from refinery_tui.processes import process_tree

PYTHON_DETACHED = """\
import os, subprocess
def main(block_input, backpack):
    subprocess.Popen(["sleep", "{mark}"], start_new_session=True)
    subprocess.Popen(["sleep", "{mark}"], start_new_session=True, close_fds=False)
    os.system("setsid sh -c 'sleep {mark} >/dev/null 2>&1 &'")  # a double fork: its parent is gone at once
    if block_input == "crash":
        os._exit(3)
    return "started"
"""

NODE_DETACHED = """\
const { spawn } = require("child_process");
exports.main = async (blockInput) => {
  spawn("sleep", ["{mark}"], { detached: true, stdio: "inherit" });
  spawn("sleep", ["{mark}"], { detached: true, stdio: "ignore" }).unref();
  if (blockInput === "crash") process.exit(3);
  return "started";
};
"""


def _mark() -> str:
    """A `sleep` argument no other process on the machine has: 30.<random digits>."""
    return f"30.{uuid.uuid4().int % 10**9:09d}"


def _sleeps(mark: str) -> list[int]:
    """Live processes (not zombies) whose command line is `sleep MARK`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                arguments = handle.read().split(b"\0")
        except OSError:
            continue
        if arguments[:2] == [b"sleep", mark.encode()]:
            found.append(int(entry))
    return found


def _project(root, language: str, mark: str) -> None:
    (root / "blocks").mkdir(parents=True)
    if language == "python":
        (root / "blocks/spawn.py").write_text(PYTHON_DETACHED.replace("{mark}", mark))
    else:
        (root / "blocks/spawn.js").write_text(NODE_DETACHED.replace("{mark}", mark))
    project = {"name": "detached", "blocks": {"spawn": {"type": "code", "language": language, "timeout": 20}}}
    (root / "project.yaml").write_text(yaml.safe_dump(project, sort_keys=False))


def _run(root, value: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "refinery_tui", "run", str(root), "--input", f'"{value}"'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return completed, time.monotonic() - started


LANGUAGES = [
    "python",
    pytest.param("node", marks=pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_run_ends_at_once_and_no_detached_process_is_left(language, tmp_path):
    mark = _mark()
    _project(tmp_path, language, mark)
    try:
        completed, took = _run(tmp_path, "go")
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert '"started"' in completed.stdout
        assert took < 5, f"run took {took:.1f} s"
        assert _sleeps(mark) == []
    finally:
        for pid in _sleeps(mark):
            os.kill(pid, 9)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_worker_that_crashes_takes_what_it_started_with_it(language, tmp_path):
    mark = _mark()
    _project(tmp_path, language, mark)
    try:
        completed, took = _run(tmp_path, "crash")
        assert completed.returncode == 1
        assert "WorkerCrashed: the block's process exited with code 3" in completed.stdout
        assert took < 5, f"run took {took:.1f} s"
        assert _sleeps(mark) == []
    finally:
        for pid in _sleeps(mark):
            os.kill(pid, 9)


def test_kill_tree_freezes_and_kills_every_descendant():
    mark = _mark()
    script = f"import subprocess, sys\nsubprocess.Popen(['sleep', '{mark}'])\n"
    script += f"subprocess.Popen(['sh', '-c', 'sleep {mark}; true'], start_new_session=True)\n"
    script += "print('ready', flush=True)\nsys.stdin.read()\n"
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert parent.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 10
        while len(_sleeps(mark)) < 2 and time.monotonic() < deadline:  # sh starts its sleep on its own time
            os.sched_yield()
        assert len(_sleeps(mark)) == 2
        assert set(_sleeps(mark)) <= set(process_tree.descendants(parent.pid))
        assert process_tree.kill_tree(parent.pid) >= 2
        assert parent.wait(timeout=10) == -9
        deadline = time.monotonic() + 10
        while _sleeps(mark) and time.monotonic() < deadline:
            os.sched_yield()
        assert _sleeps(mark) == []
    finally:
        parent.kill()
        for pid in _sleeps(mark):
            os.kill(pid, 9)


def test_run_does_not_wait_for_threads_a_block_left_running(tmp_path):
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks/spawn.py").write_text(
        "import threading\n"
        "def main(block_input, backpack):\n"
        "    threading.Thread(target=threading.Event().wait).start()  # never ends, and not a daemon\n"
        "    return 'started'\n"
    )
    (tmp_path / "project.yaml").write_text("name: threads\nblocks:\n  spawn: {type: code}\n")
    completed, took = _run(tmp_path, "go")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert took < 5, f"run took {took:.1f} s"
