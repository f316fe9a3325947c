"""Files cannot escape the project: a block file or folder whose real path leaves it is refused, never read, run or
packaged, and nothing of its content is printed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from refinery_tui.cloud.packaging import PackageSpec, PackagingError, build_package
from refinery_tui.model.project_paths import OutsideProject, inside_project

SECRET_LINE = "TOP-SECRET-first-line = (("  # a syntax error: the old hint printed the offending line


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refinery_tui", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "shout.py").write_text(f"{SECRET_LINE}\ndef main(block_input, backpack):\n    return 'pwned'\n")
    return folder


def test_a_block_file_linked_outside_fails_validation_with_its_position(copy_project, outside):
    project = copy_project("hello-world")
    (project / "blocks" / "shout.py").unlink()
    (project / "blocks" / "shout.py").symlink_to(outside / "shout.py")
    result = cli("validate", str(project))
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(line for line in result.stderr.splitlines() if "outside the project" in line)
    assert line.startswith(f"{project}/project.yaml:5:3: error:") and "block 'shout'" in line
    assert "'blocks/shout.py' is a link to" in line
    assert "TOP-SECRET" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_blocks_folder_linked_outside_fails_validation_and_the_run(copy_project, outside):
    project = copy_project("hello-world")
    for name in ("greet.py", "sign.py"):
        (outside / name).write_text((project / "blocks" / name).read_text())
    (outside / "shout.py").write_text("def main(block_input, backpack):\n    return 'pwned'\n")
    os.rename(project / "blocks", project / "old-blocks")
    (project / "blocks").symlink_to(outside, target_is_directory=True)
    result = cli("validate", str(project))
    assert result.returncode == 1
    assert result.stderr.count("outside the project") == 3 and result.stderr.count("'blocks' is a link to") == 3
    run = cli("run", str(project), "--input", '"hi"')
    assert run.returncode == 2 and "outside the project" in run.stderr
    assert "pwned" not in run.stdout


def test_a_link_that_stays_inside_the_project_is_fine(copy_project):
    project = copy_project("hello-world")
    (project / "shared").mkdir()
    os.rename(project / "blocks" / "shout.py", project / "shared" / "shout.py")
    (project / "blocks" / "shout.py").symlink_to(project / "shared" / "shout.py")
    assert cli("validate", str(project)).returncode == 0
    assert inside_project(project, "blocks/shout.py") == (project / "shared" / "shout.py").resolve()


def test_packaging_never_reads_a_file_outside_the_project(copy_project, outside, tmp_path):
    project = copy_project("hello-world")
    (project / "blocks" / "shout.py").unlink()
    (project / "blocks" / "shout.py").symlink_to(outside / "shout.py")
    spec = PackageSpec(project, "shout", "python", "blocks/shout.py")
    with pytest.raises(PackagingError, match="outside the project"):
        build_package(spec, tmp_path / "build")
    assert not list((tmp_path / "build").glob("**/*.zip"))
    good = build_package(PackageSpec(project, "greet", "python", "blocks/greet.py"), tmp_path / "build")
    assert "blocks/greet.py" in zipfile.ZipFile(good.path).namelist()


@pytest.mark.parametrize("text", ["/etc/passwd", "../x.py", "blocks/../../x.py", "blocks\\x.py"])
def test_path_text_that_leaves_the_project_is_refused(tmp_path, text):
    with pytest.raises(OutsideProject):
        inside_project(tmp_path, text)


def test_a_block_linked_outside_after_validation_is_not_run(copy_project, tmp_path):
    """The executor checks the real path at each call: a link made while the workbench is open is refused too."""
    from refinery_tui.local.session import LocalSession

    project = copy_project("hello-world")
    marker = tmp_path / "ran-outside"
    outside = tmp_path / "evil.py"
    outside.write_text(f"def main(block_input, backpack):\n    open({str(marker)!r}, 'w').close()\n    return 1\n")
    with LocalSession(project) as session:
        (project / "blocks" / "shout.py").unlink()
        (project / "blocks" / "shout.py").symlink_to(outside)
        result = session.run({"name": "you"})
        record = next(r for r in session.history.invocations(result.execution_id) if r.block == "shout")
    assert result.status == "failed" and not marker.exists()
    assert record.error["type"] == "OutsideProject" and "outside the project" in record.error["message"]
