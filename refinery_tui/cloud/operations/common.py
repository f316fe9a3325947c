"""What every kind's steps share: the Step type, the base holding the AWS clients and the stage, and helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.planner import Change

Step = tuple[str, Callable[[], Any]]
DIRECT_UPLOAD_LIMIT = 45 * 1024 * 1024


def code_bytes(code: Any) -> bytes:
    return code.path.read_bytes()


def ignore(codes: tuple[str, ...], call: Callable[[], Any]) -> Any:
    """`call()`, or None when AWS answers with one of `codes` (already there, already gone)."""
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in codes:
            return None
        raise


def until(check: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


class StepsBase:
    """The AWS clients and the stage's placement the steps of every kind use."""

    def __init__(self, aws: Aws, placement: Placement) -> None:
        self.aws = aws
        self.placement = placement

    def tags(self, change: Change, spec: bool) -> dict[str, str]:
        resource = change.desired
        return self.placement.names.tags(
            change.kind, resource.block if resource else None, resource.hash if spec and resource else None
        )

    def permission(self, function: str, sid: str, principal: str, source_arn: str) -> Step:
        lam = self.aws.client("lambda")
        return (
            f"let {principal.split('.')[0]} invoke it",
            lambda: ignore(
                ("ResourceConflictException",),
                lambda: lam.add_permission(
                    FunctionName=function,
                    StatementId=sid,
                    Action="lambda:InvokeFunction",
                    Principal=principal,
                    SourceArn=source_arn,
                ),
            ),
        )
