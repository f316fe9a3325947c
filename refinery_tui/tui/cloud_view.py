"""A deployed execution in the block tree and the Run pane, shown the way a local run is: its rebuilt events go
through the app's own path for local events (`apply_run_event`)."""

from __future__ import annotations

from typing import Any

from refinery_tui.local.executor import Event
from refinery_tui.tui.run_pane import output_preview

ROW_EVENTS = ("invocation_started", "invocation_finished", "invocation_failed")
STATUS_MARKS = {"succeeded": "✓", "failed": "✗"}


def show_cloud_run(app: Any, run: Any, execution: Any = None, stage: str = "", fresh: bool = False) -> None:
    """Bring the Run pane and the tree up to date with `run` (a CloudRun); `fresh` starts from empty rows.
    Only invocations whose state changed since the last call reach the table."""
    pane, tree = app.run_pane, app.block_tree
    if fresh or pane.cloud_run is None or pane.cloud_run.execution_id != run.execution_id:
        pane.clear()
        tree.set_states({})
    pane.cloud_run = run
    pane.cloud_stage = stage = stage or getattr(pane, "cloud_stage", "")
    shown = pane.cloud_shown
    latest: dict[str, dict[str, Any]] = {}
    for data in run.to_events():
        if data["event"] in ROW_EVENTS:
            latest[data["invocation_id"]] = data
    with app.batch_update():
        for invocation_id, data in latest.items():
            state = data.get("status", "running")
            if shown.get(invocation_id) == state:
                continue
            shown[invocation_id] = state
            fields = {key: value for key, value in data.items() if key != "event"}
            if state == "succeeded":
                fields["output_preview"] = output_preview(run.invocations[invocation_id].output)
            app.apply_run_event(Event(data["event"], fields))
        states = run.blocks()
        finished = execution is not None or run.status != "running"
        if finished and app.project is not None:
            states = {**{name: "skipped" for name in app.project.blocks if name not in states}, **states}
        tree.set_states(states)
    pane.set_status(*cloud_status(run, execution, stage))
    app.show_current_invocation()


def cloud_status(run: Any, execution: Any, stage: str) -> tuple[str, str]:
    """The Run pane's status line for a cloud execution (what matters first: the line is cut), and its style."""
    where = f"stage {stage} · " if stage else ""
    count = len(run.invocations)
    if execution is None and run.status == "running":
        return f"☁ running · {count} invocation(s) so far · {where}execution {run.execution_id}", "yellow"
    status = execution.status if execution is not None else run.status
    took = execution.duration_ms if execution is not None and execution.duration_ms is not None else run.duration_ms
    timing = f" in {took:.0f} ms" if took is not None else ""
    errors = f" · {execution.errors[0]}" if execution is not None and execution.errors else ""
    style = "green" if status == "succeeded" else "bold red"
    return (
        f"☁ {STATUS_MARKS.get(status, '·')} {status} · {count} invocations{timing}{errors} · {where}"
        f"execution {run.execution_id}",
        style,
    )
