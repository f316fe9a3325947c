"""Which log lines to show: by block, execution id, level, text or regular expression, and a time window."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from refinery_tui.cloud.loglines import LogLine

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 60, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class FilterError(ValueError):
    """A filter that cannot be used (a bad regular expression or duration)."""


def since_ms(text: str | None, now: float | None = None) -> int | None:
    """`10m`, `2h`, `30s`, `1d` (a bare number is minutes) before now, in epoch milliseconds."""
    if not text:
        return None
    match = _DURATION.match(text)
    if not match:
        raise FilterError(f"--since {text!r} is not a duration: use 30s, 10m, 2h or 1d")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    return int(((now if now is not None else time.time()) - seconds) * 1000)


@dataclass
class LogFilter:
    blocks: frozenset[str] = frozenset()
    execution: str | None = None
    levels: frozenset[str] = frozenset()
    text: str | None = None
    regex: bool = False

    def __post_init__(self) -> None:
        self._pattern = None
        if self.text and self.regex:
            try:
                self._pattern = re.compile(self.text)
            except re.error as exc:
                raise FilterError(f"/{self.text}/ is not a regular expression: {exc}") from None

    @property
    def empty(self) -> bool:
        return not (self.blocks or self.execution or self.levels or self.text)

    def matches(self, line: LogLine) -> bool:
        if self.blocks and line.block not in self.blocks:
            return False
        if (
            self.execution
            and not (line.execution_id or "").endswith(self.execution)
            and not (line.execution_id or "").startswith(self.execution)
        ):
            return False
        if self.levels and line.level not in self.levels:
            return False
        if self.text:
            if self._pattern is not None:
                return bool(self._pattern.search(line.message))
            return self.text.lower() in line.message.lower()
        return True

    def describe(self) -> str:
        parts = []
        if self.blocks:
            parts.append("block " + ",".join(sorted(self.blocks)))
        if self.execution:
            parts.append(f"execution {self.execution}")
        if self.levels:
            parts.append("level " + ",".join(sorted(self.levels)))
        if self.text:
            parts.append(f"/{self.text}/" if self.regex else f"'{self.text}'")
        return " · ".join(parts) if parts else "everything"
