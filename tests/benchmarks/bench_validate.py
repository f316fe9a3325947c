"""Benchmark: load + validate a generated 1,000-block project, against plain `yaml.safe_load` of the same file.

Run on demand: `python tests/benchmarks/bench_validate.py`. Prints each figure and its ratio to the baseline
measured in the same run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from refinery_tui.model import load_project, render_project, validate_project

BLOCKS = 1_000


def make_project(root: Path) -> None:
    lines = ["name: bench", "blocks:"]
    transitions = ["transitions:"]
    (root / "blocks").mkdir(parents=True)
    for index in range(BLOCKS):
        lines.append(f"  b{index}: {{type: code, language: python, timeout: 10}}")
        (root / "blocks" / f"b{index}.py").write_text(
            "def main(block_input, backpack):\n    return {'n': block_input}\n"
        )
        if index:
            kind = "if, expression: \"return_data['n'] > 1\"" if index % 7 == 0 else "then"
            transitions.append(f"  - {{from: b{index - 1}, to: b{index}, type: {kind}}}")
    (root / "project.yaml").write_text("\n".join(lines + transitions) + "\n")


def best_of(function, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_project(root)
        text = (root / "project.yaml").read_text()
        baseline, baseline_median = best_of(lambda: yaml.safe_load(text))
        result = validate_project(root)
        assert result.ok, result.errors[:3]
        validate, validate_median = best_of(lambda: validate_project(root))
        project = load_project(root).project
        project.description = "changed"
        save, save_median = best_of(lambda: render_project(project, text), runs=3)
    print(f"project: {BLOCKS} code blocks, {BLOCKS - 1} transitions, Python {sys.version.split()[0]}")
    print(f"baseline  yaml.safe_load:            {baseline * 1000:8.1f} ms (median {baseline_median * 1000:.1f})")
    print(
        f"validate  load + all checks + files: {validate * 1000:8.1f} ms (median {validate_median * 1000:.1f})"
        f"  ratio {validate / baseline:5.2f}x"
    )
    print(
        f"save      round-trip render:         {save * 1000:8.1f} ms (median {save_median * 1000:.1f})"
        f"  ratio {save / baseline:5.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
