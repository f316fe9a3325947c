"""AWS's 10,240-character limit on a role's inline policy: a block with many successors gets a compact policy, and the
sandbox refuses an oversized one as IAM does."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from refinery_tui.cloud.block_manifest import block_manifest
from refinery_tui.cloud.iam import INLINE_POLICY_LIMIT, block_policy, policy_json, trust_policy
from refinery_tui.cloud.naming import Names
from refinery_tui.model import load_project
from refinery_tui.model.manifest import build_manifest
from tests.cloud.cloud_helpers import deploy, deployer_for

ACCOUNT, REGION = "123456789012", "eu-west-1"
WIDE = 150


def wide_project(root: Path, successors: int = WIDE) -> Path:
    """A project whose `start` block has `then` transitions to `successors` code blocks."""
    (root / "blocks").mkdir(parents=True)
    leaves = [f"leaf-{i:03d}" for i in range(successors)]
    lines = ["name: wide", "blocks:", "  start: {type: code, language: python}"]
    lines += [f"  {leaf}: {{type: code, language: python}}" for leaf in leaves]
    lines += ["transitions:"] + [f"  - {{from: start, to: {leaf}}}" for leaf in leaves]
    (root / "project.yaml").write_text("\n".join(lines) + "\n")
    for block in ["start", *leaves]:
        (root / "blocks" / f"{block.replace('-', '_')}.py").write_text(
            "def main(block_input, backpack):\n    return block_input\n"
        )
    return root


def start_policy(root: Path) -> dict:
    project = load_project(root).project
    names = Names(project.name, "dev", REGION)
    return block_policy(block_manifest(build_manifest(project), "start", names), names, ACCOUNT, REGION)


def counted(policy: dict) -> int:
    return len("".join(policy_json(policy).split()))


def test_a_block_with_150_successors_gets_a_compact_policy_within_the_limit(tmp_path):
    policy = start_policy(wide_project(tmp_path / "wide"))
    assert counted(policy) <= INLINE_POLICY_LIMIT
    invoke = [s for s in policy["Statement"] if s["Sid"] == "InvokeSuccessors"]
    assert invoke and invoke[0]["Resource"] == [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:wide_dev_*"]
    for statement in policy["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement
        for arn in statement["Resource"]:
            assert arn != "*" and arn.startswith("arn:aws:"), arn
            # a wildcard only ever ends the stage's own name prefix, a log group's streams or the payload prefix
            assert "*" not in arn or arn.endswith(("_dev_*", ":*", "/payloads/*")), arn


def test_a_block_under_the_limit_keeps_one_arn_per_successor(tmp_path):
    policy = start_policy(wide_project(tmp_path / "narrow", successors=20))
    invoke = [s for s in policy["Statement"] if s["Sid"] == "InvokeSuccessors"][0]
    # one ARN per successor, and the block's own (it may send a dispatch to itself again)
    assert len(invoke["Resource"]) == 21 and not any("*" in arn for arn in invoke["Resource"])


def test_the_sandbox_refuses_an_oversized_inline_policy_as_iam_does(sandbox):
    iam = boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    iam.create_role(RoleName="big", AssumeRolePolicyDocument=json.dumps(trust_policy()))
    statement = {"Effect": "Allow", "Action": "sqs:SendMessage"}
    arns = [f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-{i:04d}" for i in range(300)]
    oversized = {"Version": "2012-10-17", "Statement": [{**statement, "Resource": arns}]}
    with pytest.raises(ClientError) as refused:
        iam.put_role_policy(RoleName="big", PolicyName="p", PolicyDocument=json.dumps(oversized))
    error = refused.value.response["Error"]
    assert error["Code"] == "LimitExceeded"
    assert error["Message"] == "Maximum policy size of 10240 bytes exceeded for role big"
    assert "p" not in iam.list_role_policies(RoleName="big")["PolicyNames"]

    # Whitespace does not count: a document longer than the limit only by its indentation is accepted.
    fitting = {"Version": "2012-10-17", "Statement": [{**statement, "Resource": arns[:150]}]}
    text = json.dumps(fitting, indent=40)
    assert len(text) > INLINE_POLICY_LIMIT >= len("".join(text.split()))
    iam.put_role_policy(RoleName="big", PolicyName="p", PolicyDocument=text)
    assert iam.list_role_policies(RoleName="big")["PolicyNames"] == ["p"]


def test_a_150_successor_block_deploys_to_the_strict_sandbox_and_replans_unchanged(sandbox, tmp_path):
    root = wide_project(tmp_path / "wide")
    deploy(sandbox, root, "dev")
    plan = deployer_for(sandbox, root, "dev").plan()
    assert plan.changes and not plan.pending, [c.id for c in plan.pending]


def test_the_limit_counts_all_of_a_roles_inline_policies_together(sandbox):
    iam = boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    iam.create_role(RoleName="two", AssumeRolePolicyDocument=json.dumps(trust_policy()))
    arns = [f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-{i:04d}" for i in range(120)]
    half = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": arns}]}
    )
    assert INLINE_POLICY_LIMIT / 2 < len(half) < INLINE_POLICY_LIMIT
    iam.put_role_policy(RoleName="two", PolicyName="a", PolicyDocument=half)
    iam.put_role_policy(RoleName="two", PolicyName="a", PolicyDocument=half)  # replacing a policy is not adding one
    with pytest.raises(ClientError, match="LimitExceeded"):
        iam.put_role_policy(RoleName="two", PolicyName="b", PolicyDocument=half)
    assert iam.list_role_policies(RoleName="two")["PolicyNames"] == ["a"]
