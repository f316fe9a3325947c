"""The workbench App: layout, keys, the command palette, and the handlers that own every state change.

Blocking work (block runs, validation, file watching) runs in thread workers that only post messages.
"""

from __future__ import annotations

import difflib
import gc
import os
import shlex
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane, Tree
from textual.worker import Worker, WorkerState

from refinery_tui.local.session import InvalidProject, LocalSession
from refinery_tui.model import schema
from refinery_tui.model.diagnostics import Diagnostic
from refinery_tui.model.project import CodeBlock, ModelError, Project, Transition, make_block
from refinery_tui.model.validator import ValidationResult, validate_project
from refinery_tui.model.writer import save_project
from refinery_tui.tui import keymap
from refinery_tui.tui.block_tree import BlockTree
from refinery_tui.tui.deploy_pane import DeployPane
from refinery_tui.tui.editor import CodeEditor, EditorPane
from refinery_tui.tui.invoke_pane import InvokePane, invoke_commands
from refinery_tui.tui.logs_pane import LogsPane
from refinery_tui.tui.messages import (
    CloudExecutionFinished,
    CloudExecutionSelected,
    CloudExecutionStarted,
    CloudExecutionUpdated,
    FileSaved,
    FilesChanged,
    OpenFile,
    ProblemsWanted,
    Validated,
)
from refinery_tui.tui.modals import Ask, Choose, Confirm, ShowText
from refinery_tui.tui.problems import ProblemsPane
from refinery_tui.tui.run_pane import RunPane


class WorkbenchApp(App):
    """`refinery-tui PROJECT`: the block tree, the editor, and the Run / Deploy / Problems panes."""

    CSS_PATH = "workbench.tcss"
    TITLE = "refinery-tui"
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
        self.validation: ValidationResult | None = None
        self._stop_watching = threading.Event()
        self.select_after_reload: str | None = None

    # layout

    def compose(self) -> ComposeResult:
        yield Header()
        tree = BlockTree(id="tree")
        with Horizontal(id="main"):
            yield tree
            yield EditorPane(id="editor")
        with TabbedContent(id="bottom"):
            with TabPane("Run", id="tab-run"):
                yield RunPane(self.root, tree, id="run")
            with TabPane("Deploy", id="tab-deploy"):
                yield DeployPane(self.root, id="deploy")
            with TabPane("Invoke", id="tab-invoke"):
                yield InvokePane(self.root, id="invoke")
            with TabPane("Logs", id="tab-logs"):
                yield LogsPane(self.root, id="logs")
            with TabPane("Problems", id="tab-problems"):
                yield ProblemsPane(id="problems")
                yield Static("", id="problem-detail")
        yield Footer()

    def on_mount(self) -> None:
        keymap.apply(self)
        self.query_one(BlockTree).focus()
        self.open_session()
        self.run_pane.load_saved_input()
        if self.watch_files:
            self.watch_project()
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
    def project(self) -> Project | None:
        if self.session is not None and self.session.project is not None:
            return self.session.project
        return self.validation.project if self.validation else None

    # the project: validation, the tree, problems

    def open_session(self) -> None:
        try:
            self.session = LocalSession(self.root, on_event=self.run_pane.controller.post_event)
            self.validation = self.session.last_validation
        except InvalidProject as exc:
            self.session = None
            self.validation = exc.result
        self.run_pane.use_session(self.session)
        self.show_validation(self.validation)

    def show_validation(self, result: ValidationResult) -> None:
        self.validation = result
        project = result.project if result.ok or self.session is None else self.session.project
        if project is not None:
            self.block_tree.show_project(project)
            self.title = f"refinery-tui · {project.name}"
        self.query_one(ProblemsPane).show(result.diagnostics, self.root)
        errors, warnings = len(result.errors), len(result.warnings)
        label = "Problems" + (f" ({errors}✗ {warnings}!)" if errors or warnings else "")
        self.query_one("#bottom", TabbedContent).get_tab("tab-problems").label = label
        state = "valid" if result.ok else f"{errors} error(s)"
        self.sub_title = f"{self.root.name} · stage: local · target: this machine · {state}"

    @work(thread=True, exclusive=True, group="validate", exit_on_error=False)
    def revalidate(self) -> None:
        if self.session is not None:
            result = self.session.reload()
        else:
            result = validate_project(self.root)
        self.post_message(Validated(result))

    def on_validated(self, message: Validated) -> None:
        if self.session is None and message.result.ok:
            self.open_session()
        else:
            self.show_validation(message.result)
        if self.select_after_reload:
            self.call_after_refresh(self.block_tree.select_block, self.select_after_reload)
            self.select_after_reload = None

    # watching files

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def watch_project(self) -> None:
        from watchfiles import Change, watch

        from refinery_tui.local.watcher import ProjectFilter

        for changes in watch(
            self.root,
            watch_filter=ProjectFilter(),
            debounce=30,
            step=10,
            stop_event=self._stop_watching,
            rust_timeout=200,
        ):
            paths = [Path(path) for change, path in changes if change != Change.deleted]
            if paths:
                self.post_message(FilesChanged(paths))

    async def on_files_changed(self, message: FilesChanged) -> None:
        rerun_blocks: list[str] = []
        for path in message.paths:
            path = path.resolve()
            editor = self.editor.editor_for(path)
            if editor is not None:
                if not self.editor.changed_on_disk(editor):
                    continue  # our own save
                if editor.dirty:
                    self.resolve_conflict(editor)
                    continue
                self.editor.reload(editor)
            if path == self.root / schema.PROJECT_FILE:
                self.revalidate()
            elif self.session is not None:
                rerun_blocks += self.session.blocks_using(path)
        if rerun_blocks:
            self.revalidate()
            self.run_pane.controller.replay_after_save(rerun_blocks)

    def resolve_conflict(self, editor: CodeEditor) -> None:
        def chosen(choice: str | None) -> None:
            if choice == "reload":
                self.editor.reload(editor)
            elif choice == "keep":
                editor.disk_stamp = None  # the next save overwrites the file on disk
                self.notify("keeping your edits; ctrl+s overwrites the file on disk")
            elif choice == "diff":
                disk = editor.path.read_text(encoding="utf-8") if editor.path.exists() else ""
                diff = "".join(
                    difflib.unified_diff(disk.splitlines(True), editor.text.splitlines(True), "on disk", "your edits")
                )
                self.push_screen(
                    ShowText(f"## {editor.path.name}: on disk → your edits\n\n```diff\n{diff}\n```"),
                    lambda _: self.resolve_conflict(editor),
                )

        self.push_screen(
            Choose(
                f"{editor.path.name} changed on disk, and you have unsaved edits.",
                [("reload", "r", "Reload from disk"), ("keep", "k", "Keep mine"), ("diff", "d", "Show diff")],
            ),
            chosen,
        )

    # opening files

    async def on_open_file(self, message: OpenFile) -> None:
        await self.editor.open(message.path, message.line, message.column)

    async def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        data = event.node.data
        if data is None:
            return
        if data.link:
            self.block_tree.select_block(data.block)
            return
        project = self.project
        block = project.blocks.get(data.block) if project else None
        if isinstance(block, CodeBlock):
            await self.editor.open(self.root / block.code_file)
        elif block is not None:
            self.show_block_settings(block.name)

    async def action_open_project_file(self) -> None:
        await self.editor.open(self.root / schema.PROJECT_FILE)

    def on_file_saved(self, message: FileSaved) -> None:
        path = message.path.resolve()
        if path == self.root / schema.PROJECT_FILE:
            self.revalidate()
            return
        self.revalidate()
        if path.suffix == ".py":
            self.check_python(path)
        if self.session is not None:
            blocks = self.session.blocks_using(path)
            if blocks:
                self.run_pane.controller.replay_after_save(blocks)

    def check_python(self, path: Path) -> None:
        from refinery_tui.model.code_check import check_python

        problems = check_python(path.read_text(encoding="utf-8"))
        if problems and problems[0].message.startswith("Python syntax error"):
            self.notify(f"{path.name}:{problems[0].line}: {problems[0].message}", severity="error")

    # runs: the Run pane owns them; the keys work everywhere, so they are the app's and forward to it

    def action_run_start(self) -> None:
        self.run_pane.controller.start(step=False)

    def action_run_step(self) -> None:
        self.run_pane.controller.advance(step=True)

    def action_run_continue(self) -> None:
        self.run_pane.controller.advance(step=False)

    def action_run_pause(self) -> None:
        self.run_pane.controller.pause()

    def action_run_cancel(self) -> None:
        self.run_pane.controller.cancel()

    def action_replay_selected(self) -> None:
        self.run_pane.action_replay_selected()

    def action_toggle_history(self) -> None:
        self.run_pane.action_toggle_history()

    def action_toggle_auto_rerun(self) -> None:
        self.run_pane.controller.toggle_auto_rerun()

    def action_toggle_breakpoint(self) -> None:
        self.run_pane.controller.toggle_breakpoint(self.block_tree.selected_block)

    def action_focus_input(self) -> None:
        self.run_pane.focus_input()

    def action_save_input_as(self) -> None:
        self.run_pane.input_box.save_as()

    def action_load_input(self) -> None:
        self.run_pane.input_box.load()

    def on_problems_wanted(self, message: ProblemsWanted) -> None:
        self.query_one("#bottom", TabbedContent).active = "tab-problems"

    @on(CloudExecutionStarted)
    @on(CloudExecutionUpdated)
    @on(CloudExecutionFinished)
    def show_deployed_execution(self, message) -> None:
        """The execution the Invoke pane follows shows in the Run pane (unless a local run is under way)."""
        self.run_pane.show_deployed(message)

    def on_cloud_execution_selected(self, message: CloudExecutionSelected) -> None:
        if self.run_pane.show_deployed(message):
            self.action_focus_pane("run")

    @on(DataTable.RowHighlighted, "#problems")
    def show_problem(self, event: DataTable.RowHighlighted) -> None:
        """The whole message and hint of the highlighted problem (the table cuts long ones)."""
        problems = self.query_one(ProblemsPane)
        if event.row_key is None or not problems.diagnostics:
            return
        diagnostic = problems.diagnostics[int(event.row_key.value)]
        text = f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}: {diagnostic.message}"
        if diagnostic.hint:
            text += f"\nhint: {diagnostic.hint}"
        self.query_one("#problem-detail", Static).update(Text(text))

    # structure edits (validated by the model; written by the writer, comments kept)

    def edit_structure(self, change, description: str, select: str | None = None) -> None:
        """Apply a change to the model and write it; on failure nothing is written and the reason is shown."""
        project = self.project
        if project is None:
            return
        try:
            change(project)
            save_project(project)
        except (ModelError, OSError) as exc:
            self.notify(f"not done: {exc}", title=description, severity="error")
            self.revalidate()
            return
        self.notify(description)
        self.select_after_reload = select
        self.revalidate()

    def action_add_block(self) -> None:
        def named(answer: str | None) -> None:
            if not answer:
                return
            parts = answer.split()
            name, kind = parts[0], parts[1] if len(parts) > 1 else "code"
            language = parts[2] if len(parts) > 2 else "python"
            if kind not in schema.BLOCK_TYPES:
                self.notify(f"unknown block type '{kind}' ({', '.join(schema.BLOCK_TYPES)})", severity="error")
                return

            def change(project: Project) -> None:
                block = make_block(name, kind, language=language) if kind == "code" else make_block(name, kind)
                project.add_block(block)
                if isinstance(block, CodeBlock):
                    path = self.root / block.code_file
                    if not path.exists():
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(_template(language))
                selected = self.block_tree.selected_block
                if (
                    selected
                    and selected in project.blocks
                    and selected != name
                    and "then" in schema.allowed_transitions(project.blocks[selected].type, kind)
                ):
                    project.add_transition(Transition(selected, name, type_written=False))

            self.edit_structure(change, f"add block '{name}'", select=name)

        self.push_screen(
            Ask(
                "New block: NAME [TYPE [LANGUAGE]]\n(joined to the selected block by `then` where that is allowed)",
                placeholder="my-block code python",
            ),
            named,
        )

    def action_rename_block(self) -> None:
        old = self.block_tree.selected_block
        if old is None:
            return

        def renamed(new: str | None) -> None:
            if new and new != old:
                self.edit_structure(
                    lambda project: project.rename_block(old, new), f"rename '{old}' to '{new}'", select=new
                )

        self.push_screen(Ask(f"Rename block '{old}' to:", old), renamed)

    def action_delete_block(self) -> None:
        block = self.block_tree.selected_block
        if block is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.edit_structure(
                    lambda project: project.remove_block(block), f"delete block '{block}' (its code file is kept)"
                )

        self.push_screen(Confirm(f"Delete block '{block}' and its transitions? Its code file stays."), confirmed)

    def action_add_transition(self) -> None:
        source = self.block_tree.selected_block
        if source is None:
            return

        def answered(answer: str | None) -> None:
            if not answer:
                return
            target, kind, expression = _parse_transition(answer)
            problem = self.transition_problem(source, target, kind, expression)
            if problem:
                self.notify(problem, severity="error")
                return
            self.edit_structure(
                lambda project: project.add_transition(
                    Transition(source, target, kind, expression, type_written=kind != "then")
                ),
                f"add {kind} transition {source} → {target}",
                select=source,
            )

        self.push_screen(
            Ask(
                f"New transition from '{source}': TARGET [TYPE [EXPRESSION]]",
                placeholder="next-block if return_data['ok']",
            ),
            answered,
        )

    def _allowed(self, source: str, target: str) -> tuple[str, ...] | None:
        project = self.project
        if project is None or source not in project.blocks or target not in project.blocks:
            return None
        return schema.allowed_transitions(project.blocks[source].type, project.blocks[target].type)

    def action_edit_transition(self) -> None:
        """Change the transition that leads to the selected node: its target, type or expression."""
        selected = self._selected_transition("change")
        if selected is None:
            return
        index, via = selected
        current = f"{via.target} {via.type}" + (f" {via.expression}" if via.expression else "")

        def answered(answer: str | None) -> None:
            if not answer:
                return
            target, kind, expression = _parse_transition(answer)
            problem = self.transition_problem(via.source, target, kind, expression)
            if problem:
                self.notify(problem, severity="error")
                return

            def change(project: Project) -> None:
                transition = project.transitions[index]
                project.block(target)
                transition.target, transition.type, transition.expression = target, kind, expression
                transition.type_written = transition.type_written or kind != "then"

            self.edit_structure(change, f"change the transition {via.source} → {target} ({kind})", select=target)

        self.push_screen(Ask(f"Change the transition from '{via.source}': TARGET TYPE [EXPRESSION]", current), answered)

    def _selected_transition(self, verb: str):
        """(index, transition) of the transition leading to the tree's cursor node, or None (and a hint)."""
        source_node = getattr(self.block_tree.cursor_node, "_refinery_source", None)
        if source_node is None or source_node.via is None:
            self.notify(f"select a block reached by a transition to {verb} that transition")
            return None
        return source_node.via_index, source_node.via

    def transition_problem(self, source: str, target: str, kind: str, expression: str | None) -> str | None:
        """Why a transition cannot be written, or None."""
        if kind not in schema.TRANSITION_TYPES:
            return f"unknown transition type '{kind}' ({', '.join(schema.TRANSITION_TYPES)})"
        if kind == "if" and not expression:
            return "an `if` transition needs an expression: TARGET if EXPRESSION"
        if kind != "if" and expression:
            return "only an `if` transition takes an expression"
        if expression is not None:
            from refinery_tui.runtime.expressions import ExpressionSyntaxError, compile_expression

            try:
                compile_expression(expression)
            except ExpressionSyntaxError as exc:
                return f"the expression does not work: {exc.message}"
        allowed = self._allowed(source, target)
        if allowed is not None and kind not in allowed:
            return f"'{kind}' cannot join '{source}' to '{target}'; allowed: {', '.join(allowed) or 'none'}"
        if self.project is not None and target not in self.project.blocks:
            return f"no block named '{target}'"
        return None

    def action_delete_transition(self) -> None:
        selected = self._selected_transition("remove")
        if selected is None:
            return
        index, via = selected

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.edit_structure(
                    lambda project: project.remove_transition(index),
                    f"remove the {via.type} transition {via.source} → {via.target}",
                    select=via.source,
                )

        self.push_screen(Confirm(f"Remove the {via.type} transition {via.source} → {via.target}?"), confirmed)

    def action_block_settings(self) -> None:
        block = self.block_tree.selected_block
        if block is not None:
            self.show_block_settings(block)

    def show_block_settings(self, name: str) -> None:
        project = self.project
        if project is None or name not in project.blocks:
            return
        from refinery_tui.model.graph import ProjectGraph

        block = project.blocks[name]
        graph = ProjectGraph(project)
        lines = [f"## {name}", "", f"- type: `{block.type}`"]
        if isinstance(block, CodeBlock):
            lines += [
                f"- language: `{block.language_name}`",
                f"- file: `{block.code_file}`",
                f"- memory: {block.memory_mb} MB",
                f"- timeout: {block.timeout_s} s",
                f"- retries: {block.retry_count}",
                f"- env: `{block.env or {}}`",
                f"- libraries: `{block.libraries or []}`",
            ]
        for key in ("schedule", "input", "batch_size", "path", "method"):
            if getattr(block, key, None) is not None:
                lines.append(f"- {key}: `{getattr(block, key)}`")
        lines += ["", "### Transitions in"] + [f"- `{t.source}` → {t.label()}" for t in graph.predecessors(name)]
        lines += ["", "### Transitions out"] + [f"- {t.label()} → `{t.target}`" for t in graph.successors(name)]
        if graph.exception_targets(name) and not any(t.type == "exception" for t in graph.successors(name)):
            lines.append(f"- failures go to the global handler `{project.on_exception}`")
        self.push_screen(ShowText("\n".join(lines)))

    # keys, help, palette, quitting

    def action_help(self) -> None:
        widget = self.focused
        while widget is not None and not getattr(widget, "HELP", None):
            widget = widget.parent
        text = getattr(widget, "HELP", None) or self.HELP
        self.push_screen(ShowText(text + "\n\n" + self.HELP))

    def action_keys(self) -> None:
        rows = ["## Keys", "", "| key | does | id |", "| --- | --- | --- |"]
        seen = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if binding.description and (binding.id or key) not in seen:
                seen.add(binding.id or key)
                rows.append(f"| `{active.binding.key_display or key}` | {binding.description} | `{binding.id or ''}` |")
        rows += ["", f'Remap keys in `{keymap.config_file()}` (a `[keymap]` table of binding id = "keys").']
        self.push_screen(ShowText("\n".join(rows)))

    def action_zoom(self) -> None:
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        widget = self.focused
        while (
            widget is not None
            and widget.parent is not None
            and widget.id not in ("tree", "editor", "run", "deploy", "invoke", "logs", "problems", "bottom")
        ):
            widget = widget.parent
        if widget is not None:
            screen.maximize(widget, container=False)

    def action_back(self) -> None:
        """Escape backs out of anything: a dialog, a zoomed pane, the editor or the input (to the tree)."""
        if isinstance(self.screen, ModalScreen):
            self.screen.dismiss(None)
        elif self.focused is not None and any(
            getattr(widget, "back_out", lambda: False)() for widget in self.focused.ancestors_with_self
        ):
            pass  # a pane backed out of something of its own (the Logs pane's filter)
        elif self.screen.maximized is not None:
            self.screen.minimize()
        elif self.focused is not None and self.focused is not self.block_tree:
            self.block_tree.focus()

    def action_focus_pane(self, pane: str) -> None:
        bottom = self.query_one("#bottom", TabbedContent)
        if pane == "tree":
            self.block_tree.focus()
        elif pane == "editor":
            if self.editor.current is not None:
                self.editor.current.focus()
        elif pane == "run":
            bottom.active = "tab-run"
            self.run_pane.table.focus()
        elif pane == "problems":
            bottom.active = "tab-problems"
            self.query_one("#problems").focus()
        elif pane == "deploy":
            bottom.active = "tab-deploy"
            self.deploy_pane.table.focus()
        elif pane == "invoke":
            bottom.active = "tab-invoke"
            self.query_one(InvokePane).focus()
        elif pane == "logs":
            bottom.active = "tab-logs"
            self.query_one(LogsPane).view.focus()

    def deploy(self, action: str) -> None:
        """A Deploy command from the palette: show the Deploy pane, then do it."""
        self.action_focus_pane("deploy")
        getattr(self.deploy_pane, f"action_{action}")()

    async def action_quit(self) -> None:
        dirty = [editor.path.name for editor in self.editor.editors() if editor.dirty]
        if not dirty:
            self.leave()
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.leave()

        self.push_screen(Confirm(f"Quit and lose the unsaved edits in {', '.join(dirty)}?"), confirmed)

    def leave(self) -> None:
        self.run_pane.controller.cancel()  # a paused run would otherwise keep its worker waiting
        self.exit()

    async def action_external_editor(self) -> None:
        editor = self.editor.current
        if editor is None:
            return
        if editor.dirty:
            self.editor.save(editor)
        command = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi") + [str(editor.path)]
        try:
            with self.suspend():
                subprocess.run(command, check=False)
        except (OSError, Exception) as exc:  # noqa: BLE001 - a missing editor is a notification
            self.notify(f"cannot start the editor: {exc}", severity="error")
            return
        self.editor.reload(editor)
        self.post_message(FileSaved(editor.path))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = [
            (
                "Run: Start",
                "Run the project from its entry block with the input in the Run pane",
                self.action_run_start,
            ),
            ("Run: Step", "Run one invocation at a time", self.action_run_step),
            ("Run: Continue", "Continue a paused run", self.action_run_continue),
            ("Run: Pause", "Pause before the next invocation", self.action_run_pause),
            ("Run: Cancel", "Cancel the run", self.action_run_cancel),
            ("Run: Replay from selected", "Re-run from the selected invocation's block", self.action_replay_selected),
            ("Run: Toggle auto re-run", "Re-run from a block when its file is saved", self.action_toggle_auto_rerun),
            ("Run: History", "Past executions", self.action_toggle_history),
            ("Input: Save as", "Keep the current input as inputs/NAME.json", self.action_save_input_as),
            ("Input: Load", "Put a saved input in the input box", self.action_load_input),
            ("Block: Add", "Add a block joined to the selected one", self.action_add_block),
            ("Block: Rename", "Rename the selected block everywhere", self.action_rename_block),
            ("Block: Delete", "Delete the selected block and its transitions", self.action_delete_block),
            ("Block: Settings", "Type, language, memory, timeout, env, transitions", self.action_block_settings),
            ("Block: Toggle breakpoint", "Pause runs before the selected block", self.action_toggle_breakpoint),
            ("Transition: Add", "Add a transition from the selected block", self.action_add_transition),
            (
                "Transition: Change",
                "Change the target, type or expression of the transition to the selected node",
                self.action_edit_transition,
            ),
            ("Transition: Remove", "Remove the transition leading to the selected node", self.action_delete_transition),
            ("File: Save", "Save the open file", self.editor.action_save),
            ("File: Close tab", "Close the open file (asks when it has unsaved edits)", self.editor.action_close_tab),
            ("File: Open project.yaml", "Edit project.yaml", self.action_open_project_file),
            ("File: Edit in $EDITOR", "Suspend and open the file in your editor", self.action_external_editor),
            (
                "Deploy: Plan",
                "What a deploy to the target and stage would create, update and delete",
                lambda: self.deploy("plan"),
            ),
            ("Deploy: Apply", "Carry out the plan (asks first)", lambda: self.deploy("apply")),
            ("Deploy: Retry", "Plan again and apply after a failed deploy or teardown", lambda: self.deploy("retry")),
            (
                "Deploy: Tear down",
                "Delete everything of the stage (asks for the stage name)",
                lambda: self.deploy("teardown"),
            ),
            (
                "Deploy: Target",
                "Choose the sandbox, an AWS profile or an endpoint, and the stage",
                lambda: self.deploy("focus_target"),
            ),
            (
                "Deploy: AWS command log",
                "Show or hide every AWS call the workbench made",
                lambda: self.deploy("toggle_log"),
            ),
            ("View: Zoom", "Zoom the focused pane", self.action_zoom),
            (
                "View: Problems",
                "Show the Problems pane",
                lambda: setattr(self.query_one("#bottom"), "active", "tab-problems"),
            ),
            ("Help: Keys", "The keys that work here", self.action_keys),
        ]
        commands += invoke_commands(self)
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)
        yield from self.query_one(LogsPane).system_commands()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                f"{event.worker.group or 'background'} failed: {type(error).__name__}: {error}",
                severity="error",
                timeout=10,
            )


def _parse_transition(answer: str) -> tuple[str, str, str | None]:
    """`TARGET [TYPE [EXPRESSION]]` → (target, type, expression); the type defaults to then."""
    parts = answer.split(maxsplit=2)
    return parts[0], parts[1] if len(parts) > 1 else "then", parts[2] if len(parts) > 2 else None


def _template(language: str) -> str:
    if language == "node":
        return "exports.main = async (blockInput, backpack) => {\n  return blockInput;\n};\n"
    return "def main(block_input, backpack):\n    return block_input\n"


def run_workbench(root: Path | str) -> int:
    app = WorkbenchApp(root)
    app.run()
    return app.return_code or 0


__all__ = ["WorkbenchApp", "run_workbench", "Diagnostic"]
