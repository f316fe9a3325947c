"""`refinery-tui run`: execute a project locally, print a line per invocation (or JSON Lines), watch for saves."""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

from refinery_tui.commands.outcome import EXIT_FAILED, EXIT_OK, UsageError
from refinery_tui.local.executor import Event, preview
from refinery_tui.local.session import InvalidProject, LocalSession
from refinery_tui.model import ProjectNotFound
from refinery_tui.saved_inputs import InputError, parse_input


class HumanPrinter:
    """A line per finished invocation, then the outcome and the final outputs."""

    SYMBOLS = {"succeeded": "✓", "failed": "✗"}

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.width = 14

    def __call__(self, event: Event) -> None:
        data = event.data
        if event.kind == "execution_started":
            what = (
                f"replay from '{data['replay_from']}' of {data['replay_of']}"
                if data.get("replay_of")
                else f"from '{data['entry']}'"
            )
            self.write(f"▶ execution {data['execution_id']} ({what})")
        elif event.kind in ("invocation_finished", "invocation_failed"):
            place = "".join(f"[{i}]" for i in data.get("place", []))
            name = f"{data['block']}{place}"
            self.width = max(self.width, len(name))
            retry = f" (attempt {data['attempt'] + 1})" if data.get("attempt") else ""
            if data["status"] == "succeeded":
                detail = data["output_preview"]
            else:
                error = data.get("error") or {}
                detail = f"{error.get('type', 'Error')}: {error.get('message', '')}"
            self.write(
                f"  {name:<{self.width}} {self.SYMBOLS[data['status']]} {data['duration_ms']:7.1f} ms  {detail}{retry}"
            )
        elif event.kind == "execution_finished":
            symbol = "✓" if data["status"] == "succeeded" else "✗"
            self.write(
                f"{symbol} {data['status']} in {data['duration_ms']:.0f} ms, "
                f"{data['invocations']} invocation{'s' if data['invocations'] != 1 else ''}"
            )
            for error in data.get("errors", []):
                self.write(f"  error: {error}")
            if data.get("outputs"):
                self.write("outputs:")
                for output in data["outputs"]:
                    self.write(f"  {output['block']}: {preview(output['output'], 200)}")
        elif event.kind == "outputs_compared":
            changed = ", ".join(data["changed"]) or "none"
            self.write(f"changed outputs: {changed}")
        elif event.kind == "file_changed":
            self.write(f"\n↻ {', '.join(data['blocks'])} changed: re-running from '{data['replay_from']}'")
        elif event.kind == "project_reloaded":
            self.write("\n↻ project.yaml reloaded")
        elif event.kind == "project_invalid":
            self.write("\n✗ project.yaml has errors; still running the last good version:")
            for error in data["errors"]:
                self.write("  " + error.replace("\n", "\n  "))
        elif event.kind == "watch_error":
            self.write(f"✗ re-run failed: {data['message']}")
        elif event.kind == "watching":
            self.write(f"watching {data['root']} for saves (ctrl+c to stop)")

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
    try:
        value = parse_input(input_text, input_file)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    printer = JsonPrinter() if as_json else HumanPrinter()
    try:
        session = LocalSession(project, on_event=printer, concurrency=concurrency)
    except ProjectNotFound as exc:
        raise UsageError(str(exc)) from None
    except InvalidProject as exc:
        for diagnostic in exc.result.errors:
            print(diagnostic.format(f"{project}/"), file=sys.stderr)
        raise UsageError(
            f"{project}: the project is not valid; fix the errors above (`refinery-tui validate {project}`)"
        ) from None
    with session:
        if isinstance(printer, HumanPrinter):
            printer.width = max(len(name) for name in session.project.blocks) + 3
        if from_block is not None and from_block not in session.project.blocks:
            raise UsageError(f"no block named '{from_block}' in {project}")
        try:
            if from_block is not None:
                result = session.replay(from_block, value=value, use_input=value is not None)
            else:
                result = session.run(value)
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from None
        if not watch:
            return EXIT_OK if result.status == "succeeded" else EXIT_FAILED
        from refinery_tui.local.watcher import HotReloader

        stop = threading.Event()
        try:
            HotReloader(session, printer).run(stop)
        except KeyboardInterrupt:
            stop.set()
        return EXIT_OK
