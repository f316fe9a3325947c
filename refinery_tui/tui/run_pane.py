"""The Run pane owns the run: starting, stepping, continuing, pausing and cancelling a local execution, its events
(batched off the executor's threads), replays and hot re-runs, the comparison with the run before, the history of
executions, breakpoints, and a deployed execution followed or opened from the Invoke or Logs pane."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from refinery_tui.run_rows import row_of_deployed, row_of_event, row_of_record
from refinery_tui.runtime.events import (
    Event,
    ExecutionStarted,
    InvocationCancelled,
    InvocationEnded,
    InvocationQueued,
    InvocationStarted,
    OutputsCompared,
    Paused,
    Resumed,
)
from refinery_tui.tui.messages import (
    CloudExecutionFinished,
    CloudExecutionSelected,
    CloudExecutionStarted,
    CloudExecutionUpdated,
    Compared,
    ProblemsWanted,
    RunEventsReady,
    RunFinished,
)
from refinery_tui.tui.run_input import RunInput
from refinery_tui.tui.run_view import (
    InvocationTable,
    deployed_detail,
    deployed_status,
    finished_status,
    history_cells,
    local_detail,
)

EVENTS_PER_SLICE = 400
ROW_STATES = {InvocationQueued: "queued", InvocationStarted: "running", Paused: "paused"}
"""The state an event puts its block in, in the tree (an ended invocation: its status)."""


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
        self.session: Any = None  # the LocalSession, while the project (or its last good version) is valid
        self.running = False
        self.auto_rerun = True
        self.breakpoints: set[str] = set()
        self.paused_invocation: str | None = None
        self.last_execution: str | None = None  # the execution the table shows (for replays)
        self.last_finished: str | None = None  # the last run that ended (the next one is compared with it)
        self.last_result: Any = None
        self.changed_blocks: set[str] = set()
        self.block_states: dict[str, str] = {}
        self.cloud_run: Any = None  # the deployed execution shown (a CloudRun), if the rows are one
        self.cloud_stage = ""
        self.cloud_shown: dict[str, str] = {}
        self._events: list[Event] = []
        self._events_lock = threading.Lock()
        self._flush_pending = False

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
        if self.running and self.session is not None:
            self.session.executor.cancel()  # a paused run would otherwise keep its worker waiting

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

    # the session the runs use (set by the app whenever the project is opened again)

    def use_session(self, session: Any) -> None:
        self.session = session
        if session is not None:
            session.executor.set_breakpoints(self.breakpoints)

    def entry_block(self) -> str | None:
        """The block a run starts at (the first entry block)."""
        manifest = self.session.executor.manifest if self.session is not None else None
        entries = (manifest.data.get("entries") or list(manifest.blocks)) if manifest is not None else []
        return entries[0] if entries else None

    def load_saved_input(self) -> None:
        self.input_box.load_saved(self.entry_block())

    def _require_session(self) -> bool:
        if self.session is None:
            self.notify("the project has errors: see Problems", severity="error")
            self.post_message(ProblemsWanted())
            return False
        return True

    # starting, stepping, continuing, pausing, cancelling

    def action_start(self) -> None:
        self.start_run(step=False)

    def action_step(self) -> None:
        self._advance(step=True)

    def action_continue(self) -> None:
        self._advance(step=False)

    def _advance(self, step: bool) -> None:
        """Step or continue a paused run (with the edited input, if any); with no run, start one."""
        if not (self.running and self.session is not None):
            self.start_run(step=step)
            return
        self.apply_edited_input()
        (self.session.executor.step if step else self.session.executor.resume)()

    def action_pause(self) -> None:
        if self.running and self.session is not None:
            self.session.executor.pause()

    def action_cancel(self) -> None:
        if self.running and self.session is not None:
            self.session.executor.cancel()

    def apply_edited_input(self) -> None:
        if self.paused_invocation is None:
            return
        try:
            value = self.input_box.edited_pending()
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        if value is not None:
            self.session.executor.edit_input(self.paused_invocation, value)

    def action_toggle_auto_rerun(self) -> None:
        self.auto_rerun = not self.auto_rerun
        self.notify(f"auto re-run on save: {'on' if self.auto_rerun else 'off'}")

    def toggle_breakpoint(self, block: str | None) -> None:
        if block is None:
            return
        self.breakpoints ^= {block}
        self.block_tree.set_breakpoints(self.breakpoints)
        if self.session is not None:
            self.session.executor.set_breakpoints(self.breakpoints)

    def start_run(self, step: bool) -> None:
        if not self._require_session() or self.running:
            return
        try:
            value = self.input_value()
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.input_box.remember(value, self.entry_block())
        validation = self.session.last_validation
        if validation is not None and not validation.ok:
            self.notify("project.yaml has errors: running the last valid version (see Problems)", severity="warning")
        self.before_run()
        self.execute(lambda session: session.run(value, step=step))

    def replay_after_save(self, blocks: list[str]) -> None:
        """Saved files changed these blocks: with auto re-run on, replay the last execution from the earliest."""
        if not self.auto_rerun or self.running or self.session is None or self.last_execution is None:
            return
        from refinery_tui.local.watcher import earliest_block

        block = earliest_block(self.session.project, blocks)
        if self.session.history.last_execution_reaching(block) is None:
            return  # a new block no run has reached: nothing to re-run yet
        self.before_run()
        self.set_status(f"re-running from '{block}' after the save…", "yellow")
        self.execute(lambda session: session.replay(block))

    def action_replay_selected(self) -> None:
        if not self._require_session() or self.running:
            return
        row_key = self.table.current_key
        if row_key is None or self.last_execution is None:
            return
        record = next((r for r in self.session.history.invocations(self.last_execution) if r.id == row_key), None)
        if record is None:
            return
        base = self.last_execution
        self.before_run()
        self.execute(lambda session: session.replay(record.block, base))

    def before_run(self) -> None:
        self.running = True
        self.input_box.start_run()
        self.changed_blocks = set()
        self.session.executor.set_breakpoints(self.breakpoints)
        self.show_states({})
        self.clear()
        self.set_status("running…", "yellow")

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def execute(self, start) -> None:
        try:
            result = start(self.session)
        except KeyError as exc:
            self.post_message(RunFinished(None, str(exc.args[0])))
            return
        self.post_message(RunFinished(result))

    # the executor's events

    def post_event(self, event: Event) -> None:
        """Called on worker threads: queue the event, and ask for a flush only when none is pending, so that a
        burst of events (a 10,000-item fan-out) reaches the UI in a few batches, not one message each."""
        with self._events_lock:
            self._events.append(event)
            if self._flush_pending:
                return
            self._flush_pending = True
        self.post_message(RunEventsReady())

    def on_run_events_ready(self, message: RunEventsReady) -> None:
        """Apply a slice of the waiting events (then let key presses in before the next slice). Within a slice,
        only each invocation's latest state reaches the table, and each block's latest state the tree."""
        with self._events_lock:
            events, self._events = self._events[:EVENTS_PER_SLICE], self._events[EVENTS_PER_SLICE:]
            more = bool(self._events)
            self._flush_pending = more
        row_kinds = (InvocationQueued, InvocationStarted, InvocationEnded, InvocationCancelled)
        last = {event.invocation_id: index for index, event in enumerate(events) if isinstance(event, row_kinds)}
        with self.app.batch_update():
            for index, event in enumerate(events):
                if isinstance(event, row_kinds) and last[event.invocation_id] != index:
                    continue  # a later event of the same invocation in this slice says more
                self.apply_run_event(event)
        if more:
            self.post_message(RunEventsReady())

    def apply_run_event(self, event: Event) -> None:
        row = row_of_event(event)
        if row is not None:
            self.table.upsert(row)
            state = row.status if isinstance(event, InvocationEnded) else ROW_STATES.get(type(event))
            if state is not None:
                self.mark(row.block, state)
        if isinstance(event, ExecutionStarted):
            self.last_execution = event.execution_id
        elif isinstance(event, Paused):
            self.paused_invocation = event.invocation_id
            self.block_tree.select_block(event.block)
            reason = "breakpoint" if event.reason == "breakpoint" else "step"
            self.set_status(f"⏸ paused ({reason}) before '{event.block}' · s step · c continue · x cancel", "yellow")
            self.input_box.show_pending(event.input)
        elif isinstance(event, Resumed):
            self.set_status("running…", "yellow")
        elif isinstance(event, OutputsCompared):
            self.changed_blocks = set(event.changed)

    def on_run_finished(self, message: RunFinished) -> None:
        self.running = False
        self.input_box.end_run()
        self.paused_invocation = None
        if message.result is None:
            self.set_status(f"✗ {message.error}", "red")
            self.notify(message.error or "the run did not start", severity="error")
            return
        result = message.result
        self.show_current_invocation()
        project = self.session.project if self.session is not None else None
        if result.replay_of is None and project is not None:
            ran = self.block_states
            self.show_states({**{name: "skipped" for name in project.blocks if name not in ran}, **ran})
        self.last_result = result
        self.set_status(*finished_status(result, set()))
        base = result.replay_of or self.last_finished
        self.last_finished = result.execution_id
        if base is not None:
            self.compare_runs(base, result.execution_id)

    @work(thread=True, group="compare", exit_on_error=False)
    def compare_runs(self, base: str, execution_id: str) -> None:
        """Which blocks' outputs differ from the run this one follows (Δ in the table and the status)."""
        from refinery_tui.local.history import compare_executions

        history = self.session.history
        changed = set(compare_executions(history, base, execution_id)["changed"])
        records = [r for r in history.invocations(execution_id) if r.block in changed]
        self.post_message(Compared(execution_id, changed, records))

    def on_compared(self, message: Compared) -> None:
        if message.execution_id != self.last_finished:
            return
        self.changed_blocks |= message.changed
        for record in message.records:
            if record.id in self.table.rows:
                self.table.upsert(row_of_record(record), changed=True)
        if message.changed and self.last_result is not None:
            self.set_status(*finished_status(self.last_result, message.changed))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{event.worker.group} failed: {type(error).__name__}: {error}", severity="error", timeout=10)
            if event.worker.group == "run":
                self.running = False
                self.set_status(f"✗ the run stopped: {error}", "red")

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
        self.last_execution = execution_id
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

            if not message.started.execution_id or self.running:
                return False
            self._show_deployed(CloudRun(message.started.execution_id), stage=message.target.stage, fresh=True)
        elif isinstance(message, CloudExecutionUpdated | CloudExecutionFinished):
            run = message.run
            if run is None or not self._showing(run.execution_id):
                return False
            self._show_deployed(run, getattr(message, "execution", None))
        elif isinstance(message, CloudExecutionSelected):
            if self.running:
                self.notify("a local run is in progress: the Run pane shows it (x cancels it)", severity="warning")
                return False
            self._show_deployed(message.run, message.execution, message.stage, fresh=True)
            if message.invocation_id in self.table.rows:
                self.table.move_cursor(row=self.table.get_row_index(message.invocation_id))
            self.show_current_invocation()
        return True

    def _showing(self, execution_id: str) -> bool:
        return not self.running and self.cloud_run is not None and self.cloud_run.execution_id == execution_id

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
