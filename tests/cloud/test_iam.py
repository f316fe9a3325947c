"""Least-privilege IAM: each block's role may reach exactly what its place in the graph needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from refinery_tui.cloud.block_manifest import block_manifest
from refinery_tui.cloud.iam import block_policy, policy_hash, policy_json, trust_policy
from refinery_tui.cloud.naming import Names
from refinery_tui.model import CodeBlock, load_project
from refinery_tui.model.manifest import build_manifest
from tests.conftest import BUNDLED, PROJECTS

ACCOUNT, REGION = "123456789012", "eu-west-1"


def policies_of(root: Path, stage: str = "dev") -> dict[str, dict]:
    project = load_project(root).project
    manifest, names = build_manifest(project), Names(project.name, stage, "us-east-1")
    return {
        name: block_policy(block_manifest(manifest, name, names), names, ACCOUNT, REGION)
        for name, block in project.blocks.items()
        if isinstance(block, CodeBlock)
    }


def resources(policy: dict, sid: str) -> set[str]:
    found = [s["Resource"] for s in policy["Statement"] if s["Sid"] == sid]
    return set(found[0]) if found else set()


def actions_on(policy: dict, arn: str) -> set[str]:
    return {a for s in policy["Statement"] if arn in s["Resource"] for a in s["Action"]}


def function_arn(project: str, block: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{project}_dev_{block}"


def queue_arn(project: str, block: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{project}_dev_{block}"


def test_trust_policy_lets_only_lambda_assume_the_role():
    (statement,) = trust_policy()["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }


@pytest.mark.parametrize("name", BUNDLED)
def test_no_wildcard_actions_or_resources(name):
    for block, policy in policies_of(PROJECTS / name).items():
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow" and statement["Resource"], (block, statement)
            assert not any("*" in action for action in statement["Action"]), (block, statement)
            for arn in statement["Resource"]:
                # The only wildcards: a log group's streams and the payload prefix's objects.
                assert arn.startswith("arn:aws:") and ("*" not in arn or arn.endswith((":*", "/payloads/*"))), (
                    block,
                    arn,
                )
                assert "*" not in arn[:-1], (block, arn)


@pytest.mark.parametrize("name", BUNDLED)
def test_invoke_exactly_the_code_successors(name):
    project = load_project(PROJECTS / name).project
    manifest, names = build_manifest(project), Names(project.name, "dev", "us-east-1")
    for block, policy in policies_of(PROJECTS / name).items():
        successors = block_manifest(manifest, block, names)["successors"]
        code = {function_arn(project.name, s) for s in successors if project.blocks[s].type == "code"}
        direct = {
            function_arn(project.name, t.target)
            for t in project.transitions
            if t.source == block and project.blocks[t.target].type == "code"
        }
        assert resources(policy, "InvokeSuccessors") == code, block
        assert direct <= code, block


@pytest.mark.parametrize(
    "block, expected",
    [
        ("start", {"split", "describe", "report-error"}),  # its `then`s, and the global handler it has no other for
        ("split", {"square", "total", "report-error"}),  # an empty fan-out goes straight to the fan-in
        ("square", {"square-failed", "total"}),  # its own exception transition replaces the global one
        ("report", {"big", "small", "report-error"}),
        ("big", {"report-error"}),
    ],
)
def test_hand_checked_successors_in_all_transitions(block, expected):
    policy = policies_of(PROJECTS / "all-transitions")[block]
    # Every function may also invoke itself: a dispatch whose state could not be written is sent again.
    assert resources(policy, "InvokeSuccessors") == {function_arn("all-transitions", b) for b in {*expected, block}}


@pytest.mark.parametrize(
    "name, block",
    [
        ("all-transitions", "report-error"),
        ("hello-world", "sign"),
        ("api-orders", "notify-customer"),
        ("scheduled-report", "format-email"),
    ],
)
def test_a_block_without_successors_invokes_only_itself(name, block):
    policy = policies_of(PROJECTS / name)[block]
    invoking = [s for s in policy["Statement"] if "lambda:InvokeFunction" in s["Action"]]
    assert [s["Resource"] for s in invoking] == [[function_arn(name, block)]]
    assert not [s for s in policy["Statement"] if s["Sid"] in ("SendToQueues", "PublishToTopics")]


def test_queue_consumers_receive_from_their_source_queue_only():
    policies = policies_of(PROJECTS / "api-orders")
    fulfilment = queue_arn("api-orders", "fulfilment")
    consumers = {block for block, policy in policies.items() if resources(policy, "ConsumeSourceQueues")}
    assert consumers == {"pack-orders"}
    assert resources(policies["pack-orders"], "ConsumeSourceQueues") == {fulfilment}
    assert actions_on(policies["pack-orders"], fulfilment) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    }
    assert actions_on(policies["accept-order"], fulfilment) == {"sqs:SendMessage", "sqs:GetQueueUrl"}
    senders = {block for block, policy in policies.items() if resources(policy, "SendToQueues")}
    assert senders == {"accept-order"}


def test_publishers_publish_to_their_topic_only():
    policies = policies_of(PROJECTS / "api-orders")
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:api-orders_dev_order-events"
    publishers = {
        block: resources(policy, "PublishToTopics")
        for block, policy in policies.items()
        if resources(policy, "PublishToTopics")
    }
    assert publishers == {"pack-orders": {topic}}


def test_every_role_reaches_its_own_logs_the_payloads_and_the_state_table():
    names = Names("hello-world", "dev", "us-east-1")
    policy = policies_of(PROJECTS / "hello-world")["shout"]
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/hello-world_dev_shout"
    assert resources(policy, "Logs") == {f"{group}:*"}
    assert group in resources(policy, "LogGroup")
    assert actions_on(policy, f"{group}:*") >= {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert resources(policy, "Payloads") == {f"arn:aws:s3:::{names.bucket(ACCOUNT)}/payloads/*"}
    assert resources(policy, "StateTable") == {f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table()}"}
    assert actions_on(policy, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table()}") == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:DeleteItem",
    }


def test_partition_region_and_bucket_are_used():
    project = load_project(PROJECTS / "hello-world").project
    names = Names(project.name, "prod", "us-east-1")
    slice_ = block_manifest(build_manifest(project), "greet", names)
    text = policy_json(block_policy(slice_, names, ACCOUNT, "cn-north-1", "aws-cn", bucket="my-bucket"))
    assert "arn:aws:" not in text and "arn:aws-cn:s3:::my-bucket/payloads/*" in text
    assert f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:hello-world_prod_shout" in text


@pytest.mark.parametrize("name", BUNDLED)
def test_policies_are_stable_and_sorted(name):
    first, second = policies_of(PROJECTS / name), policies_of(PROJECTS / name)
    for block, policy in first.items():
        assert policy_json(policy) == policy_json(second[block])
        assert policy_hash(policy) == policy_hash(json.loads(json.dumps(second[block])))
        sids = [s["Sid"] for s in policy["Statement"]]
        assert sids == sorted(set(sids)) and all(sid.isalnum() for sid in sids)
        for statement in policy["Statement"]:
            assert statement["Action"] == sorted(statement["Action"])
            assert statement["Resource"] == sorted(statement["Resource"])


def test_adding_a_transition_changes_only_that_blocks_policy(copy_project):
    root = copy_project("all-transitions")
    before = {block: policy_hash(p) for block, p in policies_of(root).items()}
    text = (root / "project.yaml").read_text()
    (root / "project.yaml").write_text(text + "  - {from: big, to: small}\n")
    after = policies_of(root)
    changed = [block for block in before if policy_hash(after[block]) != before[block]]
    assert changed == ["big"]
    assert function_arn("all-transitions", "small") in resources(after["big"], "InvokeSuccessors")
