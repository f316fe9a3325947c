"""Shared fixtures: paths to the bundled projects and the Refinery anchors, and a copy-a-project helper."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECTS = REPO / "projects"
BUNDLED = sorted(p.name for p in PROJECTS.iterdir() if (p / "project.yaml").is_file())


REFINERY_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "refinery"


@pytest.fixture
def copy_project(tmp_path):
    """Copy a bundled project into a temporary folder and return its path."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns(".refinery", "__pycache__"))
        return target

    return copy
