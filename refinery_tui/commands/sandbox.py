"""`refinery-tui sandbox`: run the local AWS sandbox until Ctrl-C or SIGTERM, printing the environment to use it."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path

from refinery_tui.commands.outcome import EXIT_OK, EXIT_USAGE

DEFAULT_PORT = 4566


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refinery-tui sandbox",
        description="A local AWS endpoint that also runs the Lambda functions deployed to it.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
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
    from refinery_tui.sandbox import PortInUse, Sandbox

    sandbox = Sandbox(port=args.port, host=args.host, state_dir=args.state_dir)
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
        while not stop.wait(0.5):
            pass
        return EXIT_OK
    finally:
        sandbox.stop()
