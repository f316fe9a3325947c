"""`refinery-tui logs`: one merged stream of every log group of a stage, filtered, once or following."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from typing import TextIO

from refinery_tui.commands.outcome import EXIT_FAILED, EXIT_OK, UsageError, opened_stage

COLOURS = (31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96)


def block_colour(block: str | None) -> int:
    """A stable colour per block name."""
    return COLOURS[int(hashlib.sha1((block or "").encode()).hexdigest(), 16) % len(COLOURS)]


def format_line(line, colour: bool) -> str:
    clock = time.strftime("%H:%M:%S", time.localtime(line.timestamp / 1000)) + f".{line.timestamp % 1000:03d}"
    block = (line.block or "-")[:16]
    execution = (line.execution_id or "")[-6:] or "-"
    text = line.message
    if colour:
        block = f"\x1b[{block_colour(line.block)}m{block:<16}\x1b[0m"
        level = f"\x1b[31m{line.level:<8}\x1b[0m" if line.level == "ERROR" else f"{line.level:<8}"
    else:
        block, level = f"{block:<16}", f"{line.level:<8}"
    sampled = " (sampled)" if line.sampled else ""
    return f"{clock} {block} {execution:<6} {level} {text}{sampled}"


def logs(
    project: str,
    stage: str,
    follow: bool,
    since: str | None,
    execution: str | None,
    blocks: list[str],
    levels: list[str],
    text: str | None,
    regex: bool,
    as_json: bool,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from refinery_tui.cloud.logfilter import FilterError, LogFilter, since_ms
    from refinery_tui.cloud.logtail import LogTail

    out = out or sys.stdout
    try:
        start = since_ms(since or "10m")
        chosen = LogFilter(frozenset(blocks), execution, frozenset(level.upper() for level in levels), text, regex)
    except FilterError as exc:
        raise UsageError(str(exc)) from None
    opened = opened_stage(project, stage, profile, region, endpoint_url)
    unknown = [b for b in blocks if b not in opened.manifest["blocks"]]
    if unknown:
        raise UsageError(f"no block named {', '.join(repr(b) for b in unknown)} in {opened.project.name}")
    tail = LogTail(opened.aws, opened.log_groups(), start, mode="auto" if follow else "poll")
    colour = not as_json and out.isatty() and not os.environ.get("NO_COLOR")

    def emit(lines) -> None:
        for line in lines:
            if chosen.matches(line):
                out.write((json.dumps(line.to_json()) if as_json else format_line(line, colour)) + "\n")
        out.flush()

    try:
        emit(tail.poll())
        if tail.missing_groups and tail.missing_groups == set(tail.groups):
            print(
                f"refinery-tui: no log group of stage {stage} exists yet on {opened.aws.describe()}\n"
                f"    hint: deploy it with `refinery-tui deploy {project} --stage {stage}`"
                + ("; waiting for it" if follow else ""),
                file=sys.stderr,
            )
        if follow:
            stop = stop or threading.Event()
            try:
                tail.follow(emit, stop)
            except KeyboardInterrupt:
                stop.set()
    except (BotoCoreError, ClientError) as exc:
        print(f"refinery-tui: cannot read the logs on {opened.aws.describe()}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def list_executions(
    project: str,
    stage: str,
    limit: int,
    as_json: bool,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
) -> int:
    """The stage's recent executions, newest first: id, status, start time, duration."""
    from botocore.exceptions import BotoCoreError, ClientError

    out = out or sys.stdout
    opened = opened_stage(project, stage, profile, region, endpoint_url)
    try:
        found = opened.executions().recent(limit)
    except (BotoCoreError, ClientError) as exc:
        print(f"refinery-tui: cannot read the executions on {opened.aws.describe()}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for execution in found:
        duration = execution.duration_ms
        if as_json:
            out.write(
                json.dumps(
                    {
                        "event": "execution",
                        "execution_id": execution.execution_id,
                        "status": execution.status,
                        "started": execution.started,
                        "duration_ms": round(duration, 1) if duration is not None else None,
                    }
                )
                + "\n"
            )
        else:
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(execution.started or 0))
            shown = f"{duration:.0f} ms" if duration is not None else "-"
            out.write(f"{execution.execution_id}  {execution.status:<10} {started}  {shown}\n")
    if not found and not as_json:
        out.write(f"no execution of stage {stage} yet.\n")
    return EXIT_OK


def main(args) -> int:
    if args.executions:
        return list_executions(
            args.project, args.stage, args.limit, args.json, args.profile, args.region, args.endpoint_url
        )
    return logs(
        args.project,
        args.stage,
        args.follow,
        args.since,
        args.execution,
        args.block or [],
        args.level or [],
        args.grep,
        args.regex,
        args.json,
        args.profile,
        args.region,
        args.endpoint_url,
    )
