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
from textual.widgets import Footer, Header, TabPane
from textual.worker import Worker, WorkerState

from refinery_tui.local.session import InvalidProject, LocalSession
from refinery_tui.model import schema
from refinery_tui.model.project import Project
from refinery_tui.model.project_paths import leads_inside
from refinery_tui.model.validator import ValidationResult
from refinery_tui.tui import keymap, navigation, project_watch
from refinery_tui.tui.block_tree import BlockTree
from refinery_tui.tui.bottom_tabs import BottomTabs
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
    FileSaved,
    FilesChanged,
    OpenFile,
    ProblemsWanted,
    RerunWanted,
    Validated,
)
from refinery_tui.tui.modals import HelpScreen, KeysScreen
from refinery_tui.tui.palette import WorkbenchCommands
from refinery_tui.tui.problems import ProblemDetail, ProblemsPane
from refinery_tui.tui.project_state import ProjectState
from refinery_tui.tui.run_pane import RunPane
from refinery_tui.tui.screens.block_settings import BlockSettings
from refinery_tui.tui.screens.structure import StructureEditor


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
        Binding("r", "run('start')", "Run", id="run.start"),
        Binding("s", "run('step')", "Step", id="run.step"),
        Binding("c", "run('continue')", "Continue", id="run.continue"),
        Binding("p", "run('pause')", "Pause", show=False, id="run.pause"),
        Binding("x", "run('cancel')", "Cancel", show=False, id="run.cancel"),
        Binding("a", "run('auto')", "Auto re-run", show=False, id="run.auto"),
        Binding("f5", "run('start')", "Run", show=False, id="app.run"),
        Binding("f6", "run('step')", "Step", show=False, id="app.step"),
        Binding("f8", "run('continue')", "Continue", show=False, id="app.continue"),
        Binding("ctrl+j", "run('input')", "Input", show=False, id="app.input"),
        Binding("n", "structure('add_block')", "New block", show=False, id="block.add"),
        Binding("f2", "structure('rename_block')", "Rename", show=False, id="block.rename"),
        Binding("delete", "structure('delete_block')", "Delete", show=False, id="block.delete"),
        Binding("t", "structure('add_transition')", "Transition", show=False, id="transition.add"),
        Binding("T", "structure('delete_transition')", "Remove transition", show=False, id="transition.delete"),
        Binding("e", "structure('edit_transition')", "Change transition", show=False, id="transition.edit"),
        Binding("ctrl+o", "external_editor", "$EDITOR", show=False, id="app.external_editor"),
        Binding("y", "open_project_file", "project.yaml", show=False, id="app.project_file"),
    ]

    def __init__(self, root: Path | str, watch: bool = True) -> None:
        super().__init__()
        self.root = Path(root).resolve()
        self.watch_files = watch
        self.session: LocalSession | None = None
        self.state = ProjectState(self.root)
        self._stop_watching = threading.Event()

    # layout

    def compose(self) -> ComposeResult:
        yield Header()
        tree = BlockTree(id="tree")
        with Horizontal(id="main"):
            yield tree
            yield EditorPane(id="editor")
        with BottomTabs(id="bottom"):
            with TabPane("Run", id="tab-run"):
                yield RunPane(self.root, tree, id="run")
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
        self.run_pane.load_saved_input()
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
            self.session = LocalSession(self.root, on_event=self.run_pane.controller.post_event)
            self.state.update(self.session.last_validation, self.session.project)
        except InvalidProject as exc:
            self.session = None
            self.state.update(exc.result)
        self.run_pane.use_session(self.session)

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
        self.run_pane.controller.replay_after_save(message.blocks)

    async def on_open_file(self, message: OpenFile) -> None:
        if not leads_inside(self.root, message.path):
            self.notify(f"{message.path.name} leads outside the project; not opened", severity="error")
            return
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

    def action_structure(self, edit: str) -> None:
        self.structure.start(edit)

    # runs: the Run pane owns them; the run keys forward to it

    def action_run(self, command: str) -> None:
        self.run_pane.command(command)

    def action_toggle_breakpoint(self) -> None:
        self.run_pane.controller.toggle_breakpoint(self.block_tree.selected_block)

    def on_problems_wanted(self, message: ProblemsWanted) -> None:
        self.bottom.show("problems")

    @on(CloudExecutionStarted)
    @on(CloudExecutionUpdated)
    @on(CloudExecutionFinished)
    def show_deployed_execution(self, message) -> None:
        """The execution the Invoke pane follows shows in the Run pane (unless a local run is under way)."""
        self.run_pane.show_deployed(message)

    def on_cloud_execution_selected(self, message: CloudExecutionSelected) -> None:
        if self.run_pane.show_deployed(message):
            self.action_focus_pane("run")

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

    async def action_external_editor(self) -> None:
        await self.editor.action_external_editor()  # also from the tree: the file open in the editor

    async def action_quit(self) -> None:
        self.editor.confirm_losing_edits("Quit", self.leave)

    def leave(self) -> None:
        self.run_pane.controller.cancel()  # a paused run would otherwise keep its worker waiting
        self.exit()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                f"{event.worker.group or 'background'} failed: {type(error).__name__}: {error}",
                severity="error",
                timeout=10,
            )


def run_workbench(root: Path | str) -> int:
    app = WorkbenchApp(root)
    app.run()
    return app.return_code or 0


__all__ = ["WorkbenchApp", "run_workbench"]
