"""The deployer: plan (desired against existing), apply (dependency order, parallel within a level), teardown."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import LEVEL_OF, LEVELS, Placement, Resource, desired_state
from refinery_tui.cloud.discover import discover
from refinery_tui.cloud.naming import Names
from refinery_tui.cloud.operations import Operations
from refinery_tui.cloud.operations.waiting import progress_to
from refinery_tui.cloud.ownership import OwnershipError, conflicts
from refinery_tui.cloud.packaging import Package, package_all
from refinery_tui.cloud.planner import REFUSE, Change, Plan, make_plan
from refinery_tui.model.manifest import build_manifest
from refinery_tui.model.project import Project
from refinery_tui.model.run_data import run_data_folder

Listener = Callable[[dict[str, Any]], None]


@dataclass
class StepFailure:
    change: Change
    step: str
    error: str

    def line(self) -> str:
        return f"{self.change.action} {self.change.kind} {self.change.name}: step '{self.step}' failed: {self.error}"


@dataclass
class ApplyResult:
    plan: Plan
    done: list[Change] = field(default_factory=list)
    failures: list[StepFailure] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def _message(exc: Exception) -> str:
    if isinstance(exc, OwnershipError):
        return str(exc)
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class Deployer:
    """Deploys one project's stage to one AWS target (real AWS, LocalStack or the sandbox)."""

    def __init__(
        self,
        project: Project,
        root: Path,
        stage: str,
        aws: Aws,
        cache_dir: Path | None = None,
        parallel: int = 8,
        placement: Placement | None = None,
    ) -> None:
        self.project = project
        self.root = Path(root)
        self.aws = aws
        self.names = placement.names if placement else Names(project.name, stage, aws.region)
        self.cache_dir = cache_dir or run_data_folder(self.root) / "build"
        self.parallel = max(1, parallel)
        self._target = placement
        self._packages: dict[str, Package] | None = None

    @property
    def target(self) -> Placement:
        """Where the stage is deployed (names, account, region, manifest); resolving it asks AWS for the account."""
        if self._target is None:
            self._target = Placement(
                self.names, self.aws.account, self.aws.region, self.aws.partition, build_manifest(self.project)
            )
        return self._target

    def packages(self) -> dict[str, Package]:
        if self._packages is None:
            self._packages = package_all(self.project, self.target.manifest, self.names, self.root, self.cache_dir)
        return self._packages

    def desired(self) -> list[Resource]:
        return desired_state(self.target, self.packages())

    def plan(self) -> Plan:
        """What to change; a resource the stage needs whose name another project's or stage's resource holds is
        refused (and then nothing is applied)."""
        desired = self.desired()
        existing = discover(self.aws, self.target, self.parallel)
        unknown = [resource for resource in desired if resource.id not in existing]
        return make_plan(desired, existing, conflicts(self.aws, self.target, unknown, self.parallel))

    def teardown_plan(self) -> Plan:
        return make_plan([], discover(self.aws, self.target, self.parallel))

    def apply(self, plan: Plan | None = None, listener: Listener | None = None) -> ApplyResult:
        plan = plan or self.plan()
        return self._run(plan, listener or (lambda event: None))

    def teardown(self, listener: Listener | None = None) -> ApplyResult:
        return self._run(self.teardown_plan(), listener or (lambda event: None))

    def _run(self, plan: Plan, emit: Listener) -> ApplyResult:
        started = time.monotonic()
        result = ApplyResult(plan)
        operations = Operations(self.aws, self.target)
        pending = plan.pending
        steps = {change.id: operations.steps(change) for change in pending}
        emit({"event": "apply_started", "changes": len(pending), "steps": sum(len(s) for s in steps.values())})
        creates = [c for c in pending if c.action not in ("delete", REFUSE)]
        deletes = [c for c in pending if c.action == "delete"]
        # A refusal fails first, so nothing else is tried.
        batches = [[c for c in pending if c.action == REFUSE]]
        batches += [[c for c in deletes if LEVEL_OF[c.kind] == level] for level in reversed(range(len(LEVELS)))]
        batches += [[c for c in creates if LEVEL_OF[c.kind] == level] for level in range(len(LEVELS))]
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="deploy") as pool:
            for batch in batches:
                if not batch:
                    continue
                if result.failures:
                    result.skipped.extend(batch)
                    for change in batch:
                        emit({"event": "resource_skipped", "id": change.id, "reason": "an earlier step failed"})
                    continue
                for outcome in pool.map(lambda change: self._carry_out(change, steps[change.id], emit), batch):
                    if isinstance(outcome, StepFailure):
                        result.failures.append(outcome)
                    else:
                        result.done.append(outcome)
        result.seconds = time.monotonic() - started
        emit(
            {
                "event": "apply_finished",
                "ok": result.ok,
                "done": len(result.done),
                "failed": [f.line() for f in result.failures],
                "skipped": len(result.skipped),
                "seconds": round(result.seconds, 3),
            }
        )
        return result

    def _carry_out(self, change: Change, steps: list, emit: Listener) -> Change | StepFailure:
        emit(
            {
                "event": "resource_started",
                "id": change.id,
                "action": change.action,
                "kind": change.kind,
                "name": change.name,
                "steps": len(steps),
            }
        )
        for number, (label, run) in enumerate(steps, 1):

            def waiting(message: str, label: str = label) -> None:
                emit({"event": "resource_waiting", "id": change.id, "step": label, "message": message})

            try:
                with progress_to(waiting):
                    run()
            except Exception as exc:  # noqa: BLE001 - any failure of a step is reported with the step
                failure = StepFailure(change, label, _message(exc))
                emit({"event": "resource_failed", "id": change.id, "step": label, "error": failure.error})
                return failure
            emit({"event": "resource_step", "id": change.id, "step": label, "done": number, "steps": len(steps)})
        emit({"event": "resource_done", "id": change.id, "action": change.action})
        return change
