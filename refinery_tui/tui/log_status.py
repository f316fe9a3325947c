"""What the Logs pane says about its tail: the status line, and the text of an empty view (what to do next)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text

from refinery_tui.cloud.stage import StageTarget
from refinery_tui.tui.log_tail import SINCE
from refinery_tui.tui.logbuffer import LogBuffer

HOW_TO_DEPLOY = (
    "Nothing deployed from here yet. Choose a target and a stage in the Deploy tab (5; the sandbox "
    "needs no AWS account: `refinery-tui sandbox` starts it), deploy with `a`, then come back: this tab "
    "tails every log group of that stage."
)


@dataclass(frozen=True)
class TailFacts:
    """The state of the pane's tail: unconfigured, connecting, tailing or failed (and why), on which target;
    the filter's mistake; whether CloudWatch sampled; the log groups, and those not deployed yet."""

    state: str
    error: str
    target: StageTarget | None
    filter_error: str
    sampled: bool
    missing: frozenset[str]
    groups: frozenset[str]


def status_line(facts: TailFacts, buffer: LogBuffer, view: Any) -> Text:
    """The one line above the stream (`view`: the LogView, for following and wrap)."""
    status = Text()
    target = facts.target
    if facts.filter_error:
        status.append(f"✗ {facts.filter_error}", style="bold red")
    elif facts.state == "failed":
        status.append(f"✗ cannot tail the logs: {facts.error} · R retries", style="bold red")
    elif facts.state == "connecting" and target is not None:
        status.append(f"connecting to {target.describe()}, stage {target.stage}…", style="yellow")
    elif facts.state == "unconfigured" and not len(buffer):
        status.append("nothing deployed yet: deploy in the Deploy tab (5), then come back here", style="yellow")
    else:
        status.append(
            "● following" if view.following else "⏸ paused", style="green" if view.following else "bold yellow"
        )
        shown, kept = buffer.shown_count, len(buffer)
        status.append(f" · {shown:,} of {kept:,} lines" if not buffer.filter.empty else f" · {kept:,} lines")
        if buffer.dropped:
            status.append(f" · showing the last {buffer.limit:,} lines", style="bold")
        if not buffer.filter.empty:
            status.append(f" · filter: {buffer.filter.describe()}", style="cyan")
        if facts.sampled:
            status.append(" · ⚠ sampled", style="bold yellow")
        if view.wrap:
            status.append(" · wrap")
        if facts.missing and facts.groups:
            status.append(f" · {len(facts.missing)} of {len(facts.groups)} blocks not deployed", style="yellow")
        if target is not None:
            status.append(f" · {target.stage} @ {target.describe()}", style="dim")
    return status


def placeholder(facts: TailFacts, buffer: LogBuffer) -> str:
    """What the view shows when no line is shown: why, and what to do."""
    if len(buffer) and not buffer.filter.empty:
        return f"No kept line matches the filter ({buffer.filter.describe()}). Escape clears it."
    if facts.state == "unconfigured":
        return HOW_TO_DEPLOY
    if facts.state == "failed":
        return f"The tail stopped: {facts.error}\n\nR tries again."
    if facts.state == "connecting":
        return "Connecting…"
    if facts.state == "tailing":
        target = facts.target
        where = f"stage {target.stage} on {target.describe()}" if target else "the stage"
        if not facts.groups:
            return "This project has no code blocks: nothing on the stage writes logs."
        if facts.missing == facts.groups:
            return (
                f"Nothing of {where} is deployed yet: deploy it in the Deploy tab (5, then a). The tail is "
                "running and picks the logs up as soon as they exist."
            )
        return f"Waiting for log lines of {where} (from {SINCE} ago). Invoke it, and its lines show here."
    return ""
