"""The sandbox refuses strangers: made-up keys, unsigned requests, foreign Host names; no CORS; its own functions
sign with their role's credentials; the command stops within 2 s even while busy."""

from __future__ import annotations

import http.client
import io
import json
import os
import selectors
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from refinery_tui.cloud.sandbox_credentials import credentials_path, read_credentials
from refinery_tui.cloud.stage import StageError, open_stage
from refinery_tui.sandbox import Sandbox
from tests.cloud.cloud_helpers import without_credentials

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGION = "us-east-1"

WHO_AM_I = """
import os
import boto3


def handler(event, context):
    queue = boto3.client("sqs").create_queue(QueueName=event["queue"])["QueueUrl"]
    boto3.client("sqs").send_message(QueueUrl=queue, MessageBody="signed by the role")
    return {"key": os.environ["AWS_ACCESS_KEY_ID"], "token": bool(os.environ.get("AWS_SESSION_TOKEN"))}
"""

HANGS = """
import os
import time


def handler(event, context):
    with open(event["fifo"], "w") as started:
        started.write(f"{os.getpid()}\\n")
    time.sleep(600)
"""

HANGS_WHILE_STARTING = """
import os
import time

with open(os.environ["FIFO"], "w") as started:
    started.write(f"{os.getpid()}\\n")
time.sleep(600)


def handler(event, context):
    return None
"""


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox(state_dir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def _client(sandbox, service: str, endpoint: str | None = None, **credentials):
    env = sandbox.environment()
    credentials = credentials or {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }
    return boto3.client(service, endpoint_url=endpoint or env["AWS_ENDPOINT_URL"], region_name=REGION, **credentials)


def _refusal(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as refused:
        call()
    response = refused.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_a_client_with_made_up_keys_is_refused_for_every_protocol(sandbox):
    made_up = {"aws_access_key_id": "AKIAMADEUPMADEUP1234", "aws_secret_access_key": "made-up"}
    assert _refusal(lambda: _client(sandbox, "sqs", **made_up).list_queues())[:2] == (403, "InvalidClientTokenId")
    assert _refusal(lambda: _client(sandbox, "sts", **made_up).get_caller_identity())[:2] == (
        403,
        "InvalidClientTokenId",
    )
    assert _refusal(lambda: _client(sandbox, "s3", **made_up).list_buckets())[:2] == (403, "InvalidAccessKeyId")
    status, code, message = _refusal(
        lambda: _client(sandbox, "lambda", **made_up).create_function(
            FunctionName="stranger",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/x",
            Handler="app.handler",
            Code={"ZipFile": _zip("def handler(e, c):\n    return 1\n")},
        )
    )
    assert (status, code) == (403, "InvalidClientTokenId") and "new credentials at each start" in message
    names = [fn["FunctionName"] for fn in _client(sandbox, "lambda").list_functions()["Functions"]]
    assert "stranger" not in names


def test_the_right_key_with_a_wrong_secret_does_not_match(sandbox):
    key = sandbox.environment()["AWS_ACCESS_KEY_ID"]
    wrong = {"aws_access_key_id": key, "aws_secret_access_key": "not-the-secret"}
    assert _refusal(lambda: _client(sandbox, "dynamodb", **wrong).list_tables())[:2] == (403, "SignatureDoesNotMatch")
    assert _refusal(lambda: _client(sandbox, "sns", **wrong).list_topics())[:2] == (403, "SignatureDoesNotMatch")


def test_an_unsigned_request_is_refused(sandbox):
    for method, path, data in (("GET", "/", None), ("GET", "/2015-03-31/functions/", None), ("POST", "/", b"")):
        request = urllib.request.Request(sandbox.endpoint_url + path, data=data, method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=20)
        assert refused.value.code == 403
        assert b"MissingAuthenticationToken" in refused.value.read()
    for service, call in (("sqs", "list_queues"), ("lambda", "list_functions"), ("s3", "list_buckets")):
        unsigned = boto3.client(
            service, endpoint_url=sandbox.endpoint_url, region_name=REGION, config=Config(signature_version=UNSIGNED)
        )
        status, code, message = _refusal(getattr(unsigned, call))
        assert (status, code) == (403, "MissingAuthenticationToken") and "signed with the credentials" in message


def _signed_request(sandbox, host: str) -> tuple[int, bytes]:
    """A ListQueues signed with the sandbox's own credentials for `host`, sent to the sandbox's port."""
    env = sandbox.environment()
    body = "Action=ListQueues&Version=2012-11-05"
    request = AWSRequest(
        "POST",
        f"http://{host}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Host": host},
    )
    SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]), "sqs", REGION).add_auth(request)
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=20)
    try:
        connection.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_foreign_host_is_refused_even_when_signed(sandbox):
    port = sandbox.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert _signed_request(sandbox, host)[0] == 200, host
    for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", f"localhost.evil.example:{port}"):
        status, body = _signed_request(sandbox, host)
        assert status == 403 and b"InvalidHostHeader" in body, host
    assert _client(sandbox, "sqs", endpoint=f"http://localhost:{port}").list_queues()["ResponseMetadata"]


def test_an_http_api_stays_public_but_only_under_the_sandbox_s_names(sandbox):
    apis = _client(sandbox, "apigatewayv2")
    api_id = apis.create_api(Name="public", ProtocolType="HTTP")["ApiId"]
    url = sandbox.api_url(api_id) + "/nowhere"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url, timeout=20)  # unsigned, and served: no route, so API Gateway's 404
    assert missing.value.code == 404
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=20)
    try:
        connection.request("GET", url.split(str(sandbox.port), 1)[1], headers={"Host": "rebound.example"})
        response = connection.getresponse()
        assert response.status == 403 and b"InvalidHostHeader" in response.read()
    finally:
        connection.close()


def test_no_answer_carries_cors_headers(sandbox):
    s3 = _client(sandbox, "s3")
    bucket = f"cors-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*"]}]
        },
    )

    def with_origin(request, **_):
        request.headers["Origin"] = "http://evil.example"

    s3.meta.events.register("before-sign.s3.GetObject", with_origin)
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"v"
    assert not any(name.startswith("access-control-") for name in got["ResponseMetadata"]["HTTPHeaders"])
    preflight = urllib.request.Request(
        f"{sandbox.endpoint_url}/{bucket}/k",
        method="OPTIONS",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    try:
        with urllib.request.urlopen(preflight, timeout=20) as response:
            headers = response.headers
    except urllib.error.HTTPError as refused:
        headers = refused.headers
    assert not [name for name in headers if name.lower().startswith("access-control-")]


@pytest.mark.parametrize("version", ["s3", "s3v4"], ids=["boto3's default (v2)", "v4"])
def test_presigned_urls_work_and_a_tampered_one_is_refused(sandbox, version):
    env = sandbox.environment()
    s3 = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(signature_version=version),
    )
    bucket = f"signed-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="big.json", Body=b'{"large": true}')
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "big.json"}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=20) as response:
        assert response.read() == b'{"large": true}'
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.replace("Signature=", "Signature=0"), timeout=20)
    assert refused.value.code == 403 and b"SignatureDoesNotMatch" in refused.value.read()


def test_a_deployed_function_calls_aws_with_its_role_s_credentials(sandbox):
    iam = _client(sandbox, "iam")
    role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    functions = _client(sandbox, "lambda")
    name = f"who-{uuid.uuid4().hex[:6]}"
    functions.create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": _zip(WHO_AM_I)}
    )
    queue = f"q-{uuid.uuid4().hex[:6]}"
    reply = functions.invoke(FunctionName=name, Payload=json.dumps({"queue": queue}))
    result = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, result
    assert result["token"] is True and result["key"] != sandbox.environment()["AWS_ACCESS_KEY_ID"]
    sqs = _client(sandbox, "sqs")
    messages = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"])["Messages"]
    assert [message["Body"] for message in messages] == ["signed by the role"]


def test_the_credentials_file_is_private_and_removed_at_stop(tmp_path):
    running = Sandbox(state_dir=tmp_path / "state").start()
    endpoint = running.endpoint_url
    try:
        path = credentials_path(running.port)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert read_credentials(running.endpoint_url) == running.credentials()
        assert read_credentials(running.endpoint_url.replace("127.0.0.1", "localhost")) == running.credentials()
        assert read_credentials(f"http://evil.example:{running.port}") is None
    finally:
        running.stop()
    assert not path.exists() and read_credentials(endpoint) is None


def test_the_workbench_s_sandbox_target_finds_the_running_sandbox_s_credentials(
    sandbox, copy_project, monkeypatch, tmp_path
):
    project = copy_project("hello-world")
    without_credentials(monkeypatch, tmp_path)
    stage = open_stage(project, "found", kind="sandbox", endpoint_url=sandbox.endpoint_url)
    assert stage.aws.account
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE1")  # an earlier sandbox's, still in the shell
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stale")
    assert open_stage(project, "found", kind="sandbox", endpoint_url=sandbox.endpoint_url).aws.account
    with pytest.raises(StageError) as refused:  # the command line uses what is configured
        open_stage(project, "found", endpoint_url=sandbox.endpoint_url)
    assert "InvalidClientTokenId" in str(refused.value)


COMMAND = "import sys; from refinery_tui.commands.sandbox import main; sys.exit(main(sys.argv[1:]))"


def _read_exports(process: subprocess.Popen) -> dict[str, str]:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    output, deadline = "", time.monotonic() + 60
    while "until Ctrl-C" not in output and selector.select(max(deadline - time.monotonic(), 0)):
        chunk = os.read(process.stdout.fileno(), 4096).decode()
        if not chunk:
            break
        output += chunk
    return dict(line[len("export ") :].split("=", 1) for line in output.splitlines() if line.startswith("export "))


def test_the_sandbox_command_refuses_to_listen_beyond_this_machine():
    result = subprocess.run(
        [sys.executable, "-c", COMMAND, "--port", "0", "--host", "0.0.0.0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "not a loopback address" in result.stderr
    assert "Traceback" not in result.stderr and not result.stdout


HANGS_ON_A_QUEUE = """
import os
import time


def handler(event, context):
    with open(event["Records"][0]["body"], "w") as started:
        started.write(f"{os.getpid()}\\n")
    time.sleep(600)
"""


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_sandbox_command_stops_within_2_s_while_busy(tmp_path, signal_number):
    """Busy: a function hanging in a synchronous invoke, one hanging on a queue's batch, one invoked
    asynchronously, one hanging while it starts, and a request whose body never finishes arriving. Every function
    process ends with the sandbox."""
    process = subprocess.Popen(
        [sys.executable, "-m", "refinery_tui", "sandbox", "--port", "0", "--state-dir", str(tmp_path / "state")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    half_sent = None
    try:
        exports = _read_exports(process)

        def client(service: str):
            return boto3.client(
                service,
                endpoint_url=exports["AWS_ENDPOINT_URL"],
                region_name=REGION,
                aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
                config=Config(read_timeout=900, retries={"max_attempts": 1}),
            )

        functions = client("lambda")
        role = client("iam").create_role(RoleName="hangs", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        fifos = [tmp_path / name for name in ("sync", "async", "queue", "starting")]
        for fifo in fifos:
            os.mkfifo(fifo)
        for name, code in (("hangs", HANGS), ("hangs-on-a-queue", HANGS_ON_A_QUEUE), ("starts", HANGS_WHILE_STARTING)):
            functions.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": _zip(code)},
                Timeout=900,
                Environment={"Variables": {"FIFO": str(fifos[3])}},
            )
        sqs = client("sqs")
        queue = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        functions.create_event_source_mapping(FunctionName="hangs-on-a-queue", EventSourceArn=queue_arn, BatchSize=1)
        threading.Thread(
            target=_swallow,
            args=(lambda: functions.invoke(FunctionName="hangs", Payload=json.dumps({"fifo": str(fifos[0])})),),
            daemon=True,
        ).start()
        functions.invoke(FunctionName="hangs", InvocationType="Event", Payload=json.dumps({"fifo": str(fifos[1])}))
        sqs.send_message(QueueUrl=queue, MessageBody=str(fifos[2]))
        functions.invoke(FunctionName="starts", InvocationType="Event", Payload=b"{}")
        pids = []
        for fifo in fifos:
            with open(fifo) as started:  # opens once the function has started, inside its invocation
                pids.append(int(started.readline()))
        half_sent = socket.create_connection(("127.0.0.1", int(exports["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])))
        half_sent.sendall(b"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\npartial")
        began = time.monotonic()
        process.send_signal(signal_number)
        process.wait(timeout=30)
        elapsed = time.monotonic() - began
        stderr = process.stderr.read()
    finally:
        if half_sent is not None:
            half_sent.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert elapsed < 2.0, f"stopped after {elapsed:.2f} s"
    assert process.returncode == 0 and b"Traceback" not in stderr, stderr
    assert read_credentials(exports["AWS_ENDPOINT_URL"]) is None
    assert [pid for pid in pids if _running(pid)] == []


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _swallow(call) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - the sandbox stops under the request; how the client fails is not the point
        pass


def test_an_s3_refusal_stays_xml_whatever_the_object_s_content_type(sandbox):
    key = sandbox.environment()["AWS_ACCESS_KEY_ID"]
    wrong = _client(sandbox, "s3", aws_access_key_id=key, aws_secret_access_key="not-the-secret")
    status, code, _ = _refusal(
        lambda: wrong.put_object(Bucket="any-bucket", Key="k.json", Body=b"{}", ContentType="application/json")
    )
    assert (status, code) == (403, "SignatureDoesNotMatch")
