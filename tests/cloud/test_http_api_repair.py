"""HTTP APIs as API Gateway treats them (issue 12, item 9): a stage missing after a failed apply is made again, a
route change leaves unchanged routes answering throughout, and a reply that does not come in time is answered
(202, with the execution id) before the integration timeout. Real sandbox over HTTP, real deployed functions."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from refinery_tui.cloud.executions import Executions
from tests.cloud.cloud_helpers import deploy, deployer_for
from tests.cloud.cloud_helpers import sandbox_client as client

ECHO = "def main(block_input, backpack):\n    return {'statusCode': 200, 'body': {'path': block_input['rawPath']}}\n"
SLOW = {
    "python": (
        "import time\n\n\ndef main(block_input, backpack):\n"
        "    time.sleep(12)\n    return {'statusCode': 200, 'body': {'late': True}}\n"
    ),
    "node": (
        "exports.main = async (blockInput, backpack) => {\n"
        "  await new Promise((resolve) => setTimeout(resolve, 12000));\n"
        "  return { statusCode: 200, body: { late: true } };\n};\n"
    ),
}


def project_yaml(name: str, paths: list[str], language: str) -> str:
    blocks = [f"  hook-{p}: {{type: api_endpoint, path: /{p}, method: POST}}" for p in paths]
    blocks += [f"  answer: {{type: code, language: {language}}}", "  reply: {type: api_response}"]
    transitions = [f"  - {{from: hook-{p}, to: answer}}" for p in paths] + ["  - {from: answer, to: reply}"]
    return f"name: {name}\nblocks:\n" + "\n".join(blocks) + "\ntransitions:\n" + "\n".join(transitions) + "\n"


def make_project(folder: Path, name: str, paths: list[str], code: str = ECHO, language: str = "python") -> Path:
    root = folder / name
    (root / "blocks").mkdir(parents=True, exist_ok=True)
    (root / "project.yaml").write_text(project_yaml(name, paths, language))
    (root / "blocks" / ("answer.js" if language == "node" else "answer.py")).write_text(code)
    return root


def api_of(sandbox, deployer) -> str:
    apis = client(sandbox, "apigatewayv2").get_apis()["Items"]
    return next(api["ApiId"] for api in apis if api["Name"] == deployer.names.api())


def post(sandbox, api_id: str, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(sandbox.api_url(api_id) + path, data=b"{}", method="POST")
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_stage_that_failed_to_be_made_is_made_by_the_next_apply(sandbox, tmp_path):
    root = make_project(tmp_path, "api-stage", ["go"])
    fault = sandbox.faults.add("apigateway", "CreateStage", "TooManyRequestsException", times=20)
    try:
        first = deployer_for(sandbox, root, "dev").apply()
    finally:
        sandbox.faults.clear()
    assert not first.ok and fault.times < 20, "the stage was to fail to be made"
    deployer = deploy(sandbox, root, "dev")
    api_id = api_of(sandbox, deployer)
    stages = client(sandbox, "apigatewayv2").get_stages(ApiId=api_id)["Items"]
    assert [stage["StageName"] for stage in stages] == ["$default"]
    status, _, body = post(sandbox, api_id, "/go")
    assert (status, json.loads(body)) == (200, {"path": "/go"})
    assert deployer_for(sandbox, root, "dev").plan().pending == []


def test_a_route_change_keeps_unchanged_routes_answering(sandbox, tmp_path):
    root = make_project(tmp_path, "api-routes", ["go", "old"])
    deployer = deploy(sandbox, root, "dev")
    api_id = api_of(sandbox, deployer)
    gateway = client(sandbox, "apigatewayv2")
    before = {r["RouteKey"]: r for r in gateway.get_routes(ApiId=api_id)["Items"]}

    make_project(tmp_path, "api-routes", ["go", "new"])
    answers: list[tuple[str, int]] = []

    def listener(event: dict) -> None:
        # Between any two steps of the API's change, the unchanged route answers.
        if event.get("id", "").startswith("api:") and event["event"] in ("resource_started", "resource_step"):
            answers.append((event.get("step", "start"), post(sandbox, api_id, "/go")[0]))

    result = deployer_for(sandbox, root, "dev").apply(listener=listener)
    assert result.ok, [failure.line() for failure in result.failures]
    assert answers and all(status == 200 for _, status in answers), answers
    after = {r["RouteKey"]: r for r in gateway.get_routes(ApiId=api_id)["Items"]}
    assert sorted(after) == ["POST /go", "POST /new"]
    assert after["POST /go"]["RouteId"] == before["POST /go"]["RouteId"]
    assert after["POST /go"]["Target"] == before["POST /go"]["Target"]
    integrations = gateway.get_integrations(ApiId=api_id)["Items"]
    assert len(integrations) == 2, "the removed route's integration is deleted"
    assert [post(sandbox, api_id, p)[0] for p in ("/go", "/new", "/old")] == [200, 200, 404]


@pytest.mark.parametrize("language", ["python", "node"])
def test_a_reply_later_than_the_integration_timeout_is_answered_with_the_execution_id(sandbox, tmp_path, language):
    root = make_project(tmp_path, f"api-slow-{language}", ["slow"], SLOW[language], language)
    deployer = deploy(sandbox, root, "dev")
    api_id = api_of(sandbox, deployer)
    gateway, lam = client(sandbox, "apigatewayv2"), client(sandbox, "lambda")
    # The stage as deployed with a 10 s integration timeout (29 s in a real deploy), so the test is quick: the
    # sandbox answers 503 when it passes, as API Gateway does, and the function is told the limit.
    (integration,) = gateway.get_integrations(ApiId=api_id)["Items"]
    gateway.update_integration(ApiId=api_id, IntegrationId=integration["IntegrationId"], TimeoutInMillis=10000)
    function = deployer.names.function("answer")
    variables = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=function, Environment={"Variables": {**variables, "REFINERY_API_TIMEOUT_MS": "10000"}}
    )

    status, headers, body = post(sandbox, api_id, "/slow")
    assert status == 202, (status, body)
    answer = json.loads(body)
    execution_id = answer["execution_id"]
    assert headers["x-refinery-execution"] == execution_id
    assert execution_id in answer["follow"] and "still running" in answer["message"]
    finished = Executions(deployer.aws, deployer.target).wait(execution_id, 60)
    assert finished.status == "succeeded"
    assert [o["output"]["body"] for o in finished.outputs] == [{"late": True}]
