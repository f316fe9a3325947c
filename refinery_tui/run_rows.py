"""One invocation row for every view of a run: the Run pane, the Invoke pane and the command line all show an
invocation as its label (block and fan-out place), status, symbol, duration and output (or error), built here from
a run event, a recorded local invocation or a deployed one rebuilt from its logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from refinery_tui.runtime.events import (
    InvocationCancelled,
    InvocationEnded,
    InvocationQueued,
    InvocationStarted,
    Paused,
    RunEvent,
    preview,
)

SYMBOLS = {"queued": "·", "running": "▶", "succeeded": "✓", "failed": "✗", "paused": "⏸", "cancelled": "·"}
TABLE_PREVIEW_CHARS = 60
"""An output in a table cell (an event's own preview, which the command line prints, is longer)."""


@dataclass(frozen=True)
class InvocationRow:
    invocation_id: str
    block: str
    place: tuple[int, ...] = ()
    status: str = "queued"
    duration_ms: float | None = None
    detail: str = ""
    """The output's preview when it succeeded, `Type: message` when it failed, else empty."""
    attempt: int = 0

    @property
    def label(self) -> str:
        """`block[2][0]`: the block and the item of each fan-out it runs in."""
        return self.block + "".join(f"[{index}]" for index in self.place)

    @property
    def symbol(self) -> str:
        return SYMBOLS.get(self.status, "·")

    @property
    def duration_text(self) -> str:
        """A duration that fits a table column: 0.4, 12.3, 156, 3012 (empty before it ends)."""
        if self.duration_ms is None:
            return ""
        return f"{self.duration_ms:.1f}" if self.duration_ms < 100 else f"{self.duration_ms:.0f}"

    def line(self, width: int) -> str:
        """The command line's line for a finished invocation (`run` and `invoke --wait`)."""
        retry = f" (attempt {self.attempt + 1})" if self.attempt else ""
        return f"  {self.label:<{width}} {self.symbol} {self.duration_ms or 0.0:7.1f} ms  {self.detail}{retry}"

    def history_line(self) -> str:
        """`refinery-tui history`'s line for a recorded invocation."""
        return f"  {self.label:<24} {self.status:<9} {self.duration_ms or 0.0:8.1f} ms  {self.detail}"


def error_text(error: dict[str, Any] | None) -> str:
    """`Type: message` of an invocation's error."""
    error = error or {}
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"


def row_of_event(event: RunEvent) -> InvocationRow | None:
    """The row an event leaves its invocation in; None for events that change no row."""
    if isinstance(event, InvocationEnded):
        detail = event.output_preview if event.ok else error_text(event.error)
        return InvocationRow(
            event.invocation_id, event.block, tuple(event.place), event.status, event.duration_ms, detail, event.attempt
        )
    if isinstance(event, InvocationQueued):
        return InvocationRow(event.invocation_id, event.block, tuple(event.place), "queued")
    if isinstance(event, InvocationStarted):
        return InvocationRow(
            event.invocation_id, event.block, tuple(event.place or ()), "running", attempt=event.attempt
        )
    if isinstance(event, InvocationCancelled):
        return InvocationRow(event.invocation_id, event.block, tuple(event.place), "cancelled")
    if isinstance(event, Paused):
        return InvocationRow(event.invocation_id, event.block, (), "paused")
    return None


def row_of_record(record: Any, preview_chars: int = TABLE_PREVIEW_CHARS) -> InvocationRow:
    """The row of an invocation in the local run history (an `InvocationRecord`)."""
    place = tuple(frame[1] for frame in record.context.get("frames", []))
    return InvocationRow(
        record.id,
        record.block,
        place,
        record.status,
        record.duration_ms,
        _outcome_text(record.status, record.output, record.error, preview_chars),
        record.attempt,
    )


def row_of_deployed(invocation: Any) -> InvocationRow:
    """The row of a deployed invocation rebuilt from its logs (a `CloudInvocation`)."""
    return InvocationRow(
        invocation.id,
        invocation.block,
        tuple(invocation.place),
        invocation.status,
        invocation.duration_ms,
        _outcome_text(invocation.status, invocation.output, invocation.error),
        invocation.attempt,
    )


def _outcome_text(status: str, output: Any, error: dict[str, Any] | None, chars: int = TABLE_PREVIEW_CHARS) -> str:
    if status == "succeeded":
        return preview(output, chars)
    return error_text(error) if status == "failed" else ""
