"""Invoke a deployed stage and follow the execution (its logs rebuilt, then its outcome), on a worker thread; no
Textual: a driver receives what happens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from refinery_tui.cloud.stage import Stage, StageTarget
from refinery_tui.tui.deploy_target import connect, readable

LATE_MS = 60_000
"""Logs are read from this long before the invoke (clocks differ; the entry may start before the call returns)."""
NOT_DEPLOYED = {
    "ResourceNotFoundException",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "NotFound",
    "NotFoundException",
}
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
        return None, (f"the input is not valid JSON at line {exc.lineno}:{exc.colno}: {exc.msg}", exc.lineno, exc.colno)


class Driver(Protocol):
    """Where the job reports (the pane's driver posts each as a message)."""

    def started(self, started: Any, target: StageTarget, sync: bool) -> None: ...
    def updated(self, run: Any) -> None: ...
    def finished(self, execution_id: str, run: Any, execution: Any, error: str | None, note: str | None) -> None: ...
    def failed(self, error: str) -> None: ...


def problem(exc: BaseException, target: StageTarget, project: str) -> str:
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
    target: StageTarget
    block: str
    how: str
    value: Any
    sync: bool


class InvokeJob:
    """Start an execution and follow it until it ends, `stop` is set, or FOLLOW_S passes."""

    def __init__(
        self,
        request: InvokeRequest,
        driver: Driver,
        stop: threading.Event,
        on_call: Callable[[Any], None] | None = None,
        follow_s: float | None = None,
    ) -> None:
        self.request = request
        self.driver = driver
        self.stop = stop
        self.on_call = on_call
        self.follow_s = follow_s

    def run(self) -> None:
        request, target = self.request, self.request.target
        try:
            stage = connect(request.root, target, self.on_call)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
            self.driver.failed(readable(exc, target))
            return
        start_ms = int(time.time() * 1000) - LATE_MS
        try:
            started = stage.invoker().start(request.block, request.value, request.how, request.sync)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
            self.driver.failed(problem(exc, target, stage.project.name))
            return
        self.driver.started(started, target, request.sync)
        if not started.execution_id:
            self.driver.finished(
                "", None, None, "the reply named no execution (no x-refinery-execution header): nothing to follow", None
            )
            return
        self.follow(stage, started.execution_id, start_ms)

    def follow(self, stage: Stage, execution_id: str, start_ms: int) -> None:
        """Follow the execution (cloud/follow.py); every update and the end go to the driver."""
        from refinery_tui.cloud.follow import FOLLOW_S, follow_execution

        mode = "auto" if self.request.target.kind == "profile" else "poll"
        followed = follow_execution(
            stage.aws,
            stage.placement,
            execution_id,
            start_ms,
            self.driver.updated,
            self.stop,
            mode,
            self.follow_s or FOLLOW_S,
        )
        error = followed.error
        if followed.failure is not None:
            error = readable(followed.failure, self.request.target)
            if followed.in_logs:
                error = f"reading the logs failed: {error}"
        self.driver.finished(execution_id, followed.run, followed.execution, error, followed.note)


def recent_executions(root: Path, target: StageTarget, limit: int = 30) -> list[Any]:
    """The stage's latest executions (newest first), from its state table."""
    return connect(root, target).executions().recent(limit)


class ReopenJob(InvokeJob):
    """Follow an execution that was started earlier (picked from the recent ones): its logs from its start."""

    def __init__(self, request: InvokeRequest, execution: Any, driver: Driver, stop: threading.Event) -> None:
        super().__init__(request, driver, stop)
        self.execution = execution

    def run(self) -> None:
        from refinery_tui.cloud.invoker import Started

        target = self.request.target
        try:
            stage = connect(self.request.root, target)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
            self.driver.failed(readable(exc, target))
            return
        started_ms = int((self.execution.started or time.time()) * 1000)
        self.driver.started(Started(self.execution.execution_id, self.request.block, "reopened"), target, False)
        self.follow(stage, self.execution.execution_id, started_ms - LATE_MS)
