"""The IAM policy a person or CI needs to deploy, invoke, follow and tear down one project's stage: every call
refinery-tui makes with the deployer's credentials, each on the narrowest resources AWS lets a policy name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from refinery_tui.cloud.naming import Names

VERSION = "2012-10-17"
MANAGED_POLICY_LIMIT = 6_144
"""AWS's limit on a customer managed policy, whitespace not counted."""

FUNCTION_ACTIONS = (
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:AddPermission",
    "lambda:RemovePermission",
    "lambda:PutFunctionEventInvokeConfig",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:ListTags",
    "lambda:InvokeFunction",
)
MAPPING_ACTIONS = (
    "lambda:CreateEventSourceMapping",
    "lambda:UpdateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
    "lambda:GetEventSourceMapping",
)
ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
)
LOG_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:PutRetentionPolicy",
    "logs:TagResource",
    "logs:TagLogGroup",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "logs:FilterLogEvents",
    "logs:StartLiveTail",
)
TABLE_ACTIONS = (
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:TagResource",
    "dynamodb:ListTagsOfResource",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
)
QUEUE_ACTIONS = (
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
    "sqs:ListQueueTags",
    "sqs:SendMessage",
)
TOPIC_ACTIONS = (
    "sns:CreateTopic",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:Subscribe",
    "sns:Unsubscribe",
    "sns:ListSubscriptionsByTopic",
    "sns:TagResource",
    "sns:ListTagsForResource",
    "sns:Publish",
)
BUCKET_ACTIONS = (
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:ListBucket",
    "s3:ListBucketVersions",
)
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
RULE_ACTIONS = (
    "events:PutRule",
    "events:DeleteRule",
    "events:DescribeRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
    "events:TagResource",
    "events:ListTagsForResource",
)
HTTP_API_ACTIONS = ("apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE")
LIST_ACTIONS = (
    "lambda:ListFunctions",
    "lambda:ListEventSourceMappings",
    "iam:ListRoles",
    "logs:DescribeLogGroups",
    "sqs:ListQueues",
    "sns:ListTopics",
    "events:ListRules",
)
"""Listing calls AWS does not scope to a resource; what they return is filtered by tags before it is touched."""


@dataclass(frozen=True)
class PolicyTarget:
    """Where the stage lives: partition, region and account."""

    partition: str
    region: str
    account: str


def _statement(sid: str, actions: tuple[str, ...], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources, **extra}


def deployer_policy(names: Names, target: PolicyTarget) -> dict[str, Any]:
    """The policy document for deploying, invoking, following and tearing down `names`' stage in `target`."""
    p, region, account = target.partition, target.region, target.account
    arn = f"arn:{p}:%s:{region}:{account}:%s"
    functions = arn % ("lambda", f"function:{names.list_prefix('function')}*")
    roles = f"arn:{p}:iam::{account}:role{names.role_path}*"
    groups = arn % ("logs", f"log-group:{names.list_prefix('log_group')}*")
    buckets = [f"arn:{p}:s3:::{name}" for name in (names.bucket(account), names.regionless_bucket(account))]
    table = arn % ("dynamodb", f"table/{names.table()}")
    return {
        "Version": VERSION,
        "Statement": [
            _statement("Functions", FUNCTION_ACTIONS, [functions]),
            _statement(
                "EventSourceMappings", MAPPING_ACTIONS, ["*"], Condition={"ArnLike": {"lambda:FunctionArn": functions}}
            ),
            _statement("Roles", ROLE_ACTIONS, [roles]),
            _statement(
                "PassRolesToLambda",
                ("iam:PassRole",),
                [roles],
                Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            ),
            _statement("LogGroups", LOG_ACTIONS, [groups, f"{groups}:*"]),
            _statement("StateTable", TABLE_ACTIONS, [table, f"{table}/index/*"]),
            _statement("Queues", QUEUE_ACTIONS, [arn % ("sqs", f"{names.list_prefix('queue')}*")]),
            _statement("Topics", TOPIC_ACTIONS, [arn % ("sns", f"{names.list_prefix('topic')}*")]),
            _statement("PayloadBucket", BUCKET_ACTIONS, buckets),  # and its name before names carried the region
            _statement("Payloads", OBJECT_ACTIONS, [f"{bucket}/*" for bucket in buckets]),
            _statement("ScheduleRules", RULE_ACTIONS, [arn % ("events", f"rule/{names.list_prefix('rule')}*")]),
            _statement(
                "HttpApis",
                HTTP_API_ACTIONS,
                [f"arn:{p}:apigateway:{region}::/apis", f"arn:{p}:apigateway:{region}::/apis/*"]
                + [f"arn:{p}:apigateway:{region}::/tags/*"],
            ),
            _statement("ListToFindTheStage", LIST_ACTIONS, ["*"]),
        ],
    }


def allowed_actions(policy: dict[str, Any]) -> set[str]:
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def policy_size(policy: dict[str, Any]) -> int:
    """The size AWS counts against its limit: the JSON without whitespace."""
    return len(json.dumps(policy, separators=(",", ":")))
