"""Least-privilege IAM for one block's role, generated from its manifest slice (no boto3), stable for hashing.

Why each permission is there (each statement names its resources; there is no "*" action or resource):

- ``Logs`` (logs:CreateLogStream, logs:PutLogEvents on ``/aws/lambda/<function>:*``): Lambda writes the
  function's output, and the runtime its structured start/end lines, to the function's own log group only.
- ``LogGroup`` (logs:CreateLogGroup on that group): Lambda creates the group on first run if the deployer has
  not (or after someone deleted it).
- ``InvokeSuccessors`` (lambda:InvokeFunction): the runtime dispatches to the code blocks in the slice's
  "successors" (its transition targets, the joins it may complete, itself (a retry, a dispatch sent again), the
  global exception handler); exactly those functions, so a role is rewritten when the graph changes.
- ``SendToQueues`` (sqs:SendMessage, sqs:GetQueueUrl): a transition into a queue enqueues the output; the URL is
  looked up by name.
- ``PublishToTopics`` (sns:Publish): a transition into a topic publishes the output.
- ``ConsumeSourceQueues`` (sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes, ChangeMessageVisibility):
  the event-source mapping of a queue that delivers to this block polls the queue with the function's role.
- ``Payloads`` (s3:GetObject, s3:PutObject on ``<bucket>/payloads/*``): payloads larger than the inline
  threshold travel through the project's bucket; a block reads what it receives and writes what it sends.
- ``StateTable`` (dynamodb:GetItem, PutItem, UpdateItem, Query, DeleteItem on the state table): at-most-once
  dispatch ids, the in-flight counter of each execution, and fan-in / merge arrivals.

AWS allows a role 10,240 characters of inline policy (whitespace not counted); one ARN per successor passes that at
about 110 successors. A policy that would pass it is made compact: each list of functions, queues or topics becomes
one ARN ending in ``<project>_<stage>_*`` (``Names.list_prefix``), which matches only this stage's own resources,
since every one is named ``<project>_<stage>_<block>``. The log group and payload wildcards stay the only others.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from refinery_tui.cloud.naming import Names

POLICY_VERSION = "2012-10-17"
# AWS's limit on all of a role's inline policies together, in characters other than whitespace (a block's role has
# exactly this one).
INLINE_POLICY_LIMIT = 10240
QUEUE_CONSUMER_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
]
TABLE_ACTIONS = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]


def trust_policy() -> dict[str, Any]:
    """Only the Lambda service may assume a block's role."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


class Arns:
    """ARNs of one account and region's resources."""

    def __init__(self, account: str, region: str, partition: str = "aws") -> None:
        self.account, self.region, self.partition = account, region, partition

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def function(self, name: str) -> str:
        return self._arn("lambda", f"function:{name}")

    def queue(self, name: str) -> str:
        return self._arn("sqs", name)

    def topic(self, name: str) -> str:
        return self._arn("sns", name)

    def log_group(self, name: str) -> str:
        return self._arn("logs", f"log-group:{name}")

    def table(self, name: str) -> str:
        return self._arn("dynamodb", f"table/{name}")

    def payloads(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}/payloads/*"


def _resource_names(slice: dict[str, Any], blocks: list[str], kind: str) -> list[str]:
    """The AWS names of those of `blocks` that are of `kind` ("function", "queue" or "topic")."""
    resources = slice.get("resources", {})
    return [resources[block][kind] for block in blocks if kind in resources.get(block, {})]


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": sorted(set(resources))}


def block_statements(slice: dict[str, Any], names: Names, arns: Arns, bucket: str) -> list[dict[str, Any]]:
    """Every statement of the block's policy, before empty ones are dropped."""
    successors = list(slice.get("successors", []))
    log_group = arns.log_group(names.log_group(slice["self"]))
    queues = [arns.queue(q) for q in _resource_names(slice, successors, "queue")]
    sources = [arns.queue(q) for q in _resource_names(slice, list(slice.get("sources", [])), "queue")]
    return [
        _statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group}:*"]),
        # AWS writes a group's ARN both with and without the trailing ":*"; naming both lets either match.
        _statement("LogGroup", ["logs:CreateLogGroup"], [log_group, f"{log_group}:*"]),
        _statement(
            "InvokeSuccessors",
            ["lambda:InvokeFunction"],
            [arns.function(f) for f in _resource_names(slice, successors, "function")],
        ),
        _statement("SendToQueues", ["sqs:GetQueueUrl", "sqs:SendMessage"], queues),
        _statement(
            "PublishToTopics", ["sns:Publish"], [arns.topic(t) for t in _resource_names(slice, successors, "topic")]
        ),
        _statement("ConsumeSourceQueues", QUEUE_CONSUMER_ACTIONS, sources),
        _statement("Payloads", ["s3:GetObject", "s3:PutObject"], [arns.payloads(bucket)]),
        _statement("StateTable", TABLE_ACTIONS, [arns.table(names.table())]),
    ]


def _stage_wildcard(arn: str, names: Names, kind: str) -> str:
    """`arn` with its name replaced by every name of this stage of `kind` (`arn:...:function:shop_dev_*`)."""
    head = arn[: arn.rindex(":") + 1]
    return f"{head}{names.list_prefix(kind)}*"


# The statements whose resource lists grow with the graph, and the kind of name each lists.
_GROWING = {
    "InvokeSuccessors": "function",
    "SendToQueues": "queue",
    "PublishToTopics": "topic",
    "ConsumeSourceQueues": "queue",
}


def inline_size(policy: dict[str, Any]) -> int:
    """The size AWS counts against the inline limit: the policy's characters other than whitespace."""
    return len("".join(policy_json(policy).split()))


def compact(policy: dict[str, Any], names: Names) -> dict[str, Any]:
    """`policy` with each growing list of ARNs replaced by the stage's own name-prefix wildcard."""
    statements = []
    for statement in policy["Statement"]:
        kind = _GROWING.get(statement["Sid"])
        if kind is not None and len(statement["Resource"]) > 1:
            wildcards = {_stage_wildcard(arn, names, kind) for arn in statement["Resource"]}
            statement = {**statement, "Resource": sorted(wildcards)}
        statements.append(statement)
    return {**policy, "Statement": statements}


def block_policy(
    slice: dict[str, Any], names: Names, account: str, region: str, partition: str = "aws", bucket: str | None = None
) -> dict[str, Any]:
    """The inline policy of one block's role (`bucket` defaults to the stage's payload bucket)."""
    arns = Arns(account, region, partition)
    statements = block_statements(slice, names, arns, bucket or names.bucket(account))
    kept = sorted((s for s in statements if s["Resource"]), key=lambda s: s["Sid"])
    policy = {"Version": POLICY_VERSION, "Statement": kept}
    return policy if inline_size(policy) <= INLINE_POLICY_LIMIT else compact(policy, names)


def policy_json(policy: dict[str, Any]) -> str:
    """The canonical text of a policy: the same policy always gives the same text."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))


def policy_hash(policy: dict[str, Any]) -> str:
    return hashlib.sha256(policy_json(policy).encode("utf-8")).hexdigest()
