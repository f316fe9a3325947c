"""The AWS command log (lazygit's `@`): one line per AWS call the workbench made, the last MAX_CALLS kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from textual.widgets import Log

MAX_CALLS = 2_000


def call_line(call: Any) -> str:
    """`ok  lambda CreateFunction 12 ms my-fn`, or `ERR lambda CreateFunction 12 ms <error> my-fn`: the parts
    that matter first (a narrow panel cuts the end), readable without colour."""
    state = "ok " if call.ok else "ERR"
    error = f" {call.error}" if not call.ok and call.error else ""
    target = call.target or ""
    if target.startswith("arn:"):
        target = target.split(":", 5)[-1]  # the resource part: function:my-fn
    return f"{state} {call.service} {call.operation} {call.ms:.0f} ms{error} {target}".rstrip()


class CallQueue:
    """Calls recorded on worker threads, waiting for the UI; `notify` is called once per batch, not per call."""

    def __init__(self, notify: Callable[[], Any]) -> None:
        self._notify = notify
        self._calls: list[Any] = []
        self._lock = threading.Lock()
        self._pending = False

    def add(self, call: Any) -> None:
        with self._lock:
            self._calls.append(call)
            if self._pending:
                return
            self._pending = True
        self._notify()

    def take(self) -> list[Any]:
        with self._lock:
            calls, self._calls = self._calls[-MAX_CALLS:], []
            self._pending = False
        return calls


class CommandLog(Log):
    """Every AWS call: service, operation, target, milliseconds, ok or the error code."""

    ALLOW_MAXIMIZE = True

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=MAX_CALLS, auto_scroll=True, **kwargs)
        self.calls_seen = 0
        self.border_title = f"AWS calls (the last {MAX_CALLS:,} kept)"

    def add_calls(self, calls: list[Any]) -> None:
        if not calls:
            return
        self.calls_seen += len(calls)
        self.write_lines([call_line(call) for call in calls])
        self.border_subtitle = f"{self.calls_seen:,} calls"
