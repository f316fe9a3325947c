"""One warm Lambda worker (a function's execution environment) over processes/: the bootstrap's ready handshake,
its invocations, and its output read line by line into the function's log."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refinery_tui.processes.warm_process import ProcessEnded, WarmProcess

# The bootstraps write this (and the request id) to stdout once an invocation's output is complete.
END_OF_OUTPUT = b"\x1e\x1esandbox-invocation-end "
DRAIN_GRACE_S = 2.0
MEMORY_CHECK_S = 0.1
MAX_LINE_BYTES = 256 * 1024


@dataclass
class WorkerSetup:
    """How to start a worker: its command, environment and directory, and the memory it may use."""

    command: list[str]
    env: dict[str, str]
    cwd: Path
    memory_mb: int


@dataclass
class Reply:
    """What the bootstrap answered: a JSON payload, or an error as Lambda reports it (`fatal`: the worker exits)."""

    ok: bool
    payload: str = "null"
    error: dict[str, Any] = field(default_factory=dict)
    fatal: bool = False


class WorkerFailed(Exception):
    """The worker died, ran out of time, or grew past its memory: `kind` is "crash", "timeout" or "memory"."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class LogLines:
    """The worker's output (stdout and stderr together) cut into log lines; an invocation's end marker says that
    all of its output has been read."""

    overflowed = False

    def __init__(self, on_line: Callable[[str, int], None]) -> None:
        self._on_line = on_line
        self._pending = b""
        self.expected = b""
        self.drained = threading.Event()

    def feed(self, stream: str, chunk: bytes) -> None:
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._line(line)
        if len(self._pending) > MAX_LINE_BYTES:
            # A line that never ends: log it in pieces, keeping back enough to hold a split end marker.
            cut = len(self._pending) - 128
            for start in range(0, cut, MAX_LINE_BYTES):
                self._emit(self._pending[start : min(start + MAX_LINE_BYTES, cut)])
            self._pending = self._pending[cut:]

    def ended(self, stream: str) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending = b""
        self.drained.set()

    def _line(self, line: bytes) -> None:
        marker = line.find(END_OF_OUTPUT)
        if marker >= 0:
            text, request_id = line[:marker], line[marker + len(END_OF_OUTPUT) :]
            if text:
                self._emit(text)
            if request_id == self.expected:
                self.drained.set()
        elif line:
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        try:
            self._on_line(line.decode("utf-8", "replace"), int(time.time() * 1000))
        except Exception:  # noqa: BLE001 - a log line that cannot be written must not stop the reading
            pass


class FunctionWorker:
    """A started worker process. One invocation at a time; `on_output(line, timestamp_ms)` gets each output line."""

    def __init__(self, setup: WorkerSetup, on_output: Callable[[str, int], None]) -> None:
        self.setup = setup
        self._log = LogLines(on_output)
        self.process = WarmProcess(
            setup.command, cwd=setup.cwd, env=setup.env, output=self._log, merge_stderr=True, supervised=True
        )

    @property
    def alive(self) -> bool:
        return self.process.alive

    def wait_ready(self, timeout_s: float) -> float:
        """Wait for the handler to be loaded; the init duration in ms."""
        message = self._next_reply(timeout_s)
        if not message.get("ready"):
            raise WorkerFailed("crash", self._exit_detail())
        return (time.monotonic() - self.process.started) * 1000

    def invoke(self, request: dict[str, Any], timeout_s: float) -> Reply:
        self._log.expected = request["requestId"].encode()
        self._log.drained.clear()
        try:
            self.process.send(json.dumps(request).encode())
        except ProcessEnded:
            raise WorkerFailed("crash", self._exit_detail()) from None
        message = self._next_reply(timeout_s)
        self._log.drained.wait(DRAIN_GRACE_S)
        return Reply(
            ok=bool(message.get("ok")),
            payload=message.get("payload", "null"),
            error=message.get("error") or {},
            fatal=bool(message.get("fatal")),
        )

    def max_memory_mb(self) -> int:
        """Peak resident memory so far, as Lambda's REPORT line gives it."""
        return self.process.peak_rss_mb()

    def kill(self) -> None:
        """Kill the worker and whatever it started (its process group), and reap it."""
        self.process.kill()

    def _next_reply(self, timeout_s: float) -> dict[str, Any]:
        try:
            return self.process.wait_reply(timeout_s, self.setup.memory_mb, poll_s=MEMORY_CHECK_S)
        except ProcessEnded as ended:
            if ended.kind == "timeout":
                raise WorkerFailed("timeout", "timed out") from None
            if ended.kind == "memory":
                raise WorkerFailed("memory", "signal: killed") from None
            raise WorkerFailed("crash", self._exit_detail()) from None

    def _exit_detail(self) -> str:
        """Kill what is left of a worker that stopped answering, and say how it ended, as Lambda does."""
        self.process.kill()
        code = self.process.returncode
        if code is not None and code < 0:
            names = {signal.SIGKILL: "killed", signal.SIGABRT: "aborted", signal.SIGSEGV: "segmentation fault"}
            return f"signal: {names.get(-code, f'signal {-code}')}"
        return f"exit status {code}"
