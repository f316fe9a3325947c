"""Watching the project's files and validating it again, off the UI thread; no Textual (the app posts what these
report as messages)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from refinery_tui.local.session import LocalSession
from refinery_tui.model import schema
from refinery_tui.model.validator import ValidationResult, validate_project


def watch_files(root: Path, stop: threading.Event, report: Callable[[list[Path]], None]) -> None:
    """Report each batch of created or modified project files until `stop` is set (blocks: run it on a thread)."""
    from watchfiles import Change, watch

    from refinery_tui.local.watcher import ProjectFilter

    for changes in watch(root, watch_filter=ProjectFilter(), debounce=30, step=10, stop_event=stop, rust_timeout=200):
        paths = [Path(path) for change, path in changes if change != Change.deleted]
        if paths:
            report(paths)


def validate(root: Path, session: LocalSession | None) -> ValidationResult:
    """Validate project.yaml again (through the session when there is one, so runs switch to the new model)."""
    return session.reload() if session is not None else validate_project(root)


def what_changed(root: Path, session: LocalSession | None, paths: list[Path]) -> tuple[bool, list[str]]:
    """Whether these changed files touch the project (project.yaml or a block's code: validate again), and the
    blocks whose code they are (a run may re-run from them)."""
    paths = [path.resolve() for path in paths]
    blocks = [block for path in paths for block in session.blocks_using(path)] if session is not None else []
    return bool(blocks) or root / schema.PROJECT_FILE in paths, blocks
