"""Benchmarks of the workbench, each beside a baseline measured in the same run.

Run on demand: `python tests/benchmarks/bench_workbench.py`.

1. Process start to the first interactive screen, on the bundled all-transitions project and on a generated
   1,000-block project, against a minimal Textual app started the same way.
2. Key-press-to-repaint latency (moving in the tree) while a 10,000-item fan-out runs, against the same key
   presses when nothing runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MINIMAL = (
    "from textual.app import App\nfrom textual.widgets import Static\n"
    "class A(App):\n    def compose(self):\n        yield Static('hi')\n"
    "    def on_mount(self):\n        self.call_after_refresh(self.exit)\nA().run(headless=True)\n"
)


def _start(command: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            command,
            check=True,
            env={**os.environ, "REFINERY_TUI_EXIT_WHEN_READY": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _big_project(root: Path, blocks: int = 1000) -> None:
    (root / "blocks").mkdir(parents=True)
    spec, transitions = {}, []
    for index in range(blocks):
        (root / f"blocks/b{index}.py").write_text("def main(block_input, backpack):\n    return block_input\n")
        spec[f"b{index}"] = {"type": "code", "language": "python"}
        if index:
            transitions.append({"from": f"b{(index - 1) // 3}", "to": f"b{index}"})
    (root / "project.yaml").write_text(yaml.safe_dump({"name": "big", "blocks": spec, "transitions": transitions}))


def bench_startup() -> None:
    launcher = [
        sys.executable,
        "-c",
        "import sys; from refinery_tui.tui.app import WorkbenchApp; "
        "WorkbenchApp(sys.argv[1], watch=False).run(headless=True)",
    ]
    baseline = _start([sys.executable, "-c", MINIMAL])
    bundled = _start([*launcher, str(REPO / "projects" / "all-transitions")])
    with tempfile.TemporaryDirectory() as folder:
        _big_project(Path(folder) / "big")
        big = _start([*launcher, str(Path(folder) / "big")], runs=3)
    print(
        f"start-up to first screen:  all-transitions {bundled * 1000:6.0f} ms   1,000 blocks {big * 1000:6.0f} ms   "
        f"minimal Textual app {baseline * 1000:6.0f} ms"
    )


async def _latency(root: Path, with_run: bool) -> tuple[list[float], bool]:
    """Key press (posted as the terminal would deliver it) to the first repaint after the tree moved."""
    from textual import events
    from textual.screen import Screen

    from refinery_tui.tui.app import WorkbenchApp

    repaints: list[float] = []
    original = Screen._compositor_refresh

    def recording(self) -> None:
        original(self)
        repaints.append(time.perf_counter())

    Screen._compositor_refresh = recording
    app = WorkbenchApp(root, watch=False)
    latencies = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app.run_pane.set_input(None)
            app.block_tree.focus()
            if with_run:
                await pilot.press("r")
                while app.run_pane.table.row_count < 50:
                    await asyncio.sleep(0.005)
            for index in range(40):
                key = "j" if index % 2 == 0 else "k"
                before = app.block_tree.cursor_line
                start = time.perf_counter()
                app.post_message(events.Key(key, key))
                while app.block_tree.cursor_line == before:
                    await asyncio.sleep(0.0005)
                moved = len(repaints)
                while len(repaints) == moved:
                    await asyncio.sleep(0.0005)
                latencies.append(repaints[-1] - start)
                await asyncio.sleep(0.02)  # a person's pace between key presses
            still_running = app.run_pane.controller.running
            await app.workers.wait_for_complete()
    finally:
        Screen._compositor_refresh = original
    return latencies, still_running


def bench_latency() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "fan"
        (root / "blocks").mkdir(parents=True)
        (root / "blocks/source.py").write_text("def main(block_input, backpack):\n    return list(range(10000))\n")
        (root / "blocks/work.py").write_text("def main(block_input, backpack):\n    return block_input * 2\n")
        (root / "blocks/collect.py").write_text("def main(block_input, backpack):\n    return sum(block_input)\n")
        (root / "project.yaml").write_text(
            yaml.safe_dump(
                {
                    "name": "fan",
                    "blocks": {name: {"type": "code"} for name in ("source", "work", "collect")},
                    "transitions": [
                        {"from": "source", "to": "work", "type": "fan-out"},
                        {"from": "work", "to": "collect", "type": "fan-in"},
                    ],
                }
            )
        )
        idle, _ = asyncio.run(_latency(root, with_run=False))
        busy, running = asyncio.run(_latency(root, with_run=True))
    if not running:
        print("  (the run ended before the last key press)")
    print(
        f"key press to repaint:      during a 10,000-item fan-out median {statistics.median(busy) * 1000:5.1f} ms, "
        f"max {max(busy) * 1000:5.1f} ms   idle median {statistics.median(idle) * 1000:5.1f} ms, "
        f"max {max(idle) * 1000:5.1f} ms"
    )


def main() -> int:
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    bench_startup()
    bench_latency()
    return 0


if __name__ == "__main__":
    if shutil.which("node") is None:
        print("(node is not installed: the bundled project's Node blocks will not run, start-up is unaffected)")
    sys.exit(main())
