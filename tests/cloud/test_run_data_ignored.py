"""`.refinery/` carries its own `.gitignore`: build zips (which hold `env:` values) never reach git, even in a
project that was not made by `refinery-tui new`."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest

from refinery_tui.cli import main
from tests.cloud.cloud_helpers import running_sandbox
from tests.conftest import PROJECTS

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def test_a_deploy_plan_leaves_nothing_for_git_to_add(tmp_path, capsys):
    root = tmp_path / "hand-made"
    shutil.copytree(PROJECTS / "hello-world", root, ignore=shutil.ignore_patterns(".refinery", ".gitignore"))
    text = (root / "project.yaml").read_text()
    (root / "project.yaml").write_text(text.replace("timeout: 5}", "timeout: 5, env: {API_TOKEN: plain-text-1}}"))
    git(root, "init", "-q")
    with running_sandbox(tmp_path / "sandbox") as sandbox:
        assert main(["deploy", str(root), "--stage", "dev", "--endpoint-url", sandbox.endpoint_url, "--plan"]) == 0
    capsys.readouterr()
    zips = list((root / ".refinery" / "build").glob("**/*.zip"))
    assert zips, "the plan built the blocks' zips"
    assert any(b"plain-text-1" in zipfile.ZipFile(path).read("manifest.json") for path in zips)  # why it matters
    assert ".refinery" not in git(root, "add", "--all", "--dry-run")
    assert "!! .refinery/" in git(root, "status", "--porcelain", "--ignored").splitlines()
