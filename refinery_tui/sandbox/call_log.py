"""A bounded in-memory record of the AWS calls the sandbox served, for debugging."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    """One request served: which service and operation, the HTTP status, and how long it took."""

    service: str
    operation: str
    status: int
    ms: float


class CallLog:
    """The last `size` calls, oldest first."""

    def __init__(self, size: int = 2000) -> None:
        self._calls: deque[Call] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self._calls)
