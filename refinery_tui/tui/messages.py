"""Messages that workers and widgets post; every state change in the app happens in a handler of one of these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message

from refinery_tui.local.executor import Event, ExecutionResult
from refinery_tui.model.validator import ValidationResult


@dataclass
class RunEvent(Message):
    """An event from the executor (invocation started, finished, paused, ...), posted from a worker thread."""

    event: Event


class RunEventsReady(Message):
    """Executor events are waiting in the app's queue (posted once per batch)."""


@dataclass
class RunFinished(Message):
    result: ExecutionResult | None
    error: str | None = None


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
class Compared(Message):
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
