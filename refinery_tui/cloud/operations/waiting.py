"""Waiting out AWS's windows after a delete (a queue's name blocked for 60 s, a table still DELETING), telling the
step's progress listener what is waited for, how often it is tried again and for how long."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from botocore.exceptions import ClientError

_listener: ContextVar[Callable[[str], None] | None] = ContextVar("refinery_step_progress", default=None)


@contextmanager
def progress_to(listener: Callable[[str], None]) -> Iterator[None]:
    """Within this block (in this thread), `tell` gives its messages to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def tell(message: str) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(message)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def retried(codes: tuple[str, ...], call: Callable[[], Any], what: str, interval: float, limit: float) -> Any:
    """`call()`, tried again every `interval` s for up to `limit` s while AWS answers with one of `codes`; each
    wait is told as "`what`, waiting (retry in N s, up to M s)"."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return call()
        except ClientError as exc:
            left = deadline - time.monotonic()
            if error_code(exc) not in codes or left <= 0:
                raise
            wait = min(interval, left)
            tell(f"{what}, waiting (retry in {wait:.0f} s, up to {limit:.0f} s)")
            time.sleep(wait)


def wait_for(check: Callable[[], bool], what: str, interval: float, limit: float) -> None:
    """Wait until `check()` holds, looking every `interval` s for up to `limit` s, telling each wait."""
    deadline = time.monotonic() + limit
    while not check():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"gave up after {limit:.0f} s: {what}")
        wait = min(interval, left)
        tell(f"{what}, waiting (check again in {wait:.0f} s, up to {limit:.0f} s)")
        time.sleep(wait)
