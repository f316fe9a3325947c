"""Warm worker processes for Python and Node blocks, with a timeout, a memory limit and an output cap per call.

A worker that hangs, crashes, floods its output or grows past its memory limit is killed; the call reports it as
the block's error and the pool starts a fresh worker for the next call.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON_WORKER = HERE / "worker_python.py"
NODE_WORKER = HERE / "worker_node.js"
DEFAULT_OUTPUT_CAP = 1 << 20
POLL_S = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class CallResult:
    """What one call of a block gave: a reply like the worker's, plus timings and whether the worker died."""

    ok: bool
    output: Any = None
    backpack: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    stdout: str = ""
    stderr: str = ""
    started: float = 0.0
    ended: float = 0.0
    worker_replaced: bool = False


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "traceback": ""}


class WorkerError(Exception):
    """The worker cannot be started (for example, `node` is not installed)."""


class Worker:
    """One warm process. Not thread-safe: the pool hands it to one caller at a time."""

    def __init__(self, language: str, cwd: Path, memory_ceiling_mb: int, output_cap: int) -> None:
        self.language = language
        self.output_cap = output_cap
        request_read, self._request_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        if language == "python":
            address_space = (memory_ceiling_mb * 2 + 1024) << 20  # a backstop; the RSS limit is checked per call
            command = [
                sys.executable,
                "-u",
                str(PYTHON_WORKER),
                str(request_read),
                str(reply_write),
                str(address_space),
            ]
        else:
            node = shutil.which("node")
            if node is None:
                os.close(request_read)
                os.close(reply_write)
                raise WorkerError("Node blocks need `node` on the PATH; install Node.js 18 or newer")
            command = [
                node,
                f"--max-old-space-size={max(memory_ceiling_mb * 2, 512)}",
                str(NODE_WORKER),
                str(request_read),
                str(reply_write),
            ]
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(request_read, reply_write),
                cwd=cwd,
                start_new_session=True,
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        self._requests = os.fdopen(self._request_write, "wb")
        self._replies: queue.Queue[bytes | None] = queue.Queue()
        self._stray = {"stdout": [], "stderr": []}
        self._stray_size = 0
        self._stray_lock = threading.Lock()
        self.flooded = False
        threading.Thread(target=self._read_replies, daemon=True).start()
        threading.Thread(target=self._read_stray, args=(self.process.stdout, "stdout"), daemon=True).start()
        threading.Thread(target=self._read_stray, args=(self.process.stderr, "stderr"), daemon=True).start()

    def _read_replies(self) -> None:
        with os.fdopen(self._reply_read, "rb") as replies:
            for line in replies:
                self._replies.put(line)
        self._replies.put(None)

    def _read_stray(self, stream, name: str) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            with self._stray_lock:
                self._stray_size += len(chunk)
                if self._stray_size > self.output_cap:
                    self.flooded = True
                else:
                    self._stray[name].append(chunk)

    def _take_stray(self) -> tuple[str, str]:
        with self._stray_lock:
            out = b"".join(self._stray["stdout"]).decode("utf-8", "replace")
            err = b"".join(self._stray["stderr"]).decode("utf-8", "replace")
            self._stray = {"stdout": [], "stderr": []}
            self._stray_size = 0
        return out, err

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/statm") as handle:
                return int(handle.read().split()[1]) * _PAGE / (1 << 20)
        except (OSError, ValueError, IndexError):
            return 0.0

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self._requests, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def _death(self) -> dict[str, Any]:
        code = self.process.wait(timeout=5)
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return _error("WorkerCrashed", f"the block's process was killed by {name}")
        return _error("WorkerCrashed", f"the block's process exited with code {code}")

    def call(
        self, request: dict[str, Any], timeout_s: float, memory_mb: int, cancelled: threading.Event | None = None
    ) -> CallResult:
        started = time.time()
        request = {**request, "cap": self.output_cap}
        try:
            self._requests.write(json.dumps(request, allow_nan=False).encode("utf-8") + b"\n")
            self._requests.flush()
        except (BrokenPipeError, OSError):
            return self._finish(CallResult(False, error=self._death()), started, replaced=True)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._replies.get(timeout=POLL_S)
            except queue.Empty:
                line = b""
            if line is None:
                return self._finish(CallResult(False, error=self._death()), started, replaced=True)
            if line:
                reply = json.loads(line)
                result = CallResult(
                    bool(reply.get("ok")),
                    reply.get("output"),
                    reply.get("backpack"),
                    reply.get("error"),
                    reply.get("stdout", ""),
                    reply.get("stderr", ""),
                )
                if self.flooded:
                    self.kill()
                    result = CallResult(
                        False,
                        error=_error("OutputFlood", f"the block printed more than {self.output_cap} bytes"),
                        stdout=result.stdout,
                        stderr=result.stderr,
                    )
                    return self._finish(result, started, replaced=True)
                return self._finish(result, started)
            problem = None
            if cancelled is not None and cancelled.is_set():
                problem = _error("Cancelled", "the run was cancelled")
            elif time.monotonic() > deadline:
                problem = _error("Timeout", f"the block ran longer than its timeout of {timeout_s:g} s")
            elif self.flooded:
                problem = _error("OutputFlood", f"the block printed more than {self.output_cap} bytes")
            elif memory_mb and self.rss_mb() > memory_mb:
                problem = _error("OutOfMemory", f"the block used more than its memory limit of {memory_mb} MB")
            elif not self.alive:
                return self._finish(CallResult(False, error=self._death()), started, replaced=True)
            if problem is not None:
                self.kill()
                return self._finish(CallResult(False, error=problem), started, replaced=True)

    def _finish(self, result: CallResult, started: float, replaced: bool = False) -> CallResult:
        stray_out, stray_err = self._take_stray()
        result.stdout += stray_out
        result.stderr += stray_err
        result.started, result.ended = started, time.time()
        result.worker_replaced = replaced
        return result


class WorkerPool:
    """Idle workers by language; a caller takes one, calls it, and gives it back (dead ones are dropped)."""

    def __init__(self, cwd: Path, memory_ceiling_mb: int = 1024, output_cap: int = DEFAULT_OUTPUT_CAP) -> None:
        self.cwd = cwd
        self.memory_ceiling_mb = memory_ceiling_mb
        self.output_cap = output_cap
        self._idle: dict[str, list[Worker]] = {}
        self._busy: set[Worker] = set()
        self._lock = threading.Lock()
        self.started = 0

    def acquire(self, language: str) -> Worker:
        with self._lock:
            idle = self._idle.setdefault(language, [])
            while idle:
                worker = idle.pop()
                if worker.alive:
                    self._busy.add(worker)
                    return worker
        worker = Worker(language, self.cwd, self.memory_ceiling_mb, self.output_cap)
        with self._lock:
            self.started += 1
            self._busy.add(worker)
        return worker

    def release(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if worker.alive and not worker.flooded:
                self._idle.setdefault(worker.language, []).append(worker)
                return
        worker.kill()

    def call(
        self,
        language: str,
        request: dict[str, Any],
        timeout_s: float,
        memory_mb: int,
        cancelled: threading.Event | None = None,
    ) -> CallResult:
        try:
            worker = self.acquire(language)
        except (WorkerError, OSError) as exc:
            now = time.time()
            return CallResult(False, error=_error("WorkerUnavailable", str(exc)), started=now, ended=now)
        try:
            return worker.call(request, timeout_s, memory_mb, cancelled)
        finally:
            self.release(worker)

    def shutdown(self) -> None:
        with self._lock:
            workers = [w for group in self._idle.values() for w in group] + list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for worker in workers:
            worker.kill()
