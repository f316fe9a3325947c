"""The command line: `refinery-tui [PROJECT]` and its headless subcommands, on the same APIs as the workbench."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from refinery_tui import __version__
from refinery_tui.commands.outcome import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError

COMMANDS = ("new", "validate", "import", "run", "history", "deploy", "teardown", "sandbox", "invoke", "logs")
PLANNED_COMMANDS: tuple[str, ...] = ()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refinery-tui",
        description="A keyboard-driven terminal workbench for serverless workflows.",
        epilog="Commands: new, validate, run, history, import, deploy, teardown, invoke, logs, sandbox. "
        "`refinery-tui COMMAND --help` tells more. "
        "Without a command, opens PROJECT (default: the current folder).",
    )
    parser.add_argument("--version", action="version", version=f"refinery-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    new = commands.add_parser("new", help="create a project from a template")
    new.add_argument("project", metavar="PROJECT", nargs="?", help="folder to create (must not exist, or be empty)")
    new.add_argument("--template", default=None, metavar="NAME", help="bundled example to start from")
    new.add_argument("--list-templates", action="store_true", help="list the templates and exit")

    validate = commands.add_parser("validate", help="check a project; one `file:line:col: message` per problem")
    validate.add_argument("project", metavar="PROJECT", nargs="?", default=".")
    validate.add_argument("--quiet", "-q", action="store_true", help="print errors only, not warnings")

    run = commands.add_parser("run", help="run the project locally, a line per invocation")
    run.add_argument("project", metavar="PROJECT", nargs="?", default=".")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="JSON", help="the input of the first block, as JSON")
    source.add_argument("--input-file", metavar="F", help="a file holding the input as JSON")
    run.add_argument(
        "--from",
        dest="from_block",
        metavar="BLOCK",
        help="replay the last execution that reached BLOCK, from BLOCK, with its recorded input (or --input)",
    )
    run.add_argument("--json", action="store_true", help="print JSON Lines, one event a line")
    run.add_argument("--watch", action="store_true", help="keep running: re-run from a block when its file is saved")
    run.add_argument(
        "--concurrency", type=int, default=None, metavar="N", help="how many blocks may run at once (fan-out branches)"
    )

    history = commands.add_parser("history", help="list past runs, show one, or compare two")
    history.add_argument("project", metavar="PROJECT", nargs="?", default=".")
    history.add_argument("execution", metavar="EXECUTION", nargs="?", help="an execution id (or its end)")
    history.add_argument("--compare", metavar="OTHER", help="which blocks' outputs changed from EXECUTION to OTHER")
    history.add_argument("--json", action="store_true", help="print JSON Lines")
    history.add_argument("--limit", type=int, default=20, help="how many executions to list")

    importer = commands.add_parser("import", help="convert a Refinery project export into a project folder")
    importer.add_argument("export", metavar="REFINERY_EXPORT.json")
    importer.add_argument("project", metavar="PROJECT", help="folder to create (must not exist, or be empty)")

    def aws_target(command: argparse.ArgumentParser, confirm: bool = True) -> None:
        command.add_argument("project", metavar="PROJECT", nargs="?", default=".")
        command.add_argument("--stage", required=True, metavar="S", help="the stage: dev, prod, pr-42, ...")
        if confirm:
            command.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        command.add_argument("--json", action="store_true", help="print JSON Lines, one event a line")
        command.add_argument("--profile", default=None, help="AWS profile (default: the standard AWS settings)")
        command.add_argument("--region", default=None, help="AWS region (default: the standard AWS settings)")
        command.add_argument(
            "--endpoint-url",
            default=None,
            metavar="URL",
            help="an AWS endpoint such as the sandbox's (default: AWS_ENDPOINT_URL)",
        )

    deploy = commands.add_parser("deploy", help="deploy the project to AWS (or the sandbox): plan, confirm, apply")
    aws_target(deploy)
    deploy.add_argument("--plan", action="store_true", help="only show what would change")
    teardown = commands.add_parser("teardown", help="delete everything a stage has deployed")
    aws_target(teardown)
    invoke = commands.add_parser("invoke", help="start a deployed execution; --wait follows it like run does")
    aws_target(invoke, confirm=False)
    invoke.add_argument("--block", "-b", default=None, metavar="B", help="the entry block (default: the first)")
    given = invoke.add_mutually_exclusive_group()
    given.add_argument("--input", metavar="JSON", help="the input, as JSON (default: the last input given to B)")
    given.add_argument("--input-file", metavar="F", help="a file holding the input as JSON")
    invoke.add_argument(
        "--via",
        choices=("invoke", "api", "queue", "topic"),
        default=None,
        help="how to start it (default: by the block's type: API route, queue, topic, or invoke)",
    )
    invoke.add_argument("--sync", action="store_true", help="wait for the entry block itself before returning")
    invoke.add_argument("--wait", action="store_true", help="follow the execution to its end and print its outputs")
    invoke.add_argument("--timeout", type=float, default=300.0, metavar="S", help="how long --wait waits (s)")

    log_command = commands.add_parser("logs", help="the stage's logs, every block merged in one stream")
    aws_target(log_command, confirm=False)
    log_command.add_argument("--follow", "-f", action="store_true", help="keep printing new lines (ctrl+c stops)")
    log_command.add_argument("--since", default="10m", metavar="T", help="how far back: 30s, 10m, 2h, 1d (10m)")
    log_command.add_argument("--execution", "-e", default=None, metavar="ID", help="one execution (id or its end)")
    log_command.add_argument("--block", "-b", action="append", metavar="B", help="only these blocks (repeatable)")
    log_command.add_argument(
        "--level",
        "-l",
        action="append",
        metavar="L",
        help="only these levels: DEBUG, INFO, WARN, ERROR, PLATFORM (repeatable)",
    )
    log_command.add_argument("--grep", "-g", default=None, metavar="TEXT", help="only lines containing TEXT")
    log_command.add_argument("--regex", action="store_true", help="--grep is a regular expression")
    log_command.add_argument(
        "--executions",
        action="store_true",
        help="list the recent executions (status, start, duration) instead of lines",
    )
    log_command.add_argument("--limit", type=int, default=20, metavar="N", help="how many executions to list")

    sandbox = commands.add_parser(
        "sandbox",
        help="run a local AWS endpoint that runs deployed functions",
        epilog="Where AWS is stricter than moto, so is the sandbox: creating a function on a runtime AWS no longer "
        "accepts (past its block date, e.g. nodejs20.x), or updating one left on it other than to a current runtime, "
        "is refused with InvalidParameterValueException. A failed SQS batch comes back regrouped (reversed, in "
        "smaller batches) once its visibility timeout ends; with ReportBatchItemFailures on the mapping only the "
        "messages named in batchItemFailures come back. An HTTP API without its stage answers 404; an integration "
        "slower than its TimeoutInMillis (at most 29 s, the cold start counted) answers 503 "
        '{"message":"Service Unavailable"}.',
    )
    sandbox.add_argument("--port", type=int, default=4566, help="port to listen on (0: any free port)")
    sandbox.add_argument("--state-dir", default=None, metavar="D", help="where the sandbox keeps unpacked code")
    return parser


def _open_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="refinery-tui", description="Open the workbench on PROJECT.")
    parser.add_argument("project", metavar="PROJECT", nargs="?", default=".")
    parser.add_argument("--summary", action="store_true", help="print the project's summary and tree, and exit")
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run the subcommand `args.command` (each lives in its own module under commands/, imported when used)."""
    command = args.command
    if command == "new":
        from refinery_tui.commands import new

        return new.main(args)
    if command == "validate":
        from refinery_tui.commands import validate

        return validate.main(args)
    if command == "import":
        from refinery_tui.commands import import_refinery

        return import_refinery.main(args)
    if command == "run":
        from refinery_tui.commands.run import run_project

        return run_project(
            args.project, args.input, args.input_file, args.from_block, args.json, args.watch, args.concurrency
        )
    if command == "history":
        from refinery_tui.commands.history import show_history

        return show_history(args.project, args.execution, args.compare, args.json, args.limit)
    if command in ("deploy", "teardown"):
        from refinery_tui.commands import deploy

        return deploy.main(args) if command == "deploy" else deploy.teardown_main(args)
    if command == "invoke":
        from refinery_tui.commands.invoke import run_invoke

        return run_invoke(args)
    if command == "logs":
        from refinery_tui.commands import logs

        return logs.main(args)
    from refinery_tui.commands.sandbox import main as sandbox_main

    return sandbox_main(["--port", str(args.port)] + (["--state-dir", args.state_dir] if args.state_dir else []))


def open_project(args: argparse.Namespace) -> int:
    """The workbench on PROJECT in a terminal (this is the only place the command line imports it), else its
    summary (commands/summary.py)."""
    from refinery_tui.commands import summary

    project_dir = Path(args.project)
    result = summary.check_project(project_dir)
    if sys.stdout.isatty() and sys.stdin.isatty() and not args.summary:
        from refinery_tui.tui.app import run_workbench

        return run_workbench(project_dir)
    return summary.print_summary(result, project_dir)


def run(argv: Sequence[str]) -> int:
    argv = list(argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in PLANNED_COMMANDS:
        raise UsageError(f"`refinery-tui {first}` is not available in this version yet")
    if first in COMMANDS or not argv or argv[0] in ("-h", "--help", "--version"):
        if not argv:
            return open_project(_open_parser().parse_args([]))
        return dispatch(_parser().parse_args(argv))
    return open_project(_open_parser().parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; every failure ends in a message and an exit code, never a traceback."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        print(f"refinery-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: --help, --version, bad usage
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("refinery-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        if os.environ.get("REFINERY_TUI_DEBUG"):
            traceback.print_exc()
        print(
            f"refinery-tui: internal error: {type(exc).__name__}: {exc}\n"
            "    hint: set REFINERY_TUI_DEBUG=1 to see where, and please report it",
            file=sys.stderr,
        )
        return EXIT_FAILED
