"""The run vocabulary: the typed events of an execution, emitted by the local executor and by deployed executions
rebuilt from their logs, read by the workbench and the command line.

`to_json()` is the `--json` line of an event (`{"event": kind, ...fields}` in declaration order); fields marked
`OMIT_NONE` are left out while they are None, and `NOT_IN_JSON` fields never appear there. The watch events at the
end belong to no execution: they tell what `run --watch` and the workbench's hot reload saw on disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

OMIT_NONE = {"json": "omit-none"}
NOT_IN_JSON = {"json": "never"}
PREVIEW_CHARS = 80


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A value as one line of JSON, cut to `limit` characters (the `*_preview` fields of events and rows)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Event:
    """Something a listener of a run (or of the watcher) is told; its `--json` line is `{"event": kind, ...fields}`."""

    kind: ClassVar[str] = ""
    json_order: ClassVar[tuple[str, ...]] = ()
    """The order of the fields in the `--json` line, when it is not their declaration order."""

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"event": self.kind}
        declared = {item.name: item for item in fields(self)}
        for item in [declared[name] for name in self.json_order] or declared.values():
            rule = item.metadata.get("json")
            value = getattr(self, item.name)
            if rule == "never" or (rule == "omit-none" and value is None):
                continue
            line[item.name] = value
        return line


@dataclass(frozen=True)
class RunEvent(Event):
    """One thing that happened in an execution."""

    execution_id: str


@dataclass(frozen=True)
class ExecutionStarted(RunEvent):
    kind: ClassVar[str] = "execution_started"
    entry: str | None = None
    replay_of: str | None = None
    replay_from: str | None = None
    input: Any = None


@dataclass(frozen=True)
class ExecutionInvoked(RunEvent):
    """A deployed execution started by `invoke` (`how`: invoke, api or queue; `reply`: an API endpoint's answer)."""

    kind: ClassVar[str] = "execution_started"
    entry: str = ""
    how: str = ""
    reply: dict[str, Any] | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True)
class InvocationQueued(RunEvent):
    kind: ClassVar[str] = "invocation_queued"
    invocation_id: str = ""
    block: str = ""
    parent: str | None = None
    via: str | None = None
    input_preview: str = ""
    place: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Paused(RunEvent):
    """Stepping or a breakpoint holds `invocation_id` before it starts; `input` is the value it will get."""

    kind: ClassVar[str] = "paused"
    reason: str = "step"
    invocation_id: str = ""
    block: str = ""
    input_preview: str = ""
    input: Any = field(default=None, metadata=NOT_IN_JSON)


@dataclass(frozen=True)
class Resumed(RunEvent):
    kind: ClassVar[str] = "resumed"


@dataclass(frozen=True)
class InvocationCancelled(RunEvent):
    kind: ClassVar[str] = "invocation_cancelled"
    invocation_id: str = ""
    block: str = ""
    place: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class InvocationEdited(RunEvent):
    kind: ClassVar[str] = "invocation_edited"
    invocation_id: str = ""
    block: str = ""
    input_preview: str = ""


@dataclass(frozen=True)
class EditRefused(RunEvent):
    kind: ClassVar[str] = "edit_refused"
    invocation_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class InvocationStarted(RunEvent):
    kind: ClassVar[str] = "invocation_started"
    invocation_id: str = ""
    block: str = ""
    attempt: int = 0
    place: list[int] | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True)
class InvocationRetrying(RunEvent):
    kind: ClassVar[str] = "invocation_retrying"
    invocation_id: str = ""
    block: str = ""
    attempt: int = 0


@dataclass(frozen=True)
class TransitionTaken(RunEvent):
    """`batch` is set when a queue handed over a batch of that many messages."""

    kind: ClassVar[str] = "transition_taken"
    source: str = ""
    target: str = ""
    type: str = "then"
    transition: int | None = None
    invocation_id: str | None = None
    batch: int | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True)
class ExecutionFailing(RunEvent):
    """A failure nothing handled: the execution will end failed once the paths under way finish."""

    kind: ClassVar[str] = "execution_failing"
    block: str = ""
    invocation_id: str = ""
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class InvocationEnded(RunEvent):
    """An invocation finished (`status` succeeded) or failed; its kind says which."""

    kind: ClassVar[str] = "invocation_finished"
    invocation_id: str = ""
    block: str = ""
    status: str = "succeeded"
    duration_ms: float = 0.0
    output_preview: str = ""
    error: dict[str, Any] | None = None
    final: bool = False
    attempt: int = 0
    worker_replaced: bool | None = field(default=None, metadata=OMIT_NONE)
    place: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class InvocationFinished(InvocationEnded):
    kind: ClassVar[str] = "invocation_finished"


@dataclass(frozen=True)
class InvocationFailed(InvocationEnded):
    kind: ClassVar[str] = "invocation_failed"


@dataclass(frozen=True)
class ExecutionFinished(RunEvent):
    kind: ClassVar[str] = "execution_finished"
    status: str = "succeeded"
    outputs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    invocations: int = 0
    duration_ms: float = 0.0
    replay_of: str | None = None


@dataclass(frozen=True)
class DeployedExecutionFinished(ExecutionFinished):
    """A deployed execution's end as its state table records it (which knows nothing of replays)."""

    json_order: ClassVar[tuple[str, ...]] = (
        "execution_id",
        "status",
        "outputs",
        "errors",
        "invocations",
        "duration_ms",
    )


@dataclass(frozen=True)
class OutputsCompared(RunEvent):
    """A hot-reload run compared with the one it replayed: which blocks' outputs changed."""

    kind: ClassVar[str] = "outputs_compared"
    base_execution: str = ""
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    only_old: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)
    json_order: ClassVar[tuple[str, ...]] = (
        "base_execution",
        "execution_id",
        "changed",
        "unchanged",
        "only_old",
        "only_new",
    )


@dataclass(frozen=True)
class Watching(Event):
    """The watcher is in place: saves from now on are seen."""

    kind: ClassVar[str] = "watching"
    root: str = ""


@dataclass(frozen=True)
class ProjectReloaded(Event):
    kind: ClassVar[str] = "project_reloaded"
    blocks: int = 0
    warnings: int = 0


@dataclass(frozen=True)
class ProjectInvalid(Event):
    """project.yaml was saved with errors; the last good model (`keeping`) goes on running."""

    kind: ClassVar[str] = "project_invalid"
    errors: list[str] = field(default_factory=list)
    keeping: str | None = None


@dataclass(frozen=True)
class FileChanged(Event):
    """Saved block files: the run is replayed from `replay_from`, the earliest of `blocks` in tree order."""

    kind: ClassVar[str] = "file_changed"
    blocks: list[str] = field(default_factory=list)
    replay_from: str = ""
    base_execution: str | None = None


@dataclass(frozen=True)
class WatchError(Event):
    kind: ClassVar[str] = "watch_error"
    message: str = ""


def invocation_ended(ok: bool, **values: Any) -> InvocationEnded:
    """The finished or failed event of an invocation, as `ok` says."""
    return (InvocationFinished if ok else InvocationFailed)(**values)


DEPLOYED_ENDED_ORDER = (
    "execution_id",
    "invocation_id",
    "block",
    "place",
    "status",
    "duration_ms",
    "output_preview",
    "error",
    "attempt",
    "final",
)


@dataclass(frozen=True)
class DeployedInvocationFinished(InvocationFinished):
    """A deployed invocation's end, rebuilt from its logs (its `--json` line names the place earlier)."""

    json_order: ClassVar[tuple[str, ...]] = DEPLOYED_ENDED_ORDER


@dataclass(frozen=True)
class DeployedInvocationFailed(InvocationFailed):
    json_order: ClassVar[tuple[str, ...]] = DEPLOYED_ENDED_ORDER


def deployed_invocation_ended(ok: bool, **values: Any) -> InvocationEnded:
    return (DeployedInvocationFinished if ok else DeployedInvocationFailed)(**values)


ROW_EVENTS = (InvocationQueued, InvocationStarted, InvocationEnded, InvocationCancelled, Paused)
"""The events that change an invocation's row in a run's table (the latest one of each invocation wins)."""
