"""Deployed executions rebuilt from the runtime's log lines: each invocation's block, status, input, output or error,
and its own log lines; the same shape (and events) a local run gives the Run pane."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from refinery_tui.cloud.loglines import LogLine
from refinery_tui.runtime.events import (
    ExecutionFinished,
    ExecutionStarted,
    InvocationStarted,
    RunEvent,
    TransitionTaken,
    deployed_invocation_ended,
)


@dataclass
class CloudInvocation:
    id: str
    block: str
    parent: str | None = None
    via: int | None = None
    attempt: int = 0
    place: list[int] = field(default_factory=list)
    status: str = "running"
    started: int | None = None
    ended: int | None = None
    duration_ms: float | None = None
    input: Any = None
    output: Any = None
    output_preview: str = ""
    error: dict[str, Any] | None = None
    backpack: Any = None
    final: bool = False
    truncated: bool = False
    lines: list[LogLine] = field(default_factory=list)


@dataclass
class CloudRun:
    execution_id: str
    status: str = "running"
    started: int | None = None
    ended: int | None = None
    invocations: dict[str, CloudInvocation] = field(default_factory=dict)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    lines: list[LogLine] = field(default_factory=list)

    @property
    def duration_ms(self) -> int | None:
        return self.ended - self.started if self.started is not None and self.ended is not None else None

    def blocks(self) -> dict[str, str]:
        """Each block's state in this execution (failed wins over succeeded wins over running)."""
        rank = {"running": 0, "succeeded": 1, "failed": 2}
        states: dict[str, str] = {}
        for invocation in self.invocations.values():
            current = states.get(invocation.block)
            if current is None or rank.get(invocation.status, 0) > rank.get(current, 0):
                states[invocation.block] = invocation.status
        return states

    def ordered(self) -> list[CloudInvocation]:
        return sorted(self.invocations.values(), key=lambda i: (i.started or 0, i.id))

    def to_events(self) -> list[RunEvent]:
        """The events a local run emits (execution started, each invocation started and finished or failed, the
        transitions taken, execution finished), so that a deployed execution shows like a local one."""
        events: list[RunEvent] = [ExecutionStarted(self.execution_id)]
        for invocation in self.ordered():
            base = {"execution_id": self.execution_id, "invocation_id": invocation.id, "block": invocation.block}
            events.append(InvocationStarted(**base, attempt=invocation.attempt, place=invocation.place))
            if invocation.status in ("succeeded", "failed"):
                events.append(
                    deployed_invocation_ended(
                        invocation.status == "succeeded",
                        **base,
                        place=invocation.place,
                        status=invocation.status,
                        duration_ms=invocation.duration_ms or 0.0,
                        output_preview=invocation.output_preview,
                        error=invocation.error,
                        attempt=invocation.attempt,
                        final=invocation.final,
                    )
                )
        for transition in self.transitions:
            events.append(TransitionTaken(self.execution_id, **transition))
        if self.status != "running":
            events.append(ExecutionFinished(self.execution_id, self.status))
        return events


class Rebuilder:
    """Feed it log lines (any order within a poll, any number of executions); read `runs`."""

    def __init__(self) -> None:
        self.runs: dict[str, CloudRun] = {}

    def run(self, execution_id: str) -> CloudRun:
        if execution_id not in self.runs:
            self.runs[execution_id] = CloudRun(execution_id)
        return self.runs[execution_id]

    def feed(self, lines: Iterable[LogLine]) -> set[str]:
        """Take lines in; the ids of the executions they touched."""
        touched: set[str] = set()
        for line in lines:
            if not line.execution_id:
                continue
            run = self.run(line.execution_id)
            touched.add(run.execution_id)
            run.lines.append(line)
            record = line.record
            if record is None:
                if line.invocation_id and line.invocation_id in run.invocations:
                    run.invocations[line.invocation_id].lines.append(line)
                continue
            self._record(run, line, record)
        return touched

    def _record(self, run: CloudRun, line: LogLine, record: dict[str, Any]) -> None:
        kind = record["refinery"]
        if run.started is None or line.timestamp < run.started:
            run.started = line.timestamp
        if kind == "execution_finished":
            run.status = record.get("status", "succeeded")
            run.ended = line.timestamp
            return
        if kind == "transition":
            run.transitions.append(
                {
                    "source": record.get("source"),
                    "target": record.get("target"),
                    "type": record.get("type"),
                    "transition": record.get("transition"),
                    "invocation_id": record.get("invocation_id"),
                }
            )
            return
        invocation_id = record.get("invocation_id")
        if kind not in ("start", "end") or not invocation_id:
            return
        invocation = run.invocations.get(invocation_id)
        if invocation is None:
            invocation = run.invocations[invocation_id] = CloudInvocation(invocation_id, record.get("block", "?"))
        invocation.lines.append(line)
        if kind == "start":
            invocation.parent = record.get("parent")
            invocation.via = record.get("via")
            invocation.attempt = int(record.get("attempt", 0) or 0)
            invocation.place = list(record.get("place") or [])
            invocation.started = line.timestamp
            invocation.input = record.get("input", record.get("input_preview"))
            invocation.backpack = record.get("backpack", record.get("backpack_preview"))
            invocation.truncated = invocation.truncated or bool(record.get("input_truncated"))
        else:
            invocation.status = record.get("status", "succeeded")
            invocation.ended = line.timestamp
            invocation.duration_ms = record.get("duration_ms")
            invocation.final = bool(record.get("final"))
            invocation.output = record.get("output", record.get("output_preview"))
            invocation.output_preview = record.get("output_preview", "")
            invocation.error = record.get("error")
            invocation.truncated = invocation.truncated or bool(record.get("output_truncated"))
