"""The executions list reads the latest executions with one Query of the started index, never a Scan of the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.executions import Executions
from tests.cloud.cloud_helpers import deploy

CODE = {
    "python": ("add.py", "def main(block_input, backpack):\n    return block_input + 1\n"),
    "node": ("add.js", "module.exports.main = async (blockInput, backpack) => blockInput + 1;\n"),
}


def one_block_project(root: Path, language: str) -> Path:
    file, code = CODE[language]
    (root / "blocks").mkdir(parents=True)
    (root / "blocks" / file).write_text(code)
    (root / "project.yaml").write_text(
        f"name: count-{language}\nblocks:\n  add: {{type: code, language: {language}, file: blocks/{file}}}\n"
    )
    return root


@pytest.mark.parametrize("language", ["python", "node"])
def test_the_latest_executions_come_newest_first_without_a_scan(sandbox, tmp_path, language):
    deployer = deploy(sandbox, one_block_project(tmp_path / language, language), "list")
    executions = Executions(deployer.aws, deployer.target)
    ids = []
    for value in range(3):
        execution_id = executions.start("add", value)
        assert executions.wait(execution_id, 60).status == "succeeded"
        ids.append(execution_id)

    aws = Aws(region="us-east-1", endpoint_url=sandbox.endpoint_url)
    latest = Executions(aws, deployer.target).recent(limit=2)
    assert [e.execution_id for e in latest] == ids[:0:-1]
    assert all(e.status == "succeeded" and e.started and e.ended for e in latest)
    assert aws.log.count("Scan") == 0 and aws.log.count("Query") == 1
