"""Test knobs: the sandbox answers chosen AWS calls with an error on demand (throttling, a failing live tail).

Set them with `REFINERY_SANDBOX_FAULTS` when the sandbox starts, or `Sandbox.faults.add(...)` while it runs. The
variable holds comma-separated `service:Operation:ErrorCode[:every=N][:burst=K][:seconds=S][:times=M]`: of each N
calls, the last K are answered with ErrorCode (HTTP 400, the JSON error body botocore and the Node runtime's client
read as that code); `every` and `burst` default to 1 (every call fails). With `seconds=S` a burst is a storm: from
its first failed call, every call fails for S seconds (a throttled DynamoDB partition outlasting a client's retries),
and the calls during it are not counted; `times=M` ends the fault after M storms. For example
`logs:FilterLogEvents:ThrottlingException:every=5` throttles every 5th FilterLogEvents call,
`logs:StartLiveTail:LimitExceededException` makes every live tail fail and
`dynamodb:UpdateItem:ProvisionedThroughputExceededException:every=1000:seconds=6` refuses every UpdateItem for 6 s
after each 999 that passed. `Sandbox.faults.add` also takes `match` (only calls whose request body
holds that text count). `times=M` limits the answers: M failed calls, or M storms.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ENV = "REFINERY_SANDBOX_FAULTS"


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    every: int = 1
    burst: int = 1
    seconds: float = 0.0
    calls: int = 0
    match: str | None = None
    times: int | None = None
    storms: int = 0
    _storm_ends: float = 0.0
    counted: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)

    def hits(self) -> bool:
        if time.monotonic() < self._storm_ends:
            return True
        if self.times is not None and self.times <= 0:
            return False
        with self.counted:
            self.calls += 1
            self.counted.notify_all()
        hit = (self.calls - 1) % self.every >= self.every - self.burst
        if hit:
            if self.times is not None:
                self.times -= 1
            if self.seconds:
                self.storms += 1
                self._storm_ends = time.monotonic() + self.seconds
        return hit

    def applies(self, service: str, operation: str, environ: dict[str, Any] | None) -> bool:
        if (self.service, self.operation) != (service, operation):
            return False
        if self.match is None:
            return True
        stream = (environ or {}).get("wsgi.input")
        body = stream.getvalue() if isinstance(stream, io.BytesIO) else b""
        return self.match.encode() in body

    def wait_calls(self, count: int, timeout: float) -> bool:
        """Wait until this fault has been asked `count` times in all; False if `timeout` passed first."""
        with self.counted:
            return self.counted.wait_for(lambda: self.calls >= count, timeout)


class FaultKnobError(ValueError):
    """A REFINERY_SANDBOX_FAULTS entry that cannot be read."""


def parse(spec: str) -> list[Fault]:
    faults = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        parts = entry.split(":")
        if len(parts) < 3:
            raise FaultKnobError(
                f"{ENV}: {entry!r} is not service:Operation:ErrorCode[:every=N][:burst=K][:seconds=S][:times=M]"
            )
        options = {}
        for option in parts[3:]:
            key, _, value = option.partition("=")
            if key not in ("every", "burst", "seconds", "times") or not value.isdigit() or int(value) < 1:
                raise FaultKnobError(
                    f"{ENV}: {option!r} in {entry!r} is not every=N, burst=K, seconds=S or times=M (all >= 1)"
                )
            options[key] = int(value)
        faults.append(Fault(parts[0], parts[1], parts[2], **options))
    return faults


class Faults:
    """The faults in force; `answer` is asked by the gateway before a call reaches moto."""

    def __init__(self, spec: str | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = parse(spec if spec is not None else os.environ.get(ENV, ""))

    def add(
        self,
        service: str,
        operation: str,
        code: str,
        every: int = 1,
        burst: int = 1,
        seconds: float = 0.0,
        times: int | None = None,
        match: str | None = None,
    ) -> Fault:
        fault = Fault(service, operation, code, every, min(burst, every), seconds, match=match, times=times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def answer(
        self, service: str, operation: str, start_response: Any, environ: dict[str, Any] | None = None
    ) -> Iterable[bytes] | None:
        with self._lock:
            fault = next((f for f in self._faults if f.applies(service, operation, environ)), None)
            if fault is None or not fault.hits():
                return None
        body = json.dumps({"__type": fault.code, "message": f"sandbox fault knob: {fault.code}"}).encode()
        start_response(
            "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
        )
        return [body]
