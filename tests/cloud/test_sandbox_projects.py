"""Bundled projects deployed to the sandbox: the HTTP API answers with the workflow's reply; a schedule fires."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest

from refinery_tui.cloud.executions import Executions
from refinery_tui.local.session import LocalSession
from tests.cloud.cloud_helpers import deploy
from tests.conftest import PROJECTS

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def copy(name, tmp_path):
    root = tmp_path / name
    shutil.copytree(PROJECTS / name, root, ignore=shutil.ignore_patterns(".refinery"))
    return root


@needs_node
def test_the_http_api_replies_with_the_api_response_block(sandbox, tmp_path):
    root = copy("api-orders", tmp_path)
    order = {"customer": "ada", "items": [{"sku": "tea", "quantity": 2}]}
    with LocalSession(root) as session:
        local = session.run(
            {
                "body": order,
                "headers": {"content-type": "application/json"},
                "requestContext": {"http": {"method": "POST"}},
                "rawPath": "/orders",
            }
        )
    local_reply = next(o["output"] for o in local.outputs if o["block"] == "reply")
    deployer = deploy(sandbox, root, "api")
    api = next(a for a in deployer.aws.client("apigatewayv2").get_apis()["Items"] if a["Name"] == deployer.names.api())
    request = urllib.request.Request(
        sandbox.api_url(api["ApiId"]) + "/orders",
        data=json.dumps(order).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        status, body = response.status, json.loads(response.read())
        execution_id = response.headers["x-refinery-execution"]
    assert status == local_reply.get("statusCode", 200)
    assert body == local_reply["body"]
    executions = Executions(deployer.aws, deployer.target)
    deployed = executions.wait(execution_id, 60)
    assert deployed.status == local.status == "succeeded"
    local_blocks = sorted(o["block"] for o in local.outputs)
    assert sorted(o["block"] for o in deployed.outputs) == local_blocks


def test_a_schedule_fires_on_demand_with_its_configured_input(sandbox, tmp_path):
    root = copy("scheduled-report", tmp_path)
    with LocalSession(root) as session:
        local = session.run(None)
    deployer = deploy(sandbox, root, "tick")
    executions = Executions(deployer.aws, deployer.target)
    assert executions.recent() == []
    sandbox.fire_rule(deployer.names.rule("nightly"))
    assert sandbox.wait_idle(60)
    [started] = executions.recent()
    deployed = executions.wait(started.execution_id, 60)
    assert deployed.status == local.status
    assert deployed.outputs == local.outputs
