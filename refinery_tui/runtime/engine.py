"""The transition engine: a pure function from (manifest, invocation, outcome) to what happens next.

Stdlib only. The executor (local or deployed) runs a block, builds an `Outcome`, calls `route`, and carries out
the `Routing`: start the dispatched invocations, hand the arrivals to a `JoinTable`, record a final output, or
fail the execution.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from refinery_tui.runtime.expressions import ExpressionError, compile_expression

RESOURCE_TYPES = ("schedule", "queue", "topic", "api_endpoint", "api_response")


@dataclass(frozen=True)
class Frame:
    """One level of fan-out: which fan-out occurrence (`id`), which item of how many."""

    id: str
    index: int
    count: int

    def to_json(self) -> list[Any]:
        return [self.id, self.index, self.count]

    @staticmethod
    def from_json(data: list[Any]) -> Frame:
        return Frame(str(data[0]), int(data[1]), int(data[2]))


@dataclass(frozen=True)
class Context:
    """What travels with an invocation besides its input and backpack."""

    execution_id: str
    hops: int = 0
    frames: tuple[Frame, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "hops": self.hops,
            "frames": [frame.to_json() for frame in self.frames],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Context:
        return Context(
            str(data["execution_id"]),
            int(data.get("hops", 0)),
            tuple(Frame.from_json(f) for f in data.get("frames", [])),
        )

    @property
    def scope(self) -> str:
        """Names the fan-out branch this invocation is in (empty outside any fan-out)."""
        return "/".join(f"{frame.id}:{frame.index}" for frame in self.frames)


@dataclass
class Invocation:
    id: str
    block: str
    input: Any
    backpack: dict[str, Any]
    context: Context
    attempt: int = 0
    parent: str | None = None
    via: int | None = None


@dataclass
class Outcome:
    """A block's result: its output and backpack after it ran, or an error {type, message, traceback}."""

    ok: bool
    output: Any = None
    backpack: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @staticmethod
    def success(output: Any, backpack: dict[str, Any]) -> Outcome:
        return Outcome(True, output, backpack)

    @staticmethod
    def failure(error_type: str, message: str, traceback: str = "") -> Outcome:
        return Outcome(False, error={"type": error_type, "message": message, "traceback": traceback})


@dataclass
class Arrival:
    """A value handed to a join (a fan-in or a merge): slot `slot` of `size`, under `key`."""

    key: str
    kind: str
    target: str
    slot: int
    size: int
    value: Any
    backpack: dict[str, Any]
    context: Context
    source: str
    via: int


@dataclass
class Routing:
    """What to do after an invocation. `final` means it took no transition: its output is an execution output."""

    outcome: Outcome
    dispatches: list[Invocation] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    taken: list[tuple[int, str]] = field(default_factory=list)
    retry: Invocation | None = None
    failure: dict[str, Any] | None = None
    final: bool = False


class Manifest:
    """Read access to a manifest (see model/manifest.py), with `if` expressions compiled once."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.blocks: dict[str, dict[str, Any]] = data["blocks"]
        self.transitions: list[dict[str, Any]] = data["transitions"]
        self.max_hops: int = int(data.get("max_hops", 10_000))
        self.on_exception: str | None = data.get("on_exception")
        self.fan_in_pairs = {int(k): int(v) for k, v in data.get("fan_in_pairs", {}).items()}
        self.fan_ins_of = {int(k): list(v) for k, v in data.get("fan_ins_of", {}).items()}
        self.merge_sources: dict[str, list[int]] = data.get("merge_sources", {})
        self._compiled: dict[int, Any] = {}

    def outgoing(self, block: str) -> list[dict[str, Any]]:
        return [self.transitions[i] for i in self.blocks[block].get("outgoing", [])]

    def expression(self, index: int):
        if index not in self._compiled:
            self._compiled[index] = compile_expression(self.transitions[index]["expression"] or "")
        return self._compiled[index]


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": error_type, "message": message, "traceback": ""}


def route(manifest: Manifest, invocation: Invocation, outcome: Outcome, new_id: Callable[[], str]) -> Routing:
    """Decide what follows an invocation. Never raises for user mistakes: they become failures."""
    block = manifest.blocks[invocation.block]
    if not outcome.ok:
        if invocation.attempt < int(block.get("retries", 0) or 0):
            retry = Invocation(
                new_id(),
                invocation.block,
                invocation.input,
                invocation.backpack,
                invocation.context,
                invocation.attempt + 1,
                invocation.parent,
                invocation.via,
            )
            return Routing(outcome, retry=retry)
        return _route_failure(manifest, invocation, outcome, new_id)

    outgoing = manifest.outgoing(invocation.block)
    backpack = outcome.backpack if outcome.backpack is not None else invocation.backpack
    fired_if = set()
    for transition in outgoing:
        if transition["type"] != "if":
            continue
        try:
            if manifest.expression(transition["index"]).evaluate(outcome.output, invocation.input, backpack):
                fired_if.add(transition["index"])
        except ExpressionError as exc:
            failed = Outcome(
                False,
                error=_error(
                    "ExpressionError",
                    f"the if expression of transition #{transition['index'] + 1} "
                    f"({transition['expression']}) failed: {exc}",
                ),
            )
            return _route_failure(manifest, invocation, failed, new_id)
    if any(t["type"] == "fan-out" for t in outgoing) and not isinstance(outcome.output, list):
        failed = Outcome(
            False,
            error=_error(
                "FanOutError",
                f"a fan-out needs a list, but '{invocation.block}' returned "
                f"{type(outcome.output).__name__ if outcome.output is not None else 'null'}",
            ),
        )
        return _route_failure(manifest, invocation, failed, new_id)

    routing = Routing(outcome)
    hops = invocation.context.hops + 1
    context = Context(invocation.context.execution_id, hops, invocation.context.frames)

    def dispatch(transition: dict[str, Any], value: Any, ctx: Context = context) -> None:
        routing.dispatches.append(
            Invocation(
                new_id(), transition["to"], value, dict(backpack), ctx, parent=invocation.id, via=transition["index"]
            )
        )
        routing.taken.append((transition["index"], transition["to"]))

    for transition in outgoing:
        kind = transition["type"]
        if kind == "then" or (kind == "if" and transition["index"] in fired_if) or (kind == "else" and not fired_if):
            dispatch(transition, outcome.output)
        elif kind == "fan-out":
            frame_id = f"{invocation.id}.{transition['index']}"
            items = outcome.output
            for index, item in enumerate(items):
                frames = (*invocation.context.frames, Frame(frame_id, index, len(items)))
                dispatch(transition, item, Context(context.execution_id, hops, frames))
            if not items:
                routing.taken.append((transition["index"], transition["to"]))
                for target in _fan_in_targets(manifest, transition["index"]):
                    routing.dispatches.append(
                        Invocation(
                            new_id(), target, [], dict(backpack), context, parent=invocation.id, via=transition["index"]
                        )
                    )
        elif kind == "fan-in":
            arrival = _fan_in_arrival(manifest, invocation, transition, outcome.output, backpack, hops)
            if isinstance(arrival, str):
                return _route_failure(
                    manifest, invocation, Outcome(False, error=_error("FanInError", arrival)), new_id, catchable=False
                )
            routing.arrivals.append(arrival)
            routing.taken.append((transition["index"], transition["to"]))
        elif kind == "merge":
            sources = manifest.merge_sources.get(transition["to"], [transition["index"]])
            routing.arrivals.append(
                Arrival(
                    key=f"merge:{invocation.context.scope}>{transition['to']}",
                    kind="merge",
                    target=transition["to"],
                    slot=sources.index(transition["index"]),
                    size=len(sources),
                    value=outcome.output,
                    backpack=dict(backpack),
                    context=context,
                    source=invocation.id,
                    via=transition["index"],
                )
            )
            routing.taken.append((transition["index"], transition["to"]))
    if (routing.dispatches or routing.arrivals) and hops > manifest.max_hops:
        return Routing(
            outcome,
            failure={
                "block": invocation.block,
                "invocation": invocation.id,
                "error": _error(
                    "MaxHopsExceeded",
                    f"the execution made more than {manifest.max_hops} hops "
                    f"(max_hops); stopped after '{invocation.block}'",
                ),
                "frames": [f.to_json() for f in invocation.context.frames],
            },
        )
    routing.final = not routing.dispatches and not routing.arrivals
    return routing


def _fan_in_targets(manifest: Manifest, fan_out_index: int) -> list[str]:
    targets: list[str] = []
    for fan_in in manifest.fan_ins_of.get(fan_out_index, []):
        target = manifest.transitions[fan_in]["to"]
        if target not in targets:
            targets.append(target)
    return targets


def _fan_in_arrival(
    manifest: Manifest,
    invocation: Invocation,
    transition: dict[str, Any],
    value: Any,
    backpack: dict[str, Any],
    hops: int,
) -> Arrival | str:
    fan_out = manifest.fan_in_pairs.get(transition["index"])
    frames = invocation.context.frames
    position = None
    if fan_out is not None:
        suffix = f".{fan_out}"
        position = next((i for i in range(len(frames) - 1, -1, -1) if frames[i].id.endswith(suffix)), None)
    if position is None:
        return f"'{invocation.block}' reached the fan-in into '{transition['to']}' outside the fan-out it belongs to"
    frame = frames[position]
    outer = Context(invocation.context.execution_id, hops, frames[:position])
    return Arrival(
        key=f"fan-in:{outer.scope}|{frame.id}>{transition['to']}",
        kind="fan-in",
        target=transition["to"],
        slot=frame.index,
        size=frame.count,
        value=value,
        backpack=dict(backpack),
        context=outer,
        source=invocation.id,
        via=transition["index"],
    )


def _route_failure(
    manifest: Manifest, invocation: Invocation, outcome: Outcome, new_id: Callable[[], str], catchable: bool = True
) -> Routing:
    block = manifest.blocks[invocation.block]
    routing = Routing(outcome)
    error = outcome.error or _error("Error", "unknown error")
    payload = {"error": error, "input": invocation.input}
    context = Context(invocation.context.execution_id, invocation.context.hops + 1, invocation.context.frames)
    targets = [t for t in manifest.outgoing(invocation.block) if t["type"] == "exception"] if catchable else []
    if targets:
        for transition in targets:
            routing.dispatches.append(
                Invocation(
                    new_id(),
                    transition["to"],
                    payload,
                    dict(invocation.backpack),
                    context,
                    parent=invocation.id,
                    via=transition["index"],
                )
            )
            routing.taken.append((transition["index"], transition["to"]))
    elif catchable and block.get("handler_catches") and manifest.on_exception:
        routing.dispatches.append(
            Invocation(
                new_id(),
                manifest.on_exception,
                payload,
                dict(invocation.backpack),
                context,
                parent=invocation.id,
                via=None,
            )
        )
        routing.taken.append((-1, manifest.on_exception))
    else:
        routing.failure = {
            "block": invocation.block,
            "invocation": invocation.id,
            "error": error,
            "frames": [f.to_json() for f in invocation.context.frames],
        }
    return routing


def is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True
