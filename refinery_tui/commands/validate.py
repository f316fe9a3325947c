"""`refinery-tui validate`: check a project, one `file:line:col: message` per problem, then a one-line verdict."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from refinery_tui.commands.outcome import EXIT_FAILED, EXIT_OK, UsageError
from refinery_tui.commands.report import plural, print_diagnostics


def main(args: argparse.Namespace) -> int:
    from refinery_tui.model import ProjectNotFound, validate_project

    project_dir = Path(args.project)
    try:
        result = validate_project(project_dir)
    except ProjectNotFound as exc:
        raise UsageError(str(exc)) from None
    print_diagnostics(result, project_dir, args.quiet)
    errors, warnings = len(result.errors), len(result.warnings)
    if result.ok:
        name = result.project.name if result.project else project_dir
        extra = f" ({plural(warnings, 'warning')})" if warnings else ""
        print(
            f"{name}: valid, {plural(len(result.project.blocks), 'block')}, "
            f"{plural(len(result.project.transitions), 'transition')}{extra}"
        )
        return EXIT_OK
    print(f"{project_dir}: {plural(errors, 'error')}, {plural(warnings, 'warning')}", file=sys.stderr)
    return EXIT_FAILED
