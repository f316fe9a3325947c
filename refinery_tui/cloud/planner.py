"""The plan: desired state against what exists, as create / update / delete / unchanged, each with its reason; and
what is refused: a name the stage needs that is taken by another project's or stage's resource."""

from __future__ import annotations

from dataclasses import dataclass

from refinery_tui.cloud.desired import LEVEL_OF, Resource
from refinery_tui.cloud.discover import Existing

ACTIONS = ("create", "update", "delete", "unchanged")
REFUSE = "refuse"  # a name this stage needs belongs to another project or stage: nothing is applied
# How each action is marked wherever a plan is shown (the command line, the Deploy pane).
ACTION_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "unchanged": "=", REFUSE: "!"}


@dataclass
class Change:
    action: str
    kind: str
    name: str
    reason: str
    desired: Resource | None = None
    existing: Existing | None = None
    code_only: bool = False

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def block(self) -> str | None:
        return self.desired.block if self.desired else None

    def to_json(self) -> dict[str, str]:
        return {
            "action": self.action,
            "kind": self.kind,
            "name": self.name,
            "reason": self.reason,
            "block": self.block or "",
        }


@dataclass
class Plan:
    changes: list[Change]

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ACTIONS}

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]

    @property
    def refused(self) -> list[Change]:
        """Resources this stage needs whose names are taken by someone else's: while any is left, nothing is
        applied."""
        return [c for c in self.changes if c.action == REFUSE]

    def summary(self) -> str:
        counts = self.counts()
        text = ", ".join(f"{counts[a]} to {a}" if a != "unchanged" else f"{counts[a]} unchanged" for a in ACTIONS)
        return f"{text}, {len(self.refused)} refused" if self.refused else text


def _compare(resource: Resource, existing: Existing) -> tuple[str, str, bool]:
    if resource.kind == "function":
        code = resource.code.code_sha256 if resource.code else None
        code_changed = code is not None and existing.data.get("code_sha256") != code
        runtime = existing.data.get("runtime")
        config_changed = existing.hash != resource.hash or runtime not in (None, resource.spec["runtime"])
        if code_changed and config_changed:
            return "update", "its code and its configuration changed", False
        if code_changed:
            return "update", "its code changed", True
        if config_changed:
            return "update", "its configuration changed" if existing.hash else "it was left half made", False
        return "unchanged", "", False
    if resource.kind == "mapping":
        if (
            existing.data.get("batch_size") != resource.spec["batch_size"]
            or existing.data.get("window", 0) != resource.spec["window"]
        ):
            return "update", "its batch size changed", False
        if "ReportBatchItemFailures" not in (existing.data.get("response_types") or []):
            return "update", "it does not report failed messages one by one", False
        return "unchanged", "", False
    if resource.kind == "subscription":
        return "unchanged", "", False
    if existing.hash != resource.hash:
        if existing.hash is None:
            return "update", "it was left half made (no spec tag)", False
        return (
            "update",
            {
                "role": "the graph changed its permissions",
                "api": "its routes changed",
                "rule": "its schedule or target changed",
            }.get(resource.kind, "its settings changed"),
            False,
        )
    return "unchanged", "", False


def make_plan(desired: list[Resource], existing: dict[str, Existing], taken: dict[str, str] | None = None) -> Plan:
    """`existing`: what the stage has (found by its tags); `taken`: id → why, for the names the stage needs that
    another project's or stage's resource holds."""
    changes: list[Change] = []
    wanted = {r.id for r in desired}
    taken = taken or {}
    for resource in desired:
        found = existing.get(resource.id)
        if found is None and resource.id in taken:
            changes.append(Change(REFUSE, resource.kind, resource.name, taken[resource.id], resource))
            continue
        if found is None:
            reason = f"new block '{resource.block}'" if resource.block else "not deployed yet"
            changes.append(Change("create", resource.kind, resource.name, reason, resource))
            continue
        action, reason, code_only = _compare(resource, found)
        changes.append(Change(action, resource.kind, resource.name, reason, resource, found, code_only))
    for found in existing.values():
        if found.id not in wanted:
            changes.append(Change("delete", found.kind, found.name, "no block needs it any more", existing=found))
    changes.sort(key=_order)
    return Plan(changes)


def _order(change: Change) -> tuple[bool, int, str, str]:
    """Refusals first; then by level (deletes in reverse), kind and name."""
    level = LEVEL_OF[change.kind] if change.action != "delete" else 10 - LEVEL_OF[change.kind]
    return (change.action != REFUSE, level, change.kind, change.name)
