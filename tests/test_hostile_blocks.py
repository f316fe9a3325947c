"""Blocks that hang, exit, crash, eat memory, flood output or return non-JSON: each is contained, reported as the
block's error (its exception transition fires), its worker is replaced, and the next run in the same session
succeeds."""

from __future__ import annotations

import shutil
import textwrap

import pytest
import yaml

from refinery_tui.local.session import LocalSession

PYTHON_HOSTILE = {
    "hang": ("import time\n    while True:\n        time.sleep(0.01)", "Timeout"),
    "busy-loop": ("while True:\n        pass", "Timeout"),
    "sys-exit": ("import sys\n    sys.exit(3)", "SystemExit"),
    "os-exit": ("import os\n    os._exit(7)", "WorkerCrashed"),
    "segfault": ("import ctypes\n    ctypes.string_at(0)", "WorkerCrashed"),
    "allocate": (
        "hoard = []\n    while True:\n        hoard.append(bytearray(10 ** 7))",
        ("OutOfMemory", "MemoryError"),
    ),
    "print-flood": ("while True:\n        print('x' * 1000)", "OutputFlood"),
    "fd-flood": ("import os\n    while True:\n        os.write(1, b'x' * 65536)", "OutputFlood"),
    "returns-a-set": ("return {1, 2}", "NotJSON"),
    "returns-nan": ("return float('nan')", "NotJSON"),
    "returns-an-object": ("return object()", "NotJSON"),
    "returns-too-much": ("return 'x' * (33 << 20)", "ReturnTooLarge"),
    "raises": ("raise KeyError('missing')", "KeyError"),
}

NODE_HOSTILE = {
    "hang": ("await new Promise(() => {});", "Timeout"),
    "busy-loop": ("while (true) {}", "Timeout"),
    "process-exit": ("process.exit(3);", "WorkerCrashed"),
    "allocate": (
        "const hoard = []; while (true) hoard.push(new Array(1e6).fill(1.5));",
        ("OutOfMemory", "WorkerCrashed"),
    ),
    "console-flood": ("while (true) console.log('x'.repeat(1000));", "OutputFlood"),
    "returns-bigint": ("return 10n;", "NotJSON"),
    "returns-too-much": ("return 'x'.repeat(33 << 20);", ("ReturnTooLarge", "OutOfMemory")),  # 160 MB is tight
    "throws": ("throw new TypeError('bad');", "TypeError"),
}


def _project(root, language: str, body: str) -> None:
    (root / "blocks").mkdir(parents=True)
    if language == "python":
        hostile = f"def main(block_input, backpack):\n    {body}\n"
        extension = ".py"
    else:
        hostile = f"exports.main = async (blockInput, backpack) => {{\n  {body}\n}};\n"
        extension = ".js"
    (root / f"blocks/hostile{extension}").write_text(hostile)
    (root / "blocks/caught.py").write_text(
        textwrap.dedent("""\
        def main(block_input, backpack):
            return {"caught": block_input["error"]["type"]}
    """)
    )
    (root / "blocks/fine.py").write_text("def main(block_input, backpack):\n    return 'fine'\n")
    project = {
        "name": "hostile",
        "blocks": {
            "hostile": {
                "type": "code",
                "language": language,
                "file": f"blocks/hostile{extension}",
                "timeout": 2,
                "memory": 160,
            },
            "caught": {"type": "code", "language": "python"},
            "fine": {"type": "code", "language": "python"},
        },
        "transitions": [{"from": "hostile", "to": "caught", "type": "exception"}],
    }
    (root / "project.yaml").write_text(yaml.safe_dump(project, sort_keys=False))


def _check(tmp_path, language: str, body: str, expected) -> None:
    expected = expected if isinstance(expected, tuple) else (expected,)
    _project(tmp_path, language, body)
    events = []
    with LocalSession(tmp_path, on_event=events.append) as session:
        result = session.run(None, entry="hostile")
        assert result.status == "succeeded", result.errors
        assert len(result.outputs) == 1 and result.outputs[0]["block"] == "caught"
        assert result.outputs[0]["output"]["caught"] in expected, result.outputs
        finished = [e for e in events if e.kind == "invocation_failed" and e.block == "hostile"]
        assert finished[0].status == "failed"
        again = session.run(None, entry="fine")
        assert again.status == "succeeded" and again.outputs[0]["output"] == "fine"
        assert session.history.invocations(result.execution_id)[0].error["type"] in expected
        killed = set(expected) & {"Timeout", "WorkerCrashed", "OutOfMemory"}
        assert finished[0].worker_replaced == bool(killed) or "OutputFlood" in expected


@pytest.mark.parametrize("name", PYTHON_HOSTILE)
def test_python_hostile_block_is_contained(name, tmp_path):
    body, expected = PYTHON_HOSTILE[name]
    _check(tmp_path, "python", body, expected)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("name", NODE_HOSTILE)
def test_node_hostile_block_is_contained(name, tmp_path):
    body, expected = NODE_HOSTILE[name]
    _check(tmp_path, "node", body, expected)


def test_a_crashed_worker_is_replaced_and_the_next_call_is_warm_again(tmp_path):
    _project(tmp_path, "python", "import os\n    os._exit(1)")
    with LocalSession(tmp_path) as session:
        session.run(None, entry="hostile")
        started = session.pool.started  # the crashed worker and its replacement, which ran 'caught'
        for _ in range(3):
            assert session.run(None, entry="fine").status == "succeeded"
        assert session.pool.started == started  # the replacement stays warm: no new process
