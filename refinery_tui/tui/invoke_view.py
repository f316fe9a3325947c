"""What the Invoke pane draws: the followed execution's invocations (rows from `run_rows`), the reply and outcome
lines, and the picker of the stage's recent executions."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from refinery_tui.run_rows import row_of_deployed
from refinery_tui.tui.block_tree import STATE_MARKS, STATE_STYLES
from refinery_tui.tui.run_view import compact_json

MAX_ROWS = 1_000
"""Invocations listed in the pane; the Run pane (`o`) shows them all."""


def status_cell(status: str) -> Text:
    return Text(f"{STATE_MARKS.get(status, '·')} {status}", style=STATE_STYLES.get(status, ""))


def invocation_cells(invocation: Any) -> list[Any]:
    """block[place], status, ms, output preview (or the error) of a CloudInvocation."""
    row = row_of_deployed(invocation)
    return [row.label, status_cell(row.status), row.duration_text, row.detail]


class InvokeTable(DataTable):
    """The followed execution's invocations; only rows whose invocation changed are drawn again."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.can_focus = False  # the pane takes the keys (Enter invokes); `o` opens a row in the Run pane
        self.shown: dict[str, tuple[str, float | None]] = {}  # invocation id → (status, ms) in the table

    def on_mount(self) -> None:
        for label, width in (("block", 16), ("status", 11), ("ms", 5), ("output", None)):
            self.add_column(label, width=width)

    def reset(self) -> None:
        self.clear()
        self.shown = {}

    @property
    def current_key(self) -> str | None:
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value if self.row_count else None

    def show_run(self, run: Any) -> None:
        """Add or update the rows whose invocation changed; past MAX_ROWS, one row counts the rest."""
        ordered = run.ordered()
        for invocation in ordered[:MAX_ROWS]:
            state = (invocation.status, invocation.duration_ms)
            if self.shown.get(invocation.id) == state:
                continue
            self.shown[invocation.id] = state
            cells = invocation_cells(invocation)
            if invocation.id in self.rows:
                for column, value in zip(self.columns, cells):
                    self.update_cell(invocation.id, column, value)
            else:
                self.add_row(*cells, key=invocation.id)
        if len(ordered) > MAX_ROWS:
            cells = [f"… +{len(ordered) - MAX_ROWS}", "", "", "more invocations: o shows them all in the Run pane"]
            if "more" in self.rows:
                self.update_cell("more", self.ordered_columns[0].key, cells[0])
            else:
                self.add_row(*cells, key="more")


def reply_line(reply: dict[str, Any]) -> str:
    """`reply 200: {...}`: the API's status and body."""
    body = reply.get("body")
    return f"reply {reply.get('statusCode')}: {body if isinstance(body, str) else compact_json(body)}"


def reply_style(reply: dict[str, Any]) -> str:
    return "green" if 200 <= int(reply.get("statusCode") or 0) < 400 else "bold red"


def outcome_lines(reply: dict[str, Any] | None, execution: Any) -> list[str]:
    """The reply (if the invoke went through an API route), the outputs and the errors of an ended execution."""
    lines = [reply_line(reply)] if reply is not None else []
    lines += [f"output {item['block']}: {compact_json(item['output'])}" for item in execution.outputs]
    lines += [f"error: {error}" for error in execution.errors]
    return lines


class PickExecution(ModalScreen[str]):
    """The stage's recent executions, newest first: Enter follows one, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss('')", "Cancel", id="modal.cancel")]

    def __init__(self, executions: list[Any]) -> None:
        super().__init__()
        self.executions = executions

    def compose(self) -> ComposeResult:
        options = []
        for execution in self.executions:
            started = time.strftime("%H:%M:%S", time.localtime(execution.started)) if execution.started else "?"
            duration = f"{execution.duration_ms:.0f} ms" if execution.duration_ms is not None else "running"
            mark = STATE_MARKS.get(execution.status, "·")
            options.append(
                Option(
                    f"{mark} {execution.execution_id}  {execution.status:<9} {started}  {duration}",
                    id=execution.execution_id,
                )
            )
        with Vertical(classes="dialog"):
            yield Static("Recent executions (newest first) · Enter follows one · Escape cancels")
            yield OptionList(*options, id="recent-executions")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")
