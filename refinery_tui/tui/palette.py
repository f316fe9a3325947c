"""The command palette's workbench commands: a Textual `Provider` whose list follows the context (a block or a
transition under the tree's cursor, an open file, a run under way or paused, a project with errors, the focused
pane's commands first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.widget import Widget

from refinery_tui.tui.invoke_pane import invoke_commands

# the palette groups each pane's commands are in; the focused pane's come first
PANE_GROUPS = {
    "tree": ("Block", "Transition"),
    "editor": ("File",),
    "run": ("Run", "Input"),
    "problems": ("View",),
    "deploy": ("Deploy",),
    "invoke": ("Invoke",),
    "logs": ("Logs",),
}


@dataclass(frozen=True)
class PaletteCommand:
    title: str
    help: str
    callback: Callable[[], Any]

    @property
    def group(self) -> str:
        return self.title.split(":", 1)[0]


def focused_pane(widget: Widget | None) -> str | None:
    """The id of the pane the widget is in (tree, editor, run, ...), or None."""
    for node in widget.ancestors_with_self if widget is not None else ():
        if node.id in PANE_GROUPS:
            return node.id
    return None


def workbench_commands(app: Any, focused: Widget | None = None) -> list[PaletteCommand]:
    """The commands that make sense now (the focused pane's first)."""
    commands = (
        run_commands(app)
        + structure_commands(app)
        + file_commands(app)
        + deploy_commands(app)
        + view_commands(app)
        + [PaletteCommand(*command) for command in invoke_commands(app)]
        + [PaletteCommand(c.title, c.help, c.callback) for c in app.logs_pane.system_commands()]
    )
    groups = PANE_GROUPS.get(focused_pane(focused) or "", ())
    return sorted(commands, key=lambda command: command.group not in groups)


def run_commands(app: Any) -> list[PaletteCommand]:
    if app.state.project is None:
        return []  # nothing runs until project.yaml can be read: View: Problems says why
    run = app.run_pane.controller
    running, paused = run.running, run.paused_invocation is not None
    commands = []
    if not running:
        commands.append(
            PaletteCommand(
                "Run: Start",
                "Run the project from its entry block with the input in the Run pane",
                partial(app.action_run, "start"),
            )
        )
    if not running or paused:
        commands.append(PaletteCommand("Run: Step", "Run one invocation at a time", partial(app.action_run, "step")))
        commands.append(PaletteCommand("Run: Continue", "Continue a paused run", partial(app.action_run, "continue")))
    if running and not paused:
        commands.append(
            PaletteCommand("Run: Pause", "Pause before the next invocation", partial(app.action_run, "pause"))
        )
    if running:
        commands.append(PaletteCommand("Run: Cancel", "Cancel the run", partial(app.action_run, "cancel")))
    if not running and run.last_execution is not None:
        commands.append(
            PaletteCommand(
                "Run: Replay from selected",
                "Re-run from the selected invocation's block",
                partial(app.action_run, "replay"),
            )
        )
    return commands + [
        PaletteCommand(
            "Run: Toggle auto re-run", "Re-run from a block when its file is saved", partial(app.action_run, "auto")
        ),
        PaletteCommand("Run: History", "Past executions", partial(app.action_run, "history")),
        PaletteCommand(
            "Input: Save as", "Keep the current input as inputs/NAME.json", partial(app.action_run, "save_input")
        ),
        PaletteCommand("Input: Load", "Put a saved input in the input box", partial(app.action_run, "load_input")),
    ]


def structure_commands(app: Any) -> list[PaletteCommand]:
    if app.state.project is None:
        return []
    structure, tree = app.structure, app.block_tree
    commands = [PaletteCommand("Block: Add", "Add a block joined to the selected one", structure.add_block)]
    if tree.selected_block is not None:
        commands += [
            PaletteCommand("Block: Rename", "Rename the selected block everywhere", structure.rename_block),
            PaletteCommand("Block: Delete", "Delete the selected block and its transitions", structure.delete_block),
            PaletteCommand(
                "Block: Settings", "Type, language, memory, timeout, env, transitions", tree.action_block_settings
            ),
            PaletteCommand(
                "Block: Toggle breakpoint", "Pause runs before the selected block", app.action_toggle_breakpoint
            ),
            PaletteCommand("Transition: Add", "Add a transition from the selected block", structure.add_transition),
        ]
    if tree.selected_transition() is not None:
        commands += [
            PaletteCommand(
                "Transition: Change",
                "Change the target, type or expression of the transition to the selected node",
                structure.edit_transition,
            ),
            PaletteCommand(
                "Transition: Remove", "Remove the transition leading to the selected node", structure.delete_transition
            ),
        ]
    return commands


def file_commands(app: Any) -> list[PaletteCommand]:
    editor = app.editor
    commands = []
    if editor.current is not None:
        commands += [
            PaletteCommand("File: Save", "Save the open file", editor.action_save),
            PaletteCommand(
                "File: Close tab", "Close the open file (asks when it has unsaved edits)", editor.action_close_tab
            ),
            PaletteCommand(
                "File: Edit in $EDITOR", "Suspend and open the file in your editor", editor.action_external_editor
            ),
        ]
    return commands + [PaletteCommand("File: Open project.yaml", "Edit project.yaml", app.action_open_project_file)]


def deploy_commands(app: Any) -> list[PaletteCommand]:
    pane = app.deploy_pane

    def shown(action: Callable[[], Any]) -> Callable[[], None]:
        """Show the Deploy pane, then act."""

        def run() -> None:
            app.action_focus_pane("deploy")
            action()

        return run

    return [
        PaletteCommand(
            "Deploy: Plan",
            "What a deploy to the target and stage would create, update and delete",
            shown(pane.action_plan),
        ),
        PaletteCommand("Deploy: Apply", "Carry out the plan (asks first)", shown(pane.action_apply)),
        PaletteCommand(
            "Deploy: Retry", "Plan again and apply after a failed deploy or teardown", shown(pane.action_retry)
        ),
        PaletteCommand(
            "Deploy: Tear down", "Delete everything of the stage (asks for the stage name)", shown(pane.action_teardown)
        ),
        PaletteCommand(
            "Deploy: Target",
            "Choose the sandbox, an AWS profile or an endpoint, and the stage",
            shown(pane.action_focus_target),
        ),
        PaletteCommand(
            "Deploy: AWS command log", "Show or hide every AWS call the workbench made", shown(pane.action_toggle_log)
        ),
    ]


def view_commands(app: Any) -> list[PaletteCommand]:
    errors = len(app.state.validation.errors) if app.state.validation is not None else 0
    problems = PaletteCommand(
        "View: Problems",
        f"Show the Problems pane: {errors} error(s) to fix" if errors else "Show the Problems pane",
        lambda: app.bottom.show("problems"),
    )
    zoom = PaletteCommand("View: Zoom", "Zoom the focused pane", app.action_zoom)
    keys = PaletteCommand("Help: Keys", "The keys that work here", app.action_keys)
    return [problems, zoom, keys] if errors else [zoom, problems, keys]


class WorkbenchCommands(Provider):
    """The workbench's commands, worked out when the palette opens (from the screen and the focus it opened on)."""

    async def startup(self) -> None:
        self.commands = workbench_commands(self.app, self.focused)

    async def discover(self) -> Hits:
        for command in self.commands:
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands:
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback, help=command.help)
