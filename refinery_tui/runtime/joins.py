"""Join bookkeeping for fan-in and merge: collect arrivals by key and release the join when every slot is filled.

Stdlib only. This is the in-memory table the local executor uses; the deployed runtime keeps the same records in
DynamoDB with conditional updates, and uses `merge_backpacks` and `join_input` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from refinery_tui.runtime.engine import Arrival, Context


class DuplicateArrival(Exception):
    """The same slot of a join was filled twice: a branch reached the same fan-in (or merge) twice."""


@dataclass
class JoinState:
    key: str
    kind: str
    target: str
    size: int
    context: Context
    slots: dict[int, tuple[Any, dict[str, Any], str]] = field(default_factory=dict)
    released: bool = False

    def missing(self) -> list[int]:
        return [slot for slot in range(self.size) if slot not in self.slots]


@dataclass
class Release:
    """A completed join: run `target` once with `input` (ordered), the merged backpack, in `context`."""

    target: str
    input: list[Any]
    backpack: dict[str, Any]
    context: Context
    sources: list[str]
    key: str


def merge_backpacks(backpacks: list[dict[str, Any]]) -> dict[str, Any]:
    """Dict union in order: later branches (item order, declaration order) win."""
    merged: dict[str, Any] = {}
    for backpack in backpacks:
        merged.update(backpack or {})
    return merged


def join_input(state: JoinState) -> tuple[list[Any], dict[str, Any], list[str]]:
    ordered = [state.slots[slot] for slot in range(state.size)]
    return (
        [value for value, _, _ in ordered],
        merge_backpacks([bp for _, bp, _ in ordered]),
        [source for _, _, source in ordered],
    )


class JoinTable:
    def __init__(self) -> None:
        self.joins: dict[str, JoinState] = {}

    def arrive(self, arrival: Arrival) -> Release | None:
        """Record an arrival; return the release when it completes the join. Raises DuplicateArrival."""
        state = self.joins.get(arrival.key)
        if state is None:
            state = JoinState(arrival.key, arrival.kind, arrival.target, arrival.size, arrival.context)
            self.joins[arrival.key] = state
        if arrival.slot in state.slots or state.released:
            what = f"item {arrival.slot}" if arrival.kind == "fan-in" else f"merge source #{arrival.slot + 1}"
            raise DuplicateArrival(f"{what} reached the {arrival.kind} into '{arrival.target}' twice")
        state.slots[arrival.slot] = (arrival.value, arrival.backpack, arrival.source)
        if arrival.kind == "fan-in":
            state.context = arrival.context
        if len(state.slots) < state.size:
            return None
        state.released = True
        values, backpack, sources = join_input(state)
        return Release(state.target, values, backpack, state.context, sources, state.key)

    def incomplete(self) -> list[JoinState]:
        return [state for state in self.joins.values() if not state.released]
