"""What a stage has in AWS now, found by its tags (read calls only)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.naming import TAG_SPEC
from refinery_tui.cloud.ownership import missing, role_is_ours, tags_of


@dataclass
class Existing:
    kind: str
    name: str
    hash: str | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


def _ours(tags: dict[str, str], placement: Placement) -> bool:
    """Only what is tagged with this project and stage is the stage's: never another stage's or project's."""
    return placement.names.owns(tags)


def _paginate(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page.get(key, [])]


def _unless_gone(read: Callable[..., Any], *args: Any, **params: Any) -> Any:
    """`read(*args, **params)`, or None when what it reads is gone: AWS still lists a resource for a while after it
    is deleted, and reading its tags or attributes then answers NotFound (QueueDoesNotExist, ResourceNotFound...)."""
    try:
        return read(*args, **params)
    except ClientError as exc:
        if missing(exc):
            return None
        raise


_parallel = threading.local()


def _each(function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """`function` over `items`, several calls at once (each call is a round trip to AWS)."""
    allowed = getattr(_parallel, "workers", 8)
    workers = min(allowed, len(items))
    if workers < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(
        workers, thread_name_prefix="discover", initializer=lambda: setattr(_parallel, "workers", allowed)
    ) as pool:
        return list(pool.map(function, items))


def discover(aws: Aws, placement: Placement, parallel: int = 8) -> dict[str, Existing]:
    """What the stage has: what its tags say is this project's and stage's (listed by the stage's name prefix)."""
    _parallel.workers = parallel
    found: list[Existing] = []
    finders = (_bucket, _table, _roles, _log_groups, _queues, _topics, _functions, _apis, _rules)
    for part in _each(lambda find: find(aws, placement, placement.names.list_prefix(KIND[find])), list(finders)):
        found.extend(part)
    functions = {e.name: e for e in found if e.kind == "function"}
    topics = [e for e in found if e.kind == "topic"]
    queues = {e.data["arn"]: e.name for e in found if e.kind == "queue"}
    found.extend(_mappings(aws, functions, queues))
    found.extend(_subscriptions(aws, topics))
    return {e.id: e for e in found}


def _bucket(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    found = []
    for name in placement.buckets:  # an older deploy's bucket too, to be replaced
        tags = tags_of(aws, placement, "bucket", name)
        if tags is not None and _ours(tags, placement):
            found.append(Existing("bucket", name, tags.get(TAG_SPEC)))
    return found


def _table(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    ddb = aws.client("dynamodb")
    name = placement.names.table()
    table = _unless_gone(lambda: ddb.describe_table(TableName=name)["Table"])
    if table is None or table.get("TableStatus") == "DELETING":  # a table being deleted is gone for the plan
        return []
    arn = table["TableArn"]
    listed = _unless_gone(lambda: ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))
    tags = {t["Key"]: t["Value"] for t in listed or []}
    return (
        [Existing("table", name, tags.get(TAG_SPEC), {"arn": arn})]
        if listed is not None and _ours(tags, placement)
        else []
    )


def _roles(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    iam = aws.client("iam")
    roles = _paginate(iam, "list_roles", "Roles", PathPrefix=placement.names.role_path)

    def role_tags(role: dict[str, Any]) -> dict[str, str]:
        """Its tags; none (no stage's) when it is gone since it was listed."""
        listed = _unless_gone(iam.list_role_tags, RoleName=role["RoleName"]) or {}
        return {t["Key"]: t["Value"] for t in listed.get("Tags", [])}

    tagged = _each(role_tags, roles)
    return [
        Existing("role", role["RoleName"], tags.get(TAG_SPEC), {"arn": role["Arn"]})
        for role, tags in zip(roles, tagged)
        if role_is_ours(aws, placement, role["RoleName"], tags)
    ]


def _log_groups(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    logs = aws.client("logs")
    groups = _paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix)
    arns = [group["arn"].removesuffix(":*") for group in groups]
    tagged = _each(lambda arn: _unless_gone(lambda: logs.list_tags_for_resource(resourceArn=arn).get("tags", {})), arns)
    return [
        Existing("log_group", group["logGroupName"], tags.get(TAG_SPEC), {"arn": arn})
        for group, arn, tags in zip(groups, arns, tagged)
        if tags is not None and _ours(tags, placement)
    ]


def _queues(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    sqs = aws.client("sqs")
    # Without a page size ListQueues answers at most 1,000 URLs and no NextToken.
    urls = _paginate(sqs, "list_queues", "QueueUrls", QueueNamePrefix=prefix, PaginationConfig={"PageSize": 1000})
    tagged = _each(lambda url: _unless_gone(lambda: sqs.list_queue_tags(QueueUrl=url).get("Tags", {})), urls)
    found = []
    for url, tags in zip(urls, tagged):
        if tags is not None and _ours(tags, placement):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            found.append(Existing("queue", name, tags.get(TAG_SPEC), {"url": url, "arn": placement.arn("sqs", name)}))
    return found


def _topics(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    sns = aws.client("sns")
    found = []
    for topic in _paginate(sns, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        name = arn.rsplit(":", 1)[-1]
        if not name.startswith(prefix):
            continue
        listed = _unless_gone(lambda arn: sns.list_tags_for_resource(ResourceArn=arn).get("Tags", []), arn)
        tags = {t["Key"]: t["Value"] for t in listed or []}
        if listed is not None and _ours(tags, placement):
            found.append(Existing("topic", name, tags.get(TAG_SPEC), {"arn": arn}))
    return found


def _functions(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    lam = aws.client("lambda")
    functions = [f for f in _paginate(lam, "list_functions", "Functions") if f["FunctionName"].startswith(prefix)]
    tagged = _each(
        lambda function: _unless_gone(lambda: lam.list_tags(Resource=function["FunctionArn"]).get("Tags", {})),
        functions,
    )
    return [
        Existing(
            "function",
            function["FunctionName"],
            tags.get(TAG_SPEC),
            {
                "arn": function["FunctionArn"],
                "code_sha256": function.get("CodeSha256"),
                "runtime": function.get("Runtime"),
            },
        )
        for function, tags in zip(functions, tagged)
        if tags is not None and _ours(tags, placement)
    ]


def _apis(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    gateway = aws.client("apigatewayv2")
    found = []
    for api in _paginate(gateway, "get_apis", "Items"):
        tags = api.get("Tags") or {}
        if _ours(tags, placement):
            found.append(
                Existing(
                    "api", api["Name"], tags.get(TAG_SPEC), {"id": api["ApiId"], "endpoint": api.get("ApiEndpoint", "")}
                )
            )
    return found


def _rules(aws: Aws, placement: Placement, prefix: str) -> list[Existing]:
    events = aws.client("events")
    found = []
    for rule in _paginate(events, "list_rules", "Rules", NamePrefix=prefix):
        listed = _unless_gone(lambda arn: events.list_tags_for_resource(ResourceARN=arn).get("Tags", []), rule["Arn"])
        tags = {t["Key"]: t["Value"] for t in listed or []}
        if listed is not None and _ours(tags, placement):
            found.append(Existing("rule", rule["Name"], tags.get(TAG_SPEC), {"arn": rule["Arn"]}))
    return found


def _mappings(aws: Aws, functions: dict[str, Existing], queues: dict[str, str]) -> list[Existing]:
    if not functions:
        return []
    lam = aws.client("lambda")
    found = []
    for mapping in _paginate(lam, "list_event_source_mappings", "EventSourceMappings"):
        function = mapping.get("FunctionArn", "").rsplit(":", 1)[-1]
        queue = queues.get(mapping.get("EventSourceArn", ""))
        if function in functions and queue:
            found.append(
                Existing(
                    "mapping",
                    f"{queue}>{function}",
                    None,
                    {
                        "uuid": mapping["UUID"],
                        "batch_size": mapping.get("BatchSize"),
                        "window": mapping.get("MaximumBatchingWindowInSeconds", 0),
                        "response_types": mapping.get("FunctionResponseTypes") or [],
                    },
                )
            )
    return found


def _subscriptions(aws: Aws, topics: list[Existing]) -> list[Existing]:
    sns = aws.client("sns")
    found = []
    for topic in topics:
        listed = _unless_gone(
            _paginate, sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic.data["arn"]
        )
        for sub in listed or []:
            if sub.get("Protocol") == "lambda":
                function = sub["Endpoint"].rsplit(":", 1)[-1]
                found.append(
                    Existing("subscription", f"{topic.name}>{function}", None, {"arn": sub["SubscriptionArn"]})
                )
    return found


KIND = {
    _bucket: "bucket",
    _table: "table",
    _roles: "role",
    _log_groups: "log_group",
    _queues: "queue",
    _topics: "topic",
    _functions: "function",
    _apis: "api",
    _rules: "rule",
}
