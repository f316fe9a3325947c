"""The steps of each block's function: its role, its code and configuration, its queue mapping."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from refinery_tui.cloud.operations.common import DIRECT_UPLOAD_LIMIT, Step, StepsBase, code_bytes, ignore, until
from refinery_tui.cloud.planner import Change


class FunctionSteps(StepsBase):
    """A block's role, function and queue mapping."""

    # -- role ----------------------------------------------------------------------------------------------

    def create_role(self, change: Change) -> list[Step]:
        iam, spec = self.aws.client("iam"), change.desired.spec
        return [
            (
                "create",
                lambda: ignore(
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
            ("remove its policies", lambda: ignore(("NoSuchEntity",), policies)),
            ("delete", lambda: ignore(("NoSuchEntity",), lambda: iam.delete_role(RoleName=name))),
        ]

    # -- function ------------------------------------------------------------------------------------------

    def _code_params(self, change: Change) -> dict[str, Any]:
        package = change.desired.code
        if package.size <= DIRECT_UPLOAD_LIMIT:
            return {"ZipFile": code_bytes(package)}
        key = f"code/{package.sha256}.zip"
        self.aws.client("s3").put_object(Bucket=self.placement.bucket, Key=key, Body=code_bytes(package))
        return {"S3Bucket": self.placement.bucket, "S3Key": key}

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

        return ("wait until active", lambda: until(ready, f"function {name} to be active"))

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
        arn = self.placement.function_arn(change.block)
        return [
            (
                "no async retries",
                lambda: lam.put_function_event_invoke_config(FunctionName=change.name, MaximumRetryAttempts=0),
            ),
            ("tag", lambda: lam.tag_resource(Resource=arn, Tags=self.tags(change, True))),
        ]

    def update_function(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")
        upload: list[Step] = []
        if change.existing is None or change.existing.data.get("code_sha256") != change.desired.code.code_sha256:
            upload = [
                (
                    "upload its code",
                    lambda: lam.update_function_code(FunctionName=change.name, **self._code_params(change)),
                ),
                self._wait_function(change.name),
            ]
        if change.code_only:
            return upload
        config = self._function_config(change)
        configure: list[Step] = [
            ("configure", lambda: lam.update_function_configuration(**config)),
            self._wait_function(change.name),
        ]
        # AWS refuses new code for a function on a runtime it has blocked: move it to the new runtime first.
        existing_runtime = change.existing.data.get("runtime") if change.existing is not None else None
        if existing_runtime not in (None, config["Runtime"]):
            return [*configure, *upload, *self._function_finish(change)]
        return [*upload, *configure, *self._function_finish(change)]

    def delete_function(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")
        return [
            (
                "delete",
                lambda: ignore(("ResourceNotFoundException",), lambda: lam.delete_function(FunctionName=change.name)),
            )
        ]

    # -- wiring --------------------------------------------------------------------------------------------

    def create_mapping(self, change: Change) -> list[Step]:
        lam, spec = self.aws.client("lambda"), change.desired.spec
        return [
            (
                "create",
                lambda: lam.create_event_source_mapping(
                    EventSourceArn=self.placement.arn("sqs", spec["queue"]),
                    FunctionName=spec["function"],
                    BatchSize=spec["batch_size"],
                    MaximumBatchingWindowInSeconds=spec["window"],
                    FunctionResponseTypes=["ReportBatchItemFailures"],
                    Enabled=True,
                ),
            )
        ]

    def update_mapping(self, change: Change) -> list[Step]:
        lam, spec = self.aws.client("lambda"), change.desired.spec
        return [
            (
                "set batch size and failure reporting",
                lambda: lam.update_event_source_mapping(
                    UUID=change.existing.data["uuid"],
                    BatchSize=spec["batch_size"],
                    MaximumBatchingWindowInSeconds=spec["window"],
                    FunctionResponseTypes=["ReportBatchItemFailures"],
                ),
            )
        ]

    def delete_mapping(self, change: Change) -> list[Step]:
        lam = self.aws.client("lambda")
        return [
            (
                "delete",
                lambda: ignore(
                    ("ResourceNotFoundException",),
                    lambda: lam.delete_event_source_mapping(UUID=change.existing.data["uuid"]),
                ),
            )
        ]
