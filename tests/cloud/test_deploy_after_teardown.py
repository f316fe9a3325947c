"""Deploying right after a teardown, against a sandbox as strict as AWS after a delete (a queue's name refused for a
while, a deleted table DELETING, a deleted queue still listed): the creates wait out AWS's windows and say so, and
discovery skips what is listed but gone and reads every page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from moto.sqs.models import sqs_backends

from tests.cloud.cloud_helpers import deploy, deployer_for
from tests.cloud.cloud_helpers import sandbox_cli as cli
from tests.cloud.cloud_helpers import sandbox_client as client

PROJECT_YAML = """name: {name}
blocks:
  a: {{type: code, language: python, file: blocks/a.py}}
  jobs: {{type: queue, batch_size: 1}}
  b: {{type: code, language: python, file: blocks/b.py}}
transitions:
  - {{from: a, to: jobs}}
  - {{from: jobs, to: b}}
"""
BLOCK_CODE = "def main(block_input, backpack):\n    return block_input\n"


def make_project(folder: Path, name: str) -> Path:
    root = folder / name
    (root / "blocks").mkdir(parents=True)
    (root / "project.yaml").write_text(PROJECT_YAML.format(name=name))
    for block in ("a", "b"):
        (root / "blocks" / f"{block}.py").write_text(BLOCK_CODE)
    return root


def plan_of(deployer) -> dict[str, str]:
    return {change.id: change.action for change in deployer.plan().changes}


def test_deploy_teardown_deploy_at_once_waits_out_the_queue_name_and_says_so(sandbox, tmp_path):
    windows = sandbox.deletion_windows
    windows.queue_name_reuse_s, windows.queue_listed_s, windows.table_deleting_s = 10.0, 10.0, 3.0
    root = make_project(tmp_path, "relay")
    for command in ("deploy", "teardown"):
        done = cli(sandbox, command, str(root), "--stage", "again", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
    queue = deployer_for(sandbox, root, "again").names.queue("jobs")
    assert any(url.endswith(f"/{queue}") for url in client(sandbox, "sqs").list_queues().get("QueueUrls", []))

    again = cli(sandbox, "deploy", str(root), "--stage", "again", "--yes")

    assert again.returncode == 0, again.stdout + again.stderr
    assert f"waiting queue:{queue}: queue {queue}: name reuse blocked by AWS after a delete, waiting (retry in" in (
        again.stdout
    )
    assert "deployed:" in again.stdout and "Traceback" not in again.stderr
    assert set(plan_of(deployer_for(sandbox, root, "again")).values()) == {"unchanged"}


def test_a_table_still_deleting_is_waited_out_then_made_again(sandbox, tmp_path):
    sandbox.deletion_windows.set_all(6.0)
    root = make_project(tmp_path, "ledger")
    deployer = deploy(sandbox, root, "tables")
    table = deployer.names.table()
    client(sandbox, "dynamodb").delete_table(TableName=table)
    assert client(sandbox, "dynamodb").describe_table(TableName=table)["Table"]["TableStatus"] == "DELETING"
    events: list[dict] = []

    result = deployer.apply(listener=events.append)

    assert result.ok, [failure.line() for failure in result.failures]
    waits = [e["message"] for e in events if e["event"] == "resource_waiting" and e["id"] == f"table:{table}"]
    assert waits and waits[0].startswith(f"table {table}: still being deleted by AWS, waiting (check again in")
    assert client(sandbox, "dynamodb").describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
    assert plan_of(deployer)[f"table:{table}"] == "unchanged"


def test_a_deleted_queue_still_listed_is_skipped_by_discovery(sandbox, tmp_path):
    sandbox.deletion_windows.set_all(30.0)
    root = make_project(tmp_path, "lingering")
    deployer = deploy(sandbox, root, "gone")
    sqs, queue = client(sandbox, "sqs"), deployer.names.queue("jobs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)

    planned = plan_of(deployer)

    assert planned[f"queue:{queue}"] == "create"
    assert url in sqs.list_queues(QueueNamePrefix=queue).get("QueueUrls", [])  # still listed while it was planned
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.list_queue_tags(QueueUrl=url)


def test_discovery_reads_every_page_of_queues(sandbox, tmp_path):
    root = make_project(tmp_path, "crowd")
    deployer = deployer_for(sandbox, root, "many")
    sqs, names = client(sandbox, "sqs"), deployer.names
    prefix, queue = names.list_prefix("queue"), names.queue("jobs")
    # ListQueues answers 1,000 URLs a page: the stage's own queue, made after these, is on the second page. They
    # are put straight into the sandbox's store (a thousand CreateQueue calls take longer than the test).
    fillers = sqs_backends[deployer.aws.account]["us-east-1"]
    for number in range(1000):
        fillers.create_queue(f"{prefix}filler-{number:04}")
    sqs.create_queue(QueueName=queue, tags=names.tags("queue", "jobs"))

    assert plan_of(deployer)[f"queue:{queue}"] == "update"


async def test_the_deploy_pane_shows_what_a_resource_waits_for(sandbox, tmp_path, monkeypatch):
    from refinery_tui.tui.app import WorkbenchApp
    from tests.tui.test_deploy_pane import SIZE, set_field, settle

    sandbox.deletion_windows.set_all(6.0)
    root = make_project(tmp_path, "pane")
    table = deploy(sandbox, root, "wait").names.table()
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    app = WorkbenchApp(root, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.deploy_pane
        await pilot.press("5")
        await set_field(pilot, "stage", "wait")
        client(sandbox, "dynamodb").delete_table(TableName=table)
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("a", "enter")
        await settle(pilot)

        assert pane.table.states[f"table:{table}"] == "done"
        assert str(pane.table.get_row(f"table:{table}")[5]).startswith(f"table {table}: still being deleted by AWS")


def test_the_sandbox_help_names_each_window_and_its_knob():
    shown = subprocess.run(
        [sys.executable, "-m", "refinery_tui", "sandbox", "--help"], capture_output=True, text=True, timeout=60
    )
    text = " ".join(shown.stdout.split())
    assert shown.returncode == 0
    assert "(QueueDeletedRecently) for 60 s" in text and "still listed for 5 s" in text
    assert "stays DELETING for 5 s" in text and "REFINERY_SANDBOX_DELETION_WINDOWS=queue_name_reuse=S" in text
