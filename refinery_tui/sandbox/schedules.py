"""EventBridge rules fired on demand: each Lambda target invoked with its Input, or the scheduled event."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from moto.events.models import events_backends

from .functions import resolve
from .lambda_host import LambdaHost


def scheduled_event(rule: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge sends a target: its constant Input, the part of the event at its InputPath, or the event."""
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    path = target.get("InputPath")
    if path:
        value: Any = event
        for key in path.removeprefix("$").strip(".").split("."):
            if key:
                value = value.get(key) if isinstance(value, dict) else None
        return value
    return event


def fire_rule(
    host: LambdaHost,
    rule_name: str,
    *,
    event_bus: str | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> list[str]:
    """Invoke every Lambda target of the rule asynchronously; their request ids, in target order."""
    rule = events_backends[account_id][region].describe_rule(rule_name, event_bus)
    event = scheduled_event(rule)
    request_ids = []
    for target in rule.targets:
        arn = target.get("Arn", "")
        if ":lambda:" not in arn:
            continue
        spec, invoked_arn = resolve(arn, None, region, account_id)
        request_ids.append(host.submit(spec, target_input(target, event), invoked_arn=invoked_arn))
    return request_ids
