"""The desired state of a project's stage: every AWS resource it needs, with a hash of what defines each one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from refinery_tui.cloud.block_manifest import block_manifest
from refinery_tui.cloud.iam import block_policy, trust_policy
from refinery_tui.cloud.naming import Names
from refinery_tui.cloud.packaging import Package

# Kinds in the order they are made; deletion goes the other way.
LEVELS = (
    ("bucket", "table", "role", "log_group", "queue", "topic"),
    ("function",),
    ("mapping", "subscription", "api", "rule"),
)
LEVEL_OF = {kind: index for index, kinds in enumerate(LEVELS) for kind in kinds}
INLINE_LIMIT = 200_000
LOG_RETENTION_DAYS = 14
PAYLOAD_EXPIRY_DAYS = 7


def spec_hash(spec: Any) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


@dataclass
class Resource:
    kind: str
    name: str
    spec: dict[str, Any]
    block: str | None = None
    code: Package | None = None
    depends: tuple[str, ...] = ()
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.hash = spec_hash(self.spec)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass
class Placement:
    """Where a stage is deployed: the names, the account and region, and the project's full manifest."""

    names: Names
    account: str
    region: str
    partition: str
    manifest: dict[str, Any]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def function_arn(self, block: str) -> str:
        return self.arn("lambda", f"function:{self.names.function(block)}")

    def role_arn(self, block: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.names.role_path}{self.names.role(block)}"

    @property
    def bucket(self) -> str:
        return self.names.bucket(self.account)

    @property
    def buckets(self) -> tuple[str, str]:
        """The stage's bucket, and the name its bucket had before names carried the region (an older deploy)."""
        return self.bucket, self.names.regionless_bucket(self.account)


def function_timeout(block: dict[str, Any], serves_api: bool) -> int:
    """A code block's function timeout: the block's own and 10 s for the runtime, at least 40 s behind an API."""
    timeout = int(block.get("timeout", 30)) + 10
    return max(timeout, 40) if serves_api else timeout


def serves_an_api(manifest: dict[str, Any], block: str) -> bool:
    """Whether `block` is the first code target of an API endpoint (its function answers the HTTP request)."""
    blocks = manifest["blocks"]
    return any(b["type"] == "api_endpoint" and _first_code_target(manifest, n) == block for n, b in blocks.items())


def _first_code_target(manifest: dict[str, Any], block: str) -> str | None:
    for index in manifest["blocks"][block].get("outgoing", []):
        target = manifest["transitions"][index]["to"]
        if manifest["blocks"][target]["type"] == "code":
            return target
    return None


def desired_state(placement: Placement, packages: dict[str, Package]) -> list[Resource]:
    manifest, names = placement.manifest, placement.names
    blocks = manifest["blocks"]
    resources: list[Resource] = [
        Resource(
            "bucket",
            placement.bucket,
            {"expiry_days": PAYLOAD_EXPIRY_DAYS, "encryption": "AES256", "public_access": "blocked"},
        ),
        Resource("table", names.table(), {"keys": ["pk", "sk"], "billing": "PAY_PER_REQUEST", "ttl": "ttl"}),
    ]
    api_blocks = {name: b for name, b in blocks.items() if b["type"] == "api_endpoint"}
    serves_api = {_first_code_target(manifest, name) for name in api_blocks}
    for name, block in blocks.items():
        kind = block["type"]
        if kind == "code":
            piece = block_manifest(manifest, name, names)
            policy = block_policy(
                piece, names, placement.account, placement.region, placement.partition, placement.bucket
            )
            role = names.role(name)
            resources.append(
                Resource("role", role, {"path": names.role_path, "trust": trust_policy(), "policy": policy}, block=name)
            )
            resources.append(
                Resource("log_group", names.log_group(name), {"retention": LOG_RETENTION_DAYS}, block=name)
            )
            package = packages[name]
            timeout = function_timeout(block, name in serves_api)
            spec = {
                "runtime": package.runtime,
                "handler": package.handler,
                "role": placement.role_arn(name),
                "timeout": min(900, timeout),
                "memory": max(128, int(block.get("memory", 256))),
                "env": {
                    "REFINERY_TABLE": names.table(),
                    "REFINERY_BUCKET": placement.bucket,
                    "REFINERY_INLINE_LIMIT": str(INLINE_LIMIT),
                },
                "retries": 0,
            }
            resources.append(
                Resource(
                    "function",
                    names.function(name),
                    spec,
                    block=name,
                    code=package,
                    depends=(f"role:{role}", f"log_group:{names.log_group(name)}"),
                )
            )
        elif kind == "queue":
            consumers = [manifest["transitions"][i]["to"] for i in block.get("outgoing", [])]
            longest = max([int(blocks[c].get("timeout", 30)) + 10 for c in consumers] or [30])
            resources.append(Resource("queue", names.queue(name), {"visibility": min(43200, 6 * longest)}, block=name))
            for consumer in consumers:
                resources.append(
                    Resource(
                        "mapping",
                        f"{names.queue(name)}>{names.function(consumer)}",
                        {
                            "queue": names.queue(name),
                            "function": names.function(consumer),
                            "batch_size": int(block.get("batch_size", 1)),
                            "window": 1,
                        },
                        block=name,
                        depends=(f"queue:{names.queue(name)}", f"function:{names.function(consumer)}"),
                    )
                )
        elif kind == "topic":
            resources.append(Resource("topic", names.topic(name), {}, block=name))
            for index in block.get("outgoing", []):
                subscriber = manifest["transitions"][index]["to"]
                resources.append(
                    Resource(
                        "subscription",
                        f"{names.topic(name)}>{names.function(subscriber)}",
                        {"topic": names.topic(name), "function": names.function(subscriber)},
                        block=name,
                        depends=(f"topic:{names.topic(name)}", f"function:{names.function(subscriber)}"),
                    )
                )
        elif kind == "schedule":
            first = _first_code_target(manifest, name)
            if first is not None:
                resources.append(
                    Resource(
                        "rule",
                        names.rule(name),
                        {
                            "schedule": _schedule_expression(block.get("schedule")),
                            "function": names.function(first),
                            "input": {"refinery_schedule": name},
                        },
                        block=name,
                        depends=(f"function:{names.function(first)}",),
                    )
                )
    routes = {}
    for name, block in api_blocks.items():
        first = _first_code_target(manifest, name)
        if first is not None:
            routes[f"{(block.get('method') or 'GET').upper()} {block.get('path') or '/'}"] = names.function(first)
    if routes:
        resources.append(
            Resource(
                "api",
                names.api(),
                {"routes": dict(sorted(routes.items())), "timeout_ms": 29000},
                depends=tuple(f"function:{fn}" for fn in sorted(set(routes.values()))),
            )
        )
    return resources


def _schedule_expression(text: str | None) -> str:
    text = (text or "rate(1 hour)").strip()
    if text.startswith(("rate(", "cron(", "at(")):
        return text
    return f"rate({text})"
