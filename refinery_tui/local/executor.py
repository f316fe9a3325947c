"""The local executor: a scheduler over the queue of pending invocations, with stepping, breakpoints and events.

One controller loop (in the thread that calls `run`) owns all state; block calls run on a thread pool and report
back through an inbox, and so do the commands (pause, step, resume, cancel, edit a pending input) that other
threads send. Every change is announced as a typed event (`runtime/events.py`), which the command line and the
workbench both consume. The loop itself is `controller.ExecutionLoop`.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from refinery_tui.local.controller import ExecutionLoop, ExecutionResult
from refinery_tui.local.history import History, HistoryWriteError, InvocationRecord
from refinery_tui.local.workers import CallResult, WorkerPool
from refinery_tui.model.project_paths import OutsideProject, inside_project
from refinery_tui.model.schema import DEFAULT_MAX_RETURN_MB
from refinery_tui.runtime.engine import Arrival, Context, Invocation, Manifest
from refinery_tui.runtime.events import Event, ExecutionFinished, ExecutionStarted


class Executor:
    """Runs executions of one project's manifest. Reuse it for many runs: the worker pool stays warm."""

    def __init__(
        self,
        root: Path,
        manifest: dict[str, Any],
        pool: WorkerPool,
        history: History | None = None,
        on_event: Callable[[Event], None] | None = None,
        concurrency: int = 4,
    ) -> None:
        self.root = Path(root).resolve()
        self.manifest = Manifest(manifest)
        self.pool = pool
        self.history = history
        self.on_event = on_event or (lambda event: None)
        self.concurrency = max(1, concurrency)
        self.breakpoints: set[str] = set()
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._cancel_event = threading.Event()
        self._lock = threading.Lock()
        self.current: str | None = None

    def use_manifest(self, manifest: dict[str, Any]) -> None:
        """Runs started from now on use this manifest; one under way keeps its own."""
        self.manifest = Manifest(manifest)

    # commands, safe from any thread

    def pause(self) -> None:
        self._inbox.put(("command", "pause"))

    def step(self) -> None:
        self._inbox.put(("command", "step"))

    def resume(self) -> None:
        self._inbox.put(("command", "resume"))

    def cancel(self) -> None:
        self._cancel_event.set()
        self._inbox.put(("command", "cancel"))

    def edit_input(self, invocation_id: str, value: Any) -> None:
        self._inbox.put(("command", ("edit", invocation_id, value)))

    def set_breakpoints(self, blocks: set[str]) -> None:
        self.breakpoints = set(blocks)
        self._inbox.put(("command", ("breakpoints", set(blocks))))

    # starting executions

    def run(self, entry: str | None = None, value: Any = None, *, step: bool = False) -> ExecutionResult:
        """Run a new execution from an entry block (the first entry by default) to the end."""
        entry = entry or (self.manifest.data.get("entries") or list(self.manifest.blocks))[0]
        if entry not in self.manifest.blocks:
            raise KeyError(f"no block named '{entry}'")
        execution_id = _new_execution_id()
        first = Invocation(f"{execution_id}.0", entry, value, {}, Context(execution_id))
        return self._execute(execution_id, [first], [], entry, value, step=step)

    def replay(
        self, base_execution: str, block: str, value: Any = None, *, step: bool = False, use_input: bool = False
    ) -> ExecutionResult:
        """Re-run an execution from `block`, with its recorded inputs (or `value`), reusing what came before it:
        the recorded values that other paths handed to joins downstream are fed in again, not recomputed."""
        if self.history is None:
            raise RuntimeError("replay needs the run history")
        records = [r for r in self.history.invocations(base_execution) if r.block == block]
        if not records:
            raise KeyError(f"execution {base_execution} never reached '{block}'")
        latest: dict[tuple, InvocationRecord] = {}
        for record in records:
            latest[tuple(map(tuple, record.context.get("frames", [])))] = record
        execution_id = _new_execution_id()
        counter = itertools.count()
        initial = []
        for record in latest.values():
            context = replace(Context.from_json(record.context), execution_id=execution_id)
            initial.append(
                Invocation(
                    f"{execution_id}.r{next(counter)}",
                    block,
                    value if use_input else record.input,
                    dict(record.backpack_in or {}),
                    context,
                    via=record.via,
                )
            )
        children: dict[str | None, list[str]] = {}
        for record in self.history.invocations(base_execution):
            children.setdefault(record.parent, []).append(record.id)
        downstream = set()
        stack = [r.id for r in latest.values()]
        while stack:
            current = stack.pop()
            if current not in downstream:
                downstream.add(current)
                stack.extend(children.get(current, []))
        arrivals = self.history.arrivals(base_execution)
        fed = {a["key"] for a in arrivals if a["source"] in downstream}
        seeds = [
            Arrival(
                a["key"],
                a["kind"],
                a["target"],
                a["slot"],
                a["size"],
                a["value"],
                a["backpack"],
                replace(Context.from_json(a["context"]), execution_id=execution_id),
                a["source"],
                a["via"],
            )
            for a in arrivals
            if a["key"] in fed and a["source"] not in downstream
        ]
        entry_value = initial[0].input if len(initial) == 1 else [i.input for i in initial]
        return self._execute(
            execution_id, initial, seeds, block, entry_value, replay_of=base_execution, replay_from=block, step=step
        )

    # the controller loop

    def _execute(
        self,
        execution_id: str,
        initial: list[Invocation],
        seeds: list[Arrival],
        entry: str,
        value: Any,
        *,
        replay_of: str | None = None,
        replay_from: str | None = None,
        step: bool = False,
    ) -> ExecutionResult:
        self._cancel_event.clear()
        self._inbox = queue.Queue()
        self.current = execution_id
        state = ExecutionLoop(self, execution_id, replay_of)
        state.controls.paused = step
        state.controls.breakpoints = set(self.breakpoints)
        if self.history is not None:
            self.history.start_execution(execution_id, entry, value, replay_of, replay_from)
        self._emit(ExecutionStarted(execution_id, entry, replay_of, replay_from, value))
        for arrival in seeds:
            state.seed(arrival)
        for invocation in initial:
            state.enqueue(invocation)
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="block") as threads:
                state.threads = threads
                try:
                    state.loop()
                except HistoryWriteError:
                    self._cancel_event.set()  # the calls under way end now; nothing more can be recorded
                    raise
            return state.finish()
        except HistoryWriteError as exc:
            # The run stops: what it did can no longer be recorded. It is not left `running` either way: marked
            # failed here when the store still takes a small write, else `interrupted` when next opened.
            self.history.abandon_execution(execution_id, str(exc))
            self._emit(
                ExecutionFinished(
                    execution_id,
                    status="failed",
                    outputs=[],
                    errors=[str(exc)],
                    invocations=state.count,
                    duration_ms=round((time.time() - state.started) * 1000, 1),
                    replay_of=replay_of,
                )
            )
            raise

    def _emit(self, event: Event) -> None:
        try:
            self.on_event(event)
        except Exception:  # noqa: BLE001 - a failing listener must not stop the run
            pass

    def call_block(self, invocation: Invocation, manifest: Manifest | None = None) -> CallResult:
        block = (manifest or self.manifest).blocks[invocation.block]
        try:
            inside_project(self.root, block["file"])
        except OutsideProject as exc:  # linked out after the project was validated
            now = time.time()
            error = {"type": "OutsideProject", "message": f"the block's code file leads outside the project: {exc}"}
            return CallResult(ok=False, error=error, started=now, ended=now)
        request = {
            "id": invocation.id,
            "file": str(self.root / block["file"]),
            "input": invocation.input,
            "backpack": invocation.backpack,
            "env": block.get("env") or {},
            "block": invocation.block,
            "max_return": int(block.get("max_return") or DEFAULT_MAX_RETURN_MB) << 20,
        }
        return self.pool.call(
            block.get("language", "python"),
            request,
            float(block.get("timeout", 30)),
            int(block.get("memory", 256)),
            self._cancel_event,
        )


def _new_execution_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
