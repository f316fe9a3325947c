"""Where the Deploy pane deploys (sandbox, profile or endpoint; and the stage), remembered per project; no Textual."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from refinery_tui.model.files import atomic_write_text

KINDS = ("sandbox", "profile", "endpoint")
SANDBOX_URL = "http://127.0.0.1:4566"
TARGET_FILE = "deploy-target.json"
SANDBOX_CREDENTIALS = "sandbox"  # the sandbox accepts any credentials; used only when none are configured
CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AccessDenied",
    "AccessDeniedException",
}


class DeployError(Exception):
    """A reason the deploy cannot go on, worded for the user."""


@dataclass(frozen=True)
class DeployTarget:
    kind: str = "sandbox"
    endpoint: str = ""
    profile: str = ""
    region: str = ""
    stage: str = "dev"

    def describe(self) -> str:
        region = f" ({self.region})" if self.region else ""
        if self.kind == "profile":
            return f"AWS profile {self.profile or 'default'}{region}"
        return f"{'sandbox ' if self.kind == 'sandbox' else ''}{self.endpoint}{region}"

    def problem(self) -> str | None:
        """Why this target cannot be used as typed, or None."""
        if self.kind not in KINDS:
            return f"unknown target kind {self.kind!r} ({', '.join(KINDS)})"
        if self.kind != "profile" and not self.endpoint.startswith(("http://", "https://")):
            return f"the endpoint URL {self.endpoint!r} must start with http:// or https://"
        if not self.stage:
            return "type a stage name (for example: dev)"
        return None


def default_target() -> DeployTarget:
    return DeployTarget(endpoint=os.environ.get("AWS_ENDPOINT_URL") or SANDBOX_URL)


def load_target(root: Path) -> DeployTarget:
    """The last target used with this project, or the sandbox and stage dev (a broken file is ignored)."""
    default = default_target()
    try:
        data = json.loads((Path(root) / ".refinery" / TARGET_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
    if not isinstance(data, dict):
        return default
    fields = {key: value for key, value in data.items() if key in asdict(default) and isinstance(value, str)}
    target = replace(default, **fields)
    return target if target.kind in KINDS else default


def save_target(root: Path, target: DeployTarget) -> None:
    try:
        atomic_write_text(Path(root) / ".refinery" / TARGET_FILE, json.dumps(asdict(target), indent=2) + "\n")
    except OSError:
        pass  # remembering the target is a convenience; it never stops a deploy


def connect(root: Path, target: DeployTarget, on_call: Callable[[Any], None] | None = None):
    """A Deployer for the project on disk and this target, with the account resolved (so credentials and the
    endpoint are checked here). Raises DeployError or the AWS error; `readable` words either."""
    from refinery_tui.cloud.aws import Aws, CallLog
    from refinery_tui.cloud.deployer import Deployer
    from refinery_tui.model import ProjectNotFound, validate_project

    problem = target.problem()
    if problem:
        raise DeployError(problem)
    try:
        result = validate_project(Path(root))
    except ProjectNotFound as exc:
        raise DeployError(str(exc)) from None
    if not result.ok:
        first = result.errors[0].format().splitlines()[0]
        raise DeployError(
            f"the project has {len(result.errors)} error(s) to fix before deploying (the Problems "
            f"tab lists them); first: {first}"
        )
    log = CallLog(listeners=[on_call] if on_call else [])
    endpoint = target.endpoint if target.kind != "profile" else None
    profile = (target.profile or None) if target.kind == "profile" else None
    aws = Aws(profile=profile, region=target.region or None, endpoint_url=endpoint, log=log)
    if target.kind == "sandbox" and aws.session.get_credentials() is None:
        import boto3

        aws.session = boto3.Session(
            aws_access_key_id=SANDBOX_CREDENTIALS, aws_secret_access_key=SANDBOX_CREDENTIALS, region_name=aws.region
        )
    deployer = Deployer(result.project, Path(root), target.stage, aws)
    _ = deployer.target
    return deployer


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def readable(exc: BaseException, target: DeployTarget | None = None) -> str:
    """One or two lines that say what went wrong and what to do, never a traceback."""
    from botocore import exceptions as aws_errors

    from refinery_tui.cloud.naming import NamingError

    where = target.describe() if target else "AWS"
    for error in _chain(exc):
        if isinstance(error, (DeployError, NamingError)):
            return str(error)
        if isinstance(error, aws_errors.ProfileNotFound):
            return f"{error}; `aws configure list-profiles` lists them"
        if isinstance(error, (aws_errors.NoCredentialsError, aws_errors.PartialCredentialsError)):
            return (
                "no AWS credentials found: choose a profile that has some (`aws configure` makes one), or deploy "
                "to the sandbox target, which needs none (`refinery-tui sandbox` starts it)"
            )
        if isinstance(
            error,
            (
                aws_errors.EndpointConnectionError,
                aws_errors.ConnectionClosedError,
                aws_errors.ConnectTimeoutError,
                aws_errors.ReadTimeoutError,
            ),
        ):
            hint = (
                " Is the sandbox running? `refinery-tui sandbox` starts it."
                if target and target.kind == "sandbox"
                else ""
            )
            return f"cannot reach {where}: {error}.{hint}"
        if isinstance(error, aws_errors.ClientError):
            details = error.response.get("Error", {})
            code = details.get("Code", type(error).__name__)
            text = f"{code}: {details.get('Message', '')}".rstrip(": ")
            if code in CREDENTIAL_CODES:
                text += f" (check the credentials used for {where})"
            return text
        if isinstance(error, aws_errors.BotoCoreError):
            return f"{where}: {error}"
    return f"{type(exc).__name__}: {exc}"
