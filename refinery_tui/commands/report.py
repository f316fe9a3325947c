"""What several commands print alike: a project's diagnostics (`file:line:col: message`) and counted words."""

from __future__ import annotations

import sys
from pathlib import Path


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def print_diagnostics(result, project_dir: Path, quiet: bool = False) -> None:
    """Each diagnostic of a validation `result` on stderr, its file relative to where the user is."""
    prefix = "" if str(project_dir) == "." else f"{project_dir}/"
    for diagnostic in result.diagnostics:
        if quiet and not diagnostic.is_error:
            continue
        print(diagnostic.format(prefix), file=sys.stderr)
