"""Benchmark of the Logs pane: key press to repaint while 10,000 log lines a second flow in for 10 seconds.

Run on demand: `python tests/benchmarks/bench_logs.py [--seconds 10] [--rate 10000]`.

A thread feeds synthetic lines through the path the tail uses (`LogsDriver.emit`, 100 lines every 10 ms: the
lines are made on that thread, as the tail makes them), into the running workbench's Logs pane at 120x40. Every
100 ms a key is pressed: for the first half `w` (wrap on and off, which lays out all 50,000 kept lines again)
while following, for the second half `k`/`j` (the cursor, paused: the "+N new lines" badge counts). The latency is
key press (posted as the terminal would deliver it) to the first repaint that shows its effect. The baseline is
the same key presses, with the pane holding 50,000 lines and no lines flowing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

BLOCKS = ("greet", "shout", "sign", "a-longer-block-name")
BATCH_S = 0.010
KEY_EVERY_S = 0.100


def make_lines(start: int, count: int, now_ms: int) -> list:
    """Lines as the tail makes them (`make_line`): runtime records, prints, Lambda's own lines, some errors."""
    from refinery_tui.cloud.loglines import make_line

    lines = []
    for number in range(start, start + count):
        block = BLOCKS[number % len(BLOCKS)]
        execution = f"20260101-120000-{number // 1000:06x}"
        kind = number % 10
        if kind == 0:
            message = json.dumps(
                {
                    "refinery": "start",
                    "execution_id": execution,
                    "block": block,
                    "invocation_id": f"{execution}.{number}",
                    "input": {"n": number, "items": [1, 2]},
                }
            )
        elif kind == 1:
            message = json.dumps(
                {
                    "refinery": "end",
                    "execution_id": execution,
                    "block": block,
                    "status": "succeeded",
                    "invocation_id": f"{execution}.{number - 1}",
                    "duration_ms": 3.2,
                    "output": number,
                    "output_preview": str(number),
                }
            )
        elif kind == 2:
            message = f"[ERROR]\t2026-01-01T12:00:00.000Z\treq-{number}\tsomething failed: " + "detail " * 12
        elif kind == 3:
            message = f"REPORT RequestId: req-{number}\tDuration: 1.2 ms\tBilled Duration: 2 ms"
        else:
            message = f"{block} processed item {number} of the batch, everything is fine so far"
        lines.append(
            make_line(
                f"/aws/lambda/bench-dev-{block}",
                f"stream-{number % 7}",
                now_ms + number % 1000,
                str(number),
                message,
                block,
            )
        )
    return lines


def feed(driver, rate: int, seconds: float, done: threading.Event, fed: list[int]) -> None:
    """Emit `rate` lines a second for `seconds`, a batch every 10 ms, from this thread."""
    per_batch = max(1, int(rate * BATCH_S))
    batches = int(seconds / BATCH_S)
    start = time.perf_counter()
    now_ms = int(time.time() * 1000)
    number = 0
    for index in range(batches):
        driver.emit(make_lines(number, per_batch, now_ms))
        number += per_batch
        delay = start + (index + 1) * BATCH_S - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    fed.append(number)
    fed.append(time.perf_counter() - start)
    done.set()


def memory() -> tuple[float, float]:
    """(current, peak) resident memory of this process, MB."""
    values = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, amount, _ = line.split()
                values[key] = int(amount) / 1024
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak
    return values.get("VmRSS:", 0.0), values.get("VmHWM:", 0.0)


async def press_series(
    app, pane, seconds: float, painted: list[tuple[float, bool, int]], badges: list[int]
) -> dict[str, list[float]]:
    """Half the time `k`/`j` (paused), then `w` (following); a key every 100 ms. `painted` gets (time, wrap, the
    selected line's number) at every repaint: a key's latency ends at the first repaint that shows its effect.
    `badges` gets the "+N new lines" count when the paused half ends."""
    from textual import events

    view = pane.view
    latencies: dict[str, list[float]] = {"w": [], "j/k": []}
    presses = int(seconds / KEY_EVERY_S)
    begin = time.perf_counter()
    view.set_following(True)
    for index in range(presses):
        due = begin + index * KEY_EVERY_S
        while time.perf_counter() < due:
            await asyncio.sleep(0.001)
        if index < presses // 2:
            if view.cursor < pane.buffer.limit // 5:  # the paused line nears the oldest kept: back to the end
                view.set_following(True)
            at_end = view.following or view.cursor == pane.buffer.shown_count - 1
            key, series = ("k" if at_end or index % 2 == 0 else "j"), "j/k"
            selected = view.selected()[0]

            def shows(state, selected=selected) -> bool:
                return state[2] != selected
        else:
            if index == presses // 2:
                badges.append(view.new_lines)
                view.set_following(True)
            key, series = "w", "w"
            wrap = view.wrap

            def shows(state, wrap=wrap) -> bool:
                return state[1] != wrap

        seen = len(painted)
        start = time.perf_counter()
        app.post_message(events.Key(key, key))
        while True:
            shown = next((state for state in painted[seen:] if shows(state)), None)
            if shown is not None:
                break
            await asyncio.sleep(0.0005)
        latencies[series].append(shown[0] - start)
    return latencies


async def run(rate: int, seconds: float) -> None:
    from textual.screen import Screen

    from refinery_tui.tui.app import WorkbenchApp
    from refinery_tui.tui.logs_pane import LogsDriver, LogsPane

    painted: list[tuple[float, bool, int]] = []
    badges: list[int] = []
    views = []
    original = Screen._compositor_refresh

    def recording(self) -> None:
        original(self)
        if views:
            selected = views[0].selected()
            painted.append((time.perf_counter(), views[0].wrap, selected[0] if selected else -1))

    Screen._compositor_refresh = recording
    folder = tempfile.mkdtemp()
    root = Path(folder) / "hello-world"
    shutil.copytree(REPO / "projects" / "hello-world", root, ignore=shutil.ignore_patterns(".refinery"))
    try:
        app = WorkbenchApp(root, watch=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("7")
            pane = app.query_one(LogsPane)
            views.append(pane.view)
            limit = pane.buffer.limit
            now_ms = int(time.time() * 1000)
            for start in range(0, limit, 5_000):
                pane.add_lines(make_lines(10_000_000 + start, 5_000, now_ms))
            await pilot.pause()
            rss_full, _ = memory()
            idle = await press_series(app, pane, seconds, painted, badges)

            driver = pane.driver = LogsDriver(pane, limit)  # the tail's path, with no AWS behind it
            received = pane.buffer.received
            done, fed = threading.Event(), []
            feeder = threading.Thread(target=feed, args=(driver, rate, seconds, done, fed), daemon=True)
            feeder.start()
            busy = await press_series(app, pane, seconds, painted, badges)
            while not done.is_set():
                await asyncio.sleep(0.01)
            drained = time.perf_counter()
            while pane.buffer.received - received < fed[0]:
                await asyncio.sleep(0.005)
            drain_ms = (time.perf_counter() - drained) * 1000
            rss_now, rss_peak = memory()
            kept, dropped = len(pane.buffer), pane.buffer.dropped
            status = pane.status_text()
    finally:
        Screen._compositor_refresh = original
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"fed {fed[0]:,} lines in {fed[1]:.2f} s ({fed[0] / fed[1]:,.0f} lines/s) from a thread through "
        f"LogsDriver.emit; all in the pane {drain_ms:.0f} ms after the last batch"
    )
    for series in ("w", "j/k"):
        base, load = idle[series], busy[series]
        what = "w (wrap all 50,000 kept lines, following)" if series == "w" else "j/k (cursor, paused)"
        print(f"key press to repaint, {what}: {len(load)} presses")
        print(
            f"    10,000 lines/s flowing: median {statistics.median(load) * 1000:6.1f} ms, "
            f"max {max(load) * 1000:6.1f} ms"
        )
        print(
            f"    no lines flowing:       median {statistics.median(base) * 1000:6.1f} ms, "
            f"max {max(base) * 1000:6.1f} ms"
        )
        print(
            f"    ratio (flowing / idle): median {statistics.median(load) / statistics.median(base):4.2f}x, "
            f"max {max(load) / max(base):4.2f}x"
        )
    print(
        f"kept {kept:,} lines (limit {limit:,}; {dropped:,} dropped so far); the paused half ended with the badge "
        f"at +{badges[-1]:,} new lines"
    )
    print(
        f"resident memory: {rss_full:.0f} MB with 50,000 lines before the flow, {rss_now:.0f} MB after, "
        f"peak {rss_peak:.0f} MB"
    )
    print(f"status line: {status}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=10_000, help="lines a second")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    asyncio.run(run(args.rate, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
