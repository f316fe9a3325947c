"""The Logs pane: one merged, colour-coded stream of a deployed stage's log groups; follow, filter, wrap, open, jump."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Static

from refinery_tui.cloud.logfilter import FilterError, LogFilter
from refinery_tui.cloud.loglines import LogLine
from refinery_tui.cloud.stage import StageTarget
from refinery_tui.tui.log_screens import ExecutionScreen, LineDetail
from refinery_tui.tui.log_status import TailFacts, placeholder, status_line
from refinery_tui.tui.log_tail import LogsDriver, tail_stage
from refinery_tui.tui.log_view import LogView
from refinery_tui.tui.logbuffer import (
    CLOCK,
    EXECUTION,
    GROUP,
    INVOCATION,
    MAX_LINES,
    SAMPLED,
    SEQ,
    Clock,
    Entry,
    LogBuffer,
    line_of,
    prepare,
)
from refinery_tui.tui.logquery import parse_filter
from refinery_tui.tui.messages import CloudExecutionSelected, LogLinesReady, LogsConnected, LogsFailed
from refinery_tui.tui.project_state import ProjectState

FILTER_DELAY_S = 0.2
"""The filter applies this long after the last key typed in the box (Enter applies it at once)."""
EXECUTION_REFRESH_S = 0.5
"""An open execution view is rebuilt at most this often while its lines keep coming."""


class LogsPane(Vertical):
    ALLOW_MAXIMIZE = True
    HELP = """\
## Logs

One stream of every log group of the deployed stage (the target and stage of the Deploy tab, kept in
`.refinery/deploy-target.json`), newest at the bottom, starting 10 minutes back. Each line: the time
(HH:MM:SS.mmm), the **block** (each in its own colour), the execution (its last 6 characters), the level
(`DEBUG`, `INFO`, `WARN`, `ERROR`, `PLAT` for Lambda's own lines) and the message. The runtime's start and end
lines are summarised (`▶ start`, `■ end succeeded 12 ms → output`, `✗ end failed`, `→ then → next`).

- `f` **follows** (the default) or pauses. Moving up pauses too; while paused, new lines are counted
  (`+N new lines`) and the view stays put. `f`, `G` or `end` jumps to the end and follows again.
- `/` **filters**: words to find (any case), `re:` then a regular expression, and any of `block:NAME[,NAME]`,
  `exec:ID` (the short id is enough), `level:ERROR[,WARN]`. It applies as you type; Enter keeps it and closes
  the box; `escape` clears it (in the box or in the list).
- `w` **wraps** long lines (and shows each line of a multi-line message); off, `h`/`l` or arrows scroll sideways.
- `enter` opens the line's **JSON**: the runtime's record pretty printed, or the raw message.
- `x` jumps to the line's **execution**: rebuilt from the kept lines, a tree of its invocations coloured by
  status, each with its input, output or error and its own log lines (the view updates while it runs); there,
  `o` opens it in the Run pane and colours the tree by it. In this pane `x` is the execution, not `Run: Cancel`.
- `j`/`k` or arrows move, `space`/`b` or page keys page, `g`/`home` go to the first line; `R` restarts the tail
  (after a new target, or when the endpoint was down); `z` zooms the pane.

At most 50,000 lines are kept: older ones are let go, and the status line says "showing the last 50,000 lines".
A live tail (real AWS) may be **sampled** by CloudWatch when lines come too fast: the status line says so.
"""

    BINDINGS = [
        Binding("f", "follow", "Follow", id="logs.follow"),
        Binding("slash", "filter", "Filter", key_display="/", id="logs.filter"),
        Binding("w", "wrap", "Wrap", id="logs.wrap"),
        Binding("enter", "open", "JSON", id="logs.open"),
        Binding("x", "execution", "Execution", id="logs.execution"),
        Binding("R", "restart", "Restart tail", show=False, id="logs.restart"),
    ]

    def __init__(self, state: ProjectState, limit: int = MAX_LINES, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project_state, self.root = state, state.root
        self.buffer = LogBuffer(limit)
        self.driver: LogsDriver | None = None
        self.stop: threading.Event | None = None
        self.target: StageTarget | None = None
        self.state = "idle"  # unconfigured, connecting, tailing, failed
        self.error = ""
        self.blocks: list[str] = []
        self.missing: set[str] = set()
        self.groups: dict[str, str | None] = {}
        self.mode = ""
        self.sampled = False
        self.filter_text = ""
        self.filter_error = ""
        self._clock = Clock()
        self._filter_timer: Timer | None = None
        self._execution_due = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="logs-bar"):
            yield Static("", id="logs-status")
            yield Static("", id="logs-badge")
        yield Input(
            placeholder="text · re:REGEX · block:NAME · exec:ID · level:ERROR (enter keeps, esc clears)",
            compact=True,
            id="logs-filter",
        )
        yield LogView(self.buffer, id="logs-view")

    def on_mount(self) -> None:
        self.query_one("#logs-filter").display = False
        self.query_one("#logs-badge").display = False
        self.show_state()

    def on_show(self) -> None:
        self.start_if_needed()

    def on_unmount(self) -> None:
        self.stop_tail()

    # widgets and words

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#logs-filter", Input)

    def status_text(self) -> str:
        return str(self.query_one("#logs-status", Static).render())

    def badge_text(self) -> str:
        badge = self.query_one("#logs-badge", Static)
        return str(badge.render()) if badge.display else ""

    def show_state(self) -> None:
        """The status line, the badge and what the view says when it shows nothing."""
        view = self.view
        facts = TailFacts(
            self.state,
            self.error,
            self.target,
            self.filter_error,
            self.sampled,
            frozenset(self.missing),
            frozenset(self.groups),
        )
        self.query_one("#logs-status", Static).update(status_line(facts, self.buffer, view), layout=False)
        badge = self.query_one("#logs-badge", Static)
        wanted = bool(view.new_lines) and not view.following
        if wanted:
            badge.update(Text(f" +{view.new_lines:,} new lines · f ", style="bold reverse yellow"))
        if badge.display != wanted:
            badge.display = wanted
        view.set_placeholder(placeholder(facts, self.buffer))

    # the tail

    def configured(self) -> bool:
        return self.project_state.target is not None

    def start_if_needed(self) -> None:
        """When the pane shows: tail the saved target's stage, unless that tail is already running (on the same
        target, and the same code blocks: a block added since has a log group to tail too)."""
        if not self.configured():
            if self.driver is None:
                self.state = "unconfigured"
                self.show_state()
            return
        target = self.project_state.deploy_target()
        if (
            self.driver is not None
            and target == self.target
            and self.state != "failed"
            and not (self.state == "tailing" and self.code_blocks() not in (None, self.blocks))
        ):
            return
        self.start_tail(target)

    def code_blocks(self) -> list[str] | None:
        """The project's code blocks as the app has them now (each has a log group), or None if unknown."""
        project = self.project_state.project
        if project is None:
            return None
        return sorted(name for name, block in project.blocks.items() if block.type == "code")

    def start_tail(self, target: StageTarget) -> None:
        self.stop_tail()
        if target != self.target:
            self.clear()
        self.target = target
        self.state, self.error = "connecting", ""
        self.missing, self.groups = set(), {}
        self.driver = LogsDriver(self, self.buffer.limit)
        self.stop = threading.Event()
        self.show_state()
        self.tail_worker(self.root, target, self.driver, self.stop)

    def stop_tail(self) -> None:
        if self.stop is not None:
            self.stop.set()
        if self.driver is not None:
            self.driver.stale = True

    @work(thread=True, group="logs", exit_on_error=False)
    def tail_worker(self, root: Path, target: StageTarget, driver: LogsDriver, stop: threading.Event) -> None:
        tail_stage(root, target, driver, stop)

    def on_logs_connected(self, message: LogsConnected) -> None:
        if message.target != self.target:
            return
        self.state = "tailing"
        self.groups, self.missing, self.mode = dict(message.groups), set(message.missing), message.mode
        self.blocks = sorted({block for block in message.groups.values() if block})
        self.view.set_blocks(self.blocks)
        self.show_state()

    def on_logs_failed(self, message: LogsFailed) -> None:
        if message.target != self.target:
            return
        self.state, self.error = "failed", message.error
        self.show_state()

    def on_log_lines_ready(self, message: LogLinesReady) -> None:
        if self.driver is None:
            return
        entries, overflow = self.driver.take()
        if self.driver.tail is not None and self.driver.tail.sampled:
            self.sampled = True
        self._ingest(entries, overflow)

    def action_restart(self) -> None:
        if not self.configured():
            self.state = "unconfigured"
            self.show_state()
            return
        self.start_tail(self.project_state.deploy_target())

    # lines in

    def add_lines(self, lines: Iterable[LogLine]) -> None:
        """Show lines at once (on the UI thread): what the tail's batches go through, for tests and tools."""
        self._ingest(prepare(lines, self._clock))

    def _ingest(self, entries: list[Entry], overflow: int = 0) -> None:
        if overflow:
            self.buffer.received += overflow
            self.buffer.dropped += overflow
        if not entries:
            return
        if self.missing:
            self.missing -= {entry[GROUP] for entry in entries}
        if not self.sampled and any(entry[SAMPLED] for entry in entries):
            self.sampled = True
        view = self.view
        view.note_blocks(entries)
        view.lines_added(*self.buffer.add(entries))
        self.show_state()
        screen = self.app.screen
        if isinstance(screen, ExecutionScreen) and not self._execution_due:
            execution = screen.run.execution_id
            if any(entry[EXECUTION] == execution for entry in entries):
                self._execution_due = True
                self.set_timer(EXECUTION_REFRESH_S, self._refresh_execution)

    def clear(self) -> None:
        self.buffer.clear()
        self.sampled = False
        self.view.new_lines = 0
        self.view.reset()

    # keys

    def action_follow(self) -> None:
        self.view.set_following(not self.view.following)
        self.show_state()

    def on_log_view_follow_changed(self, message: LogView.FollowChanged) -> None:
        self.show_state()

    def action_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self.show_state()

    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        box.value = self.filter_text
        box.focus()

    @on(Input.Changed, "#logs-filter")
    def filter_typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY_S, lambda: self.apply_filter(self.filter_box.value))

    @on(Input.Submitted, "#logs-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.apply_filter(event.value):
            self.close_filter_box()

    def apply_filter(self, text: str) -> bool:
        """Parse the box and show what matches; a mistake (a bad regex, an unknown block) is shown, and the last
        good filter stays."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        try:
            log_filter = parse_filter(text, self.blocks)
        except FilterError as exc:
            self.filter_error = str(exc)
            self.show_state()
            return False
        self.filter_error = ""
        if text.strip() != self.filter_text or log_filter != self.buffer.filter:
            self.filter_text = text.strip()
            self.set_filter(log_filter)
        self.show_state()
        return True

    def set_filter(self, log_filter: LogFilter) -> None:
        selected = self.view.selected()
        self.buffer.set_filter(log_filter)
        if selected is not None and not self.view.following:
            shown = self.buffer.shown_entries()
            from bisect import bisect_left

            index = bisect_left(shown, selected[SEQ], key=lambda entry: entry[SEQ])
            self.view.cursor = min(index, len(shown) - 1)
        self.view.reset()

    def close_filter_box(self) -> None:
        self.filter_box.display = False
        self.view.focus()

    def back_out(self) -> bool:
        """Escape: in the filter box, clear the filter and close the box; in the list, clear the filter."""
        if self.filter_box.has_focus:
            self.apply_filter("")
            self.close_filter_box()
            return True
        if self.filter_text or not self.buffer.filter.empty or self.filter_error:
            self.filter_error = ""
            self.apply_filter("")
            return True
        return False

    def action_open(self) -> None:
        entry = self.view.selected()
        if entry is None:
            self.notify("no line selected")
            return
        self.app.push_screen(LineDetail(line_of(entry), entry[CLOCK]))

    def action_execution(self) -> None:
        entry = self.view.selected()
        if entry is None:
            self.notify("no line selected")
            return
        execution = entry[EXECUTION]
        if not execution:
            self.notify(
                "this line belongs to no execution (Lambda's own lines, or output outside a block's run)",
                severity="warning",
            )
            return
        run = self.rebuild(execution)
        stage = self.target.stage if self.target is not None else ""

        def closed(invocation_id: str | None) -> None:
            if invocation_id is not None:  # `o`: show it in the Run pane and the tree, at that invocation
                self.post_message(CloudExecutionSelected(self.rebuild(execution), None, stage, invocation_id or None))

        self.app.push_screen(ExecutionScreen(run, len(self.buffer), entry[INVOCATION]), closed)

    def rebuild(self, execution_id: str):
        """The execution rebuilt from the kept lines (a CloudRun)."""
        from refinery_tui.cloud.rebuild import CloudRun, Rebuilder

        rebuilder = Rebuilder()
        rebuilder.feed(self.buffer.lines_of(execution_id))
        return rebuilder.runs.get(execution_id) or CloudRun(execution_id)

    def _refresh_execution(self) -> None:
        self._execution_due = False
        screen = self.app.screen
        if isinstance(screen, ExecutionScreen):
            screen.kept = len(self.buffer)
            screen.show(self.rebuild(screen.run.execution_id))

    def system_commands(self) -> Iterable[SystemCommand]:
        """`Logs: ...` commands for the palette (each shows the pane first)."""

        def run(action: str):
            def go() -> None:
                self.app.query_one("#bottom").active = "tab-logs"
                self.view.focus()
                getattr(self, f"action_{action}")()

            return go

        yield SystemCommand("Logs: Follow", "Follow the stage's log lines, or pause (f)", run("follow"))
        yield SystemCommand("Logs: Filter", "Filter by text, re:REGEX, block:, exec:, level: (/)", run("filter"))
        yield SystemCommand("Logs: Wrap", "Wrap long log lines, or not (w)", run("wrap"))
        yield SystemCommand("Logs: Open line", "The selected line's JSON (enter)", run("open"))
        yield SystemCommand(
            "Logs: Execution", "The selected line's execution, rebuilt from the log (x)", run("execution")
        )
        yield SystemCommand("Logs: Restart tail", "Tail the Deploy tab's target and stage again (R)", run("restart"))


__all__ = ["LogsPane", "LogsDriver"]
