"""The Logs pane's two views of a line: its JSON (Enter), and its execution rebuilt from the log (x)."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea, Tree

from refinery_tui.cloud.loglines import LogLine
from refinery_tui.cloud.rebuild import CloudInvocation, CloudRun

STATUS_STYLES = {"running": "bold yellow", "succeeded": "green", "failed": "bold red"}
STATUS_SYMBOLS = {"running": "…", "succeeded": "✓", "failed": "✗"}
DETAIL_LINES = 200
"""An invocation's own log lines shown in the execution view (the first ones)."""


def pretty(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def line_json(line: LogLine) -> tuple[str, str | None]:
    """What Enter shows: the runtime's record pretty printed, a message that is JSON pretty printed, or the raw
    message; and the TextArea language for it."""
    if line.record is not None:
        return pretty(line.record), "json"
    text = line.message.strip()
    if text.startswith(("{", "[")):
        try:
            return pretty(json.loads(text)), "json"
        except ValueError:
            pass
    return line.message, None


class LineDetail(ModalScreen[None]):
    """One log line: where it came from, and its record or message, in a read-only text area (select to copy)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="logs.detail.close"),
        Binding("q", "dismiss", "Close", show=False, id="logs.detail.quit"),
    ]

    def __init__(self, line: LogLine, time_text: str) -> None:
        super().__init__()
        self.line = line
        self.time_text = time_text
        self.text, self.language = line_json(line)

    def compose(self) -> ComposeResult:
        line = self.line
        where = (
            f"{self.time_text} · block {line.block or '?'} · {line.level}"
            + (f" · execution {line.execution_id}" if line.execution_id else "")
            + (f" · invocation {line.invocation_id}" if line.invocation_id else "")
            + f"\n{line.group} · stream {line.stream}"
        )
        with Vertical(classes="dialog wide", id="logs-detail"):
            yield Static(Text(where, style="bold"), id="logs-detail-where")
            area = TextArea(
                self.text, read_only=True, show_line_numbers=False, soft_wrap=True, compact=True, id="logs-detail-text"
            )
            try:
                area.language = self.language
            except Exception:  # noqa: BLE001 - no highlighting is fine
                pass
            yield area
            yield Static(Text("escape closes · select text to copy it", style="dim"))

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()


def invocation_label(invocation: CloudInvocation) -> Text:
    place = "".join(f"[{index}]" for index in invocation.place)
    took = f" {invocation.duration_ms:.0f} ms" if isinstance(invocation.duration_ms, (int, float)) else ""
    retry = f" (attempt {invocation.attempt + 1})" if invocation.attempt else ""
    style = STATUS_STYLES.get(invocation.status, "")
    return Text.assemble(
        (f"{STATUS_SYMBOLS.get(invocation.status, '?')} ", style),
        (invocation.block + place, "bold"),
        (f" {invocation.status}", style),
        (took + retry, "dim"),
    )


def invocation_detail(invocation: CloudInvocation) -> Text:
    text = Text()
    text.append(f"{invocation.block}", style="bold")
    text.append(f" · {invocation.status}", style=STATUS_STYLES.get(invocation.status, ""))
    text.append(f" · {invocation.id}\n", style="dim")
    sections = [("input", invocation.input)]
    if invocation.error:
        sections.append(("error", invocation.error))
    elif invocation.status == "succeeded":
        sections.append(("output", invocation.output))
    sections.append(("backpack", invocation.backpack))
    for title, value in sections:
        text.append(f"\n{title}", style="bold red" if title == "error" else "bold")
        if title == "error" and isinstance(value, dict) and value.get("traceback"):
            value = {key: item for key, item in value.items() if key != "traceback"}
            text.append("\n" + pretty(value) + "\n" + str(invocation.error["traceback"]).rstrip())
        else:
            text.append("\n" + pretty(value))
    if invocation.truncated:
        text.append("\n(the log line carried a preview: the value was too big to log whole)", style="dim")
    lines = [line for line in invocation.lines if line.record is None]
    text.append(f"\n\nits log lines ({len(lines)})", style="bold")
    for line in lines[:DETAIL_LINES]:
        text.append("\n" + line.message.rstrip(), style="red" if line.level == "ERROR" else "")
    if len(lines) > DETAIL_LINES:
        text.append(f"\n… {len(lines) - DETAIL_LINES} more", style="dim")
    return text


class ExecutionScreen(ModalScreen[str | None]):
    """A deployed execution rebuilt from the kept log lines: its invocations as a tree (child under the invocation
    that started it), coloured by status; the highlighted one's input, output or error, and its log lines.
    Dismissed with None, or with the highlighted invocation's id ("" for none) when `o` asks for the Run pane."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="logs.execution.close"),
        Binding("q", "dismiss", "Close", show=False, id="logs.execution.quit"),
        Binding("o", "open_in_run", "Open in Run", id="logs.execution.open"),
        Binding("j", "cursor('down')", "Down", show=False, id="logs.execution.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="logs.execution.up"),
    ]

    def __init__(self, run: CloudRun, kept: int, invocation_id: str | None = None) -> None:
        super().__init__()
        self.run = run
        self.kept = kept
        self.first = invocation_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="logs-execution"):
            yield Static("", id="logs-execution-title")
            with Horizontal(id="logs-execution-body"):
                yield Tree("execution", id="logs-execution-tree")
                with VerticalScroll(id="logs-execution-side"):
                    yield Static("", id="logs-execution-detail")
            yield Static(
                Text("j/k or arrows choose an invocation · o opens it in the Run pane · escape closes", style="dim")
            )

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.guide_depth = 2
        self.show(self.run)
        tree.focus()

    def show(self, run: CloudRun) -> None:
        """Draw `run` (again: the pane calls this when more of the execution's lines arrive)."""
        self.run = run
        tree = self.query_one(Tree)
        chosen = tree.cursor_node.data if tree.cursor_node is not None else self.first
        duration = f" · {run.duration_ms} ms" if run.duration_ms is not None else ""
        states = run.blocks()
        counts = {status: list(states.values()).count(status) for status in ("succeeded", "failed", "running")}
        self.query_one("#logs-execution-title", Static).update(
            Text.assemble(
                (f"execution {run.execution_id} ", "bold"),
                (run.status, STATUS_STYLES.get(run.status, "")),
                (
                    f"{duration} · {len(run.invocations)} invocation(s) of {len(states)} block(s): "
                    + ", ".join(f"{count} {status}" for status, count in counts.items() if count)
                    + f" · from the {self.kept:,} kept log lines",
                    "dim",
                ),
            )
        )
        tree.clear()
        nodes = {}
        for invocation in run.ordered():
            parent = nodes.get(invocation.parent, tree.root)
            nodes[invocation.id] = parent.add(
                invocation_label(invocation), data=invocation.id, expand=True, allow_expand=False
            )
        for node in nodes.values():
            node.allow_expand = bool(node.children)
        target = nodes.get(chosen) or next(iter(nodes.values()), None)
        if target is not None:
            tree.move_cursor(target)
            self.show_invocation(target.data)
        else:
            self.query_one("#logs-execution-detail", Static).update(
                "no start or end line of this execution is among the kept lines"
            )

    @on(Tree.NodeHighlighted)
    def highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self.show_invocation(event.node.data)

    def show_invocation(self, invocation_id: str) -> None:
        invocation = self.run.invocations.get(invocation_id)
        if invocation is not None:
            self.query_one("#logs-execution-detail", Static).update(invocation_detail(invocation))

    def action_open_in_run(self) -> None:
        node = self.query_one(Tree).cursor_node
        self.dismiss(node.data if node is not None and node.data else "")

    def action_cursor(self, direction: str) -> None:
        tree = self.query_one(Tree)
        (tree.action_cursor_down if direction == "down" else tree.action_cursor_up)()
