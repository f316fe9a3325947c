"""The local run's state machine, owned by the Run pane: start, step, continue, pause, cancel, edit the paused input,
replay (from a row, or after a save), the executor's events batched off its threads, the end of a run and its
comparison with the run before. It draws only through the Run pane's methods and the block tree's public ones."""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.worker import Worker

from refinery_tui.local.history import HistoryWriteError
from refinery_tui.run_rows import row_of_event, row_of_record
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
from refinery_tui.tui.messages import Compared, ProblemsWanted, RunEventsReady, RunFinished
from refinery_tui.tui.run_view import finished_status

if TYPE_CHECKING:
    from refinery_tui.tui.run_pane import RunPane

EVENTS_PER_SLICE = 400
ROW_KINDS = (InvocationQueued, InvocationStarted, InvocationEnded, InvocationCancelled)
"""Events that change an invocation's row: within a slice, only each invocation's latest one is drawn."""
BLOCK_STATES = {InvocationQueued: "queued", InvocationStarted: "running", Paused: "paused"}
"""The state an event puts its block in, in the tree (an ended invocation: its status)."""


class RunController:
    def __init__(self, pane: RunPane) -> None:
        self.pane = pane
        self.session: Any = None  # the LocalSession, while the project (or its last good version) is valid
        self.running = False
        self.auto_rerun = True
        self.breakpoints: set[str] = set()
        self.paused_invocation: str | None = None
        self.last_execution: str | None = None  # the execution the table shows (for replays)
        self.last_finished: str | None = None  # the last run that ended (the next one is compared with it)
        self.last_result: Any = None
        self.changed_blocks: set[str] = set()
        self._events: list[Event] = []
        self._events_lock = threading.Lock()
        self._flush_pending = False

    def use_session(self, session: Any) -> None:
        """The session runs use (set again whenever the project is opened again)."""
        self.session = session
        if session is not None:
            session.executor.set_breakpoints(self.breakpoints)

    def entry_block(self) -> str | None:
        """The block a run starts at (the first entry block)."""
        manifest = self.session.executor.manifest if self.session is not None else None
        entries = (manifest.data.get("entries") or list(manifest.blocks)) if manifest is not None else []
        return entries[0] if entries else None

    def _require_session(self) -> bool:
        if self.session is None:
            self.pane.notify("the project has errors: see Problems", severity="error")
            self.pane.post_message(ProblemsWanted())
            return False
        return True

    # commands

    def advance(self, step: bool) -> None:
        """Step or continue a paused run (with the edited input, if any); with no run, start one."""
        if not (self.running and self.session is not None):
            self.start(step=step)
            return
        self.apply_edited_input()
        (self.session.executor.step if step else self.session.executor.resume)()

    def pause(self) -> None:
        if self.running and self.session is not None:
            self.session.executor.pause()

    def cancel(self) -> None:
        if self.running and self.session is not None:
            self.session.executor.cancel()

    def apply_edited_input(self) -> None:
        if self.paused_invocation is None:
            return
        try:
            value = self.pane.input_box.edited_pending()
        except ValueError as exc:
            self.pane.notify(str(exc), severity="error")
            return
        if value is not None:
            self.session.executor.edit_input(self.paused_invocation, value)

    def toggle_auto_rerun(self) -> None:
        self.auto_rerun = not self.auto_rerun
        self.pane.notify(f"auto re-run on save: {'on' if self.auto_rerun else 'off'}")

    def toggle_breakpoint(self, block: str | None) -> None:
        if block is None:
            return
        self.breakpoints ^= {block}
        self.pane.block_tree.set_breakpoints(self.breakpoints)
        if self.session is not None:
            self.session.executor.set_breakpoints(self.breakpoints)

    def start(self, step: bool) -> None:
        if not self._require_session() or self.running:
            return
        try:
            value = self.pane.input_value()
        except ValueError as exc:
            self.pane.notify(str(exc), severity="error")
            return
        self.pane.input_box.remember(value, self.entry_block())
        validation = self.session.last_validation
        if validation is not None and not validation.ok:
            self.pane.notify(
                "project.yaml has errors: running the last valid version (see Problems)", severity="warning"
            )
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
        self.pane.set_status(f"re-running from '{block}' after the save…", "yellow")
        self.execute(lambda session: session.replay(block))

    def replay_selected(self) -> None:
        if not self._require_session() or self.running:
            return
        row_key = self.pane.table.current_key
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
        self.pane.input_box.start_run()
        self.changed_blocks = set()
        self.session.executor.set_breakpoints(self.breakpoints)
        self.pane.show_states({})
        self.pane.clear()
        self.pane.set_status("running…", "yellow")

    def execute(self, start) -> Worker:
        """Run `start(session)` on a thread; its result (or why it did not start) comes back as RunFinished."""
        return self.pane.run_worker(
            partial(self._execute, start), thread=True, exclusive=True, group="run", exit_on_error=False
        )

    def _execute(self, start) -> None:
        try:
            result = start(self.session)
        except KeyError as exc:
            self.pane.post_message(RunFinished(None, str(exc.args[0])))
            return
        except HistoryWriteError as exc:  # disk full: the run stopped, and says why
            self.pane.post_message(RunFinished(None, f"the run stopped: {exc}"))
            return
        self.pane.post_message(RunFinished(result))

    # the executor's events

    def post_event(self, event: Event) -> None:
        """Called on worker threads: queue the event, and ask for a flush only when none is pending, so that a
        burst of events (a 10,000-item fan-out) reaches the UI in a few batches, not one message each."""
        with self._events_lock:
            self._events.append(event)
            if self._flush_pending:
                return
            self._flush_pending = True
        self.pane.post_message(RunEventsReady())

    def apply_waiting_events(self) -> None:
        """Apply a slice of the waiting events (then let key presses in before the next slice). Within a slice,
        only each invocation's latest state reaches the table, and each block's latest state the tree."""
        with self._events_lock:
            events, self._events = self._events[:EVENTS_PER_SLICE], self._events[EVENTS_PER_SLICE:]
            more = bool(self._events)
            self._flush_pending = more
        last = {event.invocation_id: index for index, event in enumerate(events) if isinstance(event, ROW_KINDS)}
        with self.pane.app.batch_update():
            for index, event in enumerate(events):
                if isinstance(event, ROW_KINDS) and last[event.invocation_id] != index:
                    continue  # a later event of the same invocation in this slice says more
                self.apply_run_event(event)
        if more:
            self.pane.post_message(RunEventsReady())

    def apply_run_event(self, event: Event) -> None:
        pane = self.pane
        row = row_of_event(event)
        if row is not None:
            pane.table.upsert(row)
            state = row.status if isinstance(event, InvocationEnded) else BLOCK_STATES.get(type(event))
            if state is not None:
                pane.mark(row.block, state)
        if isinstance(event, ExecutionStarted):
            self.last_execution = event.execution_id
        elif isinstance(event, Paused):
            self.paused_invocation = event.invocation_id
            pane.block_tree.select_block(event.block)
            reason = "breakpoint" if event.reason == "breakpoint" else "step"
            pane.set_status(f"⏸ paused ({reason}) before '{event.block}' · s step · c continue · x cancel", "yellow")
            pane.input_box.show_pending(event.input)
        elif isinstance(event, Resumed):
            pane.set_status("running…", "yellow")
        elif isinstance(event, OutputsCompared):
            self.changed_blocks = set(event.changed)

    # the end of a run

    def finished(self, message: RunFinished) -> None:
        pane = self.pane
        self.running = False
        pane.input_box.end_run()
        self.paused_invocation = None
        if message.result is None:
            pane.set_status(f"✗ {message.error}", "red")
            pane.notify(message.error or "the run did not start", severity="error")
            return
        result = message.result
        pane.show_current_invocation()
        project = self.session.project if self.session is not None else None
        if result.replay_of is None and project is not None:
            ran = pane.block_states
            pane.show_states({**{name: "skipped" for name in project.blocks if name not in ran}, **ran})
        self.last_result = result
        pane.set_status(*finished_status(result, set()))
        base = result.replay_of or self.last_finished
        self.last_finished = result.execution_id
        if base is not None:
            pane.run_worker(
                partial(self.compare_runs, base, result.execution_id), thread=True, group="compare", exit_on_error=False
            )

    def compare_runs(self, base: str, execution_id: str) -> None:
        """On a thread: which blocks' outputs differ from the run this one follows (Δ in the table and status)."""
        from refinery_tui.local.history import compare_executions

        history = self.session.history
        changed = set(compare_executions(history, base, execution_id)["changed"])
        records = [r for r in history.invocations(execution_id) if r.block in changed]
        self.pane.post_message(Compared(execution_id, changed, records))

    def compared(self, message: Compared) -> None:
        if message.execution_id != self.last_finished:
            return
        self.changed_blocks |= message.changed
        for record in message.records:
            if record.id in self.pane.table.rows:
                self.pane.table.upsert(row_of_record(record), changed=True)
        if message.changed and self.last_result is not None:
            self.pane.set_status(*finished_status(self.last_result, message.changed))

    def worker_failed(self, worker: Worker) -> None:
        error = worker.error
        self.pane.notify(f"{worker.group} failed: {type(error).__name__}: {error}", severity="error", timeout=10)
        if worker.group == "run":
            self.running = False
            self.pane.set_status(f"✗ the run stopped: {error}", "red")
