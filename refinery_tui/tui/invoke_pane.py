"""The Invoke pane: start a deployed execution at an entry block (invoke, API route, queue or topic) with a JSON input,
then follow it live: its invocations as the logs tell them, then its outcome from the state table."""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Select, Static, TextArea
from textual.worker import Worker, WorkerState

from refinery_tui import saved_inputs
from refinery_tui.tui.invoke_driver import InvokeDriver, call_listener
from refinery_tui.tui.invoke_job import (
    InvokeJob,
    InvokeRequest,
    ReopenJob,
    hows_for,
    parse_input,
    readable,
    recent_executions,
)
from refinery_tui.tui.invoke_view import InvokeTable, PickExecution, outcome_lines, reply_line, reply_style
from refinery_tui.tui.messages import (
    CloudExecutionFinished,
    CloudExecutionSelected,
    CloudExecutionStarted,
    CloudExecutionUpdated,
    InvokeEntriesLoaded,
    InvokeFailed,
    ProjectStateChanged,
    RecentExecutionsLoaded,
)
from refinery_tui.tui.project_state import ProjectState
from refinery_tui.tui.run_view import compact_json

NO_TARGET = (
    "no deploy target yet: choose one in the Deploy pane (5, then t: the sandbox, a profile or an "
    "endpoint, and the stage), p plans (which saves it), a deploys; the Invoke pane uses that target"
)
IDLE = "r/Enter invokes · s sync · b block · h how · i input · o open in Run · f1 help"


class InvokePane(Vertical, can_focus=True):
    ALLOW_MAXIMIZE = True
    HELP = """\
## Invoke

Starts an execution of the **deployed** stage and follows it live. The target and stage are the ones the Deploy
pane saved (its top line; `p` there plans and saves them); the line at the top right shows them.

- `b` picks the **entry block** (the project's entry blocks, then its queues and topics); `h` picks **how** to
  start it: `invoke` (the entry function, with the input), `API` (an HTTP request to the block's route: the
  input's `body`, or the input itself, is the request body; the reply's status and body show), `send to queue` or
  `publish to topic` (the input is the message). The default follows the block's type.
- `i` edits the **input** (JSON). It starts with the last input given to that block (kept per block in
  `.refinery/inputs/`, shared with the Run pane and `refinery-tui invoke`). A mistake is shown with its
  line:column, and nothing is invoked.
- `s` switches **async** (return at once) and **sync** (wait until the entry block has run; its failure shows
  at once). API calls always wait for the reply; queue and topic sends never do.
- `r` or Enter **invokes** (in the input box: `ctrl+j`, which is ctrl+enter in most terminals, or alt+enter).
  The execution id shows at once; then the pane follows it: each invocation (block, `✓`/`✗`/`▶` status,
  ms, output) as its log lines arrive, and at the end the status, outputs and errors from the state table.
  `x` stops following (the execution goes on in the cloud).
- `l` lists the stage's **recent executions** (status, start time, duration, newest first, from the state
  table); Enter on one follows it the same way, from its logs.
- The tree colours the blocks by the followed execution's states, and the Run pane shows its invocations;
  `o` **opens** it in the Run pane, at the highlighted invocation, with its input, output or error and its log
  lines. `j` / `k` move in the table; `z` zooms the pane.
"""

    BINDINGS = [
        Binding("r,enter", "invoke", "Invoke", id="invoke.start"),
        Binding("ctrl+j,alt+enter", "send", "Invoke", key_display="^enter", id="invoke.send"),
        Binding("s", "toggle_sync", "Sync/async", id="invoke.sync"),
        Binding("b", "choose_block", "Block", id="invoke.block"),
        Binding("h", "choose_how", "How", show=False, id="invoke.how"),
        Binding("i", "edit_input", "Input", id="invoke.input"),
        Binding("o", "open_in_run", "Open in Run", id="invoke.open"),
        Binding("x", "stop_following", "Stop following", show=False, id="invoke.stop"),
        Binding("l", "recent", "Recent", id="invoke.recent"),
        Binding("j", "cursor_down", "Down", show=False, id="invoke.down"),
        Binding("k", "cursor_up", "Up", show=False, id="invoke.up"),
    ]

    def __init__(self, state: ProjectState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project_state, self.root = state, state.root
        self.driver = InvokeDriver(self)
        self.entries: dict[str, dict[str, Any]] = {}
        self.drafts: dict[str, str] = {}
        self.block: str | None = None
        self.sync = False
        self.starting = False
        self.execution_id: str | None = None  # the execution followed (or last followed)
        self.following = False
        self.run = None  # its CloudRun as rebuilt so far
        self.execution = None  # its CloudExecution, once it ended
        self.stage = ""
        self.reply: dict[str, Any] | None = None  # the API's reply to the last invoke through a route
        self._stop: threading.Event | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="invoke-form"):
            yield Select([], prompt="entry block", compact=True, id="invoke-block")
            yield Select([("invoke", "invoke")], value="invoke", allow_blank=False, compact=True, id="invoke-how")
            yield Static("async", id="invoke-sync")
            yield Static("", id="invoke-target")
        yield Static("", id="invoke-status")
        with Horizontal(id="invoke-body"):
            yield TextArea(
                "{}", language="json", id="invoke-input", show_line_numbers=False, compact=True, tab_behavior="focus"
            )
            yield InvokeTable(id="invoke-invocations")
        yield Static("", id="invoke-result")

    def on_mount(self) -> None:
        self.set_status(IDLE)
        self.query_one("#invoke-result").display = False
        self.show_target()
        self.load_entries()
        self.project_state.subscribe(lambda what: self.post_message(ProjectStateChanged(what)))

    def on_project_state_changed(self, message: ProjectStateChanged) -> None:
        message.stop()
        self.show_target()
        self.load_entries()

    def on_show(self) -> None:
        self.show_target()
        self.load_entries()

    def on_unmount(self) -> None:
        if self._stop is not None:
            self._stop.set()

    # widgets

    @property
    def table(self) -> InvokeTable:
        return self.query_one("#invoke-invocations", InvokeTable)

    @property
    def input_box(self) -> TextArea:
        return self.query_one("#invoke-input", TextArea)

    def status_text(self) -> str:
        return str(self.query_one("#invoke-status", Static).render())

    def set_status(self, text: str, style: str = "") -> None:
        """One line, cut at the edge; a failure wraps, to be read whole."""
        wrap = text.startswith("✗")
        self.query_one("#invoke-status", Static).update(
            Text(text, style=style, no_wrap=not wrap, overflow="fold" if wrap else "ellipsis")
        )

    def set_result(self, lines: list[str], style: str = "") -> None:
        """The reply, outputs and errors: a line each, cut at the edge (`o` shows them whole in the Run pane)."""
        result = self.query_one("#invoke-result", Static)
        result.display = bool(lines)
        result.update(Text("\n".join(lines), style=style, no_wrap=True, overflow="ellipsis"))

    def has_target(self) -> bool:
        return self.project_state.target is not None

    def show_target(self) -> None:
        label = self.query_one("#invoke-target", Static)
        if not self.has_target():
            label.update(Text("no target: Deploy pane (5)", style="dim"))
            return
        target = self.project_state.deploy_target()
        label.update(Text(f"stage {target.stage} · {target.describe()}", style="dim"))

    # the entry blocks

    @work(thread=True, exclusive=True, group="invoke-entries", exit_on_error=False)
    def load_entries(self) -> None:
        from refinery_tui.cloud.invoker import entry_points

        manifest = self.project_state.manifest
        if manifest is None:
            self.post_message(InvokeEntriesLoaded({}, "the project has errors: see Problems"))
            return
        entries = {name: manifest["blocks"][name] for name in entry_points(manifest)}
        self.post_message(InvokeEntriesLoaded(entries))

    def on_invoke_entries_loaded(self, message: InvokeEntriesLoaded) -> None:
        message.stop()
        if message.problem and not message.entries:
            self.set_status(f"✗ {message.problem}", "bold red")
            return
        if message.entries == self.entries:
            return
        self.entries = message.entries
        select = self.query_one("#invoke-block", Select)
        select.set_options([(name, name) for name in self.entries])
        if self.entries:
            select.value = self.block if self.block in self.entries else next(iter(self.entries))

    @on(Select.Changed, "#invoke-block")
    def block_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self.block is not None:
            self.drafts[self.block] = self.input_box.text
        block = event.value if isinstance(event.value, str) else None
        self.block = block
        if block is None:
            return
        hows = hows_for(self.entries.get(block, {}))
        how = self.query_one("#invoke-how", Select)
        how.set_options(hows)
        how.value = hows[0][1]
        self.input_box.load_text(self.drafts.get(block) or compact_json(saved_inputs.recall(self.root, block) or {}))

    @on(Select.Changed, "#invoke-how")
    def how_changed(self, event: Select.Changed) -> None:
        event.stop()

    @property
    def how(self) -> str:
        value = self.query_one("#invoke-how", Select).value
        return value if isinstance(value, str) else "invoke"

    # keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In the input box, `r` and Enter type (ctrl+j invokes there); elsewhere they invoke."""
        if action in ("invoke", "send"):
            typing = bool(self.is_mounted and self.input_box.has_focus)
            return typing if action == "send" else not typing
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    def action_send(self) -> None:
        self.action_invoke()

    def action_choose_block(self) -> None:
        select = self.query_one("#invoke-block", Select)
        select.focus()
        select.action_show_overlay()

    def action_choose_how(self) -> None:
        select = self.query_one("#invoke-how", Select)
        select.focus()
        select.action_show_overlay()

    def action_edit_input(self) -> None:
        self.input_box.focus()

    def action_toggle_sync(self) -> None:
        self.sync = not self.sync
        self.query_one("#invoke-sync", Static).update(Text("sync", style="bold") if self.sync else "async")
        if self.how != "invoke":
            self.notify(
                f"sync and async apply to `invoke`; `{self.how}` is always "
                f"{'synchronous' if self.how == 'api' else 'asynchronous'}"
            )

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_stop_following(self) -> None:
        if self.following and self._stop is not None:
            self._stop.set()
            self.set_status("stopping…", "yellow")

    def action_open_in_run(self) -> None:
        if self.run is None:
            self.notify(
                "no execution followed yet: r invokes one"
                if self.execution_id is None
                else "no invocation of this execution has logged yet",
                severity="warning",
            )
            return
        self.post_message(CloudExecutionSelected(self.run, self.execution, self.stage, self.table.current_key))

    # invoking

    def action_invoke(self) -> None:
        self.show_target()  # the Deploy pane may have saved another since
        if self.starting:
            self.notify("an invoke is starting: wait for its execution id", severity="warning")
            return
        if not self.has_target():
            self.set_status(f"✗ {NO_TARGET}", "bold red")
            self.post_message(InvokeFailed(NO_TARGET))
            return
        if self.block is None:
            self.set_status("✗ choose an entry block first (b)", "bold red")
            return
        value, mistake = parse_input(self.input_box.text)
        if mistake is not None:
            text, line, column = mistake
            self.set_status(f"✗ {text}", "bold red")
            self.notify(text, severity="error")
            self.input_box.cursor_location = (max(0, line - 1), max(0, column - 1))
            self.input_box.focus()
            return
        try:
            saved_inputs.remember(self.root, self.block, value)
        except (OSError, TypeError, ValueError):
            pass  # remembering the input is a convenience; it never stops an invoke
        self.drafts.pop(self.block, None)
        target = self.begin()
        mode = "sync" if self.sync and self.how == "invoke" else ("async" if self.how == "invoke" else self.how)
        self.set_status(f"starting '{self.block}' ({mode}) on stage {target.stage} · {target.describe()}…", "yellow")
        request = InvokeRequest(self.root, target, self.block, self.how, value, self.sync and self.how == "invoke")
        self.invoke_worker(request, self._stop, call_listener(self.app))
        self.focus()

    @work(thread=True, group="invoke", exit_on_error=False)
    def invoke_worker(self, request: InvokeRequest, stop: threading.Event, on_call) -> None:
        InvokeJob(request, self.driver, stop, on_call).run()

    def on_invoke_failed(self, message: InvokeFailed) -> None:
        self.starting = False
        self.set_status(f"✗ {message.error}", "bold red")

    def on_cloud_execution_started(self, message: CloudExecutionStarted) -> None:
        started = message.started
        self.starting = False
        self.execution_id, self.following = started.execution_id, bool(started.execution_id)
        self.reply = started.reply
        how = f"invoke, {'sync' if message.sync else 'async'}" if started.how == "invoke" else started.how
        self.set_status(
            f"▶ execution {started.execution_id or '(no id)'} started at '{started.block}' ({how}) · "
            "following its logs… x stops",
            "yellow",
        )
        if started.reply is not None:
            self.set_result([reply_line(started.reply)], reply_style(started.reply))

    def on_cloud_execution_updated(self, message: CloudExecutionUpdated) -> None:
        if message.run.execution_id != self.execution_id or not self.following:
            message.stop()  # a line of an execution no longer followed
            return
        self.run = message.run
        self.table.show_run(message.run)
        self.set_status(
            f"▶ execution {self.execution_id}: running · {len(message.run.invocations)} "
            "invocation(s) so far · x stops following",
            "yellow",
        )

    def on_cloud_execution_finished(self, message: CloudExecutionFinished) -> None:
        if message.execution_id != self.execution_id:
            message.stop()
            return
        self.following = False
        if message.run is not None:
            self.run = message.run
            self.table.show_run(message.run)
        self.execution = message.execution
        if message.error:
            self.set_status(f"✗ {message.error}", "bold red")
            return
        execution = message.execution
        if execution is None:
            self.set_status(
                f"■ execution {self.execution_id}: {message.note or 'not followed to its end'} · o opens what was seen",
                "dim",
            )
            return
        ok = execution.status == "succeeded"
        took = f" in {execution.duration_ms:.0f} ms" if execution.duration_ms is not None else ""
        count = len(self.run.invocations) if self.run is not None else execution.invocations
        self.set_status(
            f"{'✓' if ok else '✗'} {execution.status} · execution {execution.execution_id} · {count} invocations{took}",
            "green" if ok else "bold red",
        )
        self.set_result(outcome_lines(self.reply, execution), "" if ok else "red")

    def action_recent(self) -> None:
        """Pick one of the stage's recent executions (status, start, duration) and follow it like a new one."""
        if not self.has_target():
            self.set_status(f"✗ {NO_TARGET}", "bold red")
            return
        self.set_status("reading the stage's recent executions…", "yellow")
        self.recent_worker(self.project_state.deploy_target())

    @work(thread=True, group="invoke-recent", exit_on_error=False)
    def recent_worker(self, target: Any) -> None:
        try:
            found = recent_executions(self.root, target)
        except Exception as exc:  # noqa: BLE001 - shown as a readable line
            self.post_message(RecentExecutionsLoaded([], readable(exc, target)))
            return
        self.post_message(RecentExecutionsLoaded(found))

    def on_recent_executions_loaded(self, message: RecentExecutionsLoaded) -> None:
        if message.error:
            self.set_status(f"✗ {message.error}", "bold red")
            return
        if not message.executions:
            self.set_status("no execution of this stage yet: r invokes one", "")
            return
        self.set_status(f"{len(message.executions)} recent execution(s): pick one to follow", "")

        def picked(execution_id: str | None) -> None:
            chosen = next((e for e in message.executions if e.execution_id == execution_id), None)
            if chosen is not None:
                self.reopen(chosen)

        self.app.push_screen(PickExecution(message.executions), picked)

    def begin(self) -> Any:
        """Stop following the previous execution and clear what it showed; the target to start on."""
        if self._stop is not None:
            self._stop.set()
        target = self.project_state.deploy_target()
        self._stop = threading.Event()
        self.starting, self.following = True, False
        self.execution_id, self.run, self.execution, self.stage = None, None, None, target.stage
        self.reply = None
        self.table.reset()
        self.set_result([])
        return target

    def reopen(self, execution: Any) -> None:
        target = self.begin()
        request = InvokeRequest(self.root, target, self.block or "", "invoke", None, False)
        self.reopen_worker(request, execution, self._stop)

    @work(thread=True, group="invoke", exit_on_error=False)
    def reopen_worker(self, request: InvokeRequest, execution: Any, stop: threading.Event) -> None:
        ReopenJob(request, execution, self.driver, stop).run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A bug in the invoke worker ends the invoke (the app reports the error too)."""
        if event.worker.group == "invoke" and event.state == WorkerState.ERROR:
            self.starting = self.following = False
            self.set_status(
                f"✗ the invoke stopped: {type(event.worker.error).__name__}: {event.worker.error}", "bold red"
            )


def invoke_commands(app: Any) -> list[tuple[str, str, Any]]:
    """The palette's `Invoke:` commands: each shows the Invoke pane, then acts."""

    def act(action: str):
        def run() -> None:
            app.action_focus_pane("invoke")
            getattr(app.query_one(InvokePane), f"action_{action}")()

        return run

    return [
        (
            "Invoke: Start",
            "Start a deployed execution at the chosen block with the input (the Deploy pane's target)",
            act("invoke"),
        ),
        ("Invoke: Choose block", "The entry block (and queue or topic) to start at", act("choose_block")),
        (
            "Invoke: How",
            "Invoke the function, call the API route, send to the queue or publish to the topic",
            act("choose_how"),
        ),
        ("Invoke: Edit input", "The JSON input of the next invoke", act("edit_input")),
        ("Invoke: Toggle sync", "Wait for the entry block (sync) or return at once (async)", act("toggle_sync")),
        (
            "Invoke: Open in Run pane",
            "The followed execution's invocations, inputs, outputs and log lines",
            act("open_in_run"),
        ),
        ("Invoke: Stop following", "Stop following the execution (it goes on in the cloud)", act("stop_following")),
        (
            "Invoke: Recent executions",
            "The stage's latest executions with status and duration; follow one",
            act("recent"),
        ),
    ]
