"""The local executor: a scheduler over the queue of pending invocations, with stepping, breakpoints and events.

One controller loop (in the thread that calls `run`) owns all state; block calls run on a thread pool and report
back through an inbox, and so do the commands (pause, step, resume, cancel, edit a pending input) that other
threads send. Every change is announced as an `Event`, which the command line and the workbench both consume.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from refinery_tui.local.history import History, InvocationRecord
from refinery_tui.local.workers import CallResult, WorkerPool
from refinery_tui.runtime import resources, summary
from refinery_tui.runtime.engine import Arrival, Context, Invocation, Manifest, Outcome, Routing, route
from refinery_tui.runtime.joins import DuplicateArrival, JoinTable

PREVIEW_CHARS = 80


@dataclass
class Event:
    kind: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, **self.data}


@dataclass
class ExecutionResult:
    execution_id: str
    status: str
    outputs: list[dict[str, Any]]
    errors: list[str]
    invocations: int
    duration_ms: float
    replay_of: str | None = None


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    import json

    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Controls:
    paused: bool = False
    step_credits: int = 0
    cancelled: bool = False
    breakpoints: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)
    announced_pause: str | None = None


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
        self.current_run: _Run | None = None

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
        state = _Run(self, execution_id, replay_of)
        self.current_run = state
        state.controls.paused = step
        state.controls.breakpoints = set(self.breakpoints)
        if self.history is not None:
            self.history.start_execution(execution_id, entry, value, replay_of, replay_from)
        self._emit(
            "execution_started",
            execution_id=execution_id,
            entry=entry,
            replay_of=replay_of,
            replay_from=replay_from,
            input=value,
        )
        for arrival in seeds:
            state.seed(arrival)
        for invocation in initial:
            state.enqueue(invocation)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="block") as threads:
            state.threads = threads
            state.loop()
        return state.finish()

    def _emit(self, kind: str, **data: Any) -> None:
        try:
            self.on_event(Event(kind, data))
        except Exception:  # noqa: BLE001 - a failing listener must not stop the run
            pass

    def call_block(self, invocation: Invocation, manifest: Manifest | None = None) -> CallResult:
        block = (manifest or self.manifest).blocks[invocation.block]
        request = {
            "id": invocation.id,
            "file": str(self.root / block["file"]),
            "input": invocation.input,
            "backpack": invocation.backpack,
            "env": block.get("env") or {},
        }
        return self.pool.call(
            block.get("language", "python"),
            request,
            float(block.get("timeout", 30)),
            int(block.get("memory", 256)),
            self._cancel_event,
        )


def _creation_order(invocation_id: str) -> tuple[int, str]:
    suffix = invocation_id.rsplit(".", 1)[-1]
    return (int(suffix), "") if suffix.isdigit() else (-1, suffix)


def _new_execution_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class _Run:
    """The state of one execution, touched only by the controller loop."""

    def __init__(self, executor: Executor, execution_id: str, replay_of: str | None) -> None:
        self.executor = executor
        self.manifest = executor.manifest
        self.execution_id = execution_id
        self.replay_of = replay_of
        self.pending: deque[Invocation] = deque()
        self.running: dict[str, Invocation] = {}
        self.joins = JoinTable()
        self.queues: dict[str, list[tuple[Any, dict[str, Any], int, str]]] = {}
        self.queue_turn: dict[str, int] = {}
        self.outputs: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.controls = _Controls()
        self.counter = itertools.count(1)
        self.seq = itertools.count()
        self.started = time.time()
        self.count = 0
        self.threads: ThreadPoolExecutor | None = None

    def new_id(self) -> str:
        return f"{self.execution_id}.{next(self.counter)}"

    def emit(self, kind: str, **data: Any) -> None:
        self.executor._emit(kind, execution_id=self.execution_id, **data)

    def enqueue(self, invocation: Invocation) -> None:
        self.pending.append(invocation)
        self.emit(
            "invocation_queued",
            invocation_id=invocation.id,
            block=invocation.block,
            parent=invocation.parent,
            via=invocation.via,
            input_preview=preview(invocation.input),
            place=[f.index for f in invocation.context.frames],
        )

    def seed(self, arrival: Arrival) -> None:
        try:
            release = self.joins.arrive(arrival)
        except DuplicateArrival:
            return
        if release is not None:
            self.enqueue(
                Invocation(
                    self.new_id(), release.target, release.input, release.backpack, release.context, via=arrival.via
                )
            )

    # the loop

    def loop(self) -> None:
        while True:
            self.start_runnable()
            if not self.running:
                if not self.pending or self.controls.cancelled:
                    if not self.controls.cancelled and self.flush_queues(partial=True):
                        continue
                    return
                self.announce_pause()
            kind, payload = self.executor._inbox.get()
            if kind == "done":
                invocation, result = payload
                self.running.pop(invocation.id, None)
                self.complete(invocation, result)
            else:
                self.command(payload)

    def announce_pause(self) -> None:
        upcoming = self.pending[0]
        if self.controls.announced_pause != upcoming.id:
            self.controls.announced_pause = upcoming.id
            reason = (
                "breakpoint"
                if upcoming.block in self.controls.breakpoints and upcoming.id not in self.controls.released
                else "step"
            )
            self.emit(
                "paused",
                reason=reason,
                invocation_id=upcoming.id,
                block=upcoming.block,
                input_preview=preview(upcoming.input),
            )

    def command(self, payload: Any) -> None:
        controls = self.controls
        if payload == "pause":
            controls.paused = True
        elif payload == "step":
            controls.step_credits += 1
            if self.pending:
                controls.released.add(self.pending[0].id)
        elif payload == "resume":
            controls.paused = False
            if self.pending:
                controls.released.add(self.pending[0].id)
            controls.announced_pause = None
            self.emit("resumed")
        elif payload == "cancel":
            controls.cancelled = True
            for invocation in self.pending:
                self.emit(
                    "invocation_cancelled",
                    invocation_id=invocation.id,
                    block=invocation.block,
                    place=[f.index for f in invocation.context.frames],
                )
            self.pending.clear()
        elif isinstance(payload, tuple) and payload[0] == "breakpoints":
            controls.breakpoints = set(payload[1])
        elif isinstance(payload, tuple) and payload[0] == "edit":
            _, invocation_id, value = payload
            for invocation in self.pending:
                if invocation.id == invocation_id:
                    invocation.input = value
                    self.emit(
                        "invocation_edited",
                        invocation_id=invocation_id,
                        block=invocation.block,
                        input_preview=preview(value),
                    )
                    break
            else:
                self.emit(
                    "edit_refused",
                    invocation_id=invocation_id,
                    reason="only an invocation that has not started can be edited",
                )

    def start_runnable(self) -> None:
        controls = self.controls
        while self.pending and len(self.running) < self.executor.concurrency and not controls.cancelled:
            upcoming = self.pending[0]
            if controls.paused and controls.step_credits == 0:
                return
            if upcoming.block in controls.breakpoints and upcoming.id not in controls.released:
                controls.paused = True
                controls.step_credits = 0
                return
            self.pending.popleft()
            if controls.step_credits:
                controls.step_credits -= 1
            controls.announced_pause = None
            self.start(upcoming)

    def start(self, invocation: Invocation) -> None:
        block = self.manifest.blocks[invocation.block]
        self.emit("invocation_started", invocation_id=invocation.id, block=invocation.block, attempt=invocation.attempt)
        if block["type"] == "code":
            self.running[invocation.id] = invocation
            inbox = self.executor._inbox

            def call() -> None:
                try:
                    result = self.executor.call_block(invocation, self.manifest)
                except Exception as exc:  # noqa: BLE001 - reported as the block's error
                    now = time.time()
                    result = CallResult(
                        False,
                        error={"type": type(exc).__name__, "message": str(exc), "traceback": ""},
                        started=now,
                        ended=now,
                    )
                inbox.put(("done", (invocation, result)))

            self.threads.submit(call)
            return
        now = time.time()
        value = resources.resource_output(block, invocation.input)
        result = CallResult(True, value, invocation.backpack, started=now, ended=now)
        if block["type"] == "queue":
            self.record(invocation, result, Routing(Outcome(True, value, invocation.backpack)), final=False)
            self.queues.setdefault(invocation.block, []).append(
                (value, invocation.backpack, invocation.context.hops, invocation.id)
            )
            self.flush_queues(partial=False)
            return
        self.complete(invocation, result)

    def flush_queues(self, partial: bool) -> bool:
        """Deliver queued messages as batches to the queue's targets, in turn. Full batches always; partial ones
        when nothing else can run (that is when a real queue's poller would hand them over)."""
        delivered = False
        for name, messages in self.queues.items():
            size = int(self.manifest.blocks[name].get("batch_size", 1))
            targets = [t for t in self.manifest.outgoing(name) if t["type"] == "then"]
            while messages and (len(messages) >= size or partial):
                batch, messages[:] = messages[:size], messages[size:]
                if not targets:
                    continue
                turn = self.queue_turn.get(name, 0)
                self.queue_turn[name] = turn + 1
                transition = targets[turn % len(targets)]
                backpack: dict[str, Any] = {}
                for _, message_backpack, _, _ in batch:
                    backpack.update(message_backpack or {})
                hops = max(hops for _, _, hops, _ in batch) + 1
                invocation = Invocation(
                    self.new_id(),
                    transition["to"],
                    [value for value, _, _, _ in batch],
                    backpack,
                    Context(self.execution_id, hops),
                    parent=batch[-1][3],
                    via=transition["index"],
                )
                self.emit(
                    "transition_taken",
                    source=name,
                    target=transition["to"],
                    type="then",
                    transition=transition["index"],
                    invocation_id=batch[-1][3],
                    batch=len(batch),
                )
                self.enqueue(invocation)
                delivered = True
        return delivered

    def complete(self, invocation: Invocation, result: CallResult) -> None:
        if self.controls.cancelled:
            self.record(
                invocation,
                result,
                Routing(
                    Outcome(
                        False,
                        error=result.error
                        or {"type": "Cancelled", "message": "the run was cancelled", "traceback": ""},
                    )
                ),
                final=False,
            )
            return
        outcome = Outcome(result.ok, result.output, result.backpack, result.error)
        routing = route(self.manifest, invocation, outcome, self.new_id)
        self.record(invocation, result, routing, final=routing.final and routing.outcome.ok)
        if routing.retry is not None:
            self.emit(
                "invocation_retrying",
                invocation_id=invocation.id,
                block=invocation.block,
                attempt=routing.retry.attempt,
            )
            self.pending.appendleft(routing.retry)
            return
        source = invocation.block
        for index, target in routing.taken:
            kind = "on_exception" if index < 0 else self.manifest.transitions[index]["type"]
            self.emit(
                "transition_taken",
                source=source,
                target=target,
                type=kind,
                transition=index,
                invocation_id=invocation.id,
            )
        for dispatched in routing.dispatches:
            self.enqueue(dispatched)
        for arrival in routing.arrivals:
            if self.executor.history is not None:
                self.executor.history.record_arrival(
                    self.execution_id,
                    {
                        "key": arrival.key,
                        "kind": arrival.kind,
                        "target": arrival.target,
                        "slot": arrival.slot,
                        "size": arrival.size,
                        "value": arrival.value,
                        "backpack": arrival.backpack,
                        "context": arrival.context.to_json(),
                        "source": arrival.source,
                        "via": arrival.via,
                    },
                )
            try:
                release = self.joins.arrive(arrival)
            except DuplicateArrival as exc:
                self.fail(invocation, {"type": "JoinError", "message": str(exc), "traceback": ""})
                continue
            if release is not None:
                self.enqueue(
                    Invocation(
                        self.new_id(),
                        release.target,
                        release.input,
                        release.backpack,
                        release.context,
                        parent=invocation.id,
                        via=arrival.via,
                    )
                )
        if routing.failure is not None:
            self.failures.append(routing.failure)
            self.emit(
                "execution_failing",
                block=routing.failure["block"],
                invocation_id=invocation.id,
                error=routing.failure["error"],
            )
        if routing.final and routing.outcome.ok:
            self.outputs.append(
                {
                    "block": invocation.block,
                    "output": routing.outcome.output,
                    "backpack": routing.outcome.backpack or {},
                    "invocation_id": invocation.id,
                    "place": tuple(f.index for f in invocation.context.frames),
                    "seq": _creation_order(invocation.id),
                }
            )

    def fail(self, invocation: Invocation, error: dict[str, Any]) -> None:
        failure = {
            "block": invocation.block,
            "invocation": invocation.id,
            "error": error,
            "frames": [f.to_json() for f in invocation.context.frames],
        }
        self.failures.append(failure)
        self.emit("execution_failing", block=invocation.block, invocation_id=invocation.id, error=error)

    def record(self, invocation: Invocation, result: CallResult, routing: Routing, final: bool) -> None:
        self.count += 1
        outcome = routing.outcome
        status = "succeeded" if outcome.ok else "failed"
        duration_ms = max(0.0, (result.ended - result.started) * 1000)
        self.emit(
            "invocation_finished" if outcome.ok else "invocation_failed",
            invocation_id=invocation.id,
            block=invocation.block,
            status=status,
            duration_ms=round(duration_ms, 3),
            output_preview=preview(outcome.output) if outcome.ok else "",
            error=None if outcome.ok else outcome.error,
            final=final,
            attempt=invocation.attempt,
            worker_replaced=result.worker_replaced,
            place=[f.index for f in invocation.context.frames],
        )
        if self.executor.history is None:
            return
        self.executor.history.record_invocation(
            InvocationRecord(
                invocation.id,
                self.execution_id,
                next(self.seq),
                invocation.block,
                status,
                invocation.attempt,
                invocation.parent,
                invocation.via,
                invocation.context.to_json(),
                invocation.input,
                invocation.backpack,
                outcome.output if outcome.ok else None,
                (outcome.backpack if outcome.backpack is not None else invocation.backpack) if outcome.ok else None,
                None if outcome.ok else outcome.error,
                result.stdout,
                result.stderr,
                result.started,
                result.ended,
                final,
            )
        )

    def join_errors(self) -> list[str]:
        incomplete = [
            {"key": state.key, "kind": state.kind, "target": state.target, "missing": state.missing()}
            for state in self.joins.incomplete()
        ]
        return summary.join_error_messages(incomplete, self.failures, self.manifest.data)

    def finish(self) -> ExecutionResult:
        errors = summary.failure_messages(self.failures)
        errors += self.join_errors()
        if self.controls.cancelled:
            status = "cancelled"
        else:
            status = "failed" if errors else "succeeded"
        duration_ms = (time.time() - self.started) * 1000
        outputs = summary.ordered_outputs(self.outputs, list(self.manifest.blocks))
        if self.executor.history is not None:
            self.executor.history.finish_execution(self.execution_id, status, outputs, errors)
        self.emit(
            "execution_finished",
            status=status,
            outputs=[{"block": o["block"], "output": o["output"]} for o in outputs],
            errors=errors,
            invocations=self.count,
            duration_ms=round(duration_ms, 1),
            replay_of=self.replay_of,
        )
        return ExecutionResult(self.execution_id, status, outputs, errors, self.count, duration_ms, self.replay_of)
