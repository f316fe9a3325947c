"""The AWS calls that create, update and delete each kind of resource, as named steps the deployer runs in order;
one module per group of kinds.

Every step list of a tagged resource starts by checking that the resource by that name is absent or tagged with this
project and stage (it may have changed hands since the plan); a refused change has that check as its only step.
A resource's spec tag is written by its last step, so one left half made by a failed apply shows up in the next
plan as needing an update, and the next apply finishes it.
"""

from __future__ import annotations

from refinery_tui.cloud.operations.common import Step
from refinery_tui.cloud.operations.functions import FunctionSteps
from refinery_tui.cloud.operations.messaging import MessagingSteps
from refinery_tui.cloud.operations.storage import StorageSteps
from refinery_tui.cloud.operations.triggers import TriggerSteps
from refinery_tui.cloud.ownership import UNTAGGED, OwnershipError, check
from refinery_tui.cloud.planner import REFUSE, Change


class Operations(StorageSteps, FunctionSteps, MessagingSteps, TriggerSteps):
    """Every kind's steps: `steps(change)` calls `{action}_{kind}`, after checking whose the resource is."""

    def steps(self, change: Change) -> list[Step]:
        if change.action == REFUSE:
            return [("check its owner", lambda: _refuse(change.reason))]
        steps = getattr(self, f"{change.action}_{change.kind}")(change)
        if change.kind in UNTAGGED:
            return steps
        return [("check its owner", lambda: check(self.aws, self.placement, change.kind, change.name)), *steps]


def _refuse(why: str) -> None:
    raise OwnershipError(why)
