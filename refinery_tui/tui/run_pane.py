"""The Run pane: the input, the run controls' state, the invocations of the execution, the selected one's details,
and the history of past executions."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static, TextArea

from refinery_tui.local.executor import preview

ROWS_PER_BLOCK = 100
STATUS_STYLES = {
    "queued": "dim",
    "running": "bold yellow",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "dim",
    "paused": "reverse yellow",
}


def _json(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class RunPane(Horizontal):
    ALLOW_MAXIMIZE = True
    HELP = """\
## Run

Runs the workflow locally, with the semantics it has when deployed.

- Input: the JSON in the box at the top goes to the entry block (`ctrl+j` focuses it). It starts with the last
  input you ran (kept in `.refinery/last-input.json`), or the project's `input.json` example. While paused, it
  holds the next invocation's input: edit it, and `step` or `continue` runs with your edit. `ctrl+p` →
  `Input: Save as` keeps an input as `inputs/NAME.json` in the project; `Input: Load` puts one back.
- `r` run, `s` step (pause before each invocation), `c` continue, `p` pause, `x` cancel.
- `b` in the tree sets a breakpoint on a block: the run pauses before it.
- `a` turns auto re-run on save on and off (on by default): saving a block re-runs the last execution from that
  block, reusing what came before it; changed outputs are marked `Δ`.
- `f` replays from the selected invocation's block; `H` shows the history of executions (Enter opens one).
- The details on the right show the selected invocation's input, output or error with its traceback, backpack,
  stdout and stderr.
- A deployed execution shows here too (`☁` in the status line): the one the Invoke pane follows, or the one `o`
  opens from there. Its rows and the tree's colours come from its CloudWatch logs; the details show an
  invocation's input, output or error and its own log lines. `r` starts a local run again.
"""

    BINDINGS = [
        Binding("f", "app.replay_selected", "Replay from", id="run.replay"),
        Binding("H", "app.toggle_history", "History", id="run.history"),
        Binding("j", "cursor_down", "Down", show=False, id="run.down"),
        Binding("k", "cursor_up", "Up", show=False, id="run.up"),
    ]

    def on_mount(self) -> None:
        self.rows_of_block = {}
        self.folded = {}
        self.cloud_run = None  # the deployed execution shown (a CloudRun), if the rows are one
        self.cloud_shown: dict[str, str] = {}

    def compose(self):
        with Vertical(id="run-left"):
            yield Static("idle: `r` runs the project", id="run-status")
            yield TextArea(
                "{}", language="json", id="run-input", show_line_numbers=False, compact=True, tab_behavior="focus"
            )
            table = DataTable(id="invocations", cursor_type="row", zebra_stripes=True)
            for label, width in (("block", 16), ("status", 9), ("ms", 7), ("output", None)):
                table.add_column(label, width=width)
            yield table
            history = DataTable(id="executions", cursor_type="row")
            for label, width in (("execution", 22), ("status", 11), ("ms", 7), ("from", None)):
                history.add_column(label, width=width)
            history.display = False
            yield history
        with VerticalScroll(id="run-right"):
            yield Static("Select an invocation to see its input, output, backpack and output streams.", id="run-detail")

    @property
    def table(self) -> DataTable:
        return self.query_one("#invocations", DataTable)

    @property
    def visible_table(self) -> DataTable:
        history = self.query_one("#executions", DataTable)
        return history if history.display else self.table

    def action_cursor_down(self) -> None:
        self.visible_table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.visible_table.action_cursor_up()

    def set_status(self, text: str, style: str = "") -> None:
        self.query_one("#run-status", Static).update(Text(text, style=style))

    def clear(self) -> None:
        self.table.clear()
        self.query_one("#run-detail", Static).update("")
        self.rows_of_block: dict[str, int] = {}
        self.folded: dict[str, dict[str, str]] = {}
        self.cloud_run = None
        self.cloud_shown = {}

    def upsert(
        self,
        invocation_id: str,
        label: str,
        status: str,
        ms: float | None = None,
        output: str = "",
        changed: bool = False,
        block: str | None = None,
    ) -> None:
        """Add or update an invocation's row. Past ROWS_PER_BLOCK rows of one block (a big fan-out), further
        invocations of it are folded into one summary row, so that the table stays small and fast."""
        block = block or label.split("[", 1)[0]
        table = self.table
        if invocation_id not in table.rows:
            rows = getattr(self, "rows_of_block", {})
            self.rows_of_block = rows
            if rows.get(block, 0) >= ROWS_PER_BLOCK:
                self._fold(block, invocation_id, status)
                return
            rows[block] = rows.get(block, 0) + 1
        cells = [
            Text(("Δ " if changed else "") + label, style="bold" if changed else ""),
            Text(status, style=STATUS_STYLES.get(status, "")),
            "" if ms is None else _ms(ms),
            output,
        ]
        if invocation_id in table.rows:
            for column, value in zip(table.columns, cells):
                table.update_cell(invocation_id, column, value)
        else:
            table.add_row(*cells, key=invocation_id)

    def _fold(self, block: str, invocation_id: str, status: str) -> None:
        folded = getattr(self, "folded", {})
        self.folded = folded
        statuses, counts = folded.setdefault(block, ({}, {}))
        previous = statuses.get(invocation_id)
        if previous is not None:
            counts[previous] -= 1
        statuses[invocation_id] = status
        counts[status] = counts.get(status, 0) + 1
        summary = " ".join(f"{count} {name}" for name, count in sorted(counts.items()) if count)
        key = f"more:{block}"
        cells = [
            Text(f"{block} … +{len(statuses)}", style="italic"),
            Text(summary, style="dim"),
            "",
            "more invocations, folded (History shows all)",
        ]
        if key in self.table.rows:
            for column, value in zip(self.table.columns, cells):
                self.table.update_cell(key, column, value)
        else:
            self.table.add_row(*cells, key=key)

    def show_detail(self, record) -> None:
        parts = [f"[b]{record.block}[/b]  {record.status}  {record.duration_ms:.1f} ms  attempt {record.attempt + 1}"]
        parts += _value_sections(record.status, record.input, record.output, record.error)
        parts.append(
            "\n[b]backpack[/b]\n"
            + _escape(_json(record.backpack_out if record.backpack_out is not None else record.backpack_in))
        )
        if record.stdout:
            parts.append("\n[b]stdout[/b]\n" + _escape(record.stdout))
        if record.stderr:
            parts.append("\n[b]stderr[/b]\n" + _escape(record.stderr))
        self.query_one("#run-detail", Static).update("\n".join(parts))

    def show_cloud_detail(self, invocation_id: str | None) -> bool:
        """The details of an invocation of the cloud execution shown; False when the rows are not one."""
        run = getattr(self, "cloud_run", None)
        invocation = run.invocations.get(invocation_id) if run is not None and invocation_id else None
        if invocation is None:
            return False
        took = f"  {invocation.duration_ms:.1f} ms" if invocation.duration_ms is not None else ""
        parts = [
            f"[b]{_escape(invocation.block)}[/b]  {invocation.status}{took}  attempt {invocation.attempt + 1}"
            "  ☁ deployed"
        ]
        if invocation.truncated:
            parts.append("[i]large values: the logs hold previews[/i]")
        parts += _value_sections(invocation.status, invocation.input, invocation.output, invocation.error)
        if invocation.backpack is not None:
            parts.append("\n[b]backpack[/b]\n" + _escape(_json(invocation.backpack)))
        logged = [line.message for line in invocation.lines if line.record is None]
        if logged:
            parts.append("\n[b]log lines[/b]\n" + _escape("\n".join(logged)))
        self.query_one("#run-detail", Static).update("\n".join(parts))
        return True

    def input_value(self) -> Any:
        """The input box's JSON; raises ValueError with the place of a mistake."""
        text = self.query_one("#run-input", TextArea).text.strip() or "null"
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ValueError(f"the input is not valid JSON ({where}): {exc.msg}") from None

    def set_input(self, value: Any) -> None:
        self.query_one("#run-input", TextArea).load_text(compact_json(value))

    def show_history(self, executions) -> None:
        table = self.query_one("#executions", DataTable)
        table.clear()
        for record in executions:
            took = f"{(record.ended - record.started) * 1000:.0f}" if record.ended else ""
            source = f"replay from {record.replay_from}" if record.replay_of else record.entry
            table.add_row(
                record.id, Text(record.status, style=STATUS_STYLES.get(record.status, "")), took, source, key=record.id
            )

    def toggle_history(self) -> bool:
        """Show the history in place of the invocations, or back."""
        history = self.query_one("#executions", DataTable)
        history.display = not history.display
        self.table.display = not history.display
        (history if history.display else self.table).focus()
        return history.display


def _ms(ms: float) -> str:
    """A duration that fits its column: 0.4, 12.3, 156, 3012."""
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def compact_json(value: Any) -> str:
    """One line of JSON, for the input box."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def output_preview(value: Any) -> str:
    return preview(value, 60)


def _value_sections(status: str, given: Any, output: Any, error: dict[str, Any] | None) -> list[str]:
    """An invocation's input, then its output or its error with the traceback (local and deployed alike)."""
    parts = ["\n[b]input[/b]\n" + _escape(_json(given))]
    if status == "succeeded":
        parts.append("\n[b]output[/b]\n" + _escape(_json(output)))
    elif error:
        parts.append(
            f"\n[b red]error[/b red] {_escape(str(error.get('type', '')))}: {_escape(str(error.get('message', '')))}"
        )
        if error.get("traceback"):
            parts.append(_escape(str(error["traceback"])))
    return parts
