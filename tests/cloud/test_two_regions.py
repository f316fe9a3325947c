"""One project's stage deployed to two regions of one account: IAM role and S3 bucket names are global, so each
region's carry the region; both coexist (deploy, run, re-plan unchanged) and tear down independently. The real
command line in a subprocess against a real sandbox over HTTP (one moto backend serving both regions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.cloud.cloud_helpers import running_sandbox

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


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("sandbox")) as sandbox:
        yield sandbox


def make_project(root: Path) -> Path:
    (root / "blocks").mkdir(parents=True)
    (root / "project.yaml").write_text(PROJECT_YAML)
    (root / "blocks" / "start.py").write_text(START)
    (root / "blocks" / "finish.py").write_text(FINISH)
    return root


def cli(sandbox, region: str, *args: str) -> subprocess.CompletedProcess:
    """`refinery-tui ARGS --region REGION --endpoint-url SANDBOX` in its own process."""
    result = subprocess.run(
        [sys.executable, "-m", "refinery_tui", *args, "--region", region, "--endpoint-url", sandbox.endpoint_url],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **sandbox.environment()},
    )
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
