"""The controls of a local execution: pausing, stepping, breakpoints, cancelling and editing a pending input. The
controller loop asks them whether the next pending invocation may start, and hands them the commands other threads
send; they say what to announce."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from refinery_tui.runtime.engine import Invocation
from refinery_tui.runtime.events import (
    EditRefused,
    InvocationCancelled,
    InvocationEdited,
    Paused,
    Resumed,
    RunEvent,
    preview,
)


@dataclass
class Controls:
    paused: bool = False
    step_credits: int = 0
    cancelled: bool = False
    breakpoints: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)  # invocations let past their breakpoint
    announced_pause: str | None = None

    def may_start(self, upcoming: Invocation) -> bool:
        """Whether the next pending invocation starts now (taking a step credit if it does)."""
        if self.paused and self.step_credits == 0:
            return False
        if upcoming.block in self.breakpoints and upcoming.id not in self.released:
            self.paused = True
            self.step_credits = 0
            return False
        if self.step_credits:
            self.step_credits -= 1
        self.announced_pause = None
        return True

    def pause_event(self, execution_id: str, upcoming: Invocation) -> Paused | None:
        """The `paused` event for the invocation held, once per invocation."""
        if self.announced_pause == upcoming.id:
            return None
        self.announced_pause = upcoming.id
        at_breakpoint = upcoming.block in self.breakpoints and upcoming.id not in self.released
        return Paused(
            execution_id,
            reason="breakpoint" if at_breakpoint else "step",
            invocation_id=upcoming.id,
            block=upcoming.block,
            input_preview=preview(upcoming.input),
            input=upcoming.input,
        )

    def command(self, payload: Any, pending: deque[Invocation], execution_id: str) -> list[RunEvent]:
        """Carry out a command (pause, step, resume, cancel, breakpoints, edit); the events it makes."""
        if payload == "pause":
            self.paused = True
        elif payload == "step":
            self.step_credits += 1
            if pending:
                self.released.add(pending[0].id)
        elif payload == "resume":
            self.paused = False
            if pending:
                self.released.add(pending[0].id)
            self.announced_pause = None
            return [Resumed(execution_id)]
        elif payload == "cancel":
            self.cancelled = True
            cancelled: list[RunEvent] = [
                InvocationCancelled(
                    execution_id,
                    invocation_id=invocation.id,
                    block=invocation.block,
                    place=[f.index for f in invocation.context.frames],
                )
                for invocation in pending
            ]
            pending.clear()
            return cancelled
        elif isinstance(payload, tuple) and payload[0] == "breakpoints":
            self.breakpoints = set(payload[1])
        elif isinstance(payload, tuple) and payload[0] == "edit":
            _, invocation_id, value = payload
            for invocation in pending:
                if invocation.id == invocation_id:
                    invocation.input = value
                    return [InvocationEdited(execution_id, invocation_id, invocation.block, preview(value))]
            reason = "only an invocation that has not started can be edited"
            return [EditRefused(execution_id, invocation_id=invocation_id, reason=reason)]
        return []
