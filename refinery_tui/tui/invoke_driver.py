"""The glue between the Invoke pane and its jobs (invoke_job.py, Textual-free): the Driver whose calls, on the job's
thread, only post messages to the pane, and the listener that gives the Deploy pane's AWS command log the calls
that start executions."""

from __future__ import annotations

from typing import Any

from textual.widget import Widget

from refinery_tui.tui.messages import CloudExecutionFinished, CloudExecutionStarted, CloudExecutionUpdated, InvokeFailed


class InvokeDriver:
    """What the invoke worker calls on its thread: each method only posts a message."""

    def __init__(self, pane: Widget) -> None:
        self.pane = pane

    def started(self, started: Any, target: Any, sync: bool) -> None:
        self.pane.post_message(CloudExecutionStarted(started, target, sync))

    def updated(self, run: Any) -> None:
        self.pane.post_message(CloudExecutionUpdated(run))

    def finished(self, execution_id: str, run: Any, execution: Any, error: str | None, note: str | None) -> None:
        self.pane.post_message(CloudExecutionFinished(execution_id, run, execution, error, note))

    def failed(self, error: str) -> None:
        self.pane.post_message(InvokeFailed(error))


def call_listener(app: Any):
    """The Deploy pane's AWS command log gets the calls that start executions (not the polling); None without it."""
    from refinery_tui.tui.deploy_pane import DeployPane

    panes = app.query(DeployPane)
    if not panes:
        return None
    deploy_pane = panes.first()

    def record(call: Any) -> None:
        if call.service not in ("logs", "dynamodb", "sts"):
            deploy_pane.record_call(call)

    return record
