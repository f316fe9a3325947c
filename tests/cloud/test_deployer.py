"""The deployer against a moto server over HTTP: plans, incremental applies, teardown, and failures part-way."""

from __future__ import annotations

import json
import logging
import os
import shutil

import pytest
from moto.server import ThreadedMotoServer

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.deployer import Deployer
from refinery_tui.cloud.discover import discover
from refinery_tui.cloud.naming import TAG_PROJECT
from refinery_tui.model import load_project
from tests.conftest import PROJECTS


@pytest.fixture(scope="module")
def endpoint():
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def project_copy(tmp_path):
    def copy(name: str):
        root = tmp_path / name
        shutil.copytree(PROJECTS / name, root, ignore=shutil.ignore_patterns(".refinery"))
        return root

    return copy


def make(endpoint, root, stage, cache=None):
    aws = Aws(region="us-east-1", endpoint_url=endpoint)
    return Deployer(load_project(root).project, root, stage, aws, cache_dir=cache or root.parent / "cache")


def snapshot(deployer: Deployer) -> dict:
    """What a stage has, with the stage's name taken out, so two stages can be compared."""
    aws, prefix = deployer.aws, deployer.names.prefix
    state = {}
    lam, iam = aws.client("lambda"), aws.client("iam")
    desired = {r.id: r for r in deployer.desired()}
    for rid, found in discover(aws, deployer.target).items():
        entry = {"as_desired": found.hash == desired[rid].hash or found.kind in ("mapping", "subscription")}
        if found.kind == "function":
            config = lam.get_function_configuration(FunctionName=found.name)
            entry.update(
                code_as_built=found.data["code_sha256"] == desired[rid].code.code_sha256,
                timeout=config["Timeout"],
                memory=config["MemorySize"],
                retries=lam.get_function_event_invoke_config(FunctionName=found.name)["MaximumRetryAttempts"],
            )
        elif found.kind == "role":
            entry["policy"] = iam.get_role_policy(RoleName=found.name, PolicyName="refinery")["PolicyDocument"]
        elif found.kind == "mapping":
            entry["batch"] = found.data["batch_size"]
        state[rid.replace(prefix, "STAGE")] = entry
    text = json.dumps(state).replace(deployer.target.bucket, "BUCKET").replace(prefix, "STAGE")
    return json.loads(text.replace(deployer.names.stage, "S"))


def test_plan_apply_then_nothing_to_do(endpoint, project_copy):
    root = project_copy("all-transitions")
    deployer = make(endpoint, root, "plan1")
    plan = deployer.plan()
    assert plan.counts() == {"create": 32, "update": 0, "delete": 0, "unchanged": 0}
    assert {c.kind for c in plan.changes} == {"bucket", "table", "role", "log_group", "function"}
    result = deployer.apply(plan)
    assert result.ok, [f.line() for f in result.failures]
    again = make(endpoint, root, "plan1")
    second = again.plan()
    assert second.counts()["unchanged"] == 32 and not second.pending
    before = len(again.aws.log.calls)
    again.apply(second)
    assert [c for c in again.aws.log.calls[before:] if c.is_write] == []
    retries = again.aws.client("lambda").get_function_event_invoke_config(FunctionName=again.names.function("start"))
    assert retries["MaximumRetryAttempts"] == 0


def test_editing_one_block_updates_exactly_one_function(endpoint, project_copy):
    root = project_copy("all-transitions")
    assert make(endpoint, root, "edit1").apply().ok
    code = root / "blocks" / "small.py"
    code.write_text(code.read_text() + "\n# edited\n")
    deployer = make(endpoint, root, "edit1")
    plan = deployer.plan()
    assert [(c.action, c.kind, c.name, c.reason) for c in plan.pending] == [
        ("update", "function", "all-transitions_edit1_small", "its code changed")
    ]
    result = deployer.apply(plan)
    assert result.ok
    writes = [c.operation for c in deployer.aws.log.writes()]
    assert writes == ["UpdateFunctionCode"]


def test_a_removed_block_is_deleted_and_a_changed_graph_rewrites_roles(endpoint, project_copy):
    root = project_copy("hello-world")
    assert make(endpoint, root, "graph1").apply().ok
    text = (root / "project.yaml").read_text()
    project = load_project(root).project
    last = list(project.blocks)[-1]
    from refinery_tui.model.writer import save_project

    project.remove_block(last)
    save_project(project, root / "project.yaml")
    deployer = make(endpoint, root, "graph1")
    plan = deployer.plan()
    deleted = {(c.kind, c.name) for c in plan.pending if c.action == "delete"}
    assert ("function", deployer.names.function(last)) in deleted
    assert ("role", deployer.names.role(last)) in deleted
    updated_roles = [c.name for c in plan.pending if c.action == "update" and c.kind == "role"]
    assert updated_roles, "the block before the removed one may no longer invoke it"
    assert all(
        c.reason == "the graph changed its permissions"
        for c in plan.pending
        if c.action == "update" and c.kind == "role"
    )
    assert deployer.apply(plan).ok
    assert not make(endpoint, root, "graph1").plan().pending
    assert text != (root / "project.yaml").read_text()


@pytest.mark.parametrize("name", ["api-orders", "scheduled-report"])
def test_every_resource_kind_deploys_and_tears_down(endpoint, project_copy, name):
    root = project_copy(name)
    deployer = make(endpoint, root, "kinds")
    result = deployer.apply()
    assert result.ok, [f.line() for f in result.failures]
    kinds = {c.kind for c in result.done}
    assert kinds >= {"function", "role", "bucket", "table", "log_group"}
    if name == "api-orders":
        assert {"api", "queue", "mapping", "topic", "subscription"} <= kinds
        api = next(
            a for a in deployer.aws.client("apigatewayv2").get_apis()["Items"] if a["Name"] == deployer.names.api()
        )
        routes = deployer.aws.client("apigatewayv2").get_routes(ApiId=api["ApiId"])["Items"]
        assert [r["RouteKey"] for r in routes] == ["POST /orders"]
    else:
        assert "rule" in kinds
    assert not make(endpoint, root, "kinds").plan().pending
    gone = make(endpoint, root, "kinds")
    assert gone.teardown().ok
    assert not gone.teardown_plan().pending
    tagging = gone.aws.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": TAG_PROJECT, "Values": [gone.project.name]}, {"Key": "refinery:stage", "Values": ["kinds"]}]
    )
    assert tagging["ResourceTagMappingList"] == []
    roles = gone.aws.client("iam").list_roles(PathPrefix=gone.names.role_path)["Roles"]
    assert roles == []


class Injected(Exception):
    pass


def every_kind(root):
    """The smallest project with every kind of resource: an API, a schedule, a queue, a topic, two functions."""
    (root / "blocks").mkdir(parents=True)
    for name in ("a", "b"):
        (root / f"blocks/{name}.py").write_text("def main(block_input, backpack):\n    return block_input\n")
    (root / "project.yaml").write_text(
        "name: kinds\nblocks:\n  hook: {type: api_endpoint, path: /go, method: POST}\n"
        "  tick: {type: schedule, schedule: rate(1 hour)}\n  a: {type: code, file: blocks/a.py}\n"
        "  jobs: {type: queue, batch_size: 2}\n  news: {type: topic}\n  b: {type: code, file: blocks/b.py}\n"
        "transitions:\n  - {from: hook, to: a}\n  - {from: tick, to: a}\n  - {from: a, to: jobs}\n"
        "  - {from: jobs, to: b}\n  - {from: a, to: news}\n  - {from: news, to: b}\n"
    )
    return root


def test_a_failure_at_each_kind_of_step_then_a_rerun_converges(endpoint, tmp_path):
    root = every_kind(tmp_path / "kinds")
    clean = make(endpoint, root, "clean", cache=root.parent / "cache")
    assert clean.apply().ok
    operations = []
    for call in clean.aws.log.writes():
        if call.operation not in operations:
            operations.append(call.operation)
    expected = snapshot(clean)
    assert len(operations) >= 15
    for number, operation in enumerate(operations):
        stage = f"fail{number}"
        deployer = make(endpoint, root, stage, cache=root.parent / "cache")
        fired = []

        def fault(service, name, params, operation=operation):
            if name == operation and not fired:
                fired.append(name)
                raise Injected(f"injected failure in {name}")

        deployer.aws.fault = fault
        result = deployer.apply()
        assert fired == [operation]
        assert not result.ok and operation in result.failures[0].error or "injected" in result.failures[0].error
        assert result.failures[0].step
        rerun = make(endpoint, root, stage, cache=root.parent / "cache")
        assert rerun.apply().ok, operation
        assert not rerun.plan().pending, operation
        assert snapshot(rerun) == expected, operation


def test_a_resource_that_changed_hands_after_the_plan_is_not_updated_or_deleted(endpoint, project_copy):
    root = project_copy("hello-world")
    assert make(endpoint, root, "hands").apply().ok
    code = root / "blocks" / "greet.py"
    code.write_text(code.read_text() + "\n# edited\n")
    deployer = make(endpoint, root, "hands")
    plan = deployer.plan()
    assert [(c.action, c.kind) for c in plan.pending] == [("update", "function")]
    lam = deployer.aws.client("lambda")
    arn = deployer.target.function_arn("greet")
    before = lam.get_function_configuration(FunctionName=deployer.names.function("greet"))["CodeSha256"]
    lam.tag_resource(Resource=arn, Tags={TAG_PROJECT: "hello-world", "refinery:stage": "other"})
    writes = len(deployer.aws.log.writes())

    result = deployer.apply(plan)
    name = deployer.names.function("greet")
    assert [f.line() for f in result.failures] == [
        f"update function {name}: step 'check its owner' failed: "
        f"function {name} belongs to project hello-world, stage other; not touched"
    ]
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == before
    assert deployer.aws.log.writes()[writes:] == []

    gone = make(endpoint, root, "hands")
    teardown = gone.teardown_plan()
    assert ("function", name) not in {(c.kind, c.name) for c in teardown.pending}, "discovery adopts only its own"
    role = next(c for c in teardown.pending if c.kind == "role" and c.name == gone.names.role("greet"))
    gone.aws.client("iam").tag_role(RoleName=role.name, Tags=[{"Key": TAG_PROJECT, "Value": "someone-else"}])
    result = gone.apply(teardown)
    assert [f.line() for f in result.failures] == [
        f"delete role {role.name}: step 'check its owner' failed: "
        f"role {role.name} belongs to project someone-else, stage hands; not touched"
    ]
    assert gone.aws.client("iam").get_role(RoleName=role.name)["Role"]["RoleName"] == role.name
    lam.delete_function(FunctionName=name)
