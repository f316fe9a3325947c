"""The workbench App, a switchboard: it composes the panes, owns the global keys and routes messages between them.

Blocking work (block runs, validation, file watching) runs in thread workers that only post messages.
"""

from __future__ import annotations

import gc
import os
import threading
from functools import partial
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from refinery_tui import saved_inputs
from refinery_tui.local.executor import Event
from refinery_tui.local.session import InvalidProject, LocalSession
from refinery_tui.model import schema
from refinery_tui.model.project import Project
from refinery_tui.model.validator import ValidationResult
from refinery_tui.tui import keymap, navigation, project_watch
from refinery_tui.tui.block_tree import BlockTree
from refinery_tui.tui.bottom_tabs import BottomTabs
from refinery_tui.tui.cloud_view import show_cloud_run
from refinery_tui.tui.deploy_pane import DeployPane
from refinery_tui.tui.editor import EditorPane
from refinery_tui.tui.invoke_pane import InvokePane
from refinery_tui.tui.logs_pane import LogsPane
from refinery_tui.tui.messages import (
    BlockSettingsWanted,
    CloudExecutionFinished,
    CloudExecutionSelected,
    CloudExecutionStarted,
    CloudExecutionUpdated,
    Compared,
    FileSaved,
    FilesChanged,
    OpenFile,
    RerunWanted,
    RunEventsReady,
    RunFinished,
    Validated,
)
from refinery_tui.tui.modals import Ask, Choose, HelpScreen, KeysScreen
from refinery_tui.tui.palette import WorkbenchCommands
from refinery_tui.tui.problems import ProblemDetail, ProblemsPane
from refinery_tui.tui.project_state import ProjectState
from refinery_tui.tui.run_pane import RunPane, compact_json, output_preview
from refinery_tui.tui.screens.block_settings import BlockSettings
from refinery_tui.tui.screens.structure import StructureEditor

EVENTS_PER_SLICE = 400


class WorkbenchApp(App):
    """`refinery-tui PROJECT`: the block tree, the editor, and the Run / Deploy / Problems panes."""

    CSS_PATH = "workbench.tcss"
    TITLE = "refinery-tui"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}

    HELP = """\
## refinery-tui workbench

`tab` / `shift+tab` move between panes (or `1` tree, `2` editor, `3` Run, `4` Problems, `5` Deploy, `6` Invoke,
`7` Logs); `ctrl+p` opens the command palette; `f1` shows the help of the focused pane; `?` lists the keys; `z` zooms
the focused pane; `escape` backs out; `q` quits (asking first when edits are unsaved).
"""

    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "keys", "Keys", id="app.keys"),
        Binding("z", "zoom", "Zoom", id="app.zoom"),
        Binding("escape", "back", "Back", show=False, id="app.back", priority=True),
        Binding("1", "focus_pane('tree')", "Tree", show=False, id="pane.tree"),
        Binding("2", "focus_pane('editor')", "Editor", show=False, id="pane.editor"),
        Binding("3", "focus_pane('run')", "Run", show=False, id="pane.run"),
        Binding("4", "focus_pane('problems')", "Problems", show=False, id="pane.problems"),
        Binding("5", "focus_pane('deploy')", "Deploy", show=False, id="pane.deploy"),
        Binding("6", "focus_pane('invoke')", "Invoke", show=False, id="pane.invoke"),
        Binding("7", "focus_pane('logs')", "Logs", show=False, id="pane.logs"),
        Binding("r", "run_start", "Run", id="run.start"),
        Binding("s", "run_step", "Step", id="run.step"),
        Binding("c", "run_continue", "Continue", id="run.continue"),
        Binding("p", "run_pause", "Pause", show=False, id="run.pause"),
        Binding("x", "run_cancel", "Cancel", show=False, id="run.cancel"),
        Binding("a", "toggle_auto_rerun", "Auto re-run", show=False, id="run.auto"),
        Binding("f5", "run_start", "Run", show=False, id="app.run"),
        Binding("f6", "run_step", "Step", show=False, id="app.step"),
        Binding("f8", "run_continue", "Continue", show=False, id="app.continue"),
        Binding("ctrl+j", "focus_input", "Input", show=False, id="app.input"),
        Binding("n", "add_block", "New block", show=False, id="block.add"),
        Binding("f2", "rename_block", "Rename", show=False, id="block.rename"),
        Binding("delete", "delete_block", "Delete", show=False, id="block.delete"),
        Binding("t", "add_transition", "Transition", show=False, id="transition.add"),
        Binding("T", "delete_transition", "Remove transition", show=False, id="transition.delete"),
        Binding("e", "edit_transition", "Change transition", show=False, id="transition.edit"),
        Binding("y", "open_project_file", "project.yaml", show=False, id="app.project_file"),
    ]

    def __init__(self, root: Path | str, watch: bool = True) -> None:
        super().__init__()
        self.root = Path(root).resolve()
        self.watch_files = watch
        self.session: LocalSession | None = None
        self.state = ProjectState(self.root)
        self.auto_rerun = True
        self.running = False
        self.paused_invocation: str | None = None
        self.paused_input_text: str | None = None
        self.last_execution: str | None = None
        self.last_finished: str | None = None
        self.user_input: str | None = None
        self.changed_blocks: set[str] = set()
        self.breakpoints: set[str] = set()
        self._stop_watching = threading.Event()
        self._events: list[Event] = []
        self._events_lock = threading.Lock()
        self._flush_pending = False

    # layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield BlockTree(id="tree")
            yield EditorPane(id="editor")
        with BottomTabs(id="bottom"):
            with TabPane("Run", id="tab-run"):
                yield RunPane(id="run")
            with TabPane("Deploy", id="tab-deploy"):
                yield DeployPane(self.state, id="deploy")
            with TabPane("Invoke", id="tab-invoke"):
                yield InvokePane(self.state, id="invoke")
            with TabPane("Logs", id="tab-logs"):
                yield LogsPane(self.state, id="logs")
            with TabPane("Problems", id="tab-problems"):
                yield ProblemsPane(id="problems")
                yield ProblemDetail("", id="problem-detail")
        yield Footer()

    def on_mount(self) -> None:
        keymap.apply(self)
        self.block_tree.focus()
        self.structure = StructureEditor(self, self.block_tree, self.state, self.revalidate)
        self.state.subscribe(self.show_project_state)
        self.open_session()
        self.load_saved_input()
        if self.watch_files:
            report = partial(self.call_from_thread, lambda paths: self.post_message(FilesChanged(paths)))
            work = partial(project_watch.watch_files, self.root, self._stop_watching, report)
            self.run_worker(work, thread=True, exclusive=True, group="watch", exit_on_error=False)
        # What start-up made (Textual's objects, the project) lives as long as the app: freezing it keeps Python's
        # full collections, which streams of log lines and run events trigger, from walking it (150 ms pauses).
        self.call_after_refresh(gc.freeze)
        if os.environ.get("REFINERY_TUI_EXIT_WHEN_READY"):  # for the start-up benchmark
            self.call_after_refresh(self.exit)

    def on_unmount(self) -> None:
        self._stop_watching.set()
        if self.session is not None:
            if self.running:
                self.session.executor.cancel()
            self.session.close()

    @property
    def block_tree(self) -> BlockTree:
        return self.query_one(BlockTree)

    @property
    def editor(self) -> EditorPane:
        return self.query_one(EditorPane)

    @property
    def run_pane(self) -> RunPane:
        return self.query_one(RunPane)

    @property
    def deploy_pane(self) -> DeployPane:
        return self.query_one(DeployPane)

    @property
    def logs_pane(self) -> LogsPane:
        return self.query_one(LogsPane)

    @property
    def bottom(self) -> BottomTabs:
        return self.query_one(BottomTabs)

    @property
    def project(self) -> Project | None:
        return self.state.project

    @property
    def validation(self) -> ValidationResult | None:
        return self.state.validation

    # the project: a session to run it, its state (shown by the tree, Problems, the title), validation

    def open_session(self) -> None:
        try:
            self.session = LocalSession(self.root, on_event=self._post_event)
            self.state.update(self.session.last_validation, self.session.project)
        except InvalidProject as exc:
            self.session = None
            self.state.update(exc.result)

    def _post_event(self, event: Event) -> None:
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
        row_kinds = (
            "invocation_queued",
            "invocation_started",
            "invocation_finished",
            "invocation_failed",
            "invocation_cancelled",
        )
        last = {event.data["invocation_id"]: index for index, event in enumerate(events) if event.kind in row_kinds}
        with self.batch_update():
            for index, event in enumerate(events):
                if event.kind in row_kinds and last[event.data["invocation_id"]] != index:
                    continue  # a later event of the same invocation in this slice says more
                self.apply_run_event(event)
        if more:
            self.post_message(RunEventsReady())

    def show_project_state(self, what: set[str]) -> None:
        """The ProjectState changed (on this thread): the tree, Problems and the title show it."""
        if "project" not in what:
            return
        state = self.state
        if state.project is not None:
            self.block_tree.show_project(state.project)
            self.title = f"refinery-tui · {state.project.name}"
        problems = self.query_one(ProblemsPane)
        problems.show(state.problems, self.root)
        self.bottom.set_label("problems", problems.tab_label())
        errors = len(state.validation.errors) if state.validation else 0
        validity = "valid" if state.ok else f"{errors} error(s)"
        self.sub_title = f"{self.root.name} · stage: local · target: this machine · {validity}"
        self.structure.reloaded()

    @work(thread=True, exclusive=True, group="validate", exit_on_error=False)
    def revalidate(self) -> None:
        self.post_message(Validated(project_watch.validate(self.root, self.session)))

    def on_validated(self, message: Validated) -> None:
        if self.session is None and message.result.ok:
            self.open_session()
        else:
            self.state.update(message.result, self.session.project if self.session else None)

    # files: changed on disk, saved, opened

    def on_files_changed(self, message: FilesChanged) -> None:
        """Files changed on disk: the editor reloads (or asks about) its tabs; the rest is as for a save."""
        self.files_changed([path for path in message.paths if self.editor.take_disk_change(path.resolve())])

    def on_file_saved(self, message: FileSaved) -> None:
        self.files_changed([message.path], saved=True)

    def files_changed(self, paths: list[Path], saved: bool = False) -> None:
        """Validate again after a save, or a change to project.yaml or to a block's code; offer a re-run."""
        touches_project, blocks = project_watch.what_changed(self.root, self.session, paths)
        if saved or touches_project:
            self.revalidate()
        if blocks:
            self.post_message(RerunWanted(blocks))

    def on_rerun_wanted(self, message: RerunWanted) -> None:
        if self.auto_rerun:
            self.replay_after_save(message.blocks)

    async def on_open_file(self, message: OpenFile) -> None:
        await self.editor.open(message.path, message.line, message.column)

    async def action_open_project_file(self) -> None:
        await self.editor.open(self.root / schema.PROJECT_FILE)

    def on_problems_pane_highlighted(self, message: ProblemsPane.Highlighted) -> None:
        self.query_one(ProblemDetail).show(message.diagnostic)

    # structure edits and block settings (screens/)

    def on_block_settings_wanted(self, message: BlockSettingsWanted) -> None:
        project = self.state.project
        if project is not None and message.block in project.blocks:
            self.push_screen(BlockSettings(project, message.block))

    def action_add_block(self) -> None:
        self.structure.add_block()

    def action_rename_block(self) -> None:
        self.structure.rename_block()

    def action_delete_block(self) -> None:
        self.structure.delete_block()

    def action_add_transition(self) -> None:
        self.structure.add_transition()

    def action_edit_transition(self) -> None:
        self.structure.edit_transition()

    def action_delete_transition(self) -> None:
        self.structure.delete_transition()

    # runs

    def _require_session(self) -> bool:
        if self.session is None:
            self.notify("the project has errors: see Problems", severity="error")
            self.query_one("#bottom", TabbedContent).active = "tab-problems"
            return False
        return True

    def action_run_start(self) -> None:
        self.start_run(step=False)

    def action_run_step(self) -> None:
        self._advance(step=True)

    def action_run_continue(self) -> None:
        self._advance(step=False)

    def _advance(self, step: bool) -> None:
        """Step or continue a paused run (with the edited input, if any); with no run, start one."""
        if not (self.running and self.session is not None):
            self.start_run(step=step)
            return
        self.apply_edited_input()
        (self.session.executor.step if step else self.session.executor.resume)()

    def action_run_pause(self) -> None:
        if self.running and self.session is not None:
            self.session.executor.pause()

    def action_run_cancel(self) -> None:
        if self.running and self.session is not None:
            self.session.executor.cancel()

    def apply_edited_input(self) -> None:
        if self.paused_invocation is None or self.paused_input_text is None:
            return
        try:
            value = self.run_pane.input_value()
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        if compact_json(value) != self.paused_input_text:
            self.session.executor.edit_input(self.paused_invocation, value)

    def load_saved_input(self) -> None:
        """The input box starts with the last input given to the entry block (here or by an invoke), the last
        input run, or the project's own `input.json` example."""
        value = saved_inputs.recall(self.root, self.entry_block())
        if value is not None:
            self.run_pane.set_input(value)

    def entry_block(self) -> str | None:
        """The block a run starts at (the first entry block)."""
        manifest = getattr(self.session.executor, "manifest", None) if self.session is not None else None
        entries = (manifest.data.get("entries") or list(manifest.blocks)) if manifest is not None else []
        return entries[0] if entries else None

    def saved_inputs(self) -> dict[str, Path]:
        """Named inputs kept with the project: `input.json` and `inputs/NAME.json`."""
        found = {}
        if (self.root / "input.json").is_file():
            found["input"] = self.root / "input.json"
        for path in sorted((self.root / "inputs").glob("*.json")):
            found[path.stem] = path
        return found

    def action_save_input_as(self) -> None:
        try:
            value = self.run_pane.input_value()
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return

        def named(name: str | None) -> None:
            import json

            from refinery_tui.model.files import atomic_write_text

            slug = schema.slugify(name or "", 40, fallback="")
            if not slug:
                return
            atomic_write_text(self.root / "inputs" / f"{slug}.json", json.dumps(value, indent=2) + "\n")
            self.notify(f"saved the input as inputs/{slug}.json")

        self.push_screen(Ask("Save the input as (a name; it goes to inputs/NAME.json):"), named)

    def action_load_input(self) -> None:
        import json

        inputs = list(self.saved_inputs().items())[:9]
        if not inputs:
            self.notify("no saved inputs yet: `Input: Save as` keeps the current one")
            return

        def chosen(name: str | None) -> None:
            path = dict(inputs).get(name or "")
            if path is None:
                return
            try:
                self.run_pane.set_input(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                self.notify(f"{path.name}: {exc}", severity="error")

        self.push_screen(
            Choose("Load which input?", [(name, str(index + 1), name) for index, (name, _) in enumerate(inputs)]),
            chosen,
        )

    def save_input(self, value) -> None:
        """Keep the input for the entry block (and as `.refinery/last-input.json`), shared with the Invoke pane."""
        import json

        from refinery_tui.model.files import atomic_write_text

        block = self.entry_block()
        try:
            if block is not None:
                saved_inputs.remember(self.root, block, value)
            else:
                atomic_write_text(self.root / ".refinery" / "last-input.json", json.dumps(value, indent=2))
        except (OSError, TypeError, ValueError):
            pass

    def start_run(self, step: bool) -> None:
        if not self._require_session() or self.running:
            return
        try:
            value = self.run_pane.input_value()
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.save_input(value)
        if self.validation is not None and not self.validation.ok:
            self.notify("project.yaml has errors: running the last valid version (see Problems)", severity="warning")
        self.before_run()
        self.execute(lambda session: session.run(value, step=step))

    def replay_after_save(self, blocks: list[str]) -> None:
        if self.running or self.session is None or self.last_execution is None:
            return
        from refinery_tui.local.watcher import HotReloader

        block = HotReloader(self.session, lambda event: None)._earliest(blocks)
        if self.session.history.last_execution_reaching(block) is None:
            return  # a new block no run has reached: nothing to re-run yet
        self.before_run()
        self.run_pane.set_status(f"re-running from '{block}' after the save…", "yellow")
        self.execute(lambda session: session.replay(block))

    def action_replay_selected(self) -> None:
        if not self._require_session() or self.running:
            return
        table = self.run_pane.table
        if table.row_count == 0 or self.last_execution is None:
            return
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        record = next((r for r in self.session.history.invocations(self.last_execution) if r.id == row_key), None)
        if record is None:
            return
        base = self.last_execution
        self.before_run()
        self.execute(lambda session: session.replay(record.block, base))

    def before_run(self) -> None:
        self.running = True
        self.user_input = self.query_one("#run-input").text
        self.changed_blocks = set()
        self.session.executor.set_breakpoints(self.breakpoints)
        self.block_tree.set_states({})
        self.run_pane.clear()
        self.run_pane.set_status("running…", "yellow")

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def execute(self, start) -> None:
        try:
            result = start(self.session)
        except KeyError as exc:
            self.post_message(RunFinished(None, str(exc.args[0])))
            return
        self.post_message(RunFinished(result))

    def apply_run_event(self, event: Event) -> None:
        data = event.data
        pane = self.run_pane
        if event.kind == "execution_started":
            self.last_execution = data["execution_id"]
        elif event.kind == "invocation_queued":
            self.block_tree.set_state(data["block"], "queued")
            pane.upsert(data["invocation_id"], _place(data), "queued", block=data["block"])
        elif event.kind == "invocation_started":
            self.block_tree.set_state(data["block"], "running")
            pane.upsert(data["invocation_id"], _place(data), "running", block=data["block"])
        elif event.kind in ("invocation_finished", "invocation_failed"):
            self.block_tree.set_state(data["block"], data["status"])
            output = (
                data["output_preview"]
                if data["status"] == "succeeded"
                else f"{(data.get('error') or {}).get('type')}: {(data.get('error') or {}).get('message')}"
            )
            pane.upsert(
                data["invocation_id"], _place(data), data["status"], data["duration_ms"], output, block=data["block"]
            )
        elif event.kind == "invocation_cancelled":
            pane.upsert(data["invocation_id"], _place(data), "cancelled", block=data["block"])
        elif event.kind == "paused":
            self.paused_invocation = data["invocation_id"]
            self.block_tree.set_state(data["block"], "paused")
            self.block_tree.select_block(data["block"])
            pane.upsert(data["invocation_id"], data["block"], "paused")
            reason = "breakpoint" if data["reason"] == "breakpoint" else "step"
            pane.set_status(f"⏸ paused ({reason}) before '{data['block']}' · s step · c continue · x cancel", "yellow")
            record_input = self.pending_input(data["invocation_id"])
            if record_input is not None:
                pane.set_input(record_input)
                self.paused_input_text = compact_json(record_input)
        elif event.kind == "resumed":
            pane.set_status("running…", "yellow")
        elif event.kind == "outputs_compared":
            self.changed_blocks = set(data["changed"])

    def pending_input(self, invocation_id: str):
        executor = self.session.executor if self.session else None
        run = getattr(executor, "current_run", None)
        if run is None:
            return None
        for invocation in list(run.pending):
            if invocation.id == invocation_id:
                return invocation.input
        return None

    def on_run_finished(self, message: RunFinished) -> None:
        self.running = False
        pane = self.run_pane
        if self.paused_input_text is not None and self.user_input is not None:
            pane.query_one("#run-input").load_text(self.user_input)  # stepping showed pending inputs there
        self.paused_invocation = None
        self.paused_input_text = None
        if message.result is None:
            pane.set_status(f"✗ {message.error}", "red")
            self.notify(message.error or "the run did not start", severity="error")
            return
        result = message.result
        self.show_current_invocation()
        if result.replay_of is None and self.project is not None:
            ran = set(self.block_tree.states)
            self.block_tree.set_states(
                {**{name: "skipped" for name in self.project.blocks if name not in ran}, **self.block_tree.states}
            )
        style = {"succeeded": "green", "failed": "bold red", "cancelled": "dim"}.get(result.status, "")
        errors = f" · {result.errors[0]}" if result.errors else ""
        replay = " (re-run)" if result.replay_of else ""
        pane.set_status(
            f"{'✓' if result.status == 'succeeded' else '✗'} {result.status}{replay} · "
            f"{result.invocations} invocations in {result.duration_ms:.0f} ms{errors}",
            style,
        )
        self.compare_with_previous(result)

    def compare_with_previous(self, result) -> None:
        """Mark the blocks whose outputs differ from the run this one follows (Δ in the table and status)."""
        base = result.replay_of or self.last_finished
        self.last_finished = result.execution_id
        if base is not None:
            self.compare_runs(base, result.execution_id)

    @work(thread=True, group="compare", exit_on_error=False)
    def compare_runs(self, base: str, execution_id: str) -> None:
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
            if record.id not in self.run_pane.table.rows:
                continue
            output = _record_output(record)
            place = record.block + "".join(f"[{f[1]}]" for f in record.context.get("frames", []))
            self.run_pane.upsert(record.id, place, record.status, record.duration_ms, output, True, record.block)
        if message.changed:
            status = str(self.run_pane.query_one("#run-status").render())
            self.run_pane.set_status(
                status.replace(" · ", f" · Δ {', '.join(sorted(message.changed))} · ", 1),
                "green" if status.startswith("✓") else "red",
            )

    @on(DataTable.RowHighlighted, "#invocations")
    def show_invocation(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None:
            self.show_details_of(event.row_key.value)

    def show_details_of(self, invocation_id: str | None) -> None:
        if self.run_pane.show_cloud_detail(invocation_id):
            return
        if self.session is None or invocation_id is None or invocation_id.startswith("more:"):
            return
        record = self.session.history.invocation(invocation_id)
        if record is not None:
            self.run_pane.show_detail(record)

    def show_current_invocation(self) -> None:
        table = self.run_pane.table
        if table.row_count:
            self.show_details_of(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_toggle_history(self) -> None:
        if self.session is None:
            return
        self.run_pane.show_history(self.session.history.executions(100))
        self.run_pane.toggle_history()

    @on(DataTable.RowSelected, "#executions")
    def open_execution(self, event: DataTable.RowSelected) -> None:
        execution_id = event.row_key.value
        records = self.session.history.invocations(execution_id)
        self.last_execution = execution_id
        self.run_pane.toggle_history()
        self.run_pane.clear()
        states: dict[str, str] = {}
        for record in records:
            states[record.block] = record.status if states.get(record.block) != "failed" else "failed"
            self.run_pane.upsert(record.id, record.block, record.status, record.duration_ms, _record_output(record))
        self.block_tree.set_states(states)
        execution = self.session.history.execution(execution_id)
        self.run_pane.set_status(f"execution {execution_id}: {execution.status} (from history)")

    def action_toggle_auto_rerun(self) -> None:
        self.auto_rerun = not self.auto_rerun
        self.notify(f"auto re-run on save: {'on' if self.auto_rerun else 'off'}")

    def action_toggle_breakpoint(self) -> None:
        block = self.block_tree.selected_block
        if block is None:
            return
        self.breakpoints ^= {block}
        self.block_tree.set_breakpoints(self.breakpoints)
        if self.session is not None:
            self.session.executor.set_breakpoints(self.breakpoints)

    def action_focus_input(self) -> None:
        box = self.query_one("#run-input")
        box.focus()
        box.select_all()  # typing replaces the input

    # cloud executions: the one the Invoke pane follows (or opens) shows in the tree and the Run pane

    def on_cloud_execution_started(self, message: CloudExecutionStarted) -> None:
        from refinery_tui.cloud.rebuild import CloudRun

        if message.started.execution_id and not self.running:
            show_cloud_run(self, CloudRun(message.started.execution_id), stage=message.target.stage, fresh=True)

    def _showing(self, execution_id: str) -> bool:
        run = self.run_pane.cloud_run
        return not self.running and run is not None and run.execution_id == execution_id

    def on_cloud_execution_updated(self, message: CloudExecutionUpdated) -> None:
        if self._showing(message.run.execution_id):
            show_cloud_run(self, message.run)

    def on_cloud_execution_finished(self, message: CloudExecutionFinished) -> None:
        if message.run is not None and self._showing(message.execution_id):
            show_cloud_run(self, message.run, message.execution)

    def on_cloud_execution_selected(self, message: CloudExecutionSelected) -> None:
        if self.running:
            self.notify("a local run is in progress: the Run pane shows it (x cancels it)", severity="warning")
            return
        show_cloud_run(self, message.run, message.execution, message.stage, fresh=True)
        self.action_focus_pane("run")
        table = self.run_pane.table
        if message.invocation_id in table.rows:
            table.move_cursor(row=table.get_row_index(message.invocation_id))
        self.show_current_invocation()

    # keys, help, palette, quitting

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.focused, self.HELP))

    def action_keys(self) -> None:
        self.push_screen(KeysScreen(self.screen.active_bindings, keymap.config_file()))

    def action_zoom(self) -> None:
        navigation.zoom(self.screen, self.focused)

    def action_back(self) -> None:
        navigation.back(self.screen, self.focused, home=self.block_tree)

    def action_focus_pane(self, pane: str) -> None:
        if pane == "tree":
            self.block_tree.focus()
        elif pane == "editor":
            self.editor.focus_current()
        else:
            self.bottom.show(pane)
            focus = {"run": self.run_pane.table, "deploy": self.deploy_pane.table, "logs": self.logs_pane.view}
            (focus.get(pane) or self.query_one(f"#{pane}")).focus()

    async def action_quit(self) -> None:
        self.editor.confirm_losing_edits("Quit", self.leave)

    def leave(self) -> None:
        if self.running and self.session is not None:
            self.session.executor.cancel()  # a paused run would otherwise keep its worker waiting
        self.exit()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                f"{event.worker.group or 'background'} failed: {type(error).__name__}: {error}",
                severity="error",
                timeout=10,
            )
            if event.worker.group == "run":
                self.running = False
                self.run_pane.set_status(f"✗ the run stopped: {error}", "red")


def _record_output(record) -> str:
    """A recorded invocation's output preview, or its error."""
    if record.status == "succeeded":
        return output_preview(record.output)
    return f"{(record.error or {}).get('type')}: {(record.error or {}).get('message')}"


def _place(data: dict) -> str:
    return data["block"] + "".join(f"[{index}]" for index in data.get("place", []))


def run_workbench(root: Path | str) -> int:
    app = WorkbenchApp(root)
    app.run()
    return app.return_code or 0


__all__ = ["WorkbenchApp", "run_workbench"]
