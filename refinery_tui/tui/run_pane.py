"""The Run pane owns the run: the input, the invocations of the execution shown and the selected one's details,
the history of executions, and a deployed execution followed or opened from the Invoke or Logs pane. The local run
itself (starting, stepping, events, replays, comparing) is its `RunController` (run_controller.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from refinery_tui.run_rows import row_of_deployed, row_of_record
from refinery_tui.tui.messages import (
    CloudExecutionFinished,
    CloudExecutionSelected,
    CloudExecutionStarted,
    CloudExecutionUpdated,
    Compared,
    RunEventsReady,
    RunFinished,
)
from refinery_tui.tui.run_controller import RunController
from refinery_tui.tui.run_input import RunInput
from refinery_tui.tui.run_view import InvocationTable, deployed_detail, deployed_status, history_cells, local_detail


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
        Binding("f", "replay_selected", "Replay from", id="run.replay"),
        Binding("H", "toggle_history", "History", id="run.history"),
        Binding("j", "cursor_down", "Down", show=False, id="run.down"),
        Binding("k", "cursor_up", "Up", show=False, id="run.up"),
    ]

    def __init__(self, root: Path, block_tree: Any, **kwargs: Any) -> None:
        """`block_tree` is the block tree, told each block's state (`set_states`, `set_state`, `select_block`)."""
        super().__init__(**kwargs)
        self.root = root
        self.block_tree = block_tree
        self.controller = RunController(self)
        self.session: Any = None  # the LocalSession, while the project (or its last good version) is valid
        self.block_states: dict[str, str] = {}  # what the tree shows, for the execution shown
        self.cloud_run: Any = None  # the deployed execution shown (a CloudRun), if the rows are one
        self.cloud_stage = ""
        self.cloud_shown: dict[str, str] = {}

    def compose(self):
        with Vertical(id="run-left"):
            yield Static("idle: `r` runs the project", id="run-status")
            yield RunInput(self.root, id="run-input")
            yield InvocationTable(id="invocations")
            history = DataTable(id="executions", cursor_type="row")
            for label, width in (("execution", 22), ("status", 11), ("ms", 7), ("from", None)):
                history.add_column(label, width=width)
            history.display = False
            yield history
        with VerticalScroll(id="run-right"):
            yield Static("Select an invocation to see its input, output, backpack and output streams.", id="run-detail")

    def on_unmount(self) -> None:
        self.controller.cancel()  # a paused run would otherwise keep its worker waiting

    @property
    def table(self) -> InvocationTable:
        return self.query_one("#invocations", InvocationTable)

    @property
    def input_box(self) -> RunInput:
        return self.query_one("#run-input", RunInput)

    @property
    def history_table(self) -> DataTable:
        return self.query_one("#executions", DataTable)

    @property
    def visible_table(self) -> DataTable:
        return self.history_table if self.history_table.display else self.table

    def action_cursor_down(self) -> None:
        self.visible_table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.visible_table.action_cursor_up()

    def set_status(self, text: str, style: str = "") -> None:
        self.query_one("#run-status", Static).update(Text(text, style=style))

    def status_text(self) -> str:
        return str(self.query_one("#run-status", Static).render())

    def input_value(self) -> Any:
        """The input box's JSON; raises ValueError with the place of a mistake."""
        return self.input_box.value()

    def set_input(self, value: Any) -> None:
        self.input_box.set_value(value)

    def focus_input(self) -> None:
        self.input_box.focus()
        self.input_box.select_all()  # typing replaces the input

    def clear(self) -> None:
        self.table.reset()
        self.query_one("#run-detail", Static).update("")
        self.cloud_run = None
        self.cloud_shown = {}

    def show_states(self, states: dict[str, str]) -> None:
        self.block_states = dict(states)
        self.block_tree.set_states(self.block_states)

    def mark(self, block: str, state: str) -> None:
        self.block_states[block] = state
        self.block_tree.set_state(block, state)

    # the local run: its controller owns it; these are the keys' and the messages' ways in

    def use_session(self, session: Any) -> None:
        self.session = session
        self.controller.use_session(session)

    def load_saved_input(self) -> None:
        self.input_box.load_saved(self.controller.entry_block())

    def command(self, name: str) -> None:
        """The run keys and the palette's run commands, by name (the app forwards its bindings here)."""
        controller, box = self.controller, self.input_box
        actions = {
            "start": lambda: controller.start(step=False),
            "step": lambda: controller.advance(step=True),
            "continue": lambda: controller.advance(step=False),
            "pause": controller.pause,
            "cancel": controller.cancel,
            "replay": self.action_replay_selected,
            "history": self.action_toggle_history,
            "auto": controller.toggle_auto_rerun,
            "input": self.focus_input,
            "save_input": box.save_as,
            "load_input": box.load,
        }
        actions[name]()

    def action_replay_selected(self) -> None:
        self.controller.replay_selected()

    def on_run_events_ready(self, message: RunEventsReady) -> None:
        self.controller.apply_waiting_events()

    def on_run_finished(self, message: RunFinished) -> None:
        self.controller.finished(message)

    def on_compared(self, message: Compared) -> None:
        self.controller.compared(message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.controller.worker_failed(event.worker)

    # details, history

    @on(DataTable.RowHighlighted, "#invocations")
    def show_invocation(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None:
            self.show_details_of(event.row_key.value)

    def show_details_of(self, invocation_id: str | None) -> None:
        detail = self.query_one("#run-detail", Static)
        invocation = self.cloud_run.invocations.get(invocation_id) if self.cloud_run and invocation_id else None
        if invocation is not None:
            detail.update(deployed_detail(invocation))
            return
        if self.session is None or invocation_id is None or invocation_id.startswith("more:"):
            return
        record = self.session.history.invocation(invocation_id)
        if record is not None:
            detail.update(local_detail(record))

    def show_current_invocation(self) -> None:
        self.show_details_of(self.table.current_key)

    def action_toggle_history(self) -> None:
        if self.session is None:
            return
        history = self.history_table
        history.clear()
        for record in self.session.history.executions(100):
            history.add_row(*history_cells(record), key=record.id)
        self.toggle_history()

    def toggle_history(self) -> bool:
        """Show the history in place of the invocations, or back."""
        history = self.history_table
        history.display = not history.display
        self.table.display = not history.display
        (history if history.display else self.table).focus()
        return history.display

    @on(DataTable.RowSelected, "#executions")
    def open_execution(self, event: DataTable.RowSelected) -> None:
        execution_id = event.row_key.value
        records = self.session.history.invocations(execution_id)
        self.controller.last_execution = execution_id
        self.toggle_history()
        self.clear()
        states: dict[str, str] = {}
        for record in records:
            states[record.block] = record.status if states.get(record.block) != "failed" else "failed"
            self.table.upsert(row_of_record(record))
        self.show_states(states)
        execution = self.session.history.execution(execution_id)
        self.set_status(f"execution {execution_id}: {execution.status} (from history)")

    # a deployed execution: the one the Invoke pane follows, or one opened from the Invoke or Logs pane

    def show_deployed(self, message: Any) -> bool:
        """Show the execution a cloud message is about, if no local run is under way; whether it shows."""
        if isinstance(message, CloudExecutionStarted):
            from refinery_tui.cloud.rebuild import CloudRun

            if not message.started.execution_id or self.controller.running:
                return False
            self._show_deployed(CloudRun(message.started.execution_id), stage=message.target.stage, fresh=True)
        elif isinstance(message, CloudExecutionUpdated | CloudExecutionFinished):
            run = message.run
            if run is None or not self._showing(run.execution_id):
                return False
            self._show_deployed(run, getattr(message, "execution", None))
        elif isinstance(message, CloudExecutionSelected):
            if self.controller.running:
                self.notify("a local run is in progress: the Run pane shows it (x cancels it)", severity="warning")
                return False
            self._show_deployed(message.run, message.execution, message.stage, fresh=True)
            if message.invocation_id in self.table.rows:
                self.table.move_cursor(row=self.table.get_row_index(message.invocation_id))
            self.show_current_invocation()
        return True

    def _showing(self, execution_id: str) -> bool:
        return (
            not self.controller.running and self.cloud_run is not None and self.cloud_run.execution_id == execution_id
        )

    def _show_deployed(self, run: Any, execution: Any = None, stage: str = "", fresh: bool = False) -> None:
        """Bring the table and the tree up to date with `run` (a CloudRun); `fresh` starts from empty rows. Only
        invocations whose state changed since the last call reach the table."""
        if fresh or self.cloud_run is None or self.cloud_run.execution_id != run.execution_id:
            self.clear()
            self.show_states({})
        self.cloud_run = run
        self.cloud_stage = stage = stage or self.cloud_stage
        with self.app.batch_update():
            for invocation in run.ordered():
                if self.cloud_shown.get(invocation.id) == invocation.status:
                    continue
                self.cloud_shown[invocation.id] = invocation.status
                self.table.upsert(row_of_deployed(invocation))
            states = run.blocks()
            project = self.session.project if self.session is not None else None
            if (execution is not None or run.status != "running") and project is not None:
                states = {**{name: "skipped" for name in project.blocks if name not in states}, **states}
            self.show_states(states)
        self.set_status(*deployed_status(run, execution, stage))
        self.show_current_invocation()
