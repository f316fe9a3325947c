"""Benchmarks of the local executor, each beside a baseline measured in the same run.

Run on demand: `python tests/benchmarks/bench_local.py`.

1. Per-transition overhead on a chain of 1,000 trivial Python blocks (warm workers, history on), against calling
   the same 1,000 functions directly in one process.
2. A 10,000-item fan-out and its fan-in, against the same calls made directly.
3. Time from saving a block file to the re-run's result (three-block project, `run --watch`'s hot reloader),
   against the same replay started directly (no file watching).
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from refinery_tui.local.session import LocalSession
from refinery_tui.local.watcher import HotReloader
from refinery_tui.runtime.events import Event

TRIVIAL = "def main(block_input, backpack):\n    return block_input + 1\n"


def _write(root: Path, blocks: dict[str, str], transitions: list[dict]) -> None:
    (root / "blocks").mkdir(parents=True, exist_ok=True)
    spec = {}
    for name, code in blocks.items():
        (root / f"blocks/{name}.py").write_text(code)
        spec[name] = {"type": "code", "language": "python"}
    (root / "project.yaml").write_text(
        yaml.safe_dump(
            {"name": "bench", "blocks": spec, "transitions": transitions, "max_hops": 100_000}, sort_keys=False
        )
    )


def _direct(root: Path, names: list[str]):
    functions = []
    for name in names:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", root / f"blocks/{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        functions.append(module.main)
    return functions


def bench_chain(length: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        names = [f"b{i}" for i in range(length)]
        _write(root, {name: TRIVIAL for name in names}, [{"from": a, "to": b} for a, b in zip(names, names[1:])])
        functions = _direct(root, names)
        start = time.perf_counter()
        value = 0
        for function in functions:
            value = function(value, {})
        direct = time.perf_counter() - start
        with LocalSession(root) as session:
            session.run(0)  # warm the worker
            times = []
            for _ in range(3):
                start = time.perf_counter()
                result = session.run(0)
                times.append(time.perf_counter() - start)
            assert result.outputs[0]["output"] == length
        best = min(times)
        per = (best - direct) / length * 1000
        print(
            f"chain of {length} blocks:      local {best * 1000:8.1f} ms   direct calls {direct * 1000:7.2f} ms   "
            f"overhead {per:.3f} ms per transition (ratio {best / max(direct, 1e-9):,.0f}x)"
        )


def bench_fan_out(items: int = 10_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _write(
            root,
            {
                "source": f"def main(block_input, backpack):\n    return list(range({items}))\n",
                "work": TRIVIAL,
                "collect": "def main(block_input, backpack):\n    return sum(block_input)\n",
            },
            [{"from": "source", "to": "work", "type": "fan-out"}, {"from": "work", "to": "collect", "type": "fan-in"}],
        )
        source, work, collect = _direct(root, ["source", "work", "collect"])
        start = time.perf_counter()
        expected = collect([work(item, {}) for item in source(None, {})], {})
        direct = time.perf_counter() - start
        with LocalSession(root) as session:
            start = time.perf_counter()
            result = session.run()
            elapsed = time.perf_counter() - start
        assert result.outputs[0]["output"] == expected
        print(
            f"fan-out of {items} items:    local {elapsed * 1000:8.1f} ms   direct calls {direct * 1000:7.2f} ms   "
            f"overhead {(elapsed - direct) / items * 1000:.3f} ms per item"
        )


def bench_save_to_result(rounds: int = 10) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _write(root, {"a": TRIVIAL, "b": TRIVIAL, "c": TRIVIAL}, [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}])
        done = threading.Condition()
        finished: list[float] = []
        watching = threading.Event()

        def on_event(event: Event) -> None:
            if event.kind == "watching":
                watching.set()
            if event.kind == "outputs_compared":
                with done:
                    finished.append(time.perf_counter())
                    done.notify_all()

        with LocalSession(root) as session:
            session.run(0)
            direct = []
            for _ in range(rounds):
                start = time.perf_counter()
                session.replay("b")
                direct.append(time.perf_counter() - start)
            stop = threading.Event()
            reloader = HotReloader(session, on_event)
            thread = threading.Thread(target=reloader.run, args=(stop,), daemon=True)
            thread.start()
            watching.wait(10)
            latencies = []
            for round_number in range(rounds):
                start = time.perf_counter()
                (root / "blocks/b.py").write_text(TRIVIAL.replace("+ 1", f"+ {round_number + 2}"))
                with done:
                    done.wait_for(lambda: len(finished) > round_number, 10)
                latencies.append(finished[round_number] - start)
            stop.set()
            thread.join(5)
        print(
            f"save to re-run result:     median {statistics.median(latencies) * 1000:6.1f} ms "
            f"(max {max(latencies) * 1000:.1f})   same replay started directly: "
            f"{statistics.median(direct) * 1000:.1f} ms"
        )


def main() -> int:
    print(f"Python {sys.version.split()[0]}")
    bench_chain()
    bench_fan_out()
    bench_save_to_result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
