"""The local AWS sandbox: functions deployed over HTTP with boto3 really run, and their event sources deliver."""

from __future__ import annotations

import io
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile

import boto3
import pytest

from refinery_tui.sandbox import Sandbox

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PYTHON_HANDLER = """
import json
import os
import time

import boto3

invocations = 0


def handler(event, context):
    global invocations
    invocations += 1
    action = event.get("action") if isinstance(event, dict) else None
    if action == "raise":
        raise ValueError("the order is broken")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "print":
        print("first line")
        print("second line\\nthird line")
    if action == "send":
        boto3.client("sqs").send_message(QueueUrl=event["queue_url"], MessageBody="from the handler")
    if action == "context":
        return {"function_name": context.function_name, "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb, "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name, "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(), "greeting": os.environ.get("GREETING"),
                "endpoint": os.environ.get("AWS_ENDPOINT_URL"), "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
                "cwd": os.getcwd()}
    return {"echo": event, "invocations": invocations}
"""

NODE_HANDLER = """
let invocations = 0;
exports.handler = async (event, context) => {
  invocations += 1;
  if (event.action === 'print') console.log('node says', event.word);
  if (event.action === 'raise') throw new RangeError('node is broken');
  if (event.action === 'context') {
    return { functionName: context.functionName, awsRequestId: context.awsRequestId,
      invokedFunctionArn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis(),
      greeting: process.env.GREETING };
  }
  return { echo: event, invocations };
};
"""

RECORDER = """
import json
import time


def handler(event, context):
    print(f"EVENT {time.time_ns()} {json.dumps(event)}")
    return {"statusCode": 201, "headers": {"x-order": "seen"},
            "body": json.dumps({"id": (event.get("pathParameters") or {}).get("id"), "body": event.get("body"),
                                "routeKey": event.get("routeKey")})}
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox(state_dir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture(scope="module")
def aws(sandbox):
    env = sandbox.environment()

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    return client


@pytest.fixture(scope="module")
def role(aws):
    return aws("iam").create_role(RoleName="sandbox-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


@pytest.fixture(scope="module")
def deploy(aws, role):
    def create(files: dict[str, str], *, runtime="python3.12", handler="app.handler", **settings) -> str:
        name = f"fn-{uuid.uuid4().hex[:8]}"
        aws("lambda").create_function(
            FunctionName=name, Runtime=runtime, Role=role, Handler=handler, Code={"ZipFile": _zip(files)}, **settings
        )
        return name

    return create


@pytest.fixture(scope="module")
def python_fn(deploy):
    return deploy(
        {"app.py": PYTHON_HANDLER}, Timeout=10, MemorySize=256, Environment={"Variables": {"GREETING": "hello"}}
    )


@pytest.fixture(scope="module")
def node_fn(deploy):
    return deploy(
        {"index.js": NODE_HANDLER},
        runtime="nodejs22.x",
        handler="index.handler",
        Environment={"Variables": {"GREETING": "hi from node"}},
    )


def _invoke(aws, name: str, event, **kwargs) -> tuple[dict, object]:
    reply = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    body = reply["Payload"].read()
    return reply, json.loads(body) if body else None


def _messages(aws, name: str) -> list[dict]:
    logs = aws("logs")
    events, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return sorted(events, key=lambda event: event["timestamp"])


def _recorded_events(aws, name: str) -> list[dict]:
    """The events a RECORDER function received, in the order it received them."""
    lines = [e["message"].split(" ", 2) for e in _messages(aws, name) if e["message"].startswith("EVENT ")]
    return [json.loads(event) for _, _, event in sorted(lines, key=lambda line: int(line[1]))]


def test_sync_invoke_returns_what_the_python_and_node_handlers_return(aws, python_fn, node_fn):
    reply, result = _invoke(aws, python_fn, {"order": 7})
    assert reply["StatusCode"] == 200 and "FunctionError" not in reply
    assert result["echo"] == {"order": 7}
    reply, result = _invoke(aws, node_fn, {"order": 8})
    assert reply["StatusCode"] == 200 and "FunctionError" not in reply
    assert result["echo"] == {"order": 8}


def test_a_raising_handler_is_an_unhandled_function_error(aws, python_fn, node_fn):
    reply, error = _invoke(aws, python_fn, {"action": "raise"})
    assert reply["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "the order is broken"
    assert any("raise ValueError" in line for line in error["stackTrace"])
    reply, error = _invoke(aws, node_fn, {"action": "raise"})
    assert reply["FunctionError"] == "Unhandled"
    assert error["errorType"] == "RangeError" and error["errorMessage"] == "node is broken"


def test_env_vars_and_context_reach_the_handler(sandbox, aws, python_fn, node_fn):
    reply, context = _invoke(aws, python_fn, {"action": "context"})
    assert context["function_name"] == python_fn and context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{python_fn}"
    assert context["memory_limit_in_mb"] == "256"
    assert context["aws_request_id"] == reply["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert context["log_group_name"] == f"/aws/lambda/{python_fn}"
    assert context["log_stream_name"].split("/")[3].startswith("[$LATEST]")
    assert 0 < context["remaining"] <= 10_000
    assert context["greeting"] == "hello"
    assert context["endpoint"] == sandbox.endpoint_url
    assert context["cwd"] == context["task_root"]

    _, context = _invoke(aws, node_fn, {"action": "context"})
    assert context["functionName"] == node_fn
    assert uuid.UUID(context["awsRequestId"])
    assert context["invokedFunctionArn"].endswith(f":function:{node_fn}")
    assert context["remaining"] > 0 and context["greeting"] == "hi from node"


def test_workers_stay_warm_between_invocations(aws, deploy):
    name = deploy({"app.py": PYTHON_HANDLER})
    first = _invoke(aws, name, {})[1]["invocations"]
    second = _invoke(aws, name, {})[1]["invocations"]
    assert (first, second) == (1, 2)


def test_print_output_lands_in_cloudwatch_between_start_end_and_report(sandbox, aws, python_fn):
    reply, _ = _invoke(aws, python_fn, {"action": "print"})
    request_id = reply["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert sandbox.wait_idle(10)
    lines = [e["message"] for e in _messages(aws, python_fn)]
    start = lines.index(f"START RequestId: {request_id} Version: $LATEST")
    assert lines[start + 1 : start + 5] == ["first line", "second line", "third line", f"END RequestId: {request_id}"]
    assert lines[start + 5].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    streams = aws("logs").describe_log_streams(logGroupName=f"/aws/lambda/{python_fn}")["logStreams"]
    assert all(len(s["logStreamName"].split("]")[-1]) == 32 for s in streams)


def test_a_handler_that_runs_past_its_timeout_is_killed_and_the_next_invoke_works(sandbox, aws, deploy):
    name = deploy({"app.py": PYTHON_HANDLER}, Timeout=1)
    started = time.monotonic()
    reply, error = _invoke(aws, name, {"action": "sleep", "seconds": 30})
    assert time.monotonic() - started < 10
    assert reply["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    reply, result = _invoke(aws, name, {"after": "timeout"})
    assert "FunctionError" not in reply and result == {"echo": {"after": "timeout"}, "invocations": 1}
    assert sandbox.wait_idle(10)
    assert any("Task timed out after 1.00 seconds" in e["message"] for e in _messages(aws, name))


def test_event_invoke_returns_202_and_runs_in_the_background(sandbox, aws, python_fn, node_fn):
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName="from-handler")["QueueUrl"]
    reply = aws("lambda").invoke(
        FunctionName=python_fn,
        InvocationType="Event",
        Payload=json.dumps({"action": "send", "queue_url": queue_url}).encode(),
    )
    assert reply["StatusCode"] == 202
    reply = aws("lambda").invoke(
        FunctionName=node_fn,
        InvocationType="Event",
        Payload=json.dumps({"action": "print", "word": "asynchronously"}).encode(),
    )
    assert reply["StatusCode"] == 202
    assert sandbox.wait_idle(20)
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["from the handler"]
    assert any(e["message"].endswith("\tINFO\tnode says asynchronously") for e in _messages(aws, node_fn))


def test_dry_run_is_204(aws, python_fn):
    assert aws("lambda").invoke(FunctionName=python_fn, InvocationType="DryRun")["StatusCode"] == 204


def test_sqs_mapping_delivers_full_batches_then_the_rest_each_message_once(sandbox, aws, deploy):
    name = deploy({"app.py": RECORDER})
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name, BatchSize=3, Enabled=True)
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": f"job-{i}"} for i in range(7)])
    assert sandbox.wait_idle(20)
    batches = [event["Records"] for event in _recorded_events(aws, name)]
    assert [len(batch) for batch in batches] == [3, 3, 1]
    bodies = [record["body"] for batch in batches for record in batch]
    assert sorted(bodies) == [f"job-{i}" for i in range(7)]
    record = batches[0][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue_arn
    assert record["awsRegion"] == "us-east-1" and record["receiptHandle"] and record["messageId"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_sns_publish_reaches_every_subscribed_function_once(sandbox, aws, deploy):
    names = [deploy({"app.py": RECORDER}) for _ in range(2)]
    sns = aws("sns")
    topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
    for name in names:
        function_arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)
    message_id = sns.publish(TopicArn=topic_arn, Message="disk full", Subject="ops")["MessageId"]
    assert sandbox.wait_idle(20)
    for name in names:
        events = _recorded_events(aws, name)
        assert len(events) == 1
        record = events[0]["Records"][0]
        assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"].startswith(topic_arn)
        assert record["Sns"]["Message"] == "disk full" and record["Sns"]["MessageId"] == message_id
        assert record["Sns"]["TopicArn"] == topic_arn and record["Sns"]["Subject"] == "ops"
        assert record["Sns"]["Type"] == "Notification"


def test_http_api_route_invokes_the_function_and_returns_its_reply(sandbox, aws, deploy):
    name = deploy({"app.py": RECORDER})
    apis = aws("apigatewayv2")
    api_id = apis.create_api(Name="orders", ProtocolType="HTTP")["ApiId"]
    apis.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)  # without it, AWS serves nothing
    function_arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    integration = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    apis.create_route(ApiId=api_id, RouteKey="POST /orders/{id}", Target=f"integrations/{integration}")
    request = urllib.request.Request(
        f"{sandbox.api_url(api_id)}/orders/42?rush=yes",
        data=b'{"items": 2}',
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 201
        assert response.headers["x-order"] == "seen"
        assert json.loads(response.read()) == {"id": "42", "body": '{"items": 2}', "routeKey": "POST /orders/{id}"}
    event = _recorded_events(aws, name)[-1]
    assert event["version"] == "2.0" and event["rawPath"] == "/orders/42" and event["rawQueryString"] == "rush=yes"
    assert event["queryStringParameters"] == {"rush": "yes"} and event["pathParameters"] == {"id": "42"}
    assert event["headers"]["content-type"] == "application/json" and event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "POST" and event["requestContext"]["apiId"] == api_id
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{sandbox.api_url(api_id)}/nowhere", timeout=20)
    assert missing.value.code == 404


def test_fire_rule_invokes_the_rule_targets_with_their_input(sandbox, aws, deploy):
    name = deploy({"app.py": RECORDER})
    events = aws("events")
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    function_arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    events.put_targets(
        Rule="nightly", Targets=[{"Id": "run", "Arn": function_arn, "Input": json.dumps({"full": True})}]
    )
    request_ids = sandbox.fire_rule("nightly")
    assert len(request_ids) == 1
    assert sandbox.wait_idle(20)
    assert _recorded_events(aws, name) == [{"full": True}]
    assert f"START RequestId: {request_ids[0]} Version: $LATEST" in [e["message"] for e in _messages(aws, name)]


def test_the_request_log_records_the_requests_served(sandbox, aws, python_fn):
    _invoke(aws, python_fn, {})
    call = [c for c in sandbox.requests_served() if c.service == "lambda" and c.operation == "Invoke"][-1]
    assert call.status == 200 and call.ms >= 0


def _read_until(process: subprocess.Popen, marker: str, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    output, deadline = "", time.monotonic() + timeout
    while marker not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            break
        chunk = os.read(process.stdout.fileno(), 4096).decode()
        if not chunk:
            break
        output += chunk
    return output


COMMAND = "import sys; from refinery_tui.commands.sandbox import main; sys.exit(main(sys.argv[1:]))"


def test_sandbox_command_prints_the_environment_and_stops_cleanly_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-c", COMMAND, "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        output = _read_until(process, "until Ctrl-C", 30)
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    exports = dict(line[len("export ") :].split("=", 1) for line in output.splitlines() if line.startswith("export "))
    assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"} <= exports.keys()
    assert "/_sandbox/apis/" in output
    assert process.returncode == 0
    assert b"Traceback" not in stderr


def test_sandbox_command_reports_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", COMMAND, "--port", str(port)], cwd=REPO, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "already in use" in result.stderr and "Traceback" not in result.stderr


def test_the_sandbox_imports_no_textual():
    code = "import sys, refinery_tui.sandbox, refinery_tui.commands.sandbox\nprint('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
