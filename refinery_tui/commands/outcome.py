"""How a command ends: the exit codes and the one usage error, shared by every subcommand and `cli.py`."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad usage, bad input, an invalid project or a stage that cannot be opened: exit code 2."""
