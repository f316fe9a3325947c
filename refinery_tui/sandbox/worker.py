"""One warm Lambda worker process: requests and replies as JSON lines on two pipes, its output read line by line."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


class Worker:
    """A started worker process. One invocation at a time; `on_output(line, timestamp_ms)` gets each output line."""

    def __init__(self, setup: WorkerSetup, on_output: Callable[[str, int], None]) -> None:
        self.setup = setup
        self._on_output = on_output
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._drained = threading.Event()
        self._expected = b""
        self._killed = False
        request_read, self._request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        env = dict(setup.env, _SANDBOX_REQUEST_FD=str(request_read), _SANDBOX_REPLY_FD=str(reply_write))
        try:
            self.process = subprocess.Popen(
                setup.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, reply_write),
                env=env,
                cwd=setup.cwd,
                start_new_session=True,
            )
        except BaseException:
            os.close(self._request_write)
            os.close(reply_read)
            raise
        finally:
            os.close(request_read)
            os.close(reply_write)
        self.started = time.monotonic()
        threading.Thread(target=self._read_replies, args=(reply_read,), daemon=True, name="sandbox-replies").start()
        threading.Thread(target=self._read_output, daemon=True, name="sandbox-output").start()

    @property
    def alive(self) -> bool:
        return not self._killed and self.process.poll() is None

    def wait_ready(self, timeout_s: float) -> float:
        """Wait for the handler to be loaded; the init duration in ms."""
        message = self._next_reply(time.monotonic() + timeout_s)
        if not message or not message.get("ready"):
            raise WorkerFailed("crash", self._exit_detail())
        return (time.monotonic() - self.started) * 1000

    def invoke(self, request: dict[str, Any], timeout_s: float) -> Reply:
        request_id = request["requestId"]
        self._expected = request_id.encode()
        self._drained.clear()
        data = (json.dumps(request) + "\n").encode()
        try:
            while data:
                data = data[os.write(self._request_write, data) :]
        except OSError:
            raise WorkerFailed("crash", self._exit_detail()) from None
        message = self._next_reply(time.monotonic() + timeout_s)
        if message is None:
            raise WorkerFailed("crash", self._exit_detail())
        self._drained.wait(DRAIN_GRACE_S)
        return Reply(
            ok=bool(message.get("ok")),
            payload=message.get("payload", "null"),
            error=message.get("error") or {},
            fatal=bool(message.get("fatal")),
        )

    def max_memory_mb(self) -> int:
        """Peak resident memory so far, as Lambda's REPORT line gives it."""
        return _status_kb(self.process.pid, "VmHWM:") // 1024

    def kill(self) -> None:
        """Kill the worker and whatever it started (its process group), and reap it."""
        if self._killed:
            return
        self._killed = True
        # Only while the worker is unreaped: until then its pid cannot name anybody else's process group.
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.close(self._request_write)
        except OSError:
            pass

    def _next_reply(self, deadline: float) -> dict[str, Any] | None:
        limit_kb = self.setup.memory_mb * 1024
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise WorkerFailed("timeout", "timed out")
            try:
                return self._replies.get(timeout=min(remaining, MEMORY_CHECK_S))
            except queue.Empty:
                if _status_kb(self.process.pid, "VmRSS:") > limit_kb:
                    self.kill()
                    raise WorkerFailed("memory", "signal: killed") from None

    def _exit_detail(self) -> str:
        """Kill what is left of a worker that stopped answering, and say how it ended, as Lambda does."""
        self.kill()
        code = self.process.returncode
        if code is not None and code < 0:
            names = {signal.SIGKILL: "killed", signal.SIGABRT: "aborted", signal.SIGSEGV: "segmentation fault"}
            return f"signal: {names.get(-code, f'signal {-code}')}"
        return f"exit status {code}"

    def _read_replies(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as replies:
            for line in replies:
                try:
                    self._replies.put(json.loads(line))
                except ValueError:
                    continue
        self._replies.put(None)

    def _read_output(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        pending = b""
        fd = stream.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._line(line)
            if len(pending) > MAX_LINE_BYTES:
                # A line that never ends: log it in pieces, keeping back enough to hold a split end marker.
                cut = len(pending) - 128
                for start in range(0, cut, MAX_LINE_BYTES):
                    self._emit(pending[start : min(start + MAX_LINE_BYTES, cut)])
                pending = pending[cut:]
        if pending:
            self._line(pending)
        stream.close()
        self._drained.set()

    def _line(self, line: bytes) -> None:
        marker = line.find(END_OF_OUTPUT)
        if marker >= 0:
            text, request_id = line[:marker], line[marker + len(END_OF_OUTPUT) :]
            if text:
                self._emit(text)
            if request_id == self._expected:
                self._drained.set()
        elif line:
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        try:
            self._on_output(line.decode("utf-8", "replace"), int(time.time() * 1000))
        except Exception:
            pass


def _status_kb(pid: int, field_name: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0
