"""The Deploy pane's table: one row per resource of the plan, then its progress while the plan is carried out."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from refinery_tui.cloud.planner import ACTION_SYMBOLS

ACTION_STYLES = {"create": "green", "update": "yellow", "delete": "bold red", "unchanged": "dim"}
STATE_LABELS = {
    "waiting": ("· waiting", "dim"),
    "done": ("✓ done", "green"),
    "failed": ("✗ failed", "bold red"),
    "skipped": ("○ skipped", "dim"),
}
COLUMNS = (("action", 11), ("progress", 14), ("kind", 12), ("block", None), ("name", None), ("reason", None))
BAR_WIDTH = 8


def step_bar(done: int, steps: int) -> str:
    """`██████░░  75%`: a resource's steps done, readable without colour."""
    fraction = done / steps if steps else 1.0
    filled = round(fraction * BAR_WIDTH)
    return f"{'█' * filled}{'░' * (BAR_WIDTH - filled)} {fraction:>4.0%}"


def action_label(action: str) -> Text:
    return Text(f"{ACTION_SYMBOLS[action]} {action}", style=ACTION_STYLES[action])


class DeployTable(DataTable):
    """Rows keyed by the change's id (`kind:name`, as in the apply events); pending changes first."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.changes: dict[str, Any] = {}
        self.states: dict[str, str] = {}
        self.steps: dict[str, tuple[int, int]] = {}
        self.failures: dict[str, str] = {}

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(label, width=width, key=label)

    def show_plan(self, plan, teardown: bool = False) -> None:
        self.clear()
        self.changes = {change.id: change for change in plan.changes}
        self.states, self.steps, self.failures = {}, {}, {}
        for change in plan.pending + [c for c in plan.changes if c.action == "unchanged"]:
            reason = "the stage is torn down" if teardown else change.reason
            self.add_row(
                action_label(change.action), "", change.kind, change.block or "", change.name, reason, key=change.id
            )

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes.values() if change.action == action)

    def set_state(self, key: str, state: str, done: int = 0, steps: int = 0) -> None:
        """waiting, running (with its steps done), done, failed or skipped."""
        if key not in self.changes:
            return
        self.states[key] = state
        if state == "running":
            self.steps[key] = (done, steps)
            cell = Text(step_bar(done, steps), style="yellow")
        else:
            label, style = STATE_LABELS[state]
            cell = Text(label, style=style)
        self.update_cell(key, "progress", cell)

    def fail(self, key: str, step: str, error: str) -> None:
        if key not in self.changes:
            return
        self.failures[key] = f"step '{step}' failed: {error}"
        self.set_state(key, "failed")
        self.update_cell(key, "reason", Text(self.failures[key], style="red"))

    def note(self, key: str, text: str) -> None:
        """What a running change waits for (AWS's windows after a delete), in its reason column."""
        if key in self.changes:
            self.update_cell(key, "reason", Text(text, style="yellow"))

    def skip(self, key: str, reason: str) -> None:
        if key in self.changes:
            self.set_state(key, "skipped")
            self.update_cell(key, "reason", Text(f"not tried: {reason}", style="dim"))

    def finished_count(self) -> int:
        return sum(1 for state in self.states.values() if state in ("done", "failed", "skipped"))

    def describe(self, key: str | None) -> Text:
        """The whole of a row, for the line under the table (the columns cut long names and errors)."""
        change = self.changes.get(key or "")
        if change is None:
            return Text("")
        block = f" · block {change.block}" if change.block else ""
        text = Text.assemble(action_label(change.action), f" {change.kind} {change.name}{block}")
        if key in self.failures:
            text.append(f" · {self.failures[key]}", style="bold red")
        elif str(self.get_cell(key, "reason")):
            text.append(f" · {self.get_cell(key, 'reason')}")
        return text

    def highlighted_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
