"""Messages that workers and widgets post; every state change in the app happens in a handler of one of these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message

from refinery_tui.local.controller import ExecutionResult
from refinery_tui.model.validator import ValidationResult


class RunEventsReady(Message, bubble=False):
    """Executor events are waiting in the Run pane's queue (posted once per batch)."""


@dataclass
class RunFinished(Message, bubble=False):
    result: ExecutionResult | None
    error: str | None = None


class ProblemsWanted(Message):
    """A run could not start because the project has errors: show the Problems pane."""


@dataclass
class Validated(Message):
    result: ValidationResult


@dataclass
class FilesChanged(Message):
    """Files changed on disk (from the watcher); the app decides what that means for open editors and runs."""

    paths: list[Path]


@dataclass
class OpenFile(Message):
    path: Path
    line: int | None = None
    column: int | None = None


@dataclass
class BlockSelected(Message):
    block: str


@dataclass
class FileSaved(Message):
    path: Path


@dataclass
class InvocationChosen(Message):
    invocation_id: str
    record: Any = None


@dataclass
class Compared(Message, bubble=False):
    """Which blocks' outputs changed from the run an execution follows."""

    execution_id: str
    changed: set[str]
    records: list[Any]


@dataclass
class DeployPlanned(Message):
    """A deploy plan (or, with `teardown`, the list of what a teardown deletes) was computed on a worker."""

    plan: Any
    deployer: Any
    target: Any
    teardown: bool = False
    then: str | None = None  # "confirm": ask to apply it; "apply": apply it at once (a retry)


class DeployEventsReady(Message):
    """Apply events (resource started, step done, failed...) are waiting in the Deploy pane's queue."""


@dataclass
class DeployFinished(Message):
    """An apply or a teardown ended; `left` lists what a teardown could not delete."""

    result: Any
    target: Any
    teardown: bool = False
    left: list[str] | None = None
    write_calls: int = 0


@dataclass
class DeployFailed(Message):
    """A plan, apply or teardown could not run: `error` says why, in words (never a traceback)."""

    operation: str  # plan, teardown-plan, apply or teardown
    error: str
    target: Any = None


class AwsCallsReady(Message):
    """AWS calls were made (the command log's queue has new lines)."""


@dataclass
class InvokeEntriesLoaded(Message):
    """The blocks an execution can start at (name → its manifest entry), or why there are none."""

    entries: dict[str, dict[str, Any]]
    problem: str | None = None


@dataclass
class InvokeFailed(Message):
    """An invoke could not start (no target, the stage not deployed, AWS refused): `error` says why, in words."""

    error: str


@dataclass
class CloudExecutionStarted(Message):
    """A deployed execution was started (`started`: the Invoker's Started, with the API reply if any)."""

    started: Any
    target: Any
    sync: bool = False


@dataclass
class CloudExecutionUpdated(Message):
    """New log lines of a followed execution: `run` is a copy of its CloudRun, rebuilt so far."""

    run: Any


@dataclass
class CloudExecutionFinished(Message):
    """Following ended: `execution` is the CloudExecution read from the state table (None when it did not end),
    `error` why following failed, `note` why it stopped early."""

    execution_id: str
    run: Any
    execution: Any = None
    error: str | None = None
    note: str | None = None


@dataclass
class CloudExecutionSelected(Message):
    """Show this cloud execution (a CloudRun, and its CloudExecution if known) in the tree and the Run pane."""

    run: Any
    execution: Any = None
    stage: str = ""
    invocation_id: str | None = None  # the row to put the cursor on


class LogLinesReady(Message):
    """Log lines read by the tail are waiting in the Logs pane's queue (posted once per batch, never per line)."""


@dataclass
class LogsConnected(Message):
    """The Logs pane's tail reached the stage: its log groups (group → block) and which of them do not exist."""

    target: Any
    groups: dict[str, Any]
    missing: set[str]
    mode: str


@dataclass
class LogsFailed(Message):
    """The tail could not start or stopped: `error` says why, in words."""

    error: str
    target: Any = None


@dataclass
class RecentExecutionsLoaded(Message):
    """The stage's recent executions (newest first), for the Invoke pane's picker; or why they could not be read."""

    executions: list[Any]
    error: str | None = None


@dataclass
class ProjectStateChanged(Message):
    """The ProjectState changed: `what` holds "project" (model, problems, manifest) and/or "target"."""

    what: set[str]


@dataclass
class BlockSettingsWanted(Message):
    """Show the settings of this block (Enter on a block without code, `i` in the tree)."""

    block: str


@dataclass
class RerunWanted(Message):
    """These blocks' code changed (saved here or on disk): a run may re-run from the earliest of them."""

    blocks: list[str]
