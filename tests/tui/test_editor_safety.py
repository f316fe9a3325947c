"""The editor never loses data on disk nor shows what is outside the project: a file changed on disk right before
ctrl+s asks first; a file whose real path leaves the project is not opened."""

from __future__ import annotations

import os
import shutil

import pytest

from refinery_tui.tui.app import WorkbenchApp
from refinery_tui.tui.messages import OpenFile
from refinery_tui.tui.modals import Choose
from tests.conftest import PROJECTS

ON_DISK = "def main(block_input, backpack):\n    return ['changed', 'elsewhere']\n"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "hello-world"
    shutil.copytree(PROJECTS / "hello-world", root, ignore=shutil.ignore_patterns(".refinery"))
    return root


def changed_behind_the_editors_back(path, text: str) -> None:
    """Write the file as another program would, with a later modification time than the editor saw."""
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


async def save_over_a_change_on_disk(app, pilot, target):
    """Edit the file in the editor, let another program change it, press ctrl+s: the question must come."""
    editor = await app.editor.open(target)
    editor.insert("# my edit\n", (0, 0))
    changed_behind_the_editors_back(target, ON_DISK)
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(app.screen, Choose)
    return editor


async def test_saving_over_a_file_changed_on_disk_asks_and_reload_keeps_the_disk(project):
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        target = project / "blocks" / "shout.py"
        editor = await save_over_a_change_on_disk(app, pilot, target)
        assert target.read_text() == ON_DISK  # nothing written yet
        await pilot.press("r")
        await pilot.pause()
        assert target.read_text() == ON_DISK and editor.text == ON_DISK and not editor.dirty


async def test_keep_mine_when_saving_overwrites_once_asked(project):
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        target = project / "blocks" / "shout.py"
        editor = await save_over_a_change_on_disk(app, pilot, target)
        await pilot.press("k")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert target.read_text().startswith("# my edit\n") and not editor.dirty
        editor.insert("# second\n", (0, 0))
        await pilot.press("ctrl+s")  # the disk has not changed since: no question
        await pilot.pause()
        assert not isinstance(app.screen, Choose)
        assert target.read_text().startswith("# second\n# my edit\n")


async def test_a_file_linked_outside_the_project_is_not_opened(project, tmp_path):
    outside = tmp_path / "secret.py"
    outside.write_text("SECRET = 'do-not-show'\n")
    (project / "blocks" / "linked.py").symlink_to(outside)
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.post_message(OpenFile(project / "blocks" / "linked.py"))
        await pilot.pause()
        assert app.editor.editors() == []
        assert any("outside the project" in str(n.message) for n in app._notifications)
