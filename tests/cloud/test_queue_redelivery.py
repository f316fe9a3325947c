"""A queue batch that fails in part is redelivered regrouped (as SQS does): each message's block runs once, and every
execution ends with its own right output (issue 12, item 5). Real sandbox over HTTP, real deployed functions."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from refinery_tui.cloud.executions import Executions, new_execution_id
from tests.cloud.cloud_helpers import deploy, deployer_for
from tests.cloud.cloud_helpers import sandbox_client as client

PROJECT_YAML = """name: {name}
blocks:
  split: {{type: code, language: python}}
  jobs: {{type: queue, batch_size: 3}}
  work: {{type: code, language: {language}, file: blocks/{work_file}, env: {{RECORD: "{record}"}}}}
transitions:
  - {{from: split, to: jobs, type: fan-out}}
  - {{from: jobs, to: work}}
"""
SPLIT = "def main(block_input, backpack):\n    return block_input\n"
WORK = {
    "python": (
        "work.py",
        "import json\nimport os\n\n\ndef main(block_input, backpack):\n"
        "    with open(os.environ['RECORD'], 'a') as record:\n"
        "        record.write(json.dumps(block_input) + '\\n')\n"
        "    return sorted(block_input)\n",
    ),
    "node": (
        "work.js",
        "const fs = require('fs');\n"
        "exports.main = async (blockInput, backpack) => {\n"
        "  fs.appendFileSync(process.env.RECORD, JSON.stringify(blockInput) + '\\n');\n"
        "  return [...blockInput].sort((a, b) => a - b);\n"
        "};\n",
    ),
}


def make_project(folder: Path, language: str) -> tuple[Path, Path]:
    root = folder / f"redeliver-{language}"
    (root / "blocks").mkdir(parents=True)
    record = folder / f"work-{language}.jsonl"
    record.touch()
    work_file, work_code = WORK[language]
    name = f"redeliver-{language}"
    text = PROJECT_YAML.format(name=name, language=language, work_file=work_file, record=record)
    (root / "project.yaml").write_text(text)
    (root / "blocks" / "split.py").write_text(SPLIT)
    (root / "blocks" / work_file).write_text(work_code)
    return root, record


@pytest.mark.parametrize("language", ["python", "node"])
def test_a_batch_failing_for_one_message_is_redelivered_regrouped_and_each_message_runs_once(
    sandbox, tmp_path, language
):
    root, record = make_project(tmp_path, language)
    deployer = deploy(sandbox, root, "dev")
    names = deployer.names
    lam, sqs = client(sandbox, "lambda"), client(sandbox, "sqs")
    mapping = lam.list_event_source_mappings(FunctionName=names.function("work"))["EventSourceMappings"][0]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_url = sqs.get_queue_url(QueueName=names.queue("jobs"))["QueueUrl"]
    # A failed message comes back after 3 s rather than the deployed timeout, so the test is quick; still longer
    # than a delivery takes (with the Node client's retries), as AWS requires of a queue's visibility timeout.
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "3"})

    # Two executions queue their messages while the mapping is off, so all three travel in one batch.
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    executions = Executions(deployer.aws, deployer.target)
    first, second = new_execution_id(), new_execution_id()
    executions.start("split", [1, 2], first, wait_for_start=True)
    executions.start("split", [10], second, wait_for_start=True)
    assert sandbox.wait_idle(60)
    waiting = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert waiting["Attributes"]["ApproximateNumberOfMessages"] == "3"

    # DynamoDB answers the second execution's writes with InternalServerError four times in a row (more than the
    # Node client's retries): that message fails, the first execution's two messages succeed, and what failed is
    # redelivered regrouped.
    fault = sandbox.faults.add("dynamodb", "PutItem", "InternalServerError", match=f"exec#{second}", times=4)
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    done_first = executions.wait(first, 60)
    done_second = executions.wait(second, 60)
    assert sandbox.wait_idle(60)
    assert fault.times == 0, "the fault never fired: the test did not fail a batch"

    seen = sorted(value for line in record.read_text().splitlines() for value in json.loads(line))
    assert seen == [1, 2, 10], f"each message's block runs exactly once, saw {seen}"
    done_first, done_second = executions.read(first), executions.read(second)
    assert (done_first.status, done_second.status) == ("succeeded", "succeeded")
    assert [o["output"] for o in done_first.outputs] == [[1, 2]]
    assert [o["output"] for o in done_second.outputs] == [[10]]
    leftover = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert leftover["ApproximateNumberOfMessages"] == leftover["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_mapping_without_failure_reporting_is_planned_as_a_change(sandbox, tmp_path):
    root, _ = make_project(tmp_path, "python")
    deployer = deploy(sandbox, root, "old")
    lam = client(sandbox, "lambda")
    mapping = lam.list_event_source_mappings(FunctionName=deployer.names.function("work"))["EventSourceMappings"][0]
    lam.update_event_source_mapping(UUID=mapping["UUID"], FunctionResponseTypes=[])
    again = deployer_for(sandbox, root, "old")
    changes = {c.kind: c for c in again.plan().pending}
    assert list(changes) == ["mapping"] and "failed messages" in changes["mapping"].reason
    deploy(sandbox, root, "old")
    mapping = lam.list_event_source_mappings(FunctionName=deployer.names.function("work"))["EventSourceMappings"][0]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


RECORDER = (
    "import json, os\n\n\ndef handler(event, context):\n"
    "    with open(os.environ['RECORD'], 'a') as record:\n"
    "        record.write(json.dumps([r['body'] for r in event['Records']]) + '\\n')\n"
    "    if any(r['attributes']['ApproximateReceiveCount'] == '1' for r in event['Records']):\n"
    "        raise RuntimeError('the first delivery fails')\n"
    "    return {}\n"
)


def test_the_sandbox_redelivers_a_failed_batch_regrouped(sandbox, tmp_path):
    """As SQS does: a failed batch's messages come back in other batches (here reversed and split)."""
    import io
    import zipfile

    record = tmp_path / "batches.jsonl"
    record.touch()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", RECORDER)
    lam, sqs, iam = client(sandbox, "lambda"), client(sandbox, "sqs"), client(sandbox, "iam")
    role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = f"fn-{uuid.uuid4().hex[:6]}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
        Environment={"Variables": {"RECORD": str(record)}},
    )
    queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=3, Enabled=True)
    assert sandbox.wait_idle(60)
    batches = [json.loads(line) for line in record.read_text().splitlines()]
    assert batches == [["m0", "m1", "m2"], ["m2", "m1"], ["m0"]]
