"""One warm child process: request and reply pipes, output read on threads, memory from /proc, timeouts, kill.

The child finds its two pipes in the environment (`REQUEST_FD_VARIABLE`, `REPLY_FD_VARIABLE`): requests go to it as
lines, each reply comes back as one JSON line. It runs in a session of its own, and killing it kills whatever it
started (its process tree, frozen first). A `supervised` process runs below a keeper (`supervisor.py`, a child
subreaper), so that even what it started with `setsid` or a double fork is killed with it, including when it
crashes by itself. Which requests and replies, and what its output means, is the caller's business (local/,
sandbox/).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Protocol

from refinery_tui.processes import process_tree

REQUEST_FD_VARIABLE = "REFINERY_REQUEST_FD"
REPLY_FD_VARIABLE = "REFINERY_REPLY_FD"
READ_SIZE = 65536
REPLY_GRACE_S = 1.0
TAIL_BYTES = 300
SUPERVISOR = Path(__file__).resolve().parent / "supervisor.py"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class OutputSink(Protocol):
    """Where a warm process's stdout and stderr go, chunk by chunk, on the reader threads."""

    def feed(self, stream: str, chunk: bytes) -> None: ...

    def ended(self, stream: str) -> None: ...

    @property
    def overflowed(self) -> bool: ...


class ProcessEnded(Exception):
    """No reply came: `kind` is "crash", "timeout", "memory", "flood" (output past its cap) or "cancelled"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class CappedOutput:
    """Collects a process's output up to `cap` bytes in all; past it, `overflowed` is set and the rest dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._parts: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        self._size = 0
        self._lock = threading.Lock()
        self.overflowed = False
        self._open = {"stdout", "stderr"}
        self.drained = threading.Event()  # both streams reached their end (the process and all it started ended)
        self._tail = b""

    def feed(self, stream: str, chunk: bytes) -> None:
        with self._lock:
            self._size += len(chunk)
            if self._size > self.cap:
                self.overflowed = True
            else:
                self._parts[stream].append(chunk)
            if stream == "stderr":
                self._tail = (self._tail + chunk)[-TAIL_BYTES:]

    def ended(self, stream: str) -> None:
        with self._lock:
            self._open.discard(stream)
            if not self._open:
                self.drained.set()

    def stderr_tail(self) -> str:
        """The last line the process wrote to stderr (even past the cap), for a message about how it ended."""
        with self._lock:
            lines = self._tail.decode("utf-8", "replace").strip().splitlines()
        return lines[-1].strip()[-TAIL_BYTES:] if lines else ""

    def take(self) -> tuple[str, str]:
        """The stdout and stderr collected since the last take, as text; the count starts again."""
        with self._lock:
            out = b"".join(self._parts["stdout"]).decode("utf-8", "replace")
            err = b"".join(self._parts["stderr"]).decode("utf-8", "replace")
            self._parts = {"stdout": [], "stderr": []}
            self._size = 0
        return out, err


class WarmProcess:
    """A started child process. One request at a time: `send` a line, then `wait_reply` for its JSON reply."""

    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        output: OutputSink,
        env: Mapping[str, str] | None = None,
        merge_stderr: bool = False,
        supervised: bool = False,
    ) -> None:
        self.output = output
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._killed = False
        self._worker_pid: int | None = None
        self._pid_lock = threading.Lock()
        request_read, self._request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        passed = [request_read, reply_write]
        self._pid_read: int | None = None
        if supervised and sys.platform.startswith("linux"):
            self._pid_read, pid_write = os.pipe()
            passed.append(pid_write)
            command = [sys.executable, "-S", "-I", str(SUPERVISOR), str(pid_write), *command]
        child_env = dict(os.environ if env is None else env)
        child_env.update({REQUEST_FD_VARIABLE: str(request_read), REPLY_FD_VARIABLE: str(reply_write)})
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                pass_fds=tuple(passed),
                env=child_env,
                cwd=cwd,
                start_new_session=True,
            )
        except BaseException:
            os.close(self._request_write)
            os.close(reply_read)
            if self._pid_read is not None:
                os.close(self._pid_read)
            raise
        finally:
            for fd in passed:
                os.close(fd)
        self.started = time.monotonic()
        self._reply_reader = threading.Thread(
            target=self._read_replies, args=(reply_read,), daemon=True, name="warm-replies"
        )
        self._reply_reader.start()
        streams = [("stdout", self.process.stdout)] + ([] if merge_stderr else [("stderr", self.process.stderr)])
        for name, stream in streams:
            threading.Thread(target=self._read_output, args=(name, stream), daemon=True, name=f"warm-{name}").start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def worker_pid(self) -> int:
        """The pid of the command itself: below the keeper when supervised (it tells it once, at the start)."""
        with self._pid_lock:
            if self._pid_read is not None:
                fd, self._pid_read = self._pid_read, None
                try:
                    with os.fdopen(fd, "rb") as told:
                        text = told.read()
                    self._worker_pid = int(text) if text else None
                except (OSError, ValueError):
                    self._worker_pid = None
        return self._worker_pid or self.process.pid

    @property
    def alive(self) -> bool:
        return not self._killed and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def send(self, line: bytes) -> None:
        """Write one request line; when the child no longer reads, kill it and raise `ProcessEnded("crash")`."""
        if self._killed:
            raise ProcessEnded("crash")
        data = line + b"\n"
        try:
            while data:
                data = data[os.write(self._request_write, data) :]
        except OSError:
            self.kill()
            raise ProcessEnded("crash") from None

    def wait_reply(
        self, timeout_s: float, memory_mb: float = 0, *, cancelled: threading.Event | None = None, poll_s: float = 0.02
    ) -> dict[str, Any]:
        """The next reply. Otherwise the process is killed and `ProcessEnded` says why: cancelled, out of time,
        output past its cap, resident memory over `memory_mb` (0: no limit), or the process ended by itself."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                reply = self._replies.get(timeout=max(0.0, min(poll_s, deadline - time.monotonic())))
            except queue.Empty:
                pass
            else:
                if reply is None:
                    try:  # the reply pipe closed: the process is ending; let it, so its exit status is its own
                        self.process.wait(timeout=REPLY_GRACE_S)
                    except subprocess.TimeoutExpired:
                        pass
                    self.kill()
                    raise ProcessEnded("crash")
                return reply
            kind = None
            if cancelled is not None and cancelled.is_set():
                kind = "cancelled"
            elif time.monotonic() >= deadline:
                kind = "timeout"
            elif self.output.overflowed:
                kind = "flood"
            elif memory_mb and self.rss_mb() > memory_mb:
                kind = "memory"
            elif self.process.poll() is not None:
                # It ended; a reply it wrote just before is still taken.
                self._reply_reader.join(REPLY_GRACE_S)
                try:
                    reply = self._replies.get_nowait()
                except queue.Empty:
                    reply = None
                if reply is not None:
                    return reply
                kind = "crash"
            if kind is not None:
                self.kill()
                raise ProcessEnded(kind)

    def rss_mb(self) -> float:
        """Resident memory now, in MB (0 when it cannot be read)."""
        try:
            with open(f"/proc/{self.worker_pid}/statm") as handle:
                return int(handle.read().split()[1]) * _PAGE / (1 << 20)
        except (OSError, ValueError, IndexError):
            return 0.0

    def peak_rss_mb(self) -> int:
        """Peak resident memory so far, in whole MB (0 when it cannot be read)."""
        try:
            with open(f"/proc/{self.worker_pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def close_requests(self) -> None:
        """No more requests: the process should end by itself (see `stop`)."""
        with self._pid_lock:
            fd, self._request_write = self._request_write, -1
        if fd >= 0:
            os.close(fd)

    def stop(self, grace_s: float = 2.0) -> None:
        """End the process gently: no more requests, then `grace_s` to end by itself (a supervised one takes what it
        started with it, reaped), then `kill`."""
        if not self._killed and self.process.returncode is None:
            self.close_requests()
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """Kill the process and whatever it started (its process tree, frozen first, and its process group), and
        reap it."""
        if self._killed:
            return
        self._killed = True
        # Only while the process is unreaped: until then its pid cannot name anybody else's process (group).
        if self.process.returncode is None:
            process_tree.kill_tree(self.process.pid)
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    self.process.kill()
                except OSError:
                    pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.close_requests()
        with self._pid_lock:
            if self._pid_read is not None:
                os.close(self._pid_read)
            self._pid_read = None

    def _read_replies(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as replies:
            for line in replies:
                try:
                    self._replies.put(json.loads(line))
                except ValueError:
                    continue
        self._replies.put(None)

    def _read_output(self, name: str, stream: IO[bytes]) -> None:
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, READ_SIZE)
            except OSError:
                break
            if not chunk:
                break
            try:
                self.output.feed(name, chunk)
            except Exception:  # noqa: BLE001 - a failing sink must not stop the reading, or the child would block
                pass
        stream.close()
        try:
            self.output.ended(name)
        except Exception:  # noqa: BLE001
            pass
