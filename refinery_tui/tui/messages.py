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
