"""`refinery-tui import`: convert a Refinery project export into a project folder, then validate what came out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from refinery_tui.commands.outcome import EXIT_OK, UsageError
from refinery_tui.commands.report import plural, print_diagnostics


def main(args: argparse.Namespace) -> int:
    from refinery_tui.importer.refinery import ImportFailed, import_refinery
    from refinery_tui.model import validate_project

    try:
        report = import_refinery(args.export, args.project)
    except ImportFailed as exc:
        raise UsageError(str(exc)) from None
    for warning in report.warnings:
        print(f"{args.export}: warning: {warning}", file=sys.stderr)
    print(
        f"imported {plural(len(report.project.blocks), 'block')} and "
        f"{plural(len(report.project.transitions), 'transition')} into {args.project}"
    )
    result = validate_project(args.project)
    if not result.ok:
        print_diagnostics(result, Path(args.project), quiet=True)
        print(
            f"{args.project}: the converted project has {plural(len(result.errors), 'error')} to fix by hand",
            file=sys.stderr,
        )
    return EXIT_OK
