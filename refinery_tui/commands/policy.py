"""`refinery-tui policy`: print the IAM policy a deployer of a project's stage needs (for the user's own IAM)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TextIO

from refinery_tui.commands.outcome import EXIT_OK, UsageError, opened_stage

_ACCOUNT = re.compile(r"^\d{12}$")


def _names_and_target(args: argparse.Namespace):
    from refinery_tui.cloud.aws import Aws
    from refinery_tui.cloud.deployer_policy import PolicyTarget
    from refinery_tui.cloud.naming import Names, NamingError
    from refinery_tui.cloud.stage import StageError, valid_project

    if args.account is None:
        stage = opened_stage(args.project, args.stage, args.profile, args.region, None)
        aws = stage.aws
        return stage.names, PolicyTarget(aws.partition, aws.region, aws.account)
    if not _ACCOUNT.match(args.account):
        raise UsageError(f"--account {args.account!r} is not an AWS account id: give its 12 digits")
    aws = Aws(profile=args.profile, region=args.region)
    try:
        project = valid_project(args.project)
        names = Names(project.name, args.stage, aws.region)
    except (StageError, NamingError) as exc:
        raise UsageError(str(exc)) from None
    return names, PolicyTarget(aws.partition, aws.region, args.account)


def main(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from refinery_tui.cloud.deployer_policy import MANAGED_POLICY_LIMIT, deployer_policy, policy_size

    out = out or sys.stdout
    names, target = _names_and_target(args)
    policy = deployer_policy(names, target)
    out.write(json.dumps(policy, indent=2) + "\n")
    size = policy_size(policy)
    sys.stderr.write(
        f"policy for {names.project}, stage {names.stage}, in {target.region} of account {target.account}: "
        f"{size} of the {MANAGED_POLICY_LIMIT} characters a managed policy may hold\n"
        f"    create it with: aws iam create-policy --policy-name {names.project}-{names.stage}-deployer "
        "--policy-document file://policy.json\n"
    )
    return EXIT_OK
