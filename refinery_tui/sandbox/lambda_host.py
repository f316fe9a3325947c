"""Runs deployed Lambda zips in warm worker processes, like Lambda's containers: pooled, bounded, timed, logged."""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .activity import Activity
from .code_cache import CodeCache
from .function_worker import FunctionWorker, WorkerFailed, WorkerSetup
from .functions import FunctionSpec
from .log_sink import LogSink, StreamId

HERE = Path(__file__).resolve().parent
PYTHON_BOOTSTRAP = HERE / "bootstrap_python.py"
NODE_BOOTSTRAP = HERE / "bootstrap_node.js"
INIT_TIMEOUT_S = 10.0
# Address space above MemorySize a Python worker may map: the interpreter, thread stacks, shared libraries.
PYTHON_ADDRESS_HEADROOM_MB = 1024
LOG_TAIL_BYTES = 4096
TAIL_LINES = 200


@dataclass
class InvocationResult:
    """How one invocation ended: the JSON payload it returned, or the error Lambda would report."""

    request_id: str
    payload: bytes
    error: dict[str, Any] | None = None
    log_tail: str = ""
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


class _Slots:
    """First come, first served admission of at most `limit` invocations at a time."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._running = 0
        self._waiting: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()

    def enter(self, start: Callable[[], None]) -> None:
        with self._lock:
            admitted = self._running < self._limit and not self._waiting
            if admitted:
                self._running += 1
            else:
                self._waiting.append(start)
        if admitted:
            start()

    def leave(self) -> None:
        with self._lock:
            following = self._waiting.popleft() if self._waiting else None
            if following is None:
                self._running -= 1
        if following is not None:
            following()


@dataclass
class _Warm:
    key: tuple[str, str]
    worker: FunctionWorker
    stream: StreamId
    init_ms: float | None
    lines: deque[str] | None = None


class _Pool:
    """The workers of one function version: at most `limit` at a time, idle ones kept warm for reuse."""

    def __init__(self, limit: int) -> None:
        self.slots = _Slots(limit)
        self._idle: list[_Warm] = []
        self._lock = threading.Lock()
        self._current: tuple[str, str] | None = None

    def take(self, key: tuple[str, str]) -> _Warm | None:
        with self._lock:
            self._current = key
            stale = [warm for warm in self._idle if warm.key != key or not warm.worker.alive]
            self._idle = [warm for warm in self._idle if warm.key == key and warm.worker.alive]
            found = self._idle.pop() if self._idle else None
        for warm in stale:
            warm.worker.kill()
        return found

    def give_back(self, warm: _Warm) -> None:
        with self._lock:
            if warm.key == self._current and warm.worker.alive:
                self._idle.append(warm)
                return
        warm.worker.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for warm in idle:
            warm.worker.kill()


class LambdaHost:
    """Invokes functions synchronously (`invoke`) or in the background (`submit`), `workers_per_function` at a time."""

    def __init__(
        self,
        cache: CodeCache,
        sink: LogSink,
        activity: Activity,
        endpoint_url: str,
        workers_per_function: int = 4,
        *,
        role_credentials: Callable[[str], dict[str, str]],
    ) -> None:
        self._role_credentials = role_credentials
        self._cache = cache
        self._sink = sink
        self._activity = activity
        self._endpoint_url = endpoint_url
        self._limit = workers_per_function
        self._pools: dict[tuple[str, str, str, str], _Pool] = {}
        self._busy: set[FunctionWorker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def invoke(
        self,
        spec: FunctionSpec,
        event: Any,
        *,
        invoked_arn: str | None = None,
        client_context: Any = None,
        request_id: str | None = None,
    ) -> InvocationResult:
        request_id = request_id or str(uuid.uuid4())
        self._activity.begin_invocation()
        try:
            pool = self._pool(spec)
            admitted = threading.Event()
            pool.slots.enter(admitted.set)
            admitted.wait()
            try:
                return self._run(pool, spec, event, invoked_arn or spec.arn, client_context, request_id)
            finally:
                pool.slots.leave()
        finally:
            self._activity.end_invocation()

    def submit(
        self,
        spec: FunctionSpec,
        event: Any,
        *,
        invoked_arn: str | None = None,
        on_done: Callable[[InvocationResult], None] | None = None,
    ) -> str:
        """Queue an invocation; `on_done` runs before the sandbox counts it finished."""
        request_id = str(uuid.uuid4())
        self._activity.begin_invocation()
        pool = self._pool(spec)

        def run() -> None:
            try:
                result = self._run(pool, spec, event, invoked_arn or spec.arn, None, request_id)
                if on_done is not None:
                    on_done(result)
            except Exception:
                pass
            finally:
                pool.slots.leave()
                self._activity.end_invocation()

        pool.slots.enter(lambda: threading.Thread(target=run, daemon=True, name="sandbox-async").start())
        return request_id

    def forget(self, region: str, name: str) -> None:
        """Stop the idle workers of a deleted function."""
        with self._lock:
            pools = [pool for key, pool in self._pools.items() if key[1] == region and key[2] == name]
        for pool in pools:
            pool.close()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            pools, busy = list(self._pools.values()), list(self._busy)
        for pool in pools:
            pool.close()
        for worker in busy:
            worker.kill()

    def _pool(self, spec: FunctionSpec) -> _Pool:
        key = (spec.account_id, spec.region, spec.name, spec.version)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = _Pool(self._limit)
            return pool

    def _run(
        self, pool: _Pool, spec: FunctionSpec, event: Any, invoked_arn: str, client_context: Any, request_id: str
    ) -> InvocationResult:
        started = time.monotonic()
        if self._closed:
            return _failure(request_id, "Sandbox.Stopped", "The sandbox is shutting down")
        key = (spec.code.digest, spec.config_key)
        warm = pool.take(key)
        if warm is None:
            try:
                warm = self._start(spec, key)
            except WorkerFailed as failure:
                return _failure(
                    request_id,
                    "Runtime.ExitError",
                    f"RequestId: {request_id} Error: Runtime exited with error: {failure.detail}",
                )
            except _Unsupported as unsupported:
                return _failure(request_id, "Runtime.InvalidRuntime", str(unsupported))
            except Exception as error:
                return _failure(request_id, "Sandbox.Error", f"Cannot start the function: {error}")
        with self._lock:
            self._busy.add(warm.worker)
        warm.lines = deque(maxlen=TAIL_LINES)
        log = self._logger(warm)
        log(f"START RequestId: {request_id} Version: {spec.version}")
        request = {
            "requestId": request_id,
            "event": event,
            "invokedFunctionArn": invoked_arn,
            "deadlineMs": int(time.time() * 1000) + spec.timeout * 1000,
            "clientContext": client_context,
        }
        began = time.monotonic()
        status = ""
        try:
            reply = warm.worker.invoke(request, spec.timeout)
            payload, error = reply.payload.encode(), (None if reply.ok else reply.error)
            if reply.fatal:
                warm.worker.kill()
        except WorkerFailed as failure:
            payload, error, status = b"", *_worker_error(failure, request_id, spec.timeout)
            if failure.kind == "timeout":
                log(f"{_iso_now()} {request_id} Task timed out after {spec.timeout:.2f} seconds")
        duration = (time.monotonic() - began) * 1000
        log(f"END RequestId: {request_id}")
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: "
            f"{int(duration) + 1} ms\tMemory Size: {spec.memory_mb} MB\tMax Memory Used: "
            f"{warm.worker.max_memory_mb() or '-'} MB"
        )
        if warm.init_ms is not None:
            report += f"\tInit Duration: {warm.init_ms:.2f} ms"
            warm.init_ms = None
        log(report + (f"\tStatus: {status}" if status else ""))
        lines, warm.lines = warm.lines, None
        with self._lock:
            self._busy.discard(warm.worker)
            closed = self._closed
        if closed:
            warm.worker.kill()
        else:
            pool.give_back(warm)
        self._sink.flush()
        if error is not None:
            payload = _error_payload(error)
        tail = "\n".join(lines or []).encode()[-LOG_TAIL_BYTES:].decode("utf-8", "ignore")
        return InvocationResult(request_id, payload, error, tail, (time.monotonic() - started) * 1000)

    def _logger(self, warm: _Warm) -> Callable[[str], None]:
        def log(line: str) -> None:
            self._write_line(warm, line, int(time.time() * 1000))

        return log

    def _write_line(self, warm: _Warm, line: str, timestamp_ms: int) -> None:
        self._sink.write(warm.stream, line, timestamp_ms)
        lines = warm.lines
        if lines is not None:
            lines.append(line)

    def _start(self, spec: FunctionSpec, key: tuple[str, str]) -> _Warm:
        now = datetime.datetime.now(datetime.UTC)
        stream = StreamId(
            spec.account_id, spec.region, spec.log_group, f"{now:%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
        )
        self._sink.open(stream)
        setup = self._setup(spec, stream.name)
        holder: list[_Warm] = []
        worker = FunctionWorker(setup, lambda line, ts: self._write_line(holder[0], line, ts) if holder else None)
        with self._lock:
            closed = self._closed
            if not closed:
                self._busy.add(worker)  # from its start: shutdown() kills a worker still loading its handler
        if closed:
            worker.kill()
            raise WorkerFailed("crash", "the sandbox is shutting down")
        warm = _Warm(key, worker, stream, None)
        holder.append(warm)
        try:
            warm.init_ms = worker.wait_ready(INIT_TIMEOUT_S)
        except WorkerFailed:
            worker.kill()
            with self._lock:
                self._busy.discard(worker)
            raise
        return warm

    def _setup(self, spec: FunctionSpec, stream_name: str) -> WorkerSetup:
        root = self._cache.path(spec.code)
        layers = [self._cache.path(layer) for layer in spec.layers]
        env = {
            "PATH": os.pathsep.join([*(str(layer / "bin") for layer in layers), os.environ.get("PATH", os.defpath)]),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "MALLOC_ARENA_MAX": "2",
            "PYTHONUNBUFFERED": "1",
            "AWS_ENDPOINT_URL": self._endpoint_url,
        }
        env.update(spec.environment)
        env.pop("AWS_SESSION_TOKEN", None)
        env.update(self._role_credentials(spec.role))
        env.update(
            {
                "AWS_REGION": spec.region,
                "AWS_DEFAULT_REGION": spec.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream_name,
                "LAMBDA_TASK_ROOT": str(root),
                "LAMBDA_RUNTIME_DIR": str(HERE),
                "_HANDLER": spec.handler,
            }
        )
        if spec.runtime.startswith("python"):
            version = f"{sys.version_info.major}.{sys.version_info.minor}"
            env["_SANDBOX_PYTHONPATH"] = os.pathsep.join(
                str(path)
                for layer in layers
                for path in (layer / "python", layer / "python" / "lib" / f"python{version}" / "site-packages")
            )
            env["_SANDBOX_ADDRESS_SPACE"] = str((spec.memory_mb + PYTHON_ADDRESS_HEADROOM_MB) << 20)
            command = [sys.executable, str(PYTHON_BOOTSTRAP)]
        elif spec.runtime.startswith("nodejs"):
            node = shutil.which("node", path=env["PATH"])
            if node is None:
                raise _Unsupported(f"Runtime {spec.runtime} needs `node` on the PATH")
            env["NODE_PATH"] = os.pathsep.join(
                str(layer / "nodejs" / sub)
                for layer in layers
                for sub in ("node_modules", f"node{spec.runtime[6:8]}/node_modules")
            )
            command = [node, f"--max-old-space-size={spec.memory_mb}", str(NODE_BOOTSTRAP)]
        else:
            raise _Unsupported(f"The sandbox runs python3.x and nodejs runtimes, not {spec.runtime or 'images'}")
        return WorkerSetup(command, env, root, spec.memory_mb)


class _Unsupported(Exception):
    """The function's runtime is not one the sandbox can run."""


def _iso_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _worker_error(failure: WorkerFailed, request_id: str, timeout: int) -> tuple[dict[str, Any], str]:
    if failure.kind == "timeout":
        return (
            {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
            },
            "timeout",
        )
    if failure.kind == "memory":
        return (
            {
                "errorType": "Runtime.OutOfMemory",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {failure.detail}",
            },
            "error\tError Type: Runtime.OutOfMemory",
        )
    return (
        {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {failure.detail}",
        },
        "error\tError Type: Runtime.ExitError",
    )


def _error_payload(error: dict[str, Any]) -> bytes:
    return json.dumps(error).encode()


def _failure(request_id: str, error_type: str, message: str) -> InvocationResult:
    error = {"errorType": error_type, "errorMessage": message}
    return InvocationResult(request_id, _error_payload(error), error)


def encode_log_tail(result: InvocationResult) -> str:
    """The X-Amz-Log-Result header: the invocation's last 4 KB of log, base64."""
    return base64.b64encode(result.log_tail.encode()).decode()
