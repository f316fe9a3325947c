"""The AWS calls that create, update and delete each kind of resource, as named steps the deployer runs in order;
one module per group of kinds.

A resource's spec tag is written by its last step, so one left half made by a failed apply shows up in the next
plan as needing an update, and the next apply finishes it.
"""

from __future__ import annotations

from refinery_tui.cloud.operations.common import Step
from refinery_tui.cloud.operations.functions import FunctionSteps
from refinery_tui.cloud.operations.messaging import MessagingSteps
from refinery_tui.cloud.operations.storage import StorageSteps
from refinery_tui.cloud.operations.triggers import TriggerSteps
from refinery_tui.cloud.planner import Change


class Operations(StorageSteps, FunctionSteps, MessagingSteps, TriggerSteps):
    """Every kind's steps: `steps(change)` calls `{action}_{kind}`."""

    def steps(self, change: Change) -> list[Step]:
        method = getattr(self, f"{change.action}_{change.kind}")
        return method(change)
