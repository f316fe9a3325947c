"""`refinery-tui PROJECT` outside a terminal (or with `--summary`): the project's summary, tree and problems."""

from __future__ import annotations

from pathlib import Path

from refinery_tui.commands.outcome import EXIT_OK, EXIT_USAGE, UsageError
from refinery_tui.commands.report import plural, print_diagnostics


def check_project(project_dir: Path):
    """The project's validation result (before the workbench or the summary opens it); a usage error if none."""
    from refinery_tui.model import ProjectNotFound, validate_project

    try:
        return validate_project(project_dir)
    except ProjectNotFound as exc:
        raise UsageError(f"{exc}\n    hint: create one with `refinery-tui new {project_dir}`") from None


def print_summary(result, project_dir: Path) -> int:
    from refinery_tui.textview import summary

    if result.project is not None:
        print(summary(result.project))
    print_diagnostics(result, project_dir)
    state = "valid" if result.ok else f"{plural(len(result.errors), 'error')}"
    print(f"\n{state}. (The workbench opens when run in a terminal; this is the summary.)")
    return EXIT_OK if result.ok else EXIT_USAGE
