"""Whose a resource is: the tags of the resource with a given name, read by that name, so that nothing a stage is
about to create, update or delete belongs to another project or stage (read calls only)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.naming import TAG_REGION, refusal

POLICY_NAME = "refinery"  # the one inline policy of a block's role
# Kinds that carry no tags of their own: they hang off a function, queue or topic that is checked.
UNTAGGED = ("mapping", "subscription")
MISSING = {
    "NoSuchBucket",
    "404",
    "ResourceNotFoundException",
    "ResourceNotFound",
    "NoSuchEntity",
    "NotFound",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
}


class OwnershipError(Exception):
    """A resource this stage was about to touch belongs to another project or stage (or to no stage)."""


def missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code", "") in MISSING


def pairs(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def tags_of(aws: Aws, placement: Placement, kind: str, name: str) -> dict[str, str] | None:
    """The tags of the `kind` named `name`, or None when there is none by that name."""
    try:
        return _READERS[kind](aws, placement, name)
    except ClientError as exc:
        if missing(exc):
            return None
        raise


def problem(aws: Aws, placement: Placement, kind: str, name: str) -> str | None:
    """Why this stage must not touch the `kind` named `name` (it belongs to someone else), or None: there is none
    by that name, or its tags name this project and stage."""
    if kind in UNTAGGED:
        return None
    tags = tags_of(aws, placement, kind, name)
    if tags is None or placement.names.owns(tags):
        return None
    return refusal(kind, name, tags)


def role_is_ours(aws: Aws, placement: Placement, name: str, tags: dict[str, str]) -> bool:
    """Whether the role `name` with `tags` is this stage's in this region. A role made before names carried the
    region has no region tag: it is the region's whose resources its policy names (the last region deployed wrote
    it; it never worked for another), so a stage in another region neither claims nor deletes it."""
    if not placement.names.owns(tags):
        return False
    if TAG_REGION in tags:
        return True
    try:
        document = aws.client("iam").get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except ClientError as exc:
        # Half made, with no policy yet, or a deployer not allowed to read it: nothing tells whose; the stage's tags
        # say it is this stage's.
        if missing(exc) or exc.response.get("Error", {}).get("Code") == "AccessDenied":
            return True
        raise
    text = document if isinstance(document, str) else json.dumps(document)
    return f":{placement.region}:" in unquote(text)


def check(aws: Aws, placement: Placement, kind: str, name: str) -> None:
    """Raise OwnershipError unless this stage may touch the `kind` named `name`."""
    why = problem(aws, placement, kind, name)
    if why:
        raise OwnershipError(why)


def conflicts(aws: Aws, placement: Placement, wanted: Iterable[Any], parallel: int = 8) -> dict[str, str]:
    """Of the resources `wanted` (each with a kind, a name and an id), those whose name is taken by someone else's
    resource: id → why it is not touched."""
    checked = [r for r in wanted if r.kind not in UNTAGGED]
    if not checked:
        return {}
    with ThreadPoolExecutor(max(1, min(parallel, len(checked))), thread_name_prefix="ownership") as pool:
        found = list(pool.map(lambda r: problem(aws, placement, r.kind, r.name), checked))
    return {r.id: why for r, why in zip(checked, found) if why}


def _function(aws: Aws, placement: Placement, name: str) -> dict[str, str]:
    return aws.client("lambda").list_tags(Resource=placement.arn("lambda", f"function:{name}")).get("Tags", {})


def _role(aws: Aws, placement: Placement, name: str) -> dict[str, str]:
    return pairs(aws.client("iam").list_role_tags(RoleName=name).get("Tags", []))


def _log_group(aws: Aws, placement: Placement, name: str) -> dict[str, str] | None:
    logs = aws.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    if not any(group["logGroupName"] == name for group in groups):
        return None
    return logs.list_tags_for_resource(resourceArn=placement.arn("logs", f"log-group:{name}")).get("tags", {})


def _queue(aws: Aws, placement: Placement, name: str) -> dict[str, str]:
    sqs = aws.client("sqs")
    return sqs.list_queue_tags(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"]).get("Tags", {})


def _topic(aws: Aws, placement: Placement, name: str) -> dict[str, str]:
    arn = placement.arn("sns", name)
    return pairs(aws.client("sns").list_tags_for_resource(ResourceArn=arn).get("Tags", []))


def _rule(aws: Aws, placement: Placement, name: str) -> dict[str, str]:
    events = aws.client("events")
    arn = events.describe_rule(Name=name)["Arn"]
    return pairs(events.list_tags_for_resource(ResourceARN=arn).get("Tags", []))


def _table(aws: Aws, placement: Placement, name: str) -> dict[str, str]:
    ddb = aws.client("dynamodb")
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    return pairs(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))


def _bucket(aws: Aws, placement: Placement, name: str) -> dict[str, str] | None:
    """A bucket cannot be tagged as it is made (the sandbox ignores tags on CreateBucket), so an untagged, empty
    bucket with this stage's exact name (which ends with a hash of project, stage, region and account) is this
    stage's, left half made by a deploy that stopped; an untagged bucket holding objects is not."""
    if name != placement.bucket and name in placement.buckets:
        return _regionless_bucket(aws, placement, name)
    s3 = aws.client("s3")
    try:
        return pairs(s3.get_bucket_tagging(Bucket=name)["TagSet"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchTagSet":
            raise
    if name == placement.bucket and not s3.list_objects_v2(Bucket=name, MaxKeys=1).get("KeyCount", 0):
        return placement.names.tags("bucket")
    return {}


def _regionless_bucket(aws: Aws, placement: Placement, name: str) -> dict[str, str] | None:
    """The tags of the bucket an older deploy named without the region, counted only in the region it is in; None
    also when the deployer's policy does not reach that name (one generated for the region-named bucket)."""
    s3 = aws.client("s3")
    try:
        tags = pairs(s3.get_bucket_tagging(Bucket=name)["TagSet"])
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchTagSet", "AccessDenied"):
            return None
        raise
    return tags if {"EU": "eu-west-1"}.get(location, location) == placement.region else None  # EU: eu-west-1's old name


def _api(aws: Aws, placement: Placement, name: str) -> dict[str, str] | None:
    named = [api for api in aws.client("apigatewayv2").get_apis().get("Items", []) if api["Name"] == name]
    if not named:
        return None
    return next((api.get("Tags") or {} for api in named if placement.names.owns(api.get("Tags") or {})), None) or (
        named[0].get("Tags") or {}
    )


_READERS = {
    "function": _function,
    "role": _role,
    "log_group": _log_group,
    "queue": _queue,
    "topic": _topic,
    "rule": _rule,
    "table": _table,
    "bucket": _bucket,
    "api": _api,
}
