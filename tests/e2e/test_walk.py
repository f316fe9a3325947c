"""Runs tests/e2e/walk.sh: the workbench driven in a real terminal (tmux) by a person's keystrokes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DRIVE = Path(os.environ.get("TUI_DRIVE", HERE.parent.parent.parent / "shared" / "tools" / "tui-drive"))


@pytest.mark.skipif(shutil.which("tmux") is None or not DRIVE.is_file(), reason="needs tmux and tui-drive")
def test_walk_through_the_workbench_in_a_terminal():
    command = f"{sys.executable} -m refinery_tui"
    result = subprocess.run(
        ["bash", str(HERE / "walk.sh"), command],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "TUI_DRIVE": str(DRIVE)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "walk: ok" in result.stdout


@pytest.mark.skipif(shutil.which("tmux") is None or not DRIVE.is_file(), reason="needs tmux and tui-drive")
@pytest.mark.parametrize(
    "script, done",
    [("deploy_walk.sh", "deploy walk: ok"), ("logs_walk.sh", "logs walk: ok")],
    ids=["deploy-pane", "invoke-and-logs-panes"],
)
def test_cloud_panes_in_a_terminal_against_the_sandbox(script, done):
    command = f"{sys.executable} -m refinery_tui"
    result = subprocess.run(
        ["bash", str(HERE / script), command],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "TUI_DRIVE": str(DRIVE)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert done in result.stdout
