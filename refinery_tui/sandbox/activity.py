"""What the sandbox is busy with (invocations queued or running, work about to produce some), and waiting on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Activity:
    """One condition variable that every change of the sandbox's workload notifies.

    `invocations` counts Lambda invocations queued or running; `holds` counts work in progress that is about to
    produce invocations (an SQS send or SNS publish being served, the SQS poller handing out a batch).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.invocations = 0
        self.holds = 0
        self.generation = 0

    def _bump(self) -> None:
        self.generation += 1
        self._cond.notify_all()

    def begin_invocation(self) -> None:
        with self._cond:
            self.invocations += 1
            self._bump()

    def end_invocation(self) -> None:
        with self._cond:
            self.invocations -= 1
            self._bump()

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._cond:
            self.holds += 1
            self._bump()
        try:
            yield
        finally:
            with self._cond:
                self.holds -= 1
                self._bump()

    def poke(self) -> None:
        """Wake everyone waiting: something they may care about changed (a message arrived, a mapping changed)."""
        with self._cond:
            self._bump()

    @property
    def quiet(self) -> bool:
        """No invocation queued or running and nothing about to start one."""
        return self.invocations == 0 and self.holds == 0

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Block until the generation moves past `generation` or `timeout` passes; return the current one."""
        with self._cond:
            self._cond.wait_for(lambda: self.generation != generation, timeout)
            return self.generation

    def wait_idle(self, timeout: float, nothing_waiting: Callable[[], bool]) -> bool:
        """Block until quiet and `nothing_waiting()`; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.quiet and nothing_waiting():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # The predicate also looks at queues that change without a notification (a message becoming
                # visible again), so re-check now and then even if nobody notifies.
                self._cond.wait(min(remaining, 0.5))
