"""The Logs pane's tail, on a worker thread: open the stage, read its log groups' recent lines, then follow them,
handing lines to the UI in batches (a burst is one message)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from refinery_tui.cloud.loglines import LogLine
from refinery_tui.cloud.stage import StageTarget
from refinery_tui.tui.deploy_target import connect, readable
from refinery_tui.tui.logbuffer import MAX_LINES, Clock, Entry, prepare
from refinery_tui.tui.messages import LogLinesReady, LogsConnected, LogsFailed

SINCE = "10m"
"""How far back the tail starts: the lines of the last ten minutes show at once."""
INTERVAL_S = 1.0
"""Seconds between polls (FilterLogEvents) when the endpoint has no live tail."""


class LogsDriver:
    """What the tail's thread calls: each method only queues data or posts a message. `emit` formats the lines
    there, so the UI only appends them; a burst reaches the UI as one message."""

    def __init__(self, pane: Any, limit: int = MAX_LINES) -> None:
        self.pane = pane
        self.limit = limit
        self.stale = False
        self.tail = None
        self._entries: list[Entry] = []
        self._lock = threading.Lock()
        self._pending = False
        self._overflow = 0
        self._clock = Clock()

    def emit(self, lines: list[LogLine]) -> None:
        if self.stale or not lines:
            return
        entries = prepare(lines, self._clock)
        with self._lock:
            self._entries.extend(entries)
            over = len(self._entries) - self.limit
            if over > 0:  # the UI is far behind: what it could not keep anyway goes now
                del self._entries[:over]
                self._overflow += over
            if self._pending:
                return
            self._pending = True
        self.pane.post_message(LogLinesReady())

    def take(self) -> tuple[list[Entry], int]:
        with self._lock:
            entries, self._entries = self._entries, []
            overflow, self._overflow = self._overflow, 0
            self._pending = False
        return entries, overflow

    def connected(self, target: StageTarget, groups: dict, missing: set[str], mode: str) -> None:
        if not self.stale:
            self.pane.post_message(LogsConnected(target, groups, missing, mode))

    def failed(self, error: str, target: StageTarget) -> None:
        if not self.stale:
            self.pane.post_message(LogsFailed(error, target))


def tail_stage(root: Path, target: StageTarget, driver: LogsDriver, stop: threading.Event) -> None:
    """Open the stage and tail its log groups until `stop` is set (run on a worker thread); every failure is a
    readable line for the pane."""
    from refinery_tui.cloud.logfilter import since_ms
    from refinery_tui.cloud.logtail import LogTail

    try:
        stage = connect(root, target)
        groups = stage.log_groups()
        tail = LogTail(stage.aws, groups, since_ms(SINCE), interval_s=INTERVAL_S)
        driver.tail = tail
        first = tail.poll()  # the recent lines, and which groups exist, before following
        driver.connected(target, groups, set(tail.missing_groups), tail.mode)
        driver.emit(first)
        tail.follow(driver.emit, stop)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable line in the pane
        if not stop.is_set():
            driver.failed(readable(exc, target), target)
