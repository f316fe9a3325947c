"""`refinery-tui sandbox`: run the local AWS sandbox until Ctrl-C or SIGTERM, printing the environment to use it."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from refinery_tui.commands.outcome import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from refinery_tui.sandbox import Sandbox

DEFAULT_PORT = 4566
STOP_BUDGET_S = 1.5  # the sandbox stops within 2 s of Ctrl-C or SIGTERM, however busy


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refinery-tui sandbox",
        description="A local AWS endpoint that also runs the Lambda functions deployed to it.",
        epilog="Test knob: REFINERY_SANDBOX_FAULTS=service:Operation:ErrorCode[:every=N][:burst=K],... answers the "
        "last K of every N such calls with ErrorCode, e.g. logs:FilterLogEvents:ThrottlingException:every=5 "
        "(see refinery_tui/sandbox/fault_knobs.py).",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="loopback address to listen on (default 127.0.0.1; ::1 and localhost also work, other machines never)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="folder for the sandbox's files (extracted function code); default a temporary one",
    )
    return parser


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _serve(args, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace, stop: threading.Event) -> int:
    from refinery_tui.sandbox import NotLoopback, PortInUse, Sandbox

    try:
        sandbox = Sandbox(port=args.port, host=args.host, state_dir=args.state_dir)
    except NotLoopback as refused:
        print(f"refinery-tui sandbox: --host {refused}", file=sys.stderr)
        return EXIT_USAGE
    try:
        sandbox.start()
    except PortInUse:
        print(
            f"refinery-tui sandbox: port {args.port} is already in use (choose another with --port, "
            "or --port 0 for any free port)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except OSError as error:
        print(
            f"refinery-tui sandbox: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        for name, value in sandbox.environment().items():
            print(f"export {name}={shlex.quote(value)}")
        print(f"# HTTP APIs are served at {sandbox.endpoint_url}/_sandbox/apis/<api-id>/<path>")
        print("# The sandbox runs until Ctrl-C.", flush=True)
        # Polled: a signal caught by another thread runs its handler only when this one runs Python code again.
        while not stop.wait(0.1):
            pass
    finally:
        _stop_within(sandbox, STOP_BUDGET_S)
    _leave(EXIT_OK)


def _stop_within(sandbox: Sandbox, budget_s: float) -> None:
    """Stop the sandbox; if something still holds it after `budget_s` (its functions are killed first, and its
    credentials file removed), leave without waiting for it."""
    stopping = threading.Thread(target=sandbox.stop, name="sandbox-stop", daemon=True)
    stopping.start()
    stopping.join(budget_s)
    if stopping.is_alive():
        print("refinery-tui sandbox: stopped without waiting for the requests still in flight", file=sys.stderr)
        _leave(EXIT_OK)


def _leave(code: int) -> NoReturn:
    """End the process now: the sandbox is stopped and cleaned up, and tearing down moto's in-memory state (the
    interpreter's own shutdown) takes a second or more on a busy machine."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
