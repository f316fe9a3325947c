"""Benchmark of the deployer against the sandbox, beside a baseline measured in the same run.

Run on demand: `python tests/benchmarks/bench_deploy.py`.

A generated 50-block project (a chain with a fan-out, a queue and a topic on the way) is deployed to a fresh stage
of the sandbox: first deploy, then a redeploy with no change. The same two deploys are done with sequential calls
(one resource at a time: the deployer with parallel=1) as the baseline. Printed: seconds, the ratio, and the number
of AWS calls (all, and writes) of each. The sandbox answers in a few milliseconds from one process, so the run is
repeated with 30 ms added before each call, about what a call to AWS costs from a dev box.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.deployer import Deployer
from refinery_tui.model import load_project


@contextmanager
def sandbox_process(state: Path):
    """The sandbox as the user runs it: its own process (so its work does not share this process's GIL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "refinery_tui", "sandbox", "--port", "0", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        text=True,
    )
    environment = {}
    for line in process.stdout:
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            environment[name] = value.strip("'")
        if line.startswith("# The sandbox runs"):
            break
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update({k: v for k, v in environment.items() if k != "AWS_ENDPOINT_URL"})
    try:
        yield environment["AWS_ENDPOINT_URL"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


BLOCKS = 50
LATENCY = 0.03


def generate(root: Path) -> Path:
    (root / "blocks").mkdir(parents=True)
    blocks, transitions = {}, []
    for number in range(BLOCKS - 2):
        name = f"step-{number:02d}"
        (root / f"blocks/step_{number:02d}.py").write_text(
            f"def main(block_input, backpack):\n    return block_input  # step {number}\n"
        )
        blocks[name] = {"type": "code", "language": "python", "file": f"blocks/step_{number:02d}.py"}
        if number:
            transitions.append({"from": f"step-{number - 1:02d}", "to": name})
    blocks["jobs"] = {"type": "queue", "batch_size": 5}
    blocks["news"] = {"type": "topic"}
    transitions += [
        {"from": "step-10", "to": "jobs"},
        {"from": "jobs", "to": "step-30"},
        {"from": "step-20", "to": "news"},
        {"from": "news", "to": "step-40"},
    ]
    (root / "project.yaml").write_text(
        yaml.safe_dump({"name": "bench", "blocks": blocks, "transitions": transitions}, sort_keys=False)
    )
    return root


def deploy(endpoint: str, root: Path, stage: str, parallel: int, latency: float) -> tuple[float, int, int]:
    aws = Aws(region="us-east-1", endpoint_url=endpoint)
    if latency:
        aws.fault = lambda *_: time.sleep(latency)
    deployer = Deployer(load_project(root).project, root, stage, aws, cache_dir=root / ".cache", parallel=parallel)
    deployer.packages()
    started = time.perf_counter()
    result = deployer.apply()
    seconds = time.perf_counter() - started
    assert result.ok, [failure.line() for failure in result.failures]
    return seconds, len(aws.log.calls), len(aws.log.writes())


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, sandbox_process(Path(folder) / "sandbox") as endpoint:
        root = generate(Path(folder) / "bench")
        print(f"{BLOCKS}-block project to the sandbox (packages built beforehand, not timed)")
        for latency in (0.0, LATENCY):
            rows = []
            for label, stage, parallel in (("parallel (8)", "par", 8), ("sequential (baseline)", "seq", 1)):
                stage = f"{stage}{int(latency * 1000)}"
                first = deploy(endpoint, root, stage, parallel, latency)
                again = deploy(endpoint, root, stage, parallel, latency)
                rows.append((label, first, again))
            print(f"\n{'sandbox as is' if not latency else f'{latency * 1000:.0f} ms added to each call (AWS-like)'}")
            print(f"{'':24}{'first deploy':>14}{'calls':>8}{'writes':>8}{'no-change':>12}{'calls':>8}{'writes':>8}")
            for label, first, again in rows:
                print(
                    f"{label:24}{first[0]:>13.2f}s{first[1]:>8}{first[2]:>8}{again[0]:>11.2f}s{again[1]:>8}"
                    f"{again[2]:>8}"
                )
            (_, par_first, par_again), (_, seq_first, seq_again) = rows
            print(
                f"ratio sequential / parallel: first deploy {seq_first[0] / par_first[0]:.1f}x, "
                f"no-change redeploy {seq_again[0] / par_again[0]:.1f}x"
            )


if __name__ == "__main__":
    main()
