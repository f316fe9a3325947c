"""Warm worker processes for Python and Node blocks (over processes/), with a timeout, memory limit and output cap.

A worker that hangs, crashes, floods its output or grows past its memory limit is killed; the call reports it as
the block's error and the pool starts a fresh worker for the next call.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refinery_tui.processes.warm_process import CappedOutput, ProcessEnded, WarmProcess

HERE = Path(__file__).resolve().parent
PYTHON_WORKER = HERE / "worker_python.py"
NODE_WORKER = HERE / "worker_node.js"
DEFAULT_OUTPUT_CAP = 1 << 20
POLL_S = 0.02
DRAIN_GRACE_S = 0.5


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


class BlockWorker:
    """One warm process running blocks of one language. Not thread-safe: the pool hands it to one caller at a time."""

    def __init__(self, language: str, cwd: Path, memory_ceiling_mb: int, output_cap: int) -> None:
        self.language = language
        self.output_cap = output_cap
        if language == "python":
            address_space = (memory_ceiling_mb * 2 + 1024) << 20  # a backstop; the RSS limit is checked per call
            command = [sys.executable, "-u", str(PYTHON_WORKER), str(address_space)]
        else:
            node = shutil.which("node")
            if node is None:
                raise WorkerError("Node blocks need `node` on the PATH; install Node.js 18 or newer")
            command = [node, f"--max-old-space-size={max(memory_ceiling_mb * 2, 512)}", str(NODE_WORKER)]
        self._output = CappedOutput(output_cap)
        self.process = WarmProcess(command, cwd=cwd, output=self._output, supervised=True)

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def flooded(self) -> bool:
        return self._output.overflowed

    def kill(self) -> None:
        self.process.kill()

    def _problem(self, kind: str, timeout_s: float, memory_mb: int) -> dict[str, Any]:
        """The block's error for a call the worker did not answer (it has been killed)."""
        if kind == "cancelled":
            return _error("Cancelled", "the run was cancelled")
        if kind == "timeout":
            return _error("Timeout", f"the block ran longer than its timeout of {timeout_s:g} s")
        if kind == "flood":
            return _error("OutputFlood", f"the block printed more than {self.output_cap} bytes")
        if kind == "memory":
            return _error("OutOfMemory", f"the block used more than its memory limit of {memory_mb} MB")
        code = self.process.returncode or 0
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            message = f"the block's process was killed by {name}"
        else:
            message = f"the block's process exited with code {code}"
        self._output.drained.wait(DRAIN_GRACE_S)  # its last words may still be in the pipe
        last_words = self._output.stderr_tail()
        return _error("WorkerCrashed", f"{message}: {last_words}" if last_words else message)

    def call(
        self, request: dict[str, Any], timeout_s: float, memory_mb: int, cancelled: threading.Event | None = None
    ) -> CallResult:
        started = time.time()
        request = {**request, "cap": self.output_cap}
        try:
            self.process.send(json.dumps(request, allow_nan=False).encode("utf-8"))
            reply = self.process.wait_reply(timeout_s, memory_mb, cancelled=cancelled, poll_s=POLL_S)
        except ProcessEnded as ended:
            error = self._problem(ended.kind, timeout_s, memory_mb)
            return self._finish(CallResult(False, error=error), started, replaced=True)
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

    def _finish(self, result: CallResult, started: float, replaced: bool = False) -> CallResult:
        stray_out, stray_err = self._output.take()
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
        self._idle: dict[str, list[BlockWorker]] = {}
        self._busy: set[BlockWorker] = set()
        self._lock = threading.Lock()
        self.started = 0

    def acquire(self, language: str) -> BlockWorker:
        with self._lock:
            idle = self._idle.setdefault(language, [])
            while idle:
                worker = idle.pop()
                if worker.alive:
                    self._busy.add(worker)
                    return worker
        worker = BlockWorker(language, self.cwd, self.memory_ceiling_mb, self.output_cap)
        with self._lock:
            self.started += 1
            self._busy.add(worker)
        return worker

    def release(self, worker: BlockWorker) -> None:
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
            idle = [w for group in self._idle.values() for w in group]
            busy = list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for worker in busy:
            worker.kill()
        for worker in idle:  # all asked to end at once (each takes what it started with it), then each waited for
            worker.process.close_requests()
        for worker in idle:
            worker.process.stop()
