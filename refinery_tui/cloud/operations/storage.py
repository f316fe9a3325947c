"""The steps of the stage's storage: the payload bucket, the state table and the log groups."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from refinery_tui.cloud.operations.common import Step, StepsBase, ignore, until
from refinery_tui.cloud.operations.waiting import error_code, wait_for
from refinery_tui.cloud.planner import Change

# A deleted table stays DELETING for a while (seconds, minutes for a large one); its name is free after.
TABLE_GONE_CHECK_S = 2.0
TABLE_GONE_LIMIT_S = 600.0


class StorageSteps(StepsBase):
    """The payload bucket, the state table and the log groups."""

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
            ("create", lambda: ignore(("BucketAlreadyOwnedByYou",), lambda: s3.create_bucket(**params))),
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

        return [("empty", empty), ("delete", lambda: ignore(("NoSuchBucket",), lambda: s3.delete_bucket(Bucket=name)))]

    # -- table ---------------------------------------------------------------------------------------------

    def create_table(self, change: Change) -> list[Step]:
        ddb, name = self.aws.client("dynamodb"), change.name

        def status() -> str | None:
            try:
                return str(ddb.describe_table(TableName=name)["Table"]["TableStatus"])
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise

        def create() -> None:
            deadline = time.monotonic() + TABLE_GONE_LIMIT_S
            while True:
                try:
                    ddb.create_table(
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
                    )
                    return
                except ClientError as exc:
                    if error_code(exc) != "ResourceInUseException":
                        raise
                # In use: made by an earlier deploy (waited for until ACTIVE next), or still being deleted.
                state = status()
                if state not in (None, "DELETING"):
                    return
                wait_for(
                    lambda: status() != "DELETING",
                    f"table {name}: still being deleted by AWS",
                    TABLE_GONE_CHECK_S,
                    max(deadline - time.monotonic(), 0.0),
                )

        return [
            ("create", create),
            ("wait until active", lambda: until(lambda: status() == "ACTIVE", f"table {name}")),
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
            ("delete", lambda: ignore(("ResourceNotFoundException",), lambda: ddb.delete_table(TableName=change.name)))
        ]

    # -- log group -----------------------------------------------------------------------------------------

    def create_log_group(self, change: Change) -> list[Step]:
        logs = self.aws.client("logs")
        return [
            (
                "create",
                lambda: ignore(
                    ("ResourceAlreadyExistsException",),
                    lambda: logs.create_log_group(logGroupName=change.name, tags=self.tags(change, False)),
                ),
            ),
            *self.update_log_group(change),
        ]

    def update_log_group(self, change: Change) -> list[Step]:
        logs = self.aws.client("logs")
        arn = self.placement.arn("logs", f"log-group:{change.name}")
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
                lambda: ignore(("ResourceNotFoundException",), lambda: logs.delete_log_group(logGroupName=change.name)),
            )
        ]
