"""The Deploy pane's work on worker threads: open the stage and plan, apply a plan; a driver hands what happens
to the UI as messages (a burst of apply events is one message)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from refinery_tui.cloud.stage import StageTarget
from refinery_tui.tui.command_log import CallQueue
from refinery_tui.tui.deploy_target import connect, readable
from refinery_tui.tui.messages import AwsCallsReady, DeployEventsReady, DeployFailed, DeployFinished, DeployPlanned


class DeployDriver:
    """What the deploy workers call on their threads: each method only queues data or posts a message."""

    def __init__(self, pane: Any) -> None:
        self.pane = pane
        self.calls = CallQueue(lambda: pane.post_message(AwsCallsReady()))
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._pending = False

    def planned(self, plan, deployer, target: StageTarget, teardown: bool, then: str | None) -> None:
        self.pane.post_message(DeployPlanned(plan, deployer, target, teardown, then))

    def event(self, event: dict[str, Any]) -> None:
        """An apply event; a burst of them reaches the UI as one message."""
        with self._lock:
            self._events.append(event)
            if self._pending:
                return
            self._pending = True
        self.pane.post_message(DeployEventsReady())

    def take_events(self) -> list[dict[str, Any]]:
        with self._lock:
            events, self._events = self._events, []
            self._pending = False
        return events

    def finished(self, result, target: StageTarget, teardown: bool, left: list[str] | None, writes: int) -> None:
        self.pane.post_message(DeployFinished(result, target, teardown, left, writes))

    def failed(self, operation: str, error: str, target: StageTarget) -> None:
        self.pane.post_message(DeployFailed(operation, error, target))


def plan_stage(
    root: Path, target: StageTarget, teardown: bool, then: str | None, operation: str, driver: DeployDriver
) -> None:
    """Open the stage and plan a deploy (or a teardown); the plan or a readable failure goes to the driver."""
    try:
        deployer = connect(root, target, driver.calls.add).deployer()
        plan = deployer.teardown_plan() if teardown else deployer.plan()
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
        driver.failed(operation, readable(exc, target), target)
        return
    driver.planned(plan, deployer, target, teardown, then)


def apply_plan(deployer: Any, plan: Any, target: StageTarget, teardown: bool, driver: DeployDriver) -> None:
    """Carry out a plan (each event to the driver); then what is left, for a teardown, and the write count."""
    operation = "teardown" if teardown else "apply"
    try:
        result = deployer.apply(plan, driver.event)
        left = [change.id for change in deployer.teardown_plan().pending] if teardown else None
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
        driver.failed(operation, readable(exc, target), target)
        return
    driver.finished(result, target, teardown, left, len(deployer.aws.log.writes()))
