"""The AWS calls that create, update and delete each kind of resource, as named steps the deployer runs in order.

A resource's spec tag is written by its last step, so one left half made by a failed apply shows up in the next
plan as needing an update, and the next apply finishes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.planner import Change

Step = tuple[str, Callable[[], Any]]
DIRECT_UPLOAD_LIMIT = 45 * 1024 * 1024


def _code(code: Any) -> bytes:
    return code.path.read_bytes()


def _ignore(codes: tuple[str, ...], call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in codes:
            return None
        raise


def _until(check: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


class Operations:
    def __init__(self, aws: Aws, target: Placement) -> None:
        self.aws = aws
        self.target = target

    def steps(self, change: Change) -> list[Step]:
        method = getattr(self, f"{change.action}_{change.kind}")
        return method(change)

    def tags(self, change: Change, spec: bool) -> dict[str, str]:
        resource = change.desired
        return self.target.names.tags(
            change.kind, resource.block if resource else None, resource.hash if spec and resource else None
        )

    # -- bucket --------------------------------------------------------------------------------------------

    def _bucket_settings(self, change: Change) -> list[Step]:
        s3, name = self.aws.client("s3"), change.name
        days = change.desired.spec["expiry_days"]
        tagset = [{"Key": k, "Value": v} for k, v in self.tags(change, True).items()]
        return [
            (
                "block public access",
                lambda: s3.put_public_access_block(
                    Bucket=name,
                    PublicAccessBlockConfiguration={
                        "BlockPublicAcls": True,
                        "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True,
                        "RestrictPublicBuckets": True,
                    },
                ),
            ),
            (
                "encrypt",
                lambda: s3.put_bucket_encryption(
                    Bucket=name,
                    ServerSideEncryptionConfiguration={
                        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                    },
                ),
            ),
            (
                "expire objects",
                lambda: s3.put_bucket_lifecycle_configuration(
                    Bucket=name,
                    LifecycleConfiguration={
                        "Rules": [
                            {
                                "ID": "refinery-expiry",
                                "Status": "Enabled",
                                "Filter": {"Prefix": ""},
                                "Expiration": {"Days": days},
                            }
                        ]
                    },
                ),
            ),
            ("tag", lambda: s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tagset})),
        ]

    def create_bucket(self, change: Change) -> list[Step]:
        s3, region = self.aws.client("s3"), self.aws.region
        params: dict[str, Any] = {"Bucket": change.name}
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        return [
            ("create", lambda: _ignore(("BucketAlreadyOwnedByYou",), lambda: s3.create_bucket(**params))),
            *self._bucket_settings(change),
        ]

    def update_bucket(self, change: Change) -> list[Step]:
        return self._bucket_settings(change)

    def delete_bucket(self, change: Change) -> list[Step]:
        s3, name = self.aws.client("s3"), change.name

        def empty() -> None:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
                objects = [
                    {"Key": o["Key"], "VersionId": o["VersionId"]}
                    for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                for start in range(0, len(objects), 1000):
                    s3.delete_objects(Bucket=name, Delete={"Objects": objects[start : start + 1000], "Quiet": True})

        return [("empty", empty), ("delete", lambda: _ignore(("NoSuchBucket",), lambda: s3.delete_bucket(Bucket=name)))]

    # -- table ---------------------------------------------------------------------------------------------

    def create_table(self, change: Change) -> list[Step]:
        ddb, name = self.aws.client("dynamodb"), change.name
        return [
            (
                "create",
                lambda: _ignore(
                    ("ResourceInUseException",),
                    lambda: ddb.create_table(
                        TableName=name,
                        BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[
                            {"AttributeName": "pk", "AttributeType": "S"},
                            {"AttributeName": "sk", "AttributeType": "S"},
                        ],
                        KeySchema=[
                            {"AttributeName": "pk", "KeyType": "HASH"},
                            {"AttributeName": "sk", "KeyType": "RANGE"},
                        ],
                        Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, False).items()],
                    ),
                ),
            ),
            (
                "wait until active",
                lambda: _until(
                    lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", f"table {name}"
                ),
            ),
            *self.update_table(change),
        ]

    def update_table(self, change: Change) -> list[Step]:
        ddb, name = self.aws.client("dynamodb"), change.name

        def ttl() -> None:
            status = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"].get("TimeToLiveStatus")
            if status not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
                )

        def tag() -> None:
            arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
            ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, True).items()])

        return [("expire items (TTL)", ttl), ("tag", tag)]

    def delete_table(self, change: Change) -> list[Step]:
        ddb = self.aws.client("dynamodb")
        return [
            ("delete", lambda: _ignore(("ResourceNotFoundException",), lambda: ddb.delete_table(TableName=change.name)))
        ]

    # -- role ----------------------------------------------------------------------------------------------

    def create_role(self, change: Change) -> list[Step]:
        iam, spec = self.aws.client("iam"), change.desired.spec
        return [
            (
                "create",
                lambda: _ignore(
                    ("EntityAlreadyExists",),
                    lambda: iam.create_role(
                        RoleName=change.name,
                        Path=spec["path"],
                        AssumeRolePolicyDocument=json.dumps(spec["trust"]),
                        Description=f"refinery-tui: block {change.block}",
                        Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, False).items()],
                    ),
                ),
            ),
            *self.update_role(change),
        ]

    def update_role(self, change: Change) -> list[Step]:
        iam, spec = self.aws.client("iam"), change.desired.spec
        return [
            (
                "write its policy",
                lambda: iam.put_role_policy(
                    RoleName=change.name, PolicyName="refinery", PolicyDocument=json.dumps(spec["policy"])
                ),
            ),
            (
                "tag",
                lambda: iam.tag_role(
                    RoleName=change.name, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, True).items()]
                ),
            ),
        ]

    def delete_role(self, change: Change) -> list[Step]:
        iam, name = self.aws.client("iam"), change.name

        def policies() -> None:
            for policy in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
                iam.delete_role_policy(RoleName=name, PolicyName=policy)

        return [
            ("remove its policies", lambda: _ignore(("NoSuchEntity",), policies)),
            ("delete", lambda: _ignore(("NoSuchEntity",), lambda: iam.delete_role(RoleName=name))),
        ]

    # -- log group -----------------------------------------------------------------------------------------

    def create_log_group(self, change: Change) -> list[Step]:
        logs = self.aws.client("logs")
        return [
            (
                "create",
                lambda: _ignore(
                    ("ResourceAlreadyExistsException",),
                    lambda: logs.create_log_group(logGroupName=change.name, tags=self.tags(change, False)),
                ),
            ),
            *self.update_log_group(change),
        ]

    def update_log_group(self, change: Change) -> list[Step]:
        logs = self.aws.client("logs")
        arn = self.target.arn("logs", f"log-group:{change.name}")
        return [
            (
                "keep 14 days",
                lambda: logs.put_retention_policy(
                    logGroupName=change.name, retentionInDays=change.desired.spec["retention"]
                ),
            ),
            ("tag", lambda: logs.tag_resource(resourceArn=arn, tags=self.tags(change, True))),
        ]

    def delete_log_group(self, change: Change) -> list[Step]:
        logs = self.aws.client("logs")
        return [
            (
                "delete",
                lambda: _ignore(
                    ("ResourceNotFoundException",), lambda: logs.delete_log_group(logGroupName=change.name)
                ),
            )
        ]

    # -- queue and topic -----------------------------------------------------------------------------------

    def create_queue(self, change: Change) -> list[Step]:
        sqs = self.aws.client("sqs")
        return [
            (
                "create",
                lambda: sqs.create_queue(
                    QueueName=change.name,
                    Attributes={"VisibilityTimeout": str(change.desired.spec["visibility"])},
                    tags=self.tags(change, False),
                ),
            ),
            *self.update_queue(change),
        ]

    def update_queue(self, change: Change) -> list[Step]:
        sqs = self.aws.client("sqs")

        def settings() -> None:
            url = sqs.get_queue_url(QueueName=change.name)["QueueUrl"]
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"VisibilityTimeout": str(change.desired.spec["visibility"])}
            )
            sqs.tag_queue(QueueUrl=url, Tags=self.tags(change, True))

        return [("set and tag", settings)]

    def delete_queue(self, change: Change) -> list[Step]:
        sqs = self.aws.client("sqs")
        return [
            (
                "delete",
                lambda: _ignore(
                    ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
                    lambda: sqs.delete_queue(QueueUrl=change.existing.data["url"]),
                ),
            )
        ]

    def create_topic(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        return [
            (
                "create",
                lambda: sns.create_topic(
                    Name=change.name, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, False).items()]
                ),
            ),
            *self.update_topic(change),
        ]

    def update_topic(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        arn = self.target.arn("sns", change.name)
        return [
            (
                "tag",
                lambda: sns.tag_resource(
                    ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, True).items()]
                ),
            )
        ]

    def delete_topic(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        return [
            ("delete", lambda: _ignore(("NotFound",), lambda: sns.delete_topic(TopicArn=change.existing.data["arn"])))
        ]

    # -- function ------------------------------------------------------------------------------------------

    def _code_params(self, change: Change) -> dict[str, Any]:
        package = change.desired.code
        if package.size <= DIRECT_UPLOAD_LIMIT:
            return {"ZipFile": _code(package)}
        key = f"code/{package.sha256}.zip"
        self.aws.client("s3").put_object(Bucket=self.target.bucket, Key=key, Body=_code(package))
        return {"S3Bucket": self.target.bucket, "S3Key": key}

    def _wait_function(self, name: str) -> Step:
        lam = self.aws.client("lambda")

        def ready() -> bool:
            config = lam.get_function_configuration(FunctionName=name)
            if config.get("State") == "Failed" or config.get("LastUpdateStatus") == "Failed":
                raise RuntimeError(
                    f"function {name} failed: {config.get('StateReason') or config.get('LastUpdateStatusReason')}"
                )
            return (
                config.get("State", "Active") == "Active"
                and config.get("LastUpdateStatus", "Successful") != "InProgress"
            )

        return ("wait until active", lambda: _until(ready, f"function {name} to be active"))

    def _function_config(self, change: Change) -> dict[str, Any]:
        spec = change.desired.spec
        return {
            "FunctionName": change.name,
            "Runtime": spec["runtime"],
            "Handler": spec["handler"],
            "Role": spec["role"],
            "Timeout": spec["timeout"],
            "MemorySize": spec["memory"],
            "Environment": {"Variables": spec["env"]},
        }

    def create_function(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")

        def create() -> None:
            params = {
                **self._function_config(change),
                "Code": self._code_params(change),
                "Tags": self.tags(change, False),
                "Description": f"refinery-tui: block {change.block}",
            }
            deadline = time.monotonic() + 60
            while True:
                try:
                    lam.create_function(**params)
                    return
                except ClientError as exc:
                    error = exc.response.get("Error", {})
                    if error.get("Code") == "ResourceConflictException":
                        return
                    # A new role takes a few seconds to become usable by Lambda.
                    if (
                        error.get("Code") == "InvalidParameterValueException"
                        and "role" in error.get("Message", "").lower()
                        and time.monotonic() < deadline
                    ):
                        time.sleep(2)
                        continue
                    raise

        return [("create", create), self._wait_function(change.name), *self._function_finish(change)]

    def _function_finish(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")
        arn = self.target.function_arn(change.block)
        return [
            (
                "no async retries",
                lambda: lam.put_function_event_invoke_config(FunctionName=change.name, MaximumRetryAttempts=0),
            ),
            ("tag", lambda: lam.tag_resource(Resource=arn, Tags=self.tags(change, True))),
        ]

    def update_function(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")
        steps: list[Step] = []
        if change.existing is None or change.existing.data.get("code_sha256") != change.desired.code.code_sha256:
            steps += [
                (
                    "upload its code",
                    lambda: lam.update_function_code(FunctionName=change.name, **self._code_params(change)),
                ),
                self._wait_function(change.name),
            ]
        if not change.code_only:
            config = self._function_config(change)
            steps += [
                ("configure", lambda: lam.update_function_configuration(**config)),
                self._wait_function(change.name),
                *self._function_finish(change),
            ]
        return steps

    def delete_function(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")
        return [
            (
                "delete",
                lambda: _ignore(("ResourceNotFoundException",), lambda: lam.delete_function(FunctionName=change.name)),
            )
        ]

    # -- wiring --------------------------------------------------------------------------------------------

    def create_mapping(self, change: Change) -> list[Step]:
        lam, spec = self.aws.client("lambda"), change.desired.spec
        return [
            (
                "create",
                lambda: lam.create_event_source_mapping(
                    EventSourceArn=self.target.arn("sqs", spec["queue"]),
                    FunctionName=spec["function"],
                    BatchSize=spec["batch_size"],
                    MaximumBatchingWindowInSeconds=spec["window"],
                    Enabled=True,
                ),
            )
        ]

    def update_mapping(self, change: Change) -> list[Step]:
        lam, spec = self.aws.client("lambda"), change.desired.spec
        return [
            (
                "set batch size",
                lambda: lam.update_event_source_mapping(
                    UUID=change.existing.data["uuid"],
                    BatchSize=spec["batch_size"],
                    MaximumBatchingWindowInSeconds=spec["window"],
                ),
            )
        ]

    def delete_mapping(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")
        return [
            (
                "delete",
                lambda: _ignore(
                    ("ResourceNotFoundException",),
                    lambda: lam.delete_event_source_mapping(UUID=change.existing.data["uuid"]),
                ),
            )
        ]

    def _permission(self, function: str, sid: str, principal: str, source_arn: str) -> Step:
        lam = self.aws.client("lambda")
        return (
            f"let {principal.split('.')[0]} invoke it",
            lambda: _ignore(
                ("ResourceConflictException",),
                lambda: lam.add_permission(
                    FunctionName=function,
                    StatementId=sid,
                    Action="lambda:InvokeFunction",
                    Principal=principal,
                    SourceArn=source_arn,
                ),
            ),
        )

    def create_subscription(self, change: Change) -> list[Step]:
        sns, spec = self.aws.client("sns"), change.desired.spec
        topic_arn = self.target.arn("sns", spec["topic"])
        function_arn = self.target.arn("lambda", f"function:{spec['function']}")
        return [
            self._permission(spec["function"], f"refinery-sns-{spec['topic']}"[:100], "sns.amazonaws.com", topic_arn),
            ("subscribe", lambda: sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)),
        ]

    def update_subscription(self, change: Change) -> list[Step]:
        return []

    def delete_subscription(self, change: Change) -> list[Step]:
        sns = self.aws.client("sns")
        return [
            (
                "unsubscribe",
                lambda: _ignore(("NotFound",), lambda: sns.unsubscribe(SubscriptionArn=change.existing.data["arn"])),
            )
        ]

    def create_rule(self, change: Change) -> list[Step]:
        events = self.aws.client("events")
        return [
            (
                "create",
                lambda: events.put_rule(
                    Name=change.name,
                    ScheduleExpression=change.desired.spec["schedule"],
                    State="ENABLED",
                    Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, False).items()],
                ),
            ),
            *self.update_rule(change),
        ]

    def update_rule(self, change: Change) -> list[Step]:
        events, spec = self.aws.client("events"), change.desired.spec
        rule_arn = self.target.arn("events", f"rule/{change.name}")
        return [
            (
                "set schedule",
                lambda: events.put_rule(Name=change.name, ScheduleExpression=spec["schedule"], State="ENABLED"),
            ),
            self._permission(spec["function"], f"refinery-rule-{change.name}"[:100], "events.amazonaws.com", rule_arn),
            (
                "target its block",
                lambda: events.put_targets(
                    Rule=change.name,
                    Targets=[
                        {
                            "Id": "refinery",
                            "Arn": self.target.arn("lambda", f"function:{spec['function']}"),
                            "Input": json.dumps(spec["input"]),
                        }
                    ],
                ),
            ),
            (
                "tag",
                lambda: events.tag_resource(
                    ResourceARN=rule_arn, Tags=[{"Key": k, "Value": v} for k, v in self.tags(change, True).items()]
                ),
            ),
        ]

    def delete_rule(self, change: Change) -> list[Step]:
        events = self.aws.client("events")
        return [
            (
                "remove targets",
                lambda: _ignore(
                    ("ResourceNotFoundException",), lambda: events.remove_targets(Rule=change.name, Ids=["refinery"])
                ),
            ),
            ("delete", lambda: _ignore(("ResourceNotFoundException",), lambda: events.delete_rule(Name=change.name))),
        ]

    def create_api(self, change: Change) -> list[Step]:
        gateway = self.aws.client("apigatewayv2")
        state: dict[str, str] = {}

        def create() -> None:
            api = gateway.create_api(Name=change.name, ProtocolType="HTTP", Tags=self.tags(change, False))
            state["id"] = api["ApiId"]
            gateway.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)

        return [("create", create), *self._api_routes(change, lambda: state["id"])]

    def update_api(self, change: Change) -> list[Step]:
        return self._api_routes(change, lambda: change.existing.data["id"])

    def _api_routes(self, change: Change, api_id: Callable[[], str]) -> list[Step]:
        gateway, spec = self.aws.client("apigatewayv2"), change.desired.spec

        def clear() -> None:
            for route in gateway.get_routes(ApiId=api_id()).get("Items", []):
                gateway.delete_route(ApiId=api_id(), RouteId=route["RouteId"])
            for integration in gateway.get_integrations(ApiId=api_id()).get("Items", []):
                gateway.delete_integration(ApiId=api_id(), IntegrationId=integration["IntegrationId"])

        def routes() -> None:
            for route_key, function in spec["routes"].items():
                arn = self.target.arn("lambda", f"function:{function}")
                integration = gateway.create_integration(
                    ApiId=api_id(),
                    IntegrationType="AWS_PROXY",
                    IntegrationUri=arn,
                    PayloadFormatVersion="2.0",
                    TimeoutInMillis=spec["timeout_ms"],
                )
                gateway.create_route(
                    ApiId=api_id(), RouteKey=route_key, Target=f"integrations/{integration['IntegrationId']}"
                )
                self._permission(
                    function,
                    f"refinery-api-{api_id()}",
                    "apigateway.amazonaws.com",
                    self.target.arn("execute-api", f"{api_id()}/*/*"),
                )[1]()

        def tag() -> None:
            arn = f"arn:{self.target.partition}:apigateway:{self.target.region}::/apis/{api_id()}"
            gateway.tag_resource(ResourceArn=arn, Tags=self.tags(change, True))

        return [("clear routes", clear), ("add routes", routes), ("tag", tag)]

    def delete_api(self, change: Change) -> list[Step]:
        gateway = self.aws.client("apigatewayv2")
        return [
            (
                "delete",
                lambda: _ignore(("NotFoundException",), lambda: gateway.delete_api(ApiId=change.existing.data["id"])),
            )
        ]
