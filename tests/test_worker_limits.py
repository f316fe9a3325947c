"""Limits a block meets, each a clear error through the real CLI: the size of what it returns (`max_return`), an
address-space limit of the environment below the worker's own, and the last words of a worker that crashed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

# The real CLI with an address-space limit set by the environment (`ulimit -v`), soft and hard.
LIMITED_CLI = """
import resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from refinery_tui.cli import main
sys.exit(main(sys.argv[2:]))
"""

PYTHON_RETURNS = (
    "def main(block_input, backpack):\n    backpack['pad'] = 'b' * (1 << 19)\n    return 'é' * (block_input << 19)\n"
)
NODE_RETURNS = (
    "exports.main = async (n, backpack) => {\n  backpack.pad = 'b'.repeat(1 << 19);\n"
    "  return 'é'.repeat(n << 19);\n};\n"
)


def _project(root, language: str, code: str, **fields) -> None:
    (root / "blocks").mkdir(parents=True)
    (root / f"blocks/work.{'py' if language == 'python' else 'js'}").write_text(code)
    block = {"type": "code", "language": language, "memory": 512, **fields}
    (root / "project.yaml").write_text(yaml.safe_dump({"name": "limits", "blocks": {"work": block}}, sort_keys=False))


def _run(root, *args: str, limited: int | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "refinery_tui"] if limited is None else [sys.executable, "-c", LIMITED_CLI]
    command += [] if limited is None else [str(limited)]
    return subprocess.run([*command, "run", str(root), *args], capture_output=True, text=True, timeout=120)


LANGUAGES = [
    pytest.param("python", PYTHON_RETURNS, id="python"),
    pytest.param(
        "node",
        NODE_RETURNS,
        id="node",
        marks=pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    ),
]


@pytest.mark.parametrize(("language", "code"), LANGUAGES)
def test_a_return_past_the_default_cap_is_a_clear_error(language, code, tmp_path):
    _project(tmp_path, language, code)
    completed = _run(tmp_path, "--input", "33")  # 33 MB of 'é' (two bytes each) and half a MB of backpack
    assert completed.returncode == 1, completed.stderr
    assert (
        "ReturnTooLarge: block 'work' returned 33.5 MB (its output and backpack as JSON), more than its limit of 32 MB"
        in completed.stdout
    )
    assert "raise `max_return` in project.yaml" in completed.stdout
    assert _run(tmp_path, "--input", "8").returncode == 0


@pytest.mark.parametrize(("language", "code"), LANGUAGES)
def test_the_return_cap_is_set_per_block(language, code, tmp_path):
    _project(tmp_path, language, code, max_return=1)
    completed = _run(tmp_path, "--input", "1")
    assert completed.returncode == 1
    assert "returned 1.5 MB (its output and backpack as JSON), more than its limit of 1 MB" in completed.stdout
    (tmp_path / "project.yaml").write_text(
        (tmp_path / "project.yaml").read_text().replace("max_return: 1", "max_return: 9")
    )
    completed = _run(tmp_path, "--input", "7")
    assert completed.returncode == 0, completed.stdout
    assert "✓ succeeded" in completed.stdout


def test_max_return_is_validated(tmp_path):
    _project(tmp_path, "python", PYTHON_RETURNS, max_return=0)
    completed = subprocess.run(
        [sys.executable, "-m", "refinery_tui", "validate", str(tmp_path)], capture_output=True, text=True
    )
    assert completed.returncode == 1
    assert "'max_return' is 0, outside 1–1024 MB" in completed.stdout + completed.stderr


def test_an_environment_address_space_limit_below_the_worker_s_is_kept_not_a_crash(tmp_path):
    _project(tmp_path, "python", "def main(block_input, backpack):\n    return len(bytearray(block_input << 20))\n")
    completed = _run(tmp_path, "--input", "10", limited=1 << 30)  # the worker's own would be 512*2+1024 MB
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "✓ succeeded" in completed.stdout
    completed = _run(tmp_path, "--input", "1100", limited=1 << 30)
    assert completed.returncode == 1
    assert "MemoryError" in completed.stdout
    assert "the address space is limited to 1024 MB by the environment, `ulimit -v`" in completed.stdout


def test_a_crashed_worker_s_last_words_are_in_its_error(tmp_path):
    _project(
        tmp_path,
        "python",
        "import os\ndef main(block_input, backpack):\n    os.write(2, b'the reason it died\\n')\n    os._exit(4)\n",
    )
    completed = _run(tmp_path)
    assert completed.returncode == 1
    assert "WorkerCrashed: the block's process exited with code 4: the reason it died" in completed.stdout
