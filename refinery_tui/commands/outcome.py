"""How a command ends: the exit codes and the one usage error (a stage that cannot be opened is one), shared by every
subcommand and `cli.py`."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad usage, bad input, an invalid project or a stage that cannot be opened: exit code 2."""


def opened_stage(project: str, stage: str, profile: str | None, region: str | None, endpoint_url: str | None):
    """The stage a command works on (cloud/stage.py's `open_stage`); why it cannot be opened is a usage error."""
    from refinery_tui.cloud.stage import StageError, open_stage

    try:
        return open_stage(project, stage, profile=profile, region=region, endpoint_url=endpoint_url)
    except StageError as exc:
        raise UsageError(str(exc)) from None
