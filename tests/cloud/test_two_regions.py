"""One project's stage deployed to two regions of one account: IAM role and S3 bucket names are global, so each
region's carry the region; both coexist (deploy, run, re-plan unchanged) and tear down independently. The real
command line in a subprocess against a real sandbox over HTTP (one moto backend serving both regions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3

from refinery_tui.cloud.naming import Names
from tests.cloud.cloud_helpers import sandbox_cli

EAST, WEST = "us-east-1", "eu-west-1"
# Over the 200,000-character inline limit: the output travels through the region's payload bucket.
BIG = 250_000
PROJECT_YAML = """name: atlas
blocks:
  start: {type: code, language: python}
  finish: {type: code, language: python}
transitions:
  - {from: start, to: finish}
"""
START = (
    "import os\n\n\ndef main(block_input, backpack):\n"
    "    return {'region': os.environ['AWS_REGION'], 'pad': 'x' * block_input['size']}\n"
)
FINISH = (
    "import os\n\n\ndef main(block_input, backpack):\n"
    "    return {'from': block_input['region'], 'at': os.environ['AWS_REGION'], 'size': len(block_input['pad'])}\n"
)


def make_project(root: Path) -> Path:
    (root / "blocks").mkdir(parents=True)
    (root / "project.yaml").write_text(PROJECT_YAML)
    (root / "blocks" / "start.py").write_text(START)
    (root / "blocks" / "finish.py").write_text(FINISH)
    return root


def cli(sandbox, region: str, *args: str) -> subprocess.CompletedProcess:
    result = sandbox_cli(sandbox, *args, region=region)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def plan(sandbox, root: Path, region: str) -> dict[str, int]:
    lines = cli(sandbox, region, "deploy", str(root), "--stage", "dev", "--plan", "--json").stdout.splitlines()
    return next(event for event in map(json.loads, lines) if event["event"] == "plan")


def unchanged(sandbox, root: Path, region: str) -> None:
    counts = plan(sandbox, root, region)
    assert (counts["create"], counts["update"], counts["delete"]) == (0, 0, 0), (region, counts)
    assert counts["unchanged"] > 0, counts


def runs(sandbox, root: Path, region: str) -> None:
    """An execution from `start` to `finish`, each block in `region`, the big output passed through S3."""
    given = json.dumps({"size": BIG})
    result = cli(
        sandbox, region, "invoke", str(root), "--stage", "dev", "--block", "start", "--input", given, "--wait", "--json"
    )
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["event"] == "execution_finished" and last["status"] == "succeeded", last
    assert [o["output"] for o in last["outputs"]] == [{"from": region, "at": region, "size": BIG}], last


def globals_of(sandbox, region: str) -> dict[str, object]:
    """The IAM roles (with their inline policies' text) and the S3 buckets whose ARNs or tags name `region`."""
    iam = boto3.client("iam", region_name=region, endpoint_url=sandbox.endpoint_url)
    s3 = boto3.client("s3", region_name=region, endpoint_url=sandbox.endpoint_url)
    roles = {}
    for role in iam.list_roles(PathPrefix="/refinery/atlas/dev/")["Roles"]:
        name = role["RoleName"]
        policies = [
            json.dumps(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
            for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
        ]
        if any(f":{region}:" in text for text in policies):
            roles[name] = policies
    buckets = [
        b["Name"]
        for b in s3.list_buckets()["Buckets"]
        if b["Name"].startswith("atlas-dev-")
        and (s3.get_bucket_location(Bucket=b["Name"]).get("LocationConstraint") or "us-east-1") == region
    ]
    return {"roles": roles, "buckets": sorted(buckets)}


def test_two_regions_of_one_stage_coexist_and_tear_down_independently(sandbox, tmp_path):
    root = make_project(tmp_path / "atlas")
    cli(sandbox, EAST, "deploy", str(root), "--stage", "dev", "--yes")
    east = globals_of(sandbox, EAST)
    cli(sandbox, WEST, "deploy", str(root), "--stage", "dev", "--yes")
    west = globals_of(sandbox, WEST)

    # Each region has its own roles (one per code block, naming only its own region's ARNs) and its own bucket.
    assert len(east["roles"]) == 2 and len(west["roles"]) == 2, (east, west)
    assert not set(east["roles"]) & set(west["roles"])
    assert len(east["buckets"]) == 1 and len(west["buckets"]) == 1 and east["buckets"] != west["buckets"]
    assert globals_of(sandbox, EAST) == east  # deploying west rewrote nothing of east's
    for role in [*east["roles"], *west["roles"]]:
        assert len(role) <= 64, role

    unchanged(sandbox, root, EAST)
    unchanged(sandbox, root, WEST)
    runs(sandbox, root, EAST)
    runs(sandbox, root, WEST)

    cli(sandbox, WEST, "teardown", str(root), "--stage", "dev", "--yes")
    assert globals_of(sandbox, WEST) == {"roles": {}, "buckets": []}
    assert globals_of(sandbox, EAST) == east  # east's roles, policies and bucket are intact
    unchanged(sandbox, root, EAST)
    runs(sandbox, root, EAST)

    # West deploys again beside east, and runs; then east tears down leaving west whole.
    counts = plan(sandbox, root, WEST)
    assert counts["create"] > 0 and counts["delete"] == 0, counts
    cli(sandbox, WEST, "deploy", str(root), "--stage", "dev", "--yes")
    unchanged(sandbox, root, EAST)
    runs(sandbox, root, WEST)
    west = globals_of(sandbox, WEST)
    cli(sandbox, EAST, "teardown", str(root), "--stage", "dev", "--yes")
    assert globals_of(sandbox, EAST) == {"roles": {}, "buckets": []}
    assert globals_of(sandbox, WEST) == west
    unchanged(sandbox, root, WEST)
    runs(sandbox, root, WEST)
    cli(sandbox, WEST, "teardown", str(root), "--stage", "dev", "--yes")


def aged(sandbox, region: str) -> tuple[list[str], str]:
    """The east stage of `atlas` turned into what a deploy made before names carried the region: roles named
    `<project>_<stage>_<block>` and a bucket named without the region, neither tagged with a region, its functions
    pointing at them. Returns the old roles' names and the old bucket's name."""
    iam = boto3.client("iam", region_name=region, endpoint_url=sandbox.endpoint_url)
    s3 = boto3.client("s3", region_name=region, endpoint_url=sandbox.endpoint_url)
    lam = boto3.client("lambda", region_name=region, endpoint_url=sandbox.endpoint_url)
    names = Names("atlas", "dev", region)
    account = boto3.client("sts", region_name=region, endpoint_url=sandbox.endpoint_url).get_caller_identity()
    old_bucket = names.regionless_bucket(account["Account"])
    tags = s3.get_bucket_tagging(Bucket=names.bucket(account["Account"]))["TagSet"]
    s3.create_bucket(Bucket=old_bucket)
    s3.put_bucket_tagging(Bucket=old_bucket, Tagging={"TagSet": [t for t in tags if t["Key"] != "refinery:region"]})
    s3.put_object(Bucket=old_bucket, Key="payloads/old", Body=b"{}")
    old_roles = []
    for block in ("start", "finish"):
        new, old = names.role(block), f"atlas_dev_{block}"
        role = iam.get_role(RoleName=new)["Role"]
        made = iam.create_role(
            RoleName=old,
            Path=role["Path"],
            AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
            Tags=[t for t in iam.list_role_tags(RoleName=new)["Tags"] if t["Key"] != "refinery:region"],
        )
        document = iam.get_role_policy(RoleName=new, PolicyName="refinery")["PolicyDocument"]
        iam.put_role_policy(RoleName=old, PolicyName="refinery", PolicyDocument=json.dumps(document))
        iam.delete_role_policy(RoleName=new, PolicyName="refinery")
        iam.delete_role(RoleName=new)
        function = lam.get_function(FunctionName=names.function(block))["Configuration"]
        lam.update_function_configuration(FunctionName=names.function(block), Role=made["Role"]["Arn"])
        lam.tag_resource(Resource=function["FunctionArn"], Tags={"refinery:spec": "made-before-regions"})
        old_roles.append(old)
    bucket = names.bucket(account["Account"])
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)
    return old_roles, old_bucket


def test_a_stage_deployed_before_names_carried_the_region_has_its_role_and_bucket_replaced(sandbox, tmp_path):
    root = make_project(tmp_path / "atlas")
    cli(sandbox, EAST, "deploy", str(root), "--stage", "dev", "--yes")
    old_roles, old_bucket = aged(sandbox, EAST)
    iam = boto3.client("iam", region_name=EAST, endpoint_url=sandbox.endpoint_url)
    s3 = boto3.client("s3", region_name=EAST, endpoint_url=sandbox.endpoint_url)

    # Another region takes neither the old bucket (it is in east) nor the old roles (their policy names east's ARNs).
    counts = plan(sandbox, root, WEST)
    assert counts["delete"] == 0 and counts["unchanged"] == 0, counts
    lines = cli(sandbox, EAST, "deploy", str(root), "--stage", "dev", "--plan").stdout
    for old in [*old_roles, old_bucket]:
        assert f"- delete    {'role' if old in old_roles else 'bucket'}" in lines and old in lines, lines
    counts = plan(sandbox, root, EAST)
    assert (counts["create"], counts["update"], counts["delete"]) == (3, 2, 3), counts

    cli(sandbox, EAST, "deploy", str(root), "--stage", "dev", "--yes")
    unchanged(sandbox, root, EAST)
    runs(sandbox, root, EAST)
    names = [r["RoleName"] for r in iam.list_roles(PathPrefix="/refinery/atlas/dev/")["Roles"]]
    assert not set(old_roles) & set(names), names
    assert old_bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    cli(sandbox, EAST, "teardown", str(root), "--stage", "dev", "--yes")
    assert globals_of(sandbox, EAST) == {"roles": {}, "buckets": []}


def test_a_region_that_is_no_aws_region_name_is_refused_with_a_hint(tmp_path):
    root = make_project(tmp_path / "atlas")
    args = [sys.executable, "-m", "refinery_tui", "deploy", str(root), "--stage", "dev", "--plan", "--region", "EU"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "region 'EU' is not an AWS region name (for example: us-east-1, eu-west-1)" in result.stderr
    assert "Traceback" not in result.stderr
