"""`refinery-tui deploy` and `teardown`: show the plan, confirm, carry it out with a line per resource (or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from refinery_tui.cloud.planner import ACTION_SYMBOLS
from refinery_tui.commands.outcome import EXIT_FAILED, EXIT_OK, UsageError, opened_stage


def _plan(deployer, make):
    """The plan, or a clear error when AWS refuses to tell what exists or packaging fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    from refinery_tui.cloud.packaging import PackagingError

    try:
        return make()
    except PackagingError as exc:
        raise UsageError(str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        raise UsageError(f"cannot read what is deployed on {deployer.aws.describe()}: {exc}") from None


def _emit_json(out: TextIO, event: dict[str, Any]) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def print_plan(plan, out: TextIO) -> None:
    width = max((len(c.name) for c in plan.changes), default=10)
    for change in plan.changes:
        reason = f"  ({change.reason})" if change.reason else ""
        out.write(
            f"  {ACTION_SYMBOLS[change.action]} {change.action:<9} {change.kind:<12} {change.name:<{width}}{reason}\n"
        )
    out.write(f"plan: {plan.summary()}\n")


class ProgressPrinter:
    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json

    def __call__(self, event: dict[str, Any]) -> None:
        if self.as_json:
            _emit_json(self.out, event)
            return
        kind = event["event"]
        if kind == "resource_done":
            self.out.write(f"  done    {event['action']} {event['id']}\n")
        elif kind == "resource_failed":
            self.out.write(f"  FAILED  {event['id']}: step '{event['step']}': {event['error']}\n")
        elif kind == "resource_waiting":
            self.out.write(f"  waiting {event['id']}: {event['message']}\n")
        elif kind == "resource_skipped":
            self.out.write(f"  skipped {event['id']} ({event['reason']})\n")
        self.out.flush()


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("not a terminal, so cannot ask for confirmation\n    hint: add --yes")
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def deploy(
    project: str,
    stage: str,
    plan_only: bool,
    yes: bool,
    as_json: bool,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    deployer = opened_stage(project, stage, profile, region, endpoint_url).deployer()
    plan = _plan(deployer, deployer.plan)
    if as_json:
        for change in plan.changes:
            _emit_json(out, {"event": "plan_change", **change.to_json()})
        _emit_json(out, {"event": "plan", "target": deployer.aws.describe(), "stage": stage, **plan.counts()})
    else:
        out.write(f"{deployer.project.name} → stage {stage} on {deployer.aws.describe()}\n")
        print_plan(plan, out)
    if plan.refused:
        return _refused(plan, as_json, out)
    if plan_only:
        return EXIT_OK
    if not plan.pending:
        if as_json:
            _emit_json(out, {"event": "deploy_finished", "ok": True, "changed": 0})
        else:
            out.write("nothing to change.\n")
        return EXIT_OK
    if not as_json and not _confirm(f"apply {len(plan.pending)} change(s)?", yes):
        out.write("nothing changed.\n")
        return EXIT_OK
    if as_json and not yes:
        raise UsageError("--json needs --yes to apply (or --plan to only show the plan)")
    result = deployer.apply(plan, ProgressPrinter(out, as_json))
    writes = len(deployer.aws.log.writes())
    if as_json:
        _emit_json(
            out,
            {
                "event": "deploy_finished",
                "ok": result.ok,
                "changed": len(result.done),
                "failures": [f.line() for f in result.failures],
                "write_calls": writes,
                "seconds": round(result.seconds, 3),
            },
        )
    elif result.ok:
        out.write(f"deployed: {len(result.done)} change(s) in {result.seconds:.1f} s ({writes} AWS write calls)\n")
    else:
        out.write(
            f"deploy failed: {len(result.failures)} step(s) failed; {len(result.done)} change(s) made, "
            f"{len(result.skipped)} not tried\n    hint: fix the cause and run deploy again; it picks up "
            "where this one stopped\n"
        )
    return EXIT_OK if result.ok else EXIT_FAILED


def _refused(plan, as_json: bool, out: TextIO) -> int:
    """Names this stage needs are held by another project's or stage's resources: nothing is applied."""
    reasons = [change.reason for change in plan.refused]
    if as_json:
        _emit_json(out, {"event": "deploy_finished", "ok": False, "changed": 0, "failures": reasons})
    else:
        out.write(
            f"deploy refused: {len(reasons)} name(s) this stage needs belong to another project or stage; "
            "nothing changed\n"
        )
        out.writelines(f"  {reason}\n" for reason in reasons)
    return EXIT_FAILED


def teardown(
    project: str,
    stage: str,
    yes: bool,
    as_json: bool = False,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    deployer = opened_stage(project, stage, profile, region, endpoint_url).deployer()
    plan = _plan(deployer, deployer.teardown_plan)
    if not plan.pending:
        out.write(f"nothing of {deployer.project.name} stage {stage} is deployed on {deployer.aws.describe()}.\n")
        return EXIT_OK
    if not as_json:
        out.write(f"{deployer.project.name} stage {stage} on {deployer.aws.describe()}:\n")
        print_plan(plan, out)
        if not _confirm(f"delete these {len(plan.pending)} resources?", yes):
            out.write("nothing deleted.\n")
            return EXIT_OK
    elif not yes:
        raise UsageError("--json needs --yes to tear down")
    result = deployer.apply(plan, ProgressPrinter(out, as_json))
    left = deployer.teardown_plan().pending
    if as_json:
        _emit_json(
            out,
            {
                "event": "teardown_finished",
                "ok": result.ok and not left,
                "deleted": len(result.done),
                "left": [c.id for c in left],
                "failures": [f.line() for f in result.failures],
            },
        )
    elif result.ok and not left:
        out.write(f"torn down: {len(result.done)} resources deleted.\n")
    else:
        out.write(f"teardown incomplete: {len(left)} resource(s) left: {', '.join(c.id for c in left)}\n")
    return EXIT_OK if result.ok and not left else EXIT_FAILED


def main(args: argparse.Namespace) -> int:
    return deploy(
        args.project, args.stage, args.plan, args.yes, args.json, args.profile, args.region, args.endpoint_url
    )


def teardown_main(args: argparse.Namespace) -> int:
    return teardown(args.project, args.stage, args.yes, args.json, args.profile, args.region, args.endpoint_url)
