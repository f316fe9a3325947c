"""Shared fixtures: paths to the bundled projects and the Refinery anchors, and a copy-a-project helper."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECTS = REPO / "projects"
BUNDLED = sorted(p.name for p in PROJECTS.iterdir() if (p / "project.yaml").is_file())


# The sandbox keeps AWS's windows after a delete (a queue's name is refused for 60 s, ...): tests written before it
# run without them, and tests of them set their own short windows (tests/cloud/test_deploy_after_teardown.py).
os.environ.setdefault("REFINERY_SANDBOX_DELETION_WINDOWS", "0")

REFINERY_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "refinery"


@pytest.fixture
def copy_project(tmp_path):
    """Copy a bundled project into a temporary folder and return its path."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns(".refinery", "__pycache__"))
        return target

    return copy
