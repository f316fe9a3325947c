"""What the Run pane draws: the invocations table (rows from `run_rows`, a big fan-out folded), an invocation's
details (local or deployed alike), the history table and the status line of a deployed execution."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from refinery_tui.run_rows import InvocationRow

ROWS_PER_BLOCK = 100
STATUS_STYLES = {
    "queued": "dim",
    "running": "bold yellow",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "dim",
    "paused": "reverse yellow",
}
STATUS_MARKS = {"succeeded": "✓", "failed": "✗"}


class InvocationTable(DataTable):
    """The invocations of the execution shown, one row each. Past ROWS_PER_BLOCK rows of one block (a big
    fan-out), further invocations of it fold into one summary row, so that the table stays small and fast."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_of_block: dict[str, int] = {}
        self.folded: dict[str, tuple[dict[str, str], dict[str, int]]] = {}

    def on_mount(self) -> None:
        for label, width in (("block", 16), ("status", 9), ("ms", 7), ("output", None)):
            self.add_column(label, width=width)

    def reset(self) -> None:
        self.clear()
        self.rows_of_block = {}
        self.folded = {}

    def upsert(self, row: InvocationRow, changed: bool = False) -> None:
        """Add or update an invocation's row (`changed`: its output differs from the run this one follows)."""
        if row.invocation_id not in self.rows:
            if self.rows_of_block.get(row.block, 0) >= ROWS_PER_BLOCK:
                self._fold(row.block, row.invocation_id, row.status)
                return
            self.rows_of_block[row.block] = self.rows_of_block.get(row.block, 0) + 1
        cells = [
            Text(("Δ " if changed else "") + row.label, style="bold" if changed else ""),
            Text(row.status, style=STATUS_STYLES.get(row.status, "")),
            row.duration_text,
            row.detail,
        ]
        self._put(row.invocation_id, cells)

    def _fold(self, block: str, invocation_id: str, status: str) -> None:
        statuses, counts = self.folded.setdefault(block, ({}, {}))
        previous = statuses.get(invocation_id)
        if previous is not None:
            counts[previous] -= 1
        statuses[invocation_id] = status
        counts[status] = counts.get(status, 0) + 1
        summary = " ".join(f"{count} {name}" for name, count in sorted(counts.items()) if count)
        cells = [
            Text(f"{block} … +{len(statuses)}", style="italic"),
            Text(summary, style="dim"),
            "",
            "more invocations, folded (History shows all)",
        ]
        self._put(f"more:{block}", cells)

    def _put(self, key: str, cells: list[Any]) -> None:
        if key in self.rows:
            for column, value in zip(self.columns, cells):
                self.update_cell(key, column, value)
        else:
            self.add_row(*cells, key=key)

    @property
    def current_key(self) -> str | None:
        """The key of the row under the cursor (an invocation id, or `more:BLOCK` for a folded row)."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value


def history_cells(record: Any) -> list[Any]:
    """A past execution's row: id, status, ms, and where it started."""
    took = f"{(record.ended - record.started) * 1000:.0f}" if record.ended else ""
    source = f"replay from {record.replay_from}" if record.replay_of else record.entry
    return [record.id, Text(record.status, style=STATUS_STYLES.get(record.status, "")), took, source]


def local_detail(record: Any) -> str:
    """A recorded local invocation's details: input, output or error, backpack, stdout and stderr."""
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
    return "\n".join(parts)


def deployed_detail(invocation: Any) -> str:
    """A deployed invocation's details (a CloudInvocation): input, output or error, backpack, its log lines."""
    took = f"  {invocation.duration_ms:.1f} ms" if invocation.duration_ms is not None else ""
    parts = [
        f"[b]{_escape(invocation.block)}[/b]  {invocation.status}{took}  attempt {invocation.attempt + 1}  ☁ deployed"
    ]
    if invocation.truncated:
        parts.append("[i]large values: the logs hold previews[/i]")
    parts += _value_sections(invocation.status, invocation.input, invocation.output, invocation.error)
    if invocation.backpack is not None:
        parts.append("\n[b]backpack[/b]\n" + _escape(_json(invocation.backpack)))
    logged = [line.message for line in invocation.lines if line.record is None]
    if logged:
        parts.append("\n[b]log lines[/b]\n" + _escape("\n".join(logged)))
    return "\n".join(parts)


def deployed_status(run: Any, execution: Any, stage: str) -> tuple[str, str]:
    """The status line of a deployed execution (what matters first: the line is cut), and its style."""
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


def finished_status(result: Any, changed: set[str]) -> tuple[str, str]:
    """The status line of a finished local run (`changed`: the blocks whose outputs differ from the run before)."""
    style = {"succeeded": "green", "failed": "bold red", "cancelled": "dim"}.get(result.status, "")
    errors = f" · {result.errors[0]}" if result.errors else ""
    replay = " (re-run)" if result.replay_of else ""
    delta = f" · Δ {', '.join(sorted(changed))}" if changed else ""
    if changed:
        style = "green" if result.status == "succeeded" else "red"
    return (
        f"{'✓' if result.status == 'succeeded' else '✗'} {result.status}{replay}{delta} · "
        f"{result.invocations} invocations in {result.duration_ms:.0f} ms{errors}",
        style,
    )


def compact_json(value: Any) -> str:
    """One line of JSON, for an input box."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


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
