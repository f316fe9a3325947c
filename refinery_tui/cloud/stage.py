"""Opening a deployed stage: the one way the command line and the workbench reach a project's stage on AWS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.naming import Names, NamingError, check_region, check_stage
from refinery_tui.model.manifest import build_manifest

if TYPE_CHECKING:  # boto3 is imported when a stage is opened, not when this module is
    from refinery_tui.cloud.aws import Aws, Call
    from refinery_tui.cloud.deployer import Deployer
    from refinery_tui.cloud.executions import Executions
    from refinery_tui.cloud.invoker import Invoker
    from refinery_tui.model.project import Project

KINDS = ("sandbox", "profile", "endpoint")  # what the workbench offers; the command line's kind is "aws"
# Sent to a sandbox target when it left no credentials file and none are configured: it refuses them, and the
# refusal explains (see explain()).
SANDBOX_CREDENTIALS = "sandbox"
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
NO_CREDENTIALS = (
    "no AWS credentials found\n    hint: set AWS_PROFILE or run `aws configure`; or "
    "start the local sandbox with `refinery-tui sandbox` and eval its export lines"
)


SANDBOX_HINT = (
    "\n    hint: the sandbox makes new credentials at each start; the workbench finds those of a sandbox running "
    "on this machine, the command line needs its export lines evaluated again"
)


class StageError(Exception):
    """Why a stage cannot be opened (or used), worded for the user; the command line exits with code 2."""


@dataclass(frozen=True)
class StageTarget:
    """Where a stage is deployed: the sandbox, an AWS profile, an endpoint URL, or ("aws") the standard AWS
    settings with the command line's options; and the region and the stage's name."""

    kind: str = "sandbox"
    endpoint: str = ""
    profile: str = ""
    region: str = ""
    stage: str = "dev"

    def describe(self) -> str:
        region = f" ({self.region})" if self.region else ""
        if self.kind == "profile":
            return f"AWS profile {self.profile or 'default'}{region}"
        if self.kind == "aws":
            return f"AWS ({self.endpoint}{region})" if self.endpoint else f"AWS{region}"
        return f"{'sandbox ' if self.kind == 'sandbox' else ''}{self.endpoint}{region}"

    def problem(self) -> str | None:
        """Why this target cannot be used as typed, or None."""
        if self.kind not in (*KINDS, "aws"):
            return f"unknown target kind {self.kind!r} ({', '.join(KINDS)})"
        if self.kind in ("sandbox", "endpoint") and not self.endpoint.startswith(("http://", "https://")):
            return f"the endpoint URL {self.endpoint!r} must start with http:// or https://"
        if not self.stage:
            return "type a stage name (for example: dev)"
        return None


class Stage:
    """A project's stage on one AWS target, opened: the validated project, its manifest, the names, the AWS
    clients and the account (resolved, so credentials and the endpoint are known to work); the deployer, the log
    groups, the invoker and the executions on demand."""

    def __init__(self, root: Path, project: Project, target: StageTarget, aws: Aws, names: Names) -> None:
        self.root = Path(root)
        self.project = project
        self.target = target
        self.aws = aws
        self.names = names
        self.manifest = build_manifest(project)
        self.placement = Placement(names, aws.account, aws.region, aws.partition, self.manifest)
        self._deployer: Deployer | None = None

    @property
    def name(self) -> str:
        return self.names.stage

    def where(self) -> str:
        """The target in words, for messages: `sandbox http://...`, `AWS profile p`, `AWS (http://... (region))`."""
        return _where(self.target, self.aws)

    def deployer(self) -> Deployer:
        """The Deployer of this stage (made once)."""
        if self._deployer is None:
            from refinery_tui.cloud.deployer import Deployer

            self._deployer = Deployer(self.project, self.root, self.name, self.aws, placement=self.placement)
        return self._deployer

    def log_groups(self) -> dict[str, str | None]:
        """Every log group of the stage's functions, with the block each belongs to."""
        from refinery_tui.cloud.logtail import stage_groups

        return stage_groups(self.names, self.manifest)

    def invoker(self) -> Invoker:
        from refinery_tui.cloud.invoker import Invoker

        return Invoker(self.aws, self.placement)

    def executions(self) -> Executions:
        from refinery_tui.cloud.executions import Executions

        return Executions(self.aws, self.placement)


def open_stage(
    project_root: str | Path,
    stage: str,
    *,
    kind: str = "aws",
    endpoint_url: str | None = None,
    profile: str | None = None,
    region: str | None = None,
    on_call: Callable[[Call], None] | None = None,
) -> Stage:
    """Open `stage` of the project at `project_root` on the target given (kind "aws": the standard AWS settings,
    with any of profile, region and endpoint URL; "sandbox", "profile", "endpoint": the workbench's choices).
    Checks, in order: the target as typed, the project (valid), the stage's name, the profile, the credentials
    and the endpoint (by resolving the account). Raises StageError, worded the same for every caller."""
    target = StageTarget(kind, endpoint_url or "", profile or "", region or "", stage)
    problem = target.problem()
    if problem:
        raise StageError(problem)
    project = valid_project(project_root)
    try:
        check_stage(stage)
        if region:
            check_region(region)
    except NamingError as exc:
        raise StageError(str(exc)) from None
    aws = None
    try:
        aws = _aws(target, on_call)
        names = Names(project.name, stage, aws.region)
        opened = Stage(Path(project_root), project, target, aws, names)
    except Exception as exc:  # noqa: BLE001 - botocore's errors are many; explain() words the ones it knows
        message = explain(exc, _where(target, aws), target.kind == "sandbox", opening=True)
        if message is None:
            raise
        raise StageError(message) from None
    return opened


def valid_project(project_root: str | Path) -> Project:
    from refinery_tui.model import ProjectNotFound, validate_project

    try:
        result = validate_project(Path(project_root))
    except ProjectNotFound as exc:
        raise StageError(str(exc)) from None
    if not result.ok:
        first = result.errors[0].format()
        raise StageError(
            f"{project_root}: the project has {len(result.errors)} error(s) to fix before deploying; "
            f"first: {first}\n    hint: `refinery-tui validate {project_root}` lists them"
        )
    return result.project


def _aws(target: StageTarget, on_call: Callable[[Call], None] | None) -> Aws:
    from refinery_tui.cloud.aws import Aws, CallLog

    log = CallLog(listeners=[on_call] if on_call else [])
    endpoint = (target.endpoint or None) if target.kind != "profile" else None
    profile = (target.profile or None) if target.kind in ("profile", "aws") else None
    aws = Aws(profile=profile, region=target.region or None, endpoint_url=endpoint, log=log)
    if target.kind != "sandbox":
        return aws
    # A sandbox on this machine leaves its credentials (new at each start) in a user-private file: they win over
    # any configured ones, which belong to AWS or to an earlier sandbox.
    from refinery_tui.cloud.sandbox_credentials import read_credentials

    found = read_credentials(target.endpoint)
    if found is not None:
        key, secret = found.access_key_id, found.secret_access_key
    elif aws.session.get_credentials() is None:
        key = secret = SANDBOX_CREDENTIALS
    else:
        return aws
    aws.session._session.set_credentials(key, secret)  # boto3 keeps no public handle on its botocore session
    return aws


def _where(target: StageTarget, aws: Aws | None) -> str:
    if target.kind == "aws":
        return f"AWS ({aws.describe()})" if aws is not None else target.describe()
    return target.describe()


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def explain(exc: BaseException, where: str, sandbox: bool = False, opening: bool = False) -> str | None:
    """What went wrong reaching `where`, in one wording for every caller; None when `exc` is none of ours or
    AWS's. `opening`: the error came while opening the stage (any AWS refusal then means it cannot be reached)."""
    from botocore import exceptions as aws_errors

    for error in _chain(exc):
        if isinstance(error, (StageError, NamingError)):
            return str(error)
        if isinstance(error, aws_errors.ProfileNotFound):
            return f"{error}\n    hint: `aws configure list-profiles` lists them"
        if isinstance(error, (aws_errors.NoCredentialsError, aws_errors.PartialCredentialsError)):
            return NO_CREDENTIALS
        if isinstance(error, aws_errors.ClientError):
            details = error.response.get("Error", {})
            code = details.get("Code", type(error).__name__)
            if code in CREDENTIAL_CODES:
                hint = SANDBOX_HINT if sandbox and code != "AccessDenied" else ""
                return f"{code}: {details.get('Message', '')} (check the credentials used for {where}){hint}"
            if opening:
                return f"cannot reach {where}: {error}"
            return f"{code}: {details.get('Message', '')}".rstrip(": ")
        if isinstance(error, aws_errors.BotoCoreError):
            hint = "\n    hint: is the sandbox running? `refinery-tui sandbox` starts it" if sandbox else ""
            unreachable = (
                aws_errors.EndpointConnectionError,
                aws_errors.ConnectionClosedError,
                aws_errors.ConnectTimeoutError,
                aws_errors.ReadTimeoutError,
            )
            if opening or isinstance(error, unreachable):
                return f"cannot reach {where}: {error}{hint}"
            return f"{where}: {error}"
    return None


def one_line(message: str) -> str:
    """A message with its hint lines joined onto one line (the workbench's status lines are one line high)."""
    return " · ".join(line.strip() for line in message.splitlines() if line.strip())
