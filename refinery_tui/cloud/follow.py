"""Follow one deployed execution: its log lines rebuilt as they arrive, until the state table says it ended and its
last lines are in (or it is stopped, or it shows no sign of life, or it runs too long)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.executions import CloudExecution, Executions
from refinery_tui.cloud.logtail import LogTail, stage_groups
from refinery_tui.cloud.rebuild import CloudRun, Rebuilder

FOLLOW_S = 15 * 60
"""How long an execution is followed at most (Lambda's longest run)."""
START_S = 30.0
"""How long an execution may show no sign of life (no state record) before following stops."""
FLUSH_S = 10.0
"""How long to wait, after the state table says the execution ended, for its last log lines."""
CHECK_S = 0.3
"""Seconds between two looks at the execution's status."""


@dataclass
class Followed:
    """How following ended: the execution as the state table tells it (None if it did not end), the run rebuilt
    from its lines, an error or a note in words, and the exception behind the error (`in_logs`: while tailing)."""

    execution: CloudExecution | None
    run: CloudRun | None
    error: str | None = None
    note: str | None = None
    failure: BaseException | None = None
    in_logs: bool = False


def snapshot(run: CloudRun) -> CloudRun:
    """A copy of a run that a reader may keep while the follower goes on feeding the original."""
    invocations = {
        key: replace(value, place=list(value.place), lines=list(value.lines)) for key, value in run.invocations.items()
    }
    return replace(run, invocations=invocations, transitions=list(run.transitions), lines=list(run.lines))


def finished_invocations(run: CloudRun) -> int:
    return sum(1 for invocation in run.invocations.values() if invocation.status != "running")


def follow_execution(
    aws: Aws,
    target: Placement,
    execution_id: str,
    start_ms: int,
    on_update: Callable[[CloudRun], None],
    stop: threading.Event,
    mode: str = "poll",
    follow_s: float = FOLLOW_S,
) -> Followed:
    """Tail the stage's logs for this execution on a second thread (`on_update` gets a snapshot of the rebuilt run
    after each batch of its lines), and watch its status on this one."""
    tail = LogTail(aws, stage_groups(target.names, target.manifest), start_ms, mode=mode, interval_s=0.5)
    rebuilder = Rebuilder()
    lock = threading.Lock()
    tail_errors: list[BaseException] = []

    def take(lines: list[Any]) -> None:
        mine = [line for line in lines if line.execution_id == execution_id]
        if not mine:
            return
        with lock:
            rebuilder.feed(mine)
            copy = snapshot(rebuilder.run(execution_id))
        on_update(copy)

    def tail_logs(tail_stop: threading.Event) -> None:
        try:
            tail.follow(take, tail_stop)
        except Exception as exc:  # noqa: BLE001 - reported when following ends
            tail_errors.append(exc)

    tail_stop = threading.Event()
    tailer = threading.Thread(target=tail_logs, args=(tail_stop,), name="follow-logs", daemon=True)
    tailer.start()
    executions = Executions(aws, target)
    followed = Followed(None, None)
    begun = time.monotonic()
    ended_at: float | None = None
    try:
        while True:
            if stop.is_set():
                followed.note = "stopped following (the execution goes on in the cloud)"
                break
            if tail_errors:
                followed.failure, followed.in_logs = tail_errors[0], True
                break
            status = executions.status(execution_id)
            now = time.monotonic()
            if status not in (None, "running"):
                if followed.execution is None:
                    followed.execution, ended_at = executions.read(execution_id), now
                with lock:
                    run = rebuilder.runs.get(execution_id)
                    complete = (
                        run is not None
                        and run.status != "running"
                        and finished_invocations(run) >= followed.execution.invocations
                    )
                if complete or now - ended_at > FLUSH_S:
                    break
            elif status is None and now - begun > START_S:
                followed.error = (
                    f"execution {execution_id} left no record in {START_S:.0f} s: the entry may have "
                    "failed before it started (its function's own log lines tell)"
                )
                break
            elif now - begun > follow_s:
                followed.note = f"still running after {follow_s / 60:.0f} min: stopped following"
                break
            stop.wait(CHECK_S)
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, who words it
        followed.failure = exc
    finally:
        tail_stop.set()
        tailer.join(5)
    if not stop.is_set() and tail.mode == "poll" and not tail_errors:
        try:
            take(tail.poll())  # the lines of the last moment
        except Exception:  # noqa: BLE001 - what was read already stands
            pass
    with lock:
        followed.run = snapshot(rebuilder.runs[execution_id]) if execution_id in rebuilder.runs else None
    return followed
