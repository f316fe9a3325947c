"""One execution's controller loop: the pending queue, concurrency, stepping, breakpoints, cancel, edits, queues
and joins. Only the loop (in the thread that called `Executor.run`) touches this state; block calls run on the
executor's thread pool and report back through its inbox, as do the commands other threads send."""

from __future__ import annotations

import itertools
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from refinery_tui.local.history import InvocationRecord
from refinery_tui.local.stepping import Controls
from refinery_tui.local.workers import CallResult
from refinery_tui.runtime import resources, summary
from refinery_tui.runtime.engine import Arrival, Context, Invocation, Outcome, Routing, route
from refinery_tui.runtime.events import (
    ExecutionFailing,
    ExecutionFinished,
    InvocationQueued,
    InvocationRetrying,
    InvocationStarted,
    RunEvent,
    TransitionTaken,
    invocation_ended,
    preview,
)
from refinery_tui.runtime.joins import DuplicateArrival, JoinTable

if TYPE_CHECKING:
    from refinery_tui.local.executor import Executor


@dataclass
class ExecutionResult:
    execution_id: str
    status: str
    outputs: list[dict[str, Any]]
    errors: list[str]
    invocations: int
    duration_ms: float
    replay_of: str | None = None


def _creation_order(invocation_id: str) -> tuple[int, str]:
    suffix = invocation_id.rsplit(".", 1)[-1]
    return (int(suffix), "") if suffix.isdigit() else (-1, suffix)


class ExecutionLoop:
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
        self.controls = Controls()
        self.counter = itertools.count(1)
        self.seq = itertools.count()
        self.started = time.time()
        self.count = 0
        self.threads: ThreadPoolExecutor | None = None

    def new_id(self) -> str:
        return f"{self.execution_id}.{next(self.counter)}"

    def emit(self, event: RunEvent) -> None:
        self.executor._emit(event)

    def enqueue(self, invocation: Invocation) -> None:
        self.pending.append(invocation)
        self.emit(
            InvocationQueued(
                self.execution_id,
                invocation_id=invocation.id,
                block=invocation.block,
                parent=invocation.parent,
                via=invocation.via,
                input_preview=preview(invocation.input),
                place=[f.index for f in invocation.context.frames],
            )
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
        event = self.controls.pause_event(self.execution_id, self.pending[0])
        if event is not None:
            self.emit(event)

    def command(self, payload: Any) -> None:
        for event in self.controls.command(payload, self.pending, self.execution_id):
            self.emit(event)

    def start_runnable(self) -> None:
        while self.pending and len(self.running) < self.executor.concurrency and not self.controls.cancelled:
            if not self.controls.may_start(self.pending[0]):
                return
            self.start(self.pending.popleft())

    def start(self, invocation: Invocation) -> None:
        block = self.manifest.blocks[invocation.block]
        self.emit(
            InvocationStarted(
                self.execution_id, invocation_id=invocation.id, block=invocation.block, attempt=invocation.attempt
            )
        )
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
                    TransitionTaken(
                        self.execution_id,
                        source=name,
                        target=transition["to"],
                        type="then",
                        transition=transition["index"],
                        invocation_id=batch[-1][3],
                        batch=len(batch),
                    )
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
                InvocationRetrying(
                    self.execution_id,
                    invocation_id=invocation.id,
                    block=invocation.block,
                    attempt=routing.retry.attempt,
                )
            )
            self.pending.appendleft(routing.retry)
            return
        source = invocation.block
        for index, target in routing.taken:
            kind = "on_exception" if index < 0 else self.manifest.transitions[index]["type"]
            self.emit(
                TransitionTaken(
                    self.execution_id,
                    source=source,
                    target=target,
                    type=kind,
                    transition=index,
                    invocation_id=invocation.id,
                )
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
                ExecutionFailing(
                    self.execution_id,
                    block=routing.failure["block"],
                    invocation_id=invocation.id,
                    error=routing.failure["error"],
                )
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
        self.emit(ExecutionFailing(self.execution_id, block=invocation.block, invocation_id=invocation.id, error=error))

    def record(self, invocation: Invocation, result: CallResult, routing: Routing, final: bool) -> None:
        self.count += 1
        outcome = routing.outcome
        status = "succeeded" if outcome.ok else "failed"
        duration_ms = max(0.0, (result.ended - result.started) * 1000)
        self.emit(
            invocation_ended(
                outcome.ok,
                execution_id=self.execution_id,
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
            ExecutionFinished(
                self.execution_id,
                status=status,
                outputs=[{"block": o["block"], "output": o["output"]} for o in outputs],
                errors=errors,
                invocations=self.count,
                duration_ms=round(duration_ms, 1),
                replay_of=self.replay_of,
            )
        )
        return ExecutionResult(self.execution_id, status, outputs, errors, self.count, duration_ms, self.replay_of)
