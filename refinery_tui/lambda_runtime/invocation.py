"""One invocation in this function: run its block once, route the outcome, record it, and turn it into sends."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from refinery_tui.runtime import blockload, resources
from refinery_tui.runtime.engine import Context, Invocation, Outcome, route
from refinery_tui.runtime.joins import merge_backpacks

from . import logline
from .function import MANIFEST, ROOT, SELF
from .outbox import Outbox, Send, envelope, payload_key
from .store import DuplicateSlot, Store


def child_ids(parent: str, execution: str):
    """Ids of what an invocation dispatches: derived from its own id, so a re-run makes the same ids."""
    count = 0

    def new_id() -> str:
        nonlocal count
        count += 1
        digest = hashlib.sha1(f"{parent}/{count}".encode()).hexdigest()[:12]
        return f"{execution}.{digest}"

    return new_id


@dataclass
class Step:
    """What one invocation leaves behind: sends, and the records to write before the counter moves."""

    sends: list[Send] = field(default_factory=list)
    failures: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class InvocationRunner:
    """Runs invocations at most once per dispatch id, and settles each: its records, the in-flight count, its sends."""

    def __init__(self, store: Store, outbox: Outbox, remaining_s: Callable[[], float]) -> None:
        self.store = store
        self.outbox = outbox
        self.remaining_s = remaining_s
        self._started = 0.0
        store.remaining_s = remaining_s

    def run(self, invocation: Invocation, units: int) -> None:
        execution = invocation.context.execution_id
        if not self.store.claim(execution, invocation.id, invocation.block):
            logline.write(
                "skipped",
                execution_id=execution,
                block=invocation.block,
                invocation_id=invocation.id,
                reason="this dispatch ran already (a redelivered event)",
            )
            return
        counted = self.store.counted
        try:
            self.settle(invocation, units)
        except Exception:
            if self.store.counted != counted:
                raise
            # Nothing was counted yet (a write was refused past its retries): give the claim back and dispatch the
            # invocation again to this function (asynchronous invokes are not retried by Lambda here), so it is
            # run again instead of lost.
            self.store.release(execution, invocation.id)
            message = {**envelope(invocation), "units": units}
            self.outbox.send(Send("invoke", SELF, message, payload_key(invocation), units))
            logline.write(
                "released",
                execution_id=execution,
                block=invocation.block,
                invocation_id=invocation.id,
                reason="its state could not be written: dispatched again",
            )

    def settle(self, invocation: Invocation, units: int) -> None:
        """Run the claimed invocation, write its records, move the in-flight counter, send, and end the execution
        when nothing is left in flight."""
        execution = invocation.context.execution_id
        block = MANIFEST.blocks[invocation.block]
        step = Step()
        if block["type"] == "code":
            outcome = self.call(invocation, block)
            self.after(invocation, outcome, step, started=self._started)
        else:
            self.resource(invocation, step)
        for invocation_id, failure in step.failures:
            self.store.put_failure(execution, invocation_id, failure)
        left = self.store.add_inflight(execution, sum(send.units for send in step.sends) - units)
        for send in step.sends:
            self.outbox.send(send)
        if left == 0:
            status = self.store.finish(execution)
            if status is not None:
                logline.write("execution_finished", execution_id=execution, status=status)

    def call(self, invocation: Invocation, block: dict[str, Any]) -> Outcome:
        self._started = time.time()
        logline.write(
            "start",
            execution_id=invocation.context.execution_id,
            block=invocation.block,
            invocation_id=invocation.id,
            parent=invocation.parent,
            via=invocation.via,
            attempt=invocation.attempt,
            place=[f.index for f in invocation.context.frames],
            frames=[f.to_json() for f in invocation.context.frames],
            **logline.value_fields("input", invocation.input),
            **logline.value_fields("backpack", invocation.backpack),
        )
        timeout = min(float(block.get("timeout", 30)), max(0.1, self.remaining_s() - 3.0))
        env = {str(k): str(v) for k, v in (block.get("env") or {}).items()}
        os.environ.update(env)
        result = blockload.call_with_deadline(
            os.path.join(ROOT, block["file"]), invocation.input, invocation.backpack, timeout
        )
        if result["ok"]:
            return Outcome.success(result["output"], result["backpack"])
        return Outcome(False, error=result["error"])

    def resource(self, invocation: Invocation, step: Step) -> None:
        """A resource block reached by a dispatch (or an entry event) runs here, inline."""
        block = MANIFEST.blocks[invocation.block]
        self._started = time.time()
        value = resources.resource_output(block, invocation.input)
        logline.write(
            "start",
            execution_id=invocation.context.execution_id,
            block=invocation.block,
            invocation_id=invocation.id,
            parent=invocation.parent,
            via=invocation.via,
            attempt=0,
            place=[f.index for f in invocation.context.frames],
            frames=[f.to_json() for f in invocation.context.frames],
            **logline.value_fields("input", invocation.input),
            **logline.value_fields("backpack", invocation.backpack),
        )
        if block["type"] == "queue":
            consumers = [t for t in MANIFEST.outgoing(invocation.block) if t["type"] == "then"]
            self.end(invocation, Outcome.success(value, invocation.backpack), final=False)
            message = {
                "refinery": 1,
                "queued": {
                    "queue": invocation.block,
                    "execution": invocation.context.execution_id,
                    "value": value,
                    "backpack": invocation.backpack,
                    "hops": invocation.context.hops,
                    "source": invocation.id,
                },
            }
            step.sends.append(Send("sqs", invocation.block, message, payload_key(invocation), 1 if consumers else 0))
            return
        outcome = Outcome.success(value, invocation.backpack)
        if block["type"] == "api_response":
            self.store.put_reply(invocation.context.execution_id, value)
        self.after(invocation, outcome, step, started=self._started)

    def after(self, invocation: Invocation, outcome: Outcome, step: Step, started: float) -> None:
        """Route the outcome and turn it into records and sends."""
        execution = invocation.context.execution_id
        routing = route(MANIFEST, invocation, outcome, child_ids(invocation.id, execution))
        final = routing.final and routing.outcome.ok
        self.end(invocation, routing.outcome, final=final, started=started)
        children: list[Invocation] = []
        if routing.retry is not None:
            logline.write(
                "retrying",
                execution_id=execution,
                block=invocation.block,
                invocation_id=invocation.id,
                attempt=routing.retry.attempt,
            )
            children.append(routing.retry)
        for index, target in routing.taken:
            kind = "on_exception" if index < 0 else MANIFEST.transitions[index]["type"]
            logline.write(
                "transition",
                execution_id=execution,
                source=invocation.block,
                target=target,
                type=kind,
                transition=index,
                invocation_id=invocation.id,
            )
        children.extend(routing.dispatches)
        release_ids = child_ids(invocation.id + "/join", execution)
        for arrival in routing.arrivals:
            record = {"value": arrival.value, "backpack": arrival.backpack, "source": arrival.source}
            try:
                release = self.store.arrive(
                    execution,
                    arrival.key,
                    arrival.kind,
                    arrival.target,
                    arrival.slot,
                    arrival.size,
                    record,
                    arrival.context.to_json(),
                    by=invocation.id,
                )
            except DuplicateSlot:
                what = f"item {arrival.slot}" if arrival.kind == "fan-in" else f"merge source #{arrival.slot + 1}"
                error = {
                    "type": "JoinError",
                    "message": f"{what} reached the {arrival.kind} into '{arrival.target}' twice",
                    "traceback": "",
                }
                step.failures.append((invocation.id, failure_record(invocation, error)))
                continue
            if release is not None:
                children.append(
                    Invocation(
                        release_ids(),
                        release.target,
                        release.values,
                        merge_backpacks(release.backpacks),
                        Context.from_json(release.context),
                        parent=invocation.id,
                        via=arrival.via,
                    )
                )
        if routing.failure is not None:
            step.failures.append((invocation.id, routing.failure))
            logline.write(
                "execution_failing",
                execution_id=execution,
                block=routing.failure["block"],
                invocation_id=invocation.id,
                error=routing.failure["error"],
            )
        if final:
            self.store.put_output(
                execution,
                invocation.id,
                {
                    "block": invocation.block,
                    "output": routing.outcome.output,
                    "backpack": routing.outcome.backpack or {},
                    "place": [f.index for f in invocation.context.frames],
                    "seq": time.time_ns(),
                },
            )
        for child in children:
            target = MANIFEST.blocks[child.block]
            if target["type"] == "code":
                step.sends.append(Send("invoke", child.block, envelope(child), payload_key(child), 1))
            else:
                self.inline(child, step)

    def inline(self, invocation: Invocation, step: Step) -> None:
        """A dispatch to a queue, topic or API response: done here; a topic's deliveries go out as one publish."""
        inner = Step()
        self.resource(invocation, inner)
        step.failures.extend(inner.failures)
        deliveries = {s.target: s.message for s in inner.sends if s.kind == "invoke"}
        step.sends.extend(s for s in inner.sends if s.kind != "invoke")
        if deliveries:
            message = {"refinery": 1, "topic": invocation.block, "deliveries": deliveries}
            step.sends.append(Send("sns", invocation.block, message, payload_key(invocation), len(deliveries)))

    def end(self, invocation: Invocation, outcome: Outcome, final: bool, started: float | None = None) -> None:
        began = started if started is not None else self._started
        fields: dict[str, Any] = {}
        if outcome.ok:
            fields.update(logline.value_fields("output", outcome.output))
            fields["output_preview"] = logline.preview(outcome.output)
            fields.update(logline.value_fields("backpack_after", outcome.backpack or {}))
        else:
            fields["error"] = outcome.error
        logline.write(
            "end",
            execution_id=invocation.context.execution_id,
            block=invocation.block,
            invocation_id=invocation.id,
            status="succeeded" if outcome.ok else "failed",
            final=final,
            duration_ms=round((time.time() - began) * 1000, 3),
            attempt=invocation.attempt,
            **fields,
        )


def failure_record(invocation: Invocation, error: dict[str, Any]) -> dict[str, Any]:
    return {
        "block": invocation.block,
        "invocation": invocation.id,
        "error": error,
        "frames": [f.to_json() for f in invocation.context.frames],
    }
