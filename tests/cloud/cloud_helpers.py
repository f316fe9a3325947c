"""Helpers for tests that deploy to the sandbox: a sandbox per module, deploy a project folder, run an execution."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.deployer import Deployer
from refinery_tui.cloud.executions import CloudExecution, Executions
from refinery_tui.model import load_project


@contextmanager
def running_sandbox(state_dir: Path) -> Iterator[Any]:
    from refinery_tui.sandbox.server import Sandbox

    saved = {
        key: os.environ.get(key)
        for key in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
        )
    }
    with Sandbox(port=0, state_dir=state_dir) as sandbox:
        os.environ.update({k: v for k, v in sandbox.environment().items() if k != "AWS_ENDPOINT_URL"})
        boto3.DEFAULT_SESSION = None  # it keeps the credentials it first found: another sandbox's, refused here
        try:
            yield sandbox
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            boto3.DEFAULT_SESSION = None


def deployer_for(sandbox: Any, root: Path, stage: str, aws: Aws | None = None) -> Deployer:
    project = load_project(root).project
    aws = aws or Aws(region="us-east-1", endpoint_url=sandbox.endpoint_url)
    return Deployer(project, root, stage, aws, cache_dir=root.parent / ".build-cache")


def deploy(sandbox: Any, root: Path, stage: str) -> Deployer:
    deployer = deployer_for(sandbox, root, stage)
    result = deployer.apply()
    assert result.ok, [failure.line() for failure in result.failures]
    return deployer


def run_deployed(sandbox: Any, deployer: Deployer, block: str, value: Any, timeout: float = 120) -> CloudExecution:
    executions = Executions(deployer.aws, deployer.target)
    execution_id = executions.start(block, value)
    return executions.wait(execution_id, timeout)


def without_credentials(monkeypatch: Any, tmp_path: Path) -> None:
    """No AWS credentials, profile or endpoint from the environment or the user's files for this test."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def sandbox_cli(sandbox: Any, *args: str, region: str | None = None) -> subprocess.CompletedProcess:
    """`refinery-tui ARGS [--region R] --endpoint-url SANDBOX` in its own process, with the sandbox's environment."""
    where = ["--region", region] if region else []
    return subprocess.run(
        [sys.executable, "-m", "refinery_tui", *args, *where, "--endpoint-url", sandbox.endpoint_url],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **sandbox.environment()},
    )


def sandbox_client(sandbox: Any, service: str) -> Any:
    """A boto3 client of the sandbox, signed with its own credentials."""
    env = sandbox.environment()
    return boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
