"""Run history in SQLite under the project's .refinery/: executions, invocations, join arrivals; large payloads
as content-addressed files beside it. WAL mode, so a crash mid-run leaves a readable database. Each execution
records the process running it (pid and start time): opening the store marks `interrupted` only the executions
whose process is gone, so several processes can share one store. A write that fails (disk full, file too large)
raises `HistoryWriteError` and leaves nothing half-written: payload files are written under a name of their own and
renamed into place, and SQLite's own writes are atomic."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refinery_tui.model.run_data import FOLDER, run_data_folder
from refinery_tui.processes.process_tree import start_time

INLINE_LIMIT = 64 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY, started REAL, ended REAL, status TEXT, input TEXT, entry TEXT,
    replay_of TEXT, replay_from TEXT, outputs TEXT, errors TEXT
);
CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY, execution_id TEXT, seq INTEGER, block TEXT, status TEXT, attempt INTEGER,
    parent TEXT, via INTEGER, context TEXT, input TEXT, backpack_in TEXT, output TEXT, backpack_out TEXT,
    error TEXT, stdout TEXT, stderr TEXT, started REAL, ended REAL, final INTEGER
);
CREATE INDEX IF NOT EXISTS invocations_by_execution ON invocations (execution_id, seq);
CREATE TABLE IF NOT EXISTS arrivals (
    execution_id TEXT, key TEXT, kind TEXT, target TEXT, slot INTEGER, size INTEGER, value TEXT,
    backpack TEXT, context TEXT, source TEXT, via INTEGER
);
CREATE INDEX IF NOT EXISTS arrivals_by_execution ON arrivals (execution_id);
"""
# Added after the first release: which process runs an execution (pid, and its start time against pid reuse).
OWNER_COLUMNS = (("pid", "INTEGER"), ("pid_started", "INTEGER"))


class HistoryWriteError(Exception):
    """The run history could not be written (disk full, file too large, read-only); says where and why."""


def _owner() -> tuple[int, int | None]:
    return os.getpid(), start_time(os.getpid())


def _process_alive(pid: int | None, started: int | None) -> bool:
    """Whether the process that recorded (pid, started) still runs (a reused pid has another start time)."""
    if not pid:
        return False
    now = start_time(pid)
    if now is None:
        return False
    return started is None or now == started


@dataclass
class InvocationRecord:
    id: str
    execution_id: str
    seq: int
    block: str
    status: str
    attempt: int
    parent: str | None
    via: int | None
    context: dict[str, Any]
    input: Any
    backpack_in: dict[str, Any]
    output: Any
    backpack_out: dict[str, Any] | None
    error: dict[str, Any] | None
    stdout: str
    stderr: str
    started: float
    ended: float
    final: bool

    @property
    def duration_ms(self) -> float:
        return max(0.0, (self.ended - self.started) * 1000)


@dataclass
class ExecutionRecord:
    id: str
    started: float
    ended: float | None
    status: str
    input: Any
    entry: str
    replay_of: str | None
    replay_from: str | None
    outputs: list[dict[str, Any]]
    errors: list[str]


class History:
    """One connection, used from one thread at a time (the executor's controller); a lock guards the rest."""

    def __init__(self, project_root: Path) -> None:
        self.folder = Path(project_root) / FOLDER
        self.payloads = self.folder / "payloads"
        self._lock = threading.RLock()
        self._pending = 0
        with self._writing():
            run_data_folder(project_root)
            self.db = sqlite3.connect(self.folder / "history.sqlite3", check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(executions)")}
            for name, kind in OWNER_COLUMNS:
                if name not in columns:
                    with contextlib.suppress(sqlite3.OperationalError):  # another process added it just now
                        self.db.execute(f"ALTER TABLE executions ADD COLUMN {name} {kind}")
            self._mark_interrupted()

    def _mark_interrupted(self) -> None:
        """Executions left running or paused by a process that is gone are `interrupted`; others' live ones stay."""
        rows = self.db.execute(
            "SELECT id, pid, pid_started FROM executions WHERE status IN ('running','paused')"
        ).fetchall()
        for execution_id, pid, started in rows:
            if not _process_alive(pid, started):
                self.db.execute(
                    "UPDATE executions SET status='interrupted', ended=? WHERE id=? AND status IN ('running','paused')",
                    (time.time(), execution_id),
                )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Under the lock; a failed write becomes a `HistoryWriteError` naming the store and the reason."""
        with self._lock:
            try:
                yield
            except (OSError, sqlite3.Error) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise HistoryWriteError(f"cannot write the run history in {self.folder}: {reason}") from exc

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # payloads: small ones inline as JSON, large ones as files named by their hash

    def _store(self, value: Any) -> str:
        text = json.dumps(value, allow_nan=False)
        if len(text) <= INLINE_LIMIT:
            return text
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        path = self.payloads / f"{digest}.json"
        if not path.exists():
            self.payloads.mkdir(exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{digest}.", suffix=".tmp", dir=self.payloads)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        return json.dumps({"$payload": digest})

    def _load(self, text: str | None) -> Any:
        if text is None:
            return None
        value = json.loads(text)
        if isinstance(value, dict) and len(value) == 1 and "$payload" in value:
            return json.loads((self.payloads / f"{value['$payload']}.json").read_text(encoding="utf-8"))
        return value

    # writes

    def start_execution(
        self, execution_id: str, entry: str, value: Any, replay_of: str | None = None, replay_from: str | None = None
    ) -> None:
        with self._writing():
            self.db.execute(
                "INSERT INTO executions (id, started, status, input, entry, replay_of, replay_from, pid, pid_started) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (execution_id, time.time(), self._store(value), entry, replay_of, replay_from, *_owner()),
            )

    def record_invocation(self, record: InvocationRecord) -> None:
        with self._writing():
            self.db.execute(
                "INSERT OR REPLACE INTO invocations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.execution_id,
                    record.seq,
                    record.block,
                    record.status,
                    record.attempt,
                    record.parent,
                    record.via,
                    json.dumps(record.context),
                    self._store(record.input),
                    self._store(record.backpack_in),
                    self._store(record.output),
                    None if record.backpack_out is None else self._store(record.backpack_out),
                    None if record.error is None else json.dumps(record.error),
                    record.stdout,
                    record.stderr,
                    record.started,
                    record.ended,
                    int(record.final),
                ),
            )

    def record_arrival(self, execution_id: str, arrival: dict[str, Any]) -> None:
        with self._writing():
            self.db.execute(
                "INSERT INTO arrivals VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    execution_id,
                    arrival["key"],
                    arrival["kind"],
                    arrival["target"],
                    arrival["slot"],
                    arrival["size"],
                    self._store(arrival["value"]),
                    self._store(arrival["backpack"]),
                    json.dumps(arrival["context"]),
                    arrival["source"],
                    arrival["via"],
                ),
            )

    def finish_execution(
        self, execution_id: str, status: str, outputs: list[dict[str, Any]], errors: list[str]
    ) -> None:
        with self._writing():
            self.db.execute(
                "UPDATE executions SET status=?, ended=?, outputs=?, errors=? WHERE id=?",
                (status, time.time(), self._store(outputs), json.dumps(errors), execution_id),
            )

    def abandon_execution(self, execution_id: str, error: str) -> None:
        """Mark an execution failed with `error` when its records could not be written; the store may still be
        full, so this writes no payload and gives up quietly (the next opening marks it interrupted instead)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self.db.execute(
                "UPDATE executions SET status='failed', ended=?, errors=? WHERE id=?",
                (time.time(), json.dumps([error]), execution_id),
            )

    # reads

    def _execution(self, row: tuple) -> ExecutionRecord:
        return ExecutionRecord(
            row[0],
            row[1],
            row[2],
            row[3],
            self._load(row[4]),
            row[5],
            row[6],
            row[7],
            self._load(row[8]) or [],
            json.loads(row[9]) if row[9] else [],
        )

    def executions(self, limit: int = 50) -> list[ExecutionRecord]:
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM executions ORDER BY started DESC, rowid DESC LIMIT ?", (limit,)
            ).fetchall()
        return [self._execution(row) for row in rows]

    def execution(self, execution_id: str) -> ExecutionRecord | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM executions WHERE id=?", (execution_id,)).fetchone()
        return self._execution(row) if row else None

    def invocations(self, execution_id: str) -> list[InvocationRecord]:
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM invocations WHERE execution_id=? ORDER BY seq", (execution_id,)
            ).fetchall()
        return [self._invocation(r) for r in rows]

    def invocation(self, invocation_id: str) -> InvocationRecord | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM invocations WHERE id=?", (invocation_id,)).fetchone()
        return self._invocation(row) if row else None

    def _invocation(self, r: tuple) -> InvocationRecord:
        return InvocationRecord(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            json.loads(r[8]),
            self._load(r[9]),
            self._load(r[10]),
            self._load(r[11]),
            self._load(r[12]),
            json.loads(r[13]) if r[13] else None,
            r[14],
            r[15],
            r[16],
            r[17],
            bool(r[18]),
        )

    def arrivals(self, execution_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.db.execute("SELECT * FROM arrivals WHERE execution_id=?", (execution_id,)).fetchall()
        return [
            {
                "key": r[1],
                "kind": r[2],
                "target": r[3],
                "slot": r[4],
                "size": r[5],
                "value": self._load(r[6]),
                "backpack": self._load(r[7]),
                "context": json.loads(r[8]),
                "source": r[9],
                "via": r[10],
            }
            for r in rows
        ]

    def last_execution_reaching(self, block: str) -> ExecutionRecord | None:
        with self._lock:
            row = self.db.execute(
                "SELECT e.* FROM executions e WHERE EXISTS (SELECT 1 FROM invocations i WHERE "
                "i.execution_id = e.id AND i.block = ?) ORDER BY e.started DESC, e.rowid DESC LIMIT 1",
                (block,),
            ).fetchone()
        return self._execution(row) if row else None


def compare_executions(history: History, old_id: str, new_id: str) -> dict[str, Any]:
    """Which blocks' outputs changed between two executions (blocks in either), by block name."""

    def outputs(execution_id: str) -> dict[str, dict[tuple, Any]]:
        result: dict[str, dict[tuple, Any]] = {}
        for record in history.invocations(execution_id):
            value = record.output if record.status == "succeeded" else {"error": record.error}
            place = tuple(frame[1] for frame in record.context.get("frames", []))  # item indexes, not run ids
            result.setdefault(record.block, {})[(place, record.attempt)] = value
        return result

    old, new = outputs(old_id), outputs(new_id)
    changed = sorted(b for b in new if b in old and old[b] != new[b])
    return {
        "changed": changed,
        "unchanged": sorted(b for b in new if b in old and old[b] == new[b]),
        "only_old": sorted(set(old) - set(new)),
        "only_new": sorted(set(new) - set(old)),
    }
