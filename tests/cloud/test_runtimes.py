"""Lambda runtimes: the chosen ones are current, the sandbox refuses retired ones as AWS does, Node blocks deploy."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from refinery_tui.cloud.executions import Executions
from refinery_tui.cloud.packaging import RUNTIMES
from refinery_tui.cloud.runtimes import CHOSEN, RUNTIME_DATES, today
from refinery_tui.local.session import LocalSession
from tests.conftest import PROJECTS

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
REGION = "us-east-1"


def _lambda(sandbox):
    return boto3.client("lambda", region_name=REGION, endpoint_url=sandbox.endpoint_url)


def _role(sandbox, name: str) -> str:
    iam = boto3.client("iam", region_name=REGION, endpoint_url=sandbox.endpoint_url)
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]


def _zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.js", "exports.handler = async () => 1;")
    return archive.getvalue()


@pytest.mark.parametrize("language", sorted(CHOSEN))
def test_the_chosen_runtime_is_not_deprecated_today(language):
    runtime = RUNTIMES[language]
    dates = RUNTIME_DATES[runtime]
    assert today() < dates.deprecation, (
        f"{runtime} ({language} blocks) was deprecated by AWS on {dates.deprecation}: "
        "choose a current runtime in refinery_tui/cloud/runtimes.py (CHOSEN) from AWS's Lambda runtimes page"
    )
    known = botocore.session.get_session().get_service_model("lambda").shape_for("Runtime").enum
    assert runtime in known, f"{runtime} is not a runtime botocore's Lambda model knows"


def test_the_sandbox_refuses_a_runtime_aws_no_longer_accepts(sandbox):
    client = _lambda(sandbox)
    role = _role(sandbox, "runtime-policy-role")
    with pytest.raises(ClientError) as refused:
        client.create_function(
            FunctionName="retired-node",
            Runtime="nodejs20.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _zip()},
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"].startswith(
        "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions."
    )
    with pytest.raises(ClientError):
        client.get_function(FunctionName="retired-node")  # nothing was created

    client.create_function(
        FunctionName="current-node",
        Runtime=CHOSEN["node"],
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
    )
    with pytest.raises(ClientError) as refused:
        client.update_function_configuration(FunctionName="current-node", Runtime="nodejs18.x")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert client.get_function_configuration(FunctionName="current-node")["Runtime"] == CHOSEN["node"]
    client.update_function_configuration(FunctionName="current-node", Timeout=7)  # no runtime named: accepted


@needs_node
def test_node_blocks_deploy_and_run_on_a_current_runtime(sandbox, tmp_path):
    root = tmp_path / "all-transitions"
    shutil.copytree(PROJECTS / "all-transitions", root, ignore=shutil.ignore_patterns(".refinery"))
    deploy = subprocess.run(
        [
            sys.executable,
            "-m",
            "refinery_tui",
            "deploy",
            str(root),
            "--stage",
            "rt",
            "--endpoint-url",
            sandbox.endpoint_url,
            "--yes",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "AWS_REGION": REGION},
        stdin=subprocess.DEVNULL,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    configuration = _lambda(sandbox).get_function_configuration(FunctionName="all-transitions_rt_square")
    assert configuration["Runtime"] == CHOSEN["node"]

    from refinery_tui.cloud.aws import Aws
    from tests.cloud.cloud_helpers import deployer_for

    deployer = deployer_for(sandbox, root, "rt", Aws(region=REGION, endpoint_url=sandbox.endpoint_url))
    value = {"numbers": [3, 12]}  # 153 > 100: the Node block `big` ends it, after the Node `square`s
    with LocalSession(root) as session:
        local = session.run(value)
    executions = Executions(deployer.aws, deployer.target)
    deployed = executions.wait(executions.start("start", value), 120)
    assert deployed.status == local.status == "succeeded", deployed.errors
    assert deployed.outputs == local.outputs and [o["block"] for o in deployed.outputs] == ["big"]


def test_the_sandbox_help_tells_its_runtime_strictness():
    help_text = subprocess.run(
        [sys.executable, "-m", "refinery_tui", "sandbox", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "runtime AWS no longer accepts" in " ".join(help_text.split())


def _deploy_cli(sandbox, root, stage: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "refinery_tui", "deploy", str(root), "--stage", stage, "--yes"]
        + ["--endpoint-url", sandbox.endpoint_url],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "AWS_REGION": REGION},
        stdin=subprocess.DEVNULL,
    )


@needs_node
def test_a_function_left_on_a_blocked_runtime_is_moved_before_its_new_code_is_uploaded(sandbox, tmp_path):
    from moto.awslambda.utils import get_backend

    root = tmp_path / "all-transitions"
    shutil.copytree(PROJECTS / "all-transitions", root, ignore=shutil.ignore_patterns(".refinery"))
    first = _deploy_cli(sandbox, root, "old")
    assert first.returncode == 0, first.stdout + first.stderr
    # As deployed before AWS blocked updates of nodejs20.x functions (moto's state is this process's).
    account = boto3.client("sts", region_name=REGION, endpoint_url=sandbox.endpoint_url).get_caller_identity()
    name = "all-transitions_old_square"
    get_backend(account["Account"], REGION).get_function(name, None).run_time = "nodejs20.x"
    client = _lambda(sandbox)
    with pytest.raises(ClientError) as refused:
        client.update_function_code(FunctionName=name, ZipFile=_zip())
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "nodejs20.x is no longer supported" in refused.value.response["Error"]["Message"]

    old_code = client.get_function_configuration(FunctionName=name)["CodeSha256"]
    square = root / "blocks" / "square.js"
    square.write_text(square.read_text() + "\n// edited after the runtime was blocked\n")
    second = _deploy_cli(sandbox, root, "old")
    assert second.returncode == 0, second.stdout + second.stderr
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["Runtime"] == CHOSEN["node"] and configuration["CodeSha256"] != old_code
