"""Snapshots of the main screens at 80x24 and 120x40 (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

import shutil

import pytest

from refinery_tui.tui.app import WorkbenchApp
from tests.conftest import PROJECTS


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "all-transitions"
    shutil.copytree(PROJECTS / "all-transitions", root, ignore=shutil.ignore_patterns(".refinery"))
    return root


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_opening_screen(snap_compare, project, size):
    assert snap_compare(WorkbenchApp(project, watch=False), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_block_open_in_the_editor(snap_compare, project, size):
    async def open_block(pilot):
        await pilot.press("j", "enter")
        await pilot.pause()

    assert snap_compare(WorkbenchApp(project, watch=False), terminal_size=size, run_before=open_block)


def test_problems_of_a_broken_project(snap_compare, project):
    text = (project / "project.yaml").read_text().replace("type: merge}", "type: merj}", 1)
    (project / "project.yaml").write_text(text)

    async def show_problems(pilot):
        pilot.app.query_one("#bottom").active = "tab-problems"
        await pilot.pause()

    assert snap_compare(WorkbenchApp(project, watch=False), terminal_size=(120, 40), run_before=show_problems)
