"""The command line's run printers: a human line per finished invocation and the outcome, or JSON lines."""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

from refinery_tui.run_rows import row_of_event
from refinery_tui.runtime.events import (
    Event,
    ExecutionFinished,
    ExecutionStarted,
    FileChanged,
    InvocationEnded,
    OutputsCompared,
    ProjectInvalid,
    ProjectReloaded,
    WatchError,
    Watching,
    preview,
)


class HumanPrinter:
    """A line per finished invocation, then the outcome and the final outputs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.width = 14

    def __call__(self, event: Event) -> None:
        if isinstance(event, ExecutionStarted):
            what = (
                f"replay from '{event.replay_from}' of {event.replay_of}"
                if event.replay_of
                else f"from '{event.entry}'"
            )
            self.write(f"▶ execution {event.execution_id} ({what})")
        elif isinstance(event, InvocationEnded):
            row = row_of_event(event)
            self.width = max(self.width, len(row.label))
            self.write(row.line(self.width))
        elif isinstance(event, ExecutionFinished):
            symbol = "✓" if event.status == "succeeded" else "✗"
            self.write(
                f"{symbol} {event.status} in {event.duration_ms:.0f} ms, "
                f"{event.invocations} invocation{'s' if event.invocations != 1 else ''}"
            )
            for error in event.errors:
                self.write(f"  error: {error}")
            if event.outputs:
                self.write("outputs:")
                for output in event.outputs:
                    self.write(f"  {output['block']}: {preview(output['output'], 200)}")
        elif isinstance(event, OutputsCompared):
            self.write(f"changed outputs: {', '.join(event.changed) or 'none'}")
        elif isinstance(event, FileChanged):
            self.write(f"\n↻ {', '.join(event.blocks)} changed: re-running from '{event.replay_from}'")
        elif isinstance(event, ProjectReloaded):
            self.write("\n↻ project.yaml reloaded")
        elif isinstance(event, ProjectInvalid):
            self.write("\n✗ project.yaml has errors; still running the last good version:")
            for error in event.errors:
                self.write("  " + error.replace("\n", "\n  "))
        elif isinstance(event, WatchError):
            self.write(f"✗ re-run failed: {event.message}")
        elif isinstance(event, Watching):
            self.write(f"watching {event.root} for saves (ctrl+c to stop)")

    def write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


class JsonPrinter:
    """One event a line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.stream.write(json.dumps(event.to_json(), default=str) + "\n")
            self.stream.flush()
