"""The run history shared by real concurrent processes: large payloads written at once by several processes, a
run marked interrupted only when its process is gone, and a full disk (a file size limit) that stops the run with
a clear error, leaves no run `running` and nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import yaml

from refinery_tui.local.history import History

WRITER = """
import sys
from refinery_tui.local.history import History
history = History(sys.argv[1])
sys.stdin.read()  # everyone starts at once, when the test closes stdin
for i in range(300):
    value = {"item": i, "pad": "x" * 70_000}  # past the inline limit: a payload file, the same in every writer
    history.start_execution(f"{sys.argv[2]}-{i}", "entry", value)
    history.finish_execution(f"{sys.argv[2]}-{i}", "succeeded", [{"block": "entry", "output": value}], [])
history.close()
"""

WAITING_BLOCK = """\
import os, pathlib, time
def main(block_input, backpack):
    folder = pathlib.Path(block_input)
    (folder / "started").write_text(str(os.getpid()))
    while not (folder / "release").exists():
        time.sleep(0.01)
    return "released"
"""

BIG_RETURN = """\
def main(block_input, backpack):
    return "y" * 3_000_000
"""

# The real CLI with a file size limit, as a full disk would refuse writes (SIGXFSZ ignored: writes fail EFBIG).
LIMITED_CLI = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from refinery_tui.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _cli(*args: str, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "refinery_tui", *args], text=True, **options)


def _project(root, body: str) -> None:
    (root / "blocks").mkdir(parents=True)
    (root / "blocks/work.py").write_text(body)
    project = {"name": "store", "blocks": {"work": {"type": "code", "language": "python", "timeout": 120}}}
    (root / "project.yaml").write_text(yaml.safe_dump(project, sort_keys=False))


def _statuses(root) -> dict[str, str]:
    with sqlite3.connect(root / ".refinery/history.sqlite3") as db:
        return dict(db.execute("SELECT id, status FROM executions").fetchall())


def _wait_for_file(path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        os.sched_yield()


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie has no command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return bool(handle.read())
    except OSError:
        return False


def test_concurrent_writers_of_the_same_large_payloads_all_succeed(tmp_path):
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), f"writer{n}"],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for writer in writers:
        writer.stdin.close()
    for writer in writers:
        assert writer.wait(timeout=300) == 0, writer.stderr.read()
    payloads = list((tmp_path / ".refinery/payloads").iterdir())
    assert [p.name for p in payloads if not p.name.endswith(".json")] == []
    assert len(payloads) == 600  # each input, and each output list
    history = History(tmp_path)
    assert len(history.executions(limit=2000)) == 1200
    assert history.execution("writer3-299").outputs[0]["output"]["item"] == 299
    history.close()


def test_opening_the_store_leaves_another_process_s_live_run_alone(tmp_path):
    _project(tmp_path, WAITING_BLOCK)
    run = _cli("run", str(tmp_path), "--input", json.dumps(str(tmp_path)), stdout=subprocess.PIPE)
    try:
        _wait_for_file(tmp_path / "started", run)
        listed = subprocess.run(
            [sys.executable, "-m", "refinery_tui", "history", str(tmp_path)], capture_output=True, text=True
        )
        assert listed.returncode == 0, listed.stderr
        assert list(_statuses(tmp_path).values()) == ["running"]
        (tmp_path / "release").write_text("")
        out, _ = run.communicate(timeout=60)
        assert run.returncode == 0, out
        assert list(_statuses(tmp_path).values()) == ["succeeded"]
    finally:
        run.kill()


def test_a_run_whose_process_is_gone_is_marked_interrupted(tmp_path):
    _project(tmp_path, WAITING_BLOCK)
    run = _cli("run", str(tmp_path), "--input", json.dumps(str(tmp_path)), stdout=subprocess.PIPE)
    _wait_for_file(tmp_path / "started", run)
    block_pid = int((tmp_path / "started").read_text())
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    assert list(_statuses(tmp_path).values()) == ["running"]
    History(tmp_path).close()
    assert list(_statuses(tmp_path).values()) == ["interrupted"]
    deadline = time.monotonic() + 10  # the worker's keeper saw its parent go and ended the block's worker
    while _running(block_pid):
        assert time.monotonic() < deadline, "the worker outlived the killed run"
        os.sched_yield()


def test_a_full_disk_stops_the_run_with_a_clear_error_and_nothing_half_written(tmp_path):
    _project(tmp_path, BIG_RETURN)
    assert subprocess.run([sys.executable, "-m", "refinery_tui", "validate", str(tmp_path)]).returncode == 0
    completed = subprocess.run(
        [sys.executable, "-c", LIMITED_CLI, str(1 << 20), "run", str(tmp_path)], capture_output=True, text=True
    )
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr and "internal error" not in completed.stderr
    assert "the run stopped: cannot write the run history in" in completed.stderr
    assert "File too large" in completed.stderr and "free some disk space" in completed.stderr
    assert list(_statuses(tmp_path).values()) == ["failed"]
    leftovers = list((tmp_path / ".refinery/payloads").iterdir())
    assert [p.name for p in leftovers if not p.name.endswith(".json")] == []
    for payload in leftovers:
        json.loads(payload.read_text())  # whole, never cut


def test_a_full_disk_at_the_start_of_a_run_is_a_clear_error(tmp_path):
    _project(tmp_path, BIG_RETURN)
    (tmp_path / "big.json").write_text(json.dumps({"pad": "z" * 2_000_000}))
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            LIMITED_CLI,
            str(1 << 20),
            "run",
            str(tmp_path),
            "--input-file",
            str(tmp_path / "big.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr and "internal error" not in completed.stderr
    assert "the run stopped: cannot write the run history" in completed.stderr
    assert "running" not in _statuses(tmp_path).values()
    assert [p.name for p in (tmp_path / ".refinery/payloads").iterdir() if not p.name.endswith(".json")] == []
