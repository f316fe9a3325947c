"""`refinery-tui run`: execute a project locally, print a line per invocation (or JSON Lines), watch for saves."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from refinery_tui.local.session import InvalidProject, LocalSession
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

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class RunUsageError(Exception):
    """Bad input, an unknown block, nothing to replay: exit code 2."""


def parse_input(text: str | None, file: str | None) -> Any:
    if text is not None and file is not None:
        raise RunUsageError("give --input or --input-file, not both")
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise RunUsageError(f"{file}: cannot read the input: {exc.strerror or exc}") from None
        source = file
    else:
        source = "--input"
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunUsageError(f"{source}:{exc.lineno}:{exc.colno}: the input is not valid JSON: {exc.msg}") from None


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


def run_project(
    project: str,
    input_text: str | None,
    input_file: str | None,
    from_block: str | None,
    as_json: bool,
    watch: bool,
    concurrency: int | None = None,
) -> int:
    value = parse_input(input_text, input_file)
    printer = JsonPrinter() if as_json else HumanPrinter()
    try:
        session = LocalSession(project, on_event=printer, concurrency=concurrency)
    except InvalidProject as exc:
        for diagnostic in exc.result.errors:
            print(diagnostic.format(f"{project}/"), file=sys.stderr)
        raise RunUsageError(
            f"{project}: the project is not valid; fix the errors above (`refinery-tui validate {project}`)"
        ) from None
    with session:
        if isinstance(printer, HumanPrinter):
            printer.width = max(len(name) for name in session.project.blocks) + 3
        if from_block is not None and from_block not in session.project.blocks:
            raise RunUsageError(f"no block named '{from_block}' in {project}")
        try:
            if from_block is not None:
                result = session.replay(from_block, value=value, use_input=value is not None)
            else:
                result = session.run(value)
        except KeyError as exc:
            raise RunUsageError(str(exc.args[0])) from None
        if not watch:
            return EXIT_OK if result.status == "succeeded" else EXIT_FAILED
        from refinery_tui.local.watcher import HotReloader

        stop = threading.Event()
        try:
            HotReloader(session, printer).run(stop)
        except KeyboardInterrupt:
            stop.set()
        return EXIT_OK
