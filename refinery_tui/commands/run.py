"""`refinery-tui run`: execute a project locally, print a line per invocation (or JSON Lines), watch for saves."""

from __future__ import annotations

import sys
import threading

from refinery_tui.commands.outcome import EXIT_FAILED, EXIT_OK, UsageError
from refinery_tui.local.history import HistoryWriteError
from refinery_tui.local.session import InvalidProject, LocalSession
from refinery_tui.model import ProjectNotFound
from refinery_tui.run_printers import HumanPrinter, JsonPrinter
from refinery_tui.saved_inputs import InputError, parse_input


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
    except HistoryWriteError as exc:
        return _history_failed(exc)
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
        except HistoryWriteError as exc:
            return _history_failed(exc)
        if not watch:
            return EXIT_OK if result.status == "succeeded" else EXIT_FAILED
        from refinery_tui.local.watcher import HotReloader

        stop = threading.Event()
        try:
            HotReloader(session, printer).run(stop)
        except KeyboardInterrupt:
            stop.set()
        return EXIT_OK


def _history_failed(exc: HistoryWriteError) -> int:
    print(
        f"refinery-tui: the run stopped: {exc}\n"
        "    hint: free some disk space (or raise the file size limit, `ulimit -f`) and run again",
        file=sys.stderr,
    )
    return EXIT_FAILED
