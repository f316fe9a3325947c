"""`refinery-tui new`: create a project folder from one of the bundled templates (or list them)."""

from __future__ import annotations

import argparse

from refinery_tui.commands.outcome import EXIT_OK, UsageError


def main(args: argparse.Namespace) -> int:
    from refinery_tui.templates import DEFAULT_TEMPLATE, TemplateError, create_project, template_names

    if args.list_templates:
        print("\n".join(template_names()))
        return EXIT_OK
    if args.project is None:
        raise UsageError("new: give the folder to create, e.g. `refinery-tui new my-project`")
    try:
        target = create_project(args.project, args.template or DEFAULT_TEMPLATE)
    except TemplateError as exc:
        raise UsageError(str(exc)) from None
    print(f"created {target} from template '{args.template or DEFAULT_TEMPLATE}'")
    print(f"next: refinery-tui validate {target}   or open it: refinery-tui {target}")
    return EXIT_OK
