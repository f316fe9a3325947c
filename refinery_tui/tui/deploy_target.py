"""The workbench's deploy target (sandbox, profile or endpoint; and the stage), remembered per project; no Textual."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from refinery_tui.cloud.stage import KINDS, Stage, StageTarget, explain, one_line, open_stage
from refinery_tui.model.files import atomic_write_text
from refinery_tui.model.run_data import run_data_folder

SANDBOX_URL = "http://127.0.0.1:4566"
TARGET_FILE = "deploy-target.json"


def default_target() -> StageTarget:
    return StageTarget(endpoint=os.environ.get("AWS_ENDPOINT_URL") or SANDBOX_URL)


def load_target(root: Path) -> StageTarget:
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


def save_target(root: Path, target: StageTarget) -> None:
    try:
        atomic_write_text(run_data_folder(root) / TARGET_FILE, json.dumps(asdict(target), indent=2) + "\n")
    except OSError:
        pass  # remembering the target is a convenience; it never stops a deploy


def connect(root: Path, target: StageTarget, on_call: Callable[[Any], None] | None = None) -> Stage:
    """The stage `target` names, opened for the project on disk (cloud/stage.py's `open_stage`)."""
    return open_stage(
        root,
        target.stage,
        kind=target.kind,
        endpoint_url=target.endpoint,
        profile=target.profile,
        region=target.region,
        on_call=on_call,
    )


def readable(exc: BaseException, target: StageTarget | None = None) -> str:
    """One line that says what went wrong and what to do, never a traceback (the wording of cloud/stage.py)."""
    where = target.describe() if target else "AWS"
    message = explain(exc, where, target is not None and target.kind == "sandbox")
    return one_line(message) if message is not None else f"{type(exc).__name__}: {exc}"
