"""The deployer policy `refinery-tui policy` prints allows every call a deploy, update, invoke, logs and teardown
makes with the deployer's credentials, each statement scoped to the stage's names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.deployer_policy import (
    MANAGED_POLICY_LIMIT,
    PolicyTarget,
    allowed_actions,
    deployer_policy,
    policy_size,
)
from refinery_tui.cloud.executions import Executions
from refinery_tui.cloud.invoker import Invoker
from refinery_tui.cloud.logtail import LogTail, stage_groups
from refinery_tui.cloud.naming import Names
from tests.cloud.cloud_helpers import deployer_for
from tests.conftest import PROJECTS

NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}
RENAMED = {
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
}
HTTP_API_VERBS = {
    "Get": "GET",
    "Create": "POST",
    "Delete": "DELETE",
    "Update": "PATCH",
    "Tag": "POST",
    "Untag": "DELETE",
}


def iam_action(signing_name: str, operation: str) -> str | None:
    """The IAM action AWS checks for an API call (most are `<service>:<Operation>`)."""
    if (signing_name, operation) in NO_PERMISSION_NEEDED:
        return None
    if signing_name == "apigateway":
        verb = next(verb for prefix, verb in HTTP_API_VERBS.items() if operation.startswith(prefix))
        return f"apigateway:{verb}"
    return RENAMED.get((signing_name, operation), f"{signing_name}:{operation}")


def test_the_policy_allows_every_call_of_a_stage_s_whole_life(sandbox, tmp_path):
    calls: set[tuple[str, str]] = set()

    def record(model, **_):
        calls.add((model.service_model.signing_name, model.name))

    for name in ("api-orders", "scheduled-report"):
        root = tmp_path / name
        shutil.copytree(PROJECTS / name, root, ignore=shutil.ignore_patterns(".refinery"))
        aws = Aws(region="us-east-1", endpoint_url=sandbox.endpoint_url)
        aws.session._session.register("before-call.*.*", record)
        deployer = deployer_for(sandbox, root, "pol", aws)
        assert deployer.apply().ok
        for path in (root / "blocks").iterdir():  # every function's code and settings change: the update calls
            path.write_text(path.read_text() + "\n// changed\n" if path.suffix == ".js" else path.read_text() + "\n")
        (root / "project.yaml").write_text(
            (root / "project.yaml").read_text().replace("batch_size: 10", "batch_size: 5")
        )
        deployer = deployer_for(sandbox, root, "pol", aws)
        result = deployer.apply()
        assert result.ok and result.done, [failure.line() for failure in result.failures]
        executions = Executions(aws, deployer.target)
        entry = deployer.target.manifest["entries"][0]
        big = {"note": "x" * 300_000}  # over the inline limit: the start goes through the payload bucket
        started = Invoker(aws, deployer.target).start(next(iter(deployer.target.manifest["blocks"])), big)
        if started.how == "invoke":
            executions.wait(started.execution_id, 120)
        executions.wait(executions.start(entry, {"items": []}), 120)
        executions.recent(5)
        LogTail(aws, stage_groups(deployer.names, deployer.target.manifest), 0, mode="poll").poll()
        assert deployer.teardown().ok
    needed = {action for action in (iam_action(*call) for call in calls) if action}
    policy = deployer_policy(Names("api-orders", "pol", "us-east-1"), PolicyTarget("aws", "us-east-1", "123456789012"))
    assert {"lambda:UpdateFunctionCode", "s3:PutObject", "apigateway:POST", "events:PutRule"} <= needed, "covered"
    assert needed - allowed_actions(policy) == set(), "calls the policy does not allow"


def test_each_statement_is_scoped_to_the_stage_and_fits_a_managed_policy():
    names = Names("a" * 40, "s" * 20, "eu-west-1")
    policy = deployer_policy(names, PolicyTarget("aws", "eu-west-1", "123456789012"))
    assert policy_size(policy) <= MANAGED_POLICY_LIMIT
    assert not any(action.endswith("*") for action in allowed_actions(policy)), "no wildcard action"
    for statement in policy["Statement"]:
        if statement["Resource"] == ["*"] and statement["Sid"] != "EventSourceMappings":
            assert all(":List" in action or ":Describe" in action for action in statement["Action"]), statement
        elif statement["Sid"] not in ("HttpApis", "EventSourceMappings"):
            assert all(
                names.list_prefix("function")[:30] in resource or names.role_path in resource or "payloads" in resource
                for resource in statement["Resource"]
            ), statement


def test_the_command_prints_the_policy_and_refuses_a_bad_account(tmp_path):
    command = [sys.executable, "-m", "refinery_tui", "policy", str(PROJECTS / "hello-world"), "--stage", "dev"]
    done = subprocess.run(
        command + ["--account", "123456789012", "--region", "eu-west-1"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    policy = json.loads(done.stdout)
    functions = next(s for s in policy["Statement"] if s["Sid"] == "Functions")
    assert functions["Resource"] == ["arn:aws:lambda:eu-west-1:123456789012:function:hello-world_dev_*"]
    assert "characters a managed policy may hold" in done.stderr
    bad = subprocess.run(command + ["--account", "12"], capture_output=True, text=True)
    assert bad.returncode == 2 and "give its 12 digits" in bad.stderr and "Traceback" not in bad.stderr
