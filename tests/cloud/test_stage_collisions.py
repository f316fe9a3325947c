"""Stages and projects whose names meet (`shop` stage `dev-a` block `b`, `shop` stage `dev` block `a-b`, `shop-dev`
stage `a` block `b`) never share an AWS resource, and nothing that belongs to another project or stage is touched:
the real command line in a subprocess against a real sandbox over HTTP."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from refinery_tui.cloud.naming import Names
from tests.cloud.cloud_helpers import sandbox_cli as cli
from tests.cloud.cloud_helpers import sandbox_client as client

BLOCK_CODE = (
    "import os\n\n\ndef main(block_input, backpack):\n"
    "    return {{'block': '{block}', 'function': os.environ['AWS_LAMBDA_FUNCTION_NAME'], 'input': block_input}}\n"
)
PROJECT_YAML = """name: {name}
blocks:
  hook: {{type: api_endpoint, path: /go, method: POST}}
  tick: {{type: schedule, schedule: rate(1 day)}}
  a-b: {{type: code, language: python, file: blocks/a_b.py}}
  jobs: {{type: queue, batch_size: 1}}
  news: {{type: topic}}
  b: {{type: code, language: python, file: blocks/b.py}}
transitions:
  - {{from: hook, to: a-b}}
  - {{from: tick, to: a-b}}
  - {{from: a-b, to: jobs}}
  - {{from: jobs, to: b}}
  - {{from: a-b, to: news}}
  - {{from: news, to: b}}
"""


def make_project(folder: Path, name: str) -> Path:
    root = folder / name
    (root / "blocks").mkdir(parents=True)
    (root / "project.yaml").write_text(PROJECT_YAML.format(name=name))
    (root / "blocks" / "a_b.py").write_text(BLOCK_CODE.format(block="a-b"))
    (root / "blocks" / "b.py").write_text(BLOCK_CODE.format(block="b"))
    return root


def deployed(sandbox, root: Path, stage: str) -> None:
    result = cli(sandbox, "deploy", str(root), "--stage", stage, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployed:" in result.stdout


def torn_down(sandbox, root: Path, stage: str) -> None:
    result = cli(sandbox, "teardown", str(root), "--stage", stage, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "torn down:" in result.stdout


def invoked(sandbox, root: Path, stage: str, project: str) -> None:
    """An execution from `a-b` through the queue and the topic to `b`, each block answering from this stage's own
    function."""
    result = cli(
        sandbox, "invoke", str(root), "--stage", stage, "--block", "a-b", "--input", '{"n": 7}', "--wait", "--json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["event"] == "execution_finished" and last["status"] == "succeeded", last
    outputs = last["outputs"]
    names = Names(project, stage, "us-east-1")
    assert [o["block"] for o in outputs] == ["b", "b"]
    for output in outputs:
        assert (output["output"]["block"], output["output"]["function"]) == ("b", names.function("b"))
        sent = output["output"]["input"]
        first = sent[0] if isinstance(sent, list) else sent
        assert (first["block"], first["function"], first["input"]) == ("a-b", names.function("a-b"), {"n": 7})


def everything(sandbox) -> dict[str, list[str]]:
    """Every resource of every kind the deployer makes, by name, in the sandbox."""
    lam, sns = client(sandbox, "lambda"), client(sandbox, "sns")
    return {
        "function": [f["FunctionName"] for f in lam.list_functions()["Functions"]],
        "role": [r["RoleName"] for r in client(sandbox, "iam").list_roles()["Roles"]],
        "log_group": [g["logGroupName"] for g in client(sandbox, "logs").describe_log_groups()["logGroups"]],
        "table": client(sandbox, "dynamodb").list_tables()["TableNames"],
        "bucket": [b["Name"] for b in client(sandbox, "s3").list_buckets()["Buckets"]],
        "queue": client(sandbox, "sqs").list_queues().get("QueueUrls", []),
        "topic": [t["TopicArn"] for t in sns.list_topics()["Topics"]],
        "subscription": [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]],
        "rule": [r["Name"] for r in client(sandbox, "events").list_rules()["Rules"]],
        "api": [a["Name"] for a in client(sandbox, "apigatewayv2").get_apis()["Items"]],
        "mapping": [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]],
    }


def test_colliding_stages_and_projects_stay_apart_and_tear_down_completely(sandbox, tmp_path):
    shop, shop_dev = make_project(tmp_path, "shop"), make_project(tmp_path, "shop-dev")
    before = everything(sandbox)
    deployed(sandbox, shop, "dev")
    deployed(sandbox, shop, "dev-a")
    deployed(sandbox, shop_dev, "a")
    invoked(sandbox, shop, "dev", "shop")
    invoked(sandbox, shop, "dev-a", "shop")
    invoked(sandbox, shop_dev, "a", "shop-dev")

    torn_down(sandbox, shop, "dev-a")
    invoked(sandbox, shop, "dev", "shop")
    invoked(sandbox, shop_dev, "a", "shop-dev")
    torn_down(sandbox, shop_dev, "a")
    invoked(sandbox, shop, "dev", "shop")
    torn_down(sandbox, shop, "dev")
    assert sandbox.wait_idle(60)
    assert everything(sandbox) == before


def test_a_resource_of_another_project_or_stage_with_our_name_is_refused_and_left_alone(sandbox, tmp_path):
    shop = make_project(tmp_path, "shop")
    names = Names("shop", "own", "us-east-1")
    iam, lam, sqs = client(sandbox, "iam"), client(sandbox, "lambda"), client(sandbox, "sqs")
    role = iam.create_role(
        RoleName="someone-elses-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def main(event, context):\n    return 'theirs'\n")
    foreign_tags = {"refinery:project": "other", "refinery:stage": "prod"}
    theirs = lam.create_function(
        FunctionName=names.function("a-b"),
        Runtime="python3.12",
        Handler="handler.main",
        Role=role,
        Code={"ZipFile": code.getvalue()},
        Tags=foreign_tags,
    )
    sqs.create_queue(QueueName=names.queue("jobs"))

    result = cli(sandbox, "deploy", str(shop), "--stage", "own", "--yes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"function {names.function('a-b')} belongs to project other, stage prod; not touched" in result.stdout
    assert f"queue {names.queue('jobs')} exists but has no refinery-tui tags" in result.stdout
    assert "nothing changed" in result.stdout and "Traceback" not in result.stderr
    assert names.table() not in client(sandbox, "dynamodb").list_tables()["TableNames"]
    assert lam.list_tags(Resource=theirs["FunctionArn"])["Tags"] == foreign_tags
    config = lam.get_function_configuration(FunctionName=names.function("a-b"))
    assert (config["CodeSha256"], config["Role"]) == (theirs["CodeSha256"], role)

    result = cli(sandbox, "deploy", str(shop), "--stage", "own", "--plan", "--json")
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    refused = [e for e in events if e["event"] == "plan_change" and e["action"] == "refuse"]
    assert {(e["kind"], e["name"]) for e in refused} == {
        ("function", names.function("a-b")),
        ("queue", names.queue("jobs")),
    }
    assert events[-1] == {
        "event": "deploy_finished",
        "ok": False,
        "changed": 0,
        "failures": [e["reason"] for e in refused],
    }

    result = cli(sandbox, "teardown", str(shop), "--stage", "own", "--yes")
    assert result.returncode == 0 and "nothing of shop stage own is deployed" in result.stdout
    assert lam.list_tags(Resource=theirs["FunctionArn"])["Tags"] == foreign_tags
    assert sqs.get_queue_url(QueueName=names.queue("jobs"))["QueueUrl"]


def test_a_stage_name_that_could_be_read_two_ways_is_refused_with_a_hint(sandbox, tmp_path):
    shop = make_project(tmp_path, "shop")
    for stage in ("dev_a", "dev-", "Dev"):
        result = cli(sandbox, "deploy", str(shop), "--stage", stage, "--plan")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"stage '{stage}' is not a valid name" in result.stderr
        assert "starting and ending with a letter or digit (for example: dev, prod, pr-42)" in result.stderr
