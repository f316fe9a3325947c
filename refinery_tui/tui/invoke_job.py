"""Invoke a deployed stage and follow the execution (its logs rebuilt, then its outcome), on a worker thread; no
Textual: a driver receives what happens."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Protocol

from refinery_tui.tui.deploy_target import DeployTarget, connect, readable

FOLLOW_S = 15 * 60
"""How long an execution is followed before the pane stops (Lambda's longest run)."""
START_S = 30.0
"""How long an execution may show no sign of life (no state record) before following stops."""
FLUSH_S = 10.0
"""How long to wait, after the state table says the execution ended, for its last log lines."""
CHECK_S = 0.3
"""Seconds between two looks at the execution's status."""
LATE_MS = 60_000
"""Logs are read from this long before the invoke (clocks differ; the entry may start before the call returns)."""
NOT_DEPLOYED = {"ResourceNotFoundException", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
                "NotFound", "NotFoundException"}
HOW_LABELS = {"invoke": "invoke", "api": "API route", "queue": "send to queue", "topic": "publish to topic"}


def hows_for(block: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, how) for the ways to start an execution at a manifest block, the default first."""
    kind = block.get("type")
    if kind == "api_endpoint":
        route = f"{(block.get('method') or 'GET').upper()} {block.get('path') or '/'}"
        return [(f"API {route}", "api"), ("invoke", "invoke")]
    if kind == "queue":
        return [(HOW_LABELS["queue"], "queue")]
    if kind == "topic":
        return [(HOW_LABELS["topic"], "topic")]
    return [("invoke", "invoke")]


def parse_input(text: str) -> tuple[Any, tuple[str, int, int] | None]:
    """(value, None), or (None, (message, line, column)) when the text is not JSON (an empty box is null)."""
    try:
        return json.loads(text.strip() or "null"), None
    except json.JSONDecodeError as exc:
        return None, (f"the input is not valid JSON at line {exc.lineno}:{exc.colno}: {exc.msg}", exc.lineno,
                      exc.colno)


class Driver(Protocol):
    """Where the job reports (the pane's driver posts each as a message)."""

    def started(self, started: Any, target: DeployTarget, sync: bool) -> None: ...
    def updated(self, run: Any) -> None: ...
    def finished(self, execution_id: str, run: Any, execution: Any, error: str | None, note: str | None) -> None: ...
    def failed(self, error: str) -> None: ...


def snapshot(run: Any) -> Any:
    """A copy of a CloudRun the UI may keep while the worker goes on feeding the original."""
    invocations = {key: replace(value, place=list(value.place), lines=list(value.lines))
                   for key, value in run.invocations.items()}
    return replace(run, invocations=invocations, transitions=list(run.transitions), lines=list(run.lines))


def finished_invocations(run: Any) -> int:
    return sum(1 for invocation in run.invocations.values() if invocation.status != "running")


def problem(exc: BaseException, target: DeployTarget, project: str) -> str:
    """Why the execution did not start, in words; a stage with nothing deployed says how to deploy it."""
    from botocore.exceptions import ClientError

    from refinery_tui.cloud.invoker import InvokeError

    stage = f"stage {target.stage} of {project}"
    hint = "deploy it first: Deploy pane (5), p plans, a applies"
    if isinstance(exc, InvokeError):
        text = str(exc)
        return f"{stage}: {text}" + ("" if "deploy" in text else f" ({hint})")
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    if code in NOT_DEPLOYED:
        return f"{stage} is not deployed on {target.describe()} ({code}): {hint}"
    return readable(exc, target)


@dataclass
class InvokeRequest:
    root: Path
    target: DeployTarget
    block: str
    how: str
    value: Any
    sync: bool


class InvokeJob:
    """Start an execution and follow it until it ends, `stop` is set, or FOLLOW_S passes."""

    def __init__(self, request: InvokeRequest, driver: Driver, stop: threading.Event,
                 on_call: Callable[[Any], None] | None = None, follow_s: float = FOLLOW_S) -> None:
        self.request = request
        self.driver = driver
        self.stop = stop
        self.on_call = on_call
        self.follow_s = follow_s

    def run(self) -> None:
        from refinery_tui.cloud.invoker import Invoker

        request, target = self.request, self.request.target
        try:
            deployer = connect(request.root, target, self.on_call)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
            self.driver.failed(readable(exc, target))
            return
        start_ms = int(time.time() * 1000) - LATE_MS
        try:
            started = Invoker(deployer.aws, deployer.target).start(request.block, request.value, request.how,
                                                                   request.sync)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
            self.driver.failed(problem(exc, target, deployer.project.name))
            return
        self.driver.started(started, target, request.sync)
        if not started.execution_id:
            self.driver.finished("", None, None, "the reply named no execution (no x-refinery-execution header): "
                                                 "nothing to follow", None)
            return
        self.follow(deployer, started.execution_id, start_ms)

    def follow(self, deployer: Any, execution_id: str, start_ms: int) -> None:
        """Tail the stage's logs for this execution on a second thread, and watch its status on this one."""
        from refinery_tui.cloud.executions import Executions
        from refinery_tui.cloud.logtail import LogTail, stage_groups
        from refinery_tui.cloud.rebuild import Rebuilder

        mode = "auto" if self.request.target.kind == "profile" else "poll"
        tail = LogTail(deployer.aws, stage_groups(deployer.names, deployer.target.manifest), start_ms, mode=mode,
                       interval_s=0.5)
        rebuilder = Rebuilder()
        lock = threading.Lock()
        tail_errors: list[BaseException] = []

        def take(lines: list[Any]) -> None:
            mine = [line for line in lines if line.execution_id == execution_id]
            if not mine:
                return
            with lock:
                rebuilder.feed(mine)
                copy = snapshot(rebuilder.run(execution_id))
            self.driver.updated(copy)

        def tail_logs(stop: threading.Event) -> None:
            try:
                tail.follow(take, stop)
            except Exception as exc:  # noqa: BLE001 - reported when following ends
                tail_errors.append(exc)

        tail_stop = threading.Event()
        tailer = threading.Thread(target=tail_logs, args=(tail_stop,), name="invoke-logs", daemon=True)
        tailer.start()
        executions = Executions(deployer.aws, deployer.target)
        execution, error, note = None, None, None
        begun = time.monotonic()
        ended_at: float | None = None
        try:
            while True:
                if self.stop.is_set():
                    note = "stopped following (the execution goes on in the cloud)"
                    break
                if tail_errors:
                    error = f"reading the logs failed: {readable(tail_errors[0], self.request.target)}"
                    break
                status = executions.status(execution_id)
                now = time.monotonic()
                if status not in (None, "running"):
                    if execution is None:
                        execution, ended_at = executions.read(execution_id), now
                    with lock:
                        run = rebuilder.runs.get(execution_id)
                        complete = run is not None and run.status != "running" and \
                            finished_invocations(run) >= execution.invocations
                    if complete or now - ended_at > FLUSH_S:
                        break
                elif status is None and now - begun > START_S:
                    error = (f"execution {execution_id} left no record in {START_S:.0f} s: the entry may have "
                             "failed before it started (the Logs pane shows the function's own lines)")
                    break
                elif now - begun > self.follow_s:
                    note = f"still running after {self.follow_s / 60:.0f} min: stopped following"
                    break
                self.stop.wait(CHECK_S)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
            error = readable(exc, self.request.target)
        finally:
            tail_stop.set()
            tailer.join(5)
        if not self.stop.is_set() and tail.mode == "poll" and not tail_errors:
            try:
                take(tail.poll())  # the lines of the last moment
            except Exception:  # noqa: BLE001 - what was read already stands
                pass
        with lock:
            run = snapshot(rebuilder.runs[execution_id]) if execution_id in rebuilder.runs else None
        self.driver.finished(execution_id, run, execution, error, note)


def recent_executions(root: Path, target: DeployTarget, limit: int = 30) -> list[Any]:
    """The stage's latest executions (newest first), from its state table."""
    from refinery_tui.cloud.executions import Executions

    deployer = connect(root, target)
    return Executions(deployer.aws, deployer.target).recent(limit)


class ReopenJob(InvokeJob):
    """Follow an execution that was started earlier (picked from the recent ones): its logs from its start."""

    def __init__(self, request: InvokeRequest, execution: Any, driver: Driver, stop: threading.Event) -> None:
        super().__init__(request, driver, stop)
        self.execution = execution

    def run(self) -> None:
        from refinery_tui.cloud.invoker import Started

        target = self.request.target
        try:
            deployer = connect(self.request.root, target)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
            self.driver.failed(readable(exc, target))
            return
        started_ms = int((self.execution.started or time.time()) * 1000)
        self.driver.started(Started(self.execution.execution_id, self.request.block, "reopened"), target, False)
        self.follow(deployer, self.execution.execution_id, started_ms - LATE_MS)
