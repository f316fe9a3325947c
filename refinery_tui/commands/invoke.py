"""`refinery-tui invoke`: start a deployed execution at an entry block; with `--wait`, follow it like `run` does."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from refinery_tui import saved_inputs
from refinery_tui.commands.outcome import EXIT_FAILED, EXIT_OK, UsageError, opened_stage
from refinery_tui.run_printers import HumanPrinter
from refinery_tui.runtime.events import DeployedExecutionFinished, Event, ExecutionInvoked, InvocationEnded
from refinery_tui.saved_inputs import InputError, parse_input


class NotFinished(Exception):
    """The execution had not ended when following stopped."""


def _follow(stage, started, wait_s: float, emit) -> Any:
    """Follow the execution (cloud/follow.py), printing each invocation as it ends; its outcome from the state
    table, or None when it did not end within `wait_s`."""
    from refinery_tui.cloud.follow import follow_execution

    printed: set[str] = set()

    def show(run) -> None:
        for event in run.to_events():
            if isinstance(event, InvocationEnded) and event.invocation_id not in printed:
                printed.add(event.invocation_id)
                emit(event)

    followed = follow_execution(
        stage.aws,
        stage.placement,
        started.execution_id,
        int(time.time() * 1000) - 60_000,
        show,
        threading.Event(),
        "poll",
        wait_s,
    )
    if followed.execution is None:
        reason = followed.error or followed.note or (f"{followed.failure}" if followed.failure else "")
        raise NotFinished(f"execution {started.execution_id} did not end: {reason}")
    return followed.execution


def invoke(
    project: str,
    stage: str,
    block: str | None,
    input_text: str | None,
    input_file: str | None,
    how: str | None,
    sync: bool,
    wait: bool,
    as_json: bool,
    wait_s: float = 300.0,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from refinery_tui.cloud.invoker import InvokeError, entry_points

    out = out or sys.stdout
    opened = opened_stage(project, stage, profile, region, endpoint_url)
    entries = entry_points(opened.manifest)
    block = block or (entries[0] if entries else None)
    if block is None or block not in opened.manifest["blocks"]:
        raise UsageError(f"no block named '{block}' in {opened.project.name}; entry points: {', '.join(entries)}")
    try:
        value = parse_input(input_text, input_file)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if input_text is None and input_file is None:
        value = saved_inputs.recall(Path(project), block)
    else:
        saved_inputs.remember(Path(project), block, value)
    emit = _printer(out, as_json)
    try:
        started = opened.invoker().start(block, value, how, sync)
    except InvokeError as exc:
        raise UsageError(str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        out.flush()
        print(
            f"refinery-tui: could not start the execution on {opened.aws.describe()}: {exc}\n    hint: is the "
            f"stage deployed? `refinery-tui deploy {project} --stage {stage}`",
            file=sys.stderr,
        )
        return EXIT_FAILED
    emit(ExecutionInvoked(started.execution_id, block, started.how, started.reply))
    if started.reply is not None and not as_json:
        out.write(f"  reply: {started.reply['statusCode']} {json.dumps(started.reply['body'])[:500]}\n")
    if not wait:
        return EXIT_OK
    try:
        result = _follow(opened, started, wait_s, emit)
    except NotFinished as exc:
        print(f"refinery-tui: {exc}", file=sys.stderr)
        return EXIT_FAILED
    emit(
        DeployedExecutionFinished(
            result.execution_id,
            result.status,
            [{"block": o["block"], "output": o["output"]} for o in result.outputs],
            result.errors,
            result.invocations,
            round(result.duration_ms or 0.0, 1),
        )
    )
    return EXIT_OK if result.status == "succeeded" else EXIT_FAILED


def _printer(out: TextIO, as_json: bool):
    if as_json:

        def emit_json(event: Event) -> None:
            out.write(json.dumps(event.to_json(), default=str) + "\n")
            out.flush()

        return emit_json
    human = HumanPrinter(out)

    def emit_human(event: Event) -> None:
        if isinstance(event, ExecutionInvoked):
            out.write(
                f"▶ execution {event.execution_id or '(see the reply)'} started at '{event.entry}' ({event.how})\n"
            )
            out.flush()
        else:
            human(event)

    return emit_human


def run_invoke(args) -> int:
    return invoke(
        args.project,
        args.stage,
        args.block,
        args.input,
        args.input_file,
        args.via,
        args.sync,
        args.wait,
        args.json,
        args.timeout,
        args.profile,
        args.region,
        args.endpoint_url,
    )
