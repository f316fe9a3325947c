"""One CloudWatch log event as the workbench shows it: time, block, execution, level, message, and its record."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "PLATFORM")
_PLATFORM = ("START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_START", "EXTENSION")
_NODE = re.compile(r"^\S+\t\S+\t(DEBUG|INFO|WARN|ERROR|TRACE|FATAL)\t")
_PYTHON = re.compile(r"^\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\]\t")
_SHORT = {"WARNING": "WARN", "CRITICAL": "ERROR", "FATAL": "ERROR", "TRACE": "DEBUG"}


@dataclass
class LogLine:
    group: str
    stream: str
    timestamp: int
    event_id: str
    message: str
    block: str | None = None
    record: dict[str, Any] | None = None
    level: str = "INFO"
    execution_id: str | None = None
    invocation_id: str | None = None
    sampled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.event_id)

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (self.timestamp, self.stream, self.event_id)

    @property
    def kind(self) -> str | None:
        """The runtime's record kind (start, end, transition, skipped, execution_finished, ...), if it is one."""
        return self.record.get("refinery") if self.record else None

    def to_json(self) -> dict[str, Any]:
        data = {
            "time": self.timestamp,
            "group": self.group,
            "stream": self.stream,
            "id": self.event_id,
            "block": self.block,
            "execution_id": self.execution_id,
            "invocation_id": self.invocation_id,
            "level": self.level,
            "message": self.message,
        }
        if self.record is not None:
            data["record"] = self.record
        if self.sampled:
            data["sampled"] = True
        return data


def level_of(message: str, record: dict[str, Any] | None) -> str:
    if record is not None:
        failed = (
            record.get("status") == "failed"
            or record.get("refinery") == "execution_failing"
            or (record.get("refinery") == "execution_finished" and record.get("status") == "failed")
        )
        return "ERROR" if failed else "INFO"
    if message.startswith(_PLATFORM):
        return "PLATFORM"
    match = _NODE.match(message) or _PYTHON.match(message)
    if match:
        return _SHORT.get(match.group(1), match.group(1))
    if message.startswith(("Traceback", "Task timed out")) or "Runtime.ImportModuleError" in message:
        return "ERROR"
    return "INFO"


def parse_record(message: str) -> dict[str, Any] | None:
    """The runtime's structured line, or None for anything else (user output, platform lines)."""
    text = message.strip()
    if not text.startswith('{"refinery"'):
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("refinery"), str) else None


class StreamAttribution:
    """User output between an invocation's start and end lines belongs to that invocation (a Lambda container runs
    one invocation at a time, so one stream's lines come in order)."""

    def __init__(self) -> None:
        self.current: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def apply(self, line: LogLine) -> LogLine:
        where = (line.group, line.stream)
        record = line.record
        if record is not None:
            line.execution_id = record.get("execution_id")
            line.invocation_id = record.get("invocation_id")
            if record.get("refinery") == "start":
                self.current[where] = (line.execution_id, line.invocation_id)
            elif record.get("refinery") == "end":
                self.current.pop(where, None)
        elif line.level != "PLATFORM":
            line.execution_id, line.invocation_id = self.current.get(where, (None, None))
        return line


def make_line(group: str, stream: str, timestamp: int, event_id: str, message: str, block: str | None) -> LogLine:
    message = message.rstrip("\n")
    record = parse_record(message)
    line = LogLine(group, stream, int(timestamp), event_id, message, block, record, level_of(message, record))
    if record is not None:
        line.execution_id = record.get("execution_id")
        line.invocation_id = record.get("invocation_id")
    return line
