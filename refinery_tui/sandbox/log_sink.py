"""Function output written to CloudWatch Logs (moto's in-process logs backend), in batches."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from moto.logs.models import logs_backends

MAX_EVENT_BYTES = 256 * 1024 - 26
FLUSH_INTERVAL_S = 0.2


@dataclass(frozen=True)
class StreamId:
    """One log stream: where it lives and its group and name."""

    account_id: str
    region: str
    group: str
    name: str


class LogSink:
    """Buffers log events and writes them every FLUSH_INTERVAL_S, or at once on `flush()`."""

    def __init__(self) -> None:
        self._pending: defaultdict[StreamId, list[dict]] = defaultdict(list)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-logs", daemon=True)
        self._thread.start()

    def open(self, stream: StreamId) -> None:
        backend = logs_backends[stream.account_id][stream.region]
        backend.ensure_log_group(stream.group)
        backend.ensure_log_stream(stream.group, stream.name)

    def write(self, stream: StreamId, message: str, timestamp_ms: int | None = None) -> None:
        if len(message) > MAX_EVENT_BYTES // 4 and len(message.encode()) > MAX_EVENT_BYTES:
            message = message.encode()[:MAX_EVENT_BYTES].decode("utf-8", "ignore")
        event = {"timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000), "message": message}
        with self._lock:
            self._pending[stream].append(event)
        self._wake.set()

    def flush(self) -> None:
        with self._write_lock:
            with self._lock:
                batches, self._pending = self._pending, defaultdict(list)
            for stream, events in batches.items():
                self._put(stream, events)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()

    def _put(self, stream: StreamId, events: list[dict]) -> None:
        backend = logs_backends[stream.account_id][stream.region]
        try:
            backend.put_log_events(stream.group, stream.name, events)
        except Exception:
            # The group or stream was deleted while the worker lived: Lambda recreates them, so do we.
            self.open(stream)
            backend.put_log_events(stream.group, stream.name, events)

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait()
            self._wake.clear()
            self._closed.wait(FLUSH_INTERVAL_S)
            try:
                self.flush()
            except Exception:
                pass
