"""A bounded in-memory record of the AWS requests the sandbox served, for debugging."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class ServedRequest:
    """One request served: which service and operation, the HTTP status, and how long it took."""

    service: str
    operation: str
    status: int
    ms: float


class RequestLog:
    """The last `size` requests served, oldest first."""

    def __init__(self, size: int = 2000) -> None:
        self._requests: deque[ServedRequest] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, request: ServedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def snapshot(self) -> list[ServedRequest]:
        with self._lock:
            return list(self._requests)
