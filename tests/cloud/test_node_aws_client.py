"""The Node runtime's dependency-free AWS client (refinery_tui/lambda_runtime/node/aws.js).

Its SigV4 signer is checked against AWS's published test vectors, and every request it sends is re-verified by
botocore's signer on a small recording endpoint; its calls are run against an in-process moto server and their
effects checked with boto3; retries, error parsing and per-service endpoints are checked on the recording endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

import pytest

boto3 = pytest.importorskip("boto3")
ThreadedMotoServer = pytest.importorskip("moto.server").ThreadedMotoServer
from botocore.auth import S3SigV4Auth, SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not on PATH: the Node AWS client cannot run")

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "refinery_tui" / "lambda_runtime" / "node" / "aws.js"
DRIVER = Path(__file__).resolve().parent / "node_aws_driver.js"

REGION = "us-east-1"
ACCESS_KEY = "AKIDTESTING"
SECRET_KEY = "testing/secret+key"
SESSION_TOKEN = "FwoGZXIvYXdzE//session+token/with=chars"
ACCOUNT = "123456789012"

# AWS SigV4 test suite credentials (aws-sig-v4-test-suite).
VECTOR_CREDENTIALS = {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
VECTOR_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwth"
    "Ax7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVX"
    "AkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)


# ------------------------------------------------------------------ helpers


def node_env(endpoint: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_REGION=REGION, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(extra)
    return env


def run_node(calls: list[dict], env: dict[str, str]) -> list[dict]:
    proc = subprocess.run(
        [NODE, str(DRIVER)], input=json.dumps(calls), capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == len(calls)
    return results


def ok(result: dict):
    assert "ok" in result, result
    return result["ok"]


def buf(data: bytes) -> dict:
    return {"$buffer": base64.b64encode(data).decode()}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def unbuf(value: dict) -> bytes:
    return base64.b64decode(value["$buffer"])


def node_eval(expression: str) -> object:
    """Evaluate a JS expression with the client bound to `aws`; return its JSON value."""
    script = f"const aws = require({json.dumps(str(CLIENT))}); process.stdout.write(JSON.stringify({expression}));"
    proc = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


def botocore_verifies(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> bool:
    """Recompute the request's signature with botocore from what arrived on the wire."""
    m = AUTH_RE.match(headers["authorization"])
    assert m, headers["authorization"]
    assert m["key"] == ACCESS_KEY and m["day"] == headers["x-amz-date"][:8]
    names = m["signed"].split(";")
    request = AWSRequest(
        method=method, url=f"http://{headers['host']}{raw_path}", data=body, headers={n: headers[n] for n in names}
    )
    request.context["timestamp"] = headers["x-amz-date"]
    auth_cls = S3SigV4Auth if m["service"] == "s3" else SigV4Auth
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, headers.get("x-amz-security-token"))
    signer = auth_cls(credentials, m["service"], m["region"])
    if m["service"] == "s3" and headers["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
        return False
    assert signer.signed_headers(signer.headers_to_sign(request)) == m["signed"]
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request) == m["sig"]


class Recorder:
    """A tiny HTTP/1.1 endpoint that records each request and answers from a script (default: 200 '{}')."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with recorder.lock:
                    recorder.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": headers,
                            "body": body,
                            "client_port": self.client_address[1],
                        }
                    )
                    status, out_headers, out = recorder.script.pop(0) if recorder.script else (200, {}, b"{}")
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_PUT = do_POST = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # Without Docker moto cannot run Lambda code: its Docker-less Lambda echoes the invocation payload instead.
    previous = moto_lambda_config(url)
    moto_lambda_config(url, {"use_docker": False})
    try:
        yield url
    finally:
        moto_lambda_config(url, previous)
        server.stop()


def moto_lambda_config(url: str, config: dict | None = None) -> dict:
    """Read, or set then read, moto's Lambda settings through its /moto-api/config endpoint."""
    data = None if config is None else json.dumps({"lambda": config}).encode()
    req = urllib.request.Request(url + "/moto-api/config", data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())["lambda"]


@pytest.fixture(scope="module")
def aws(moto_url):
    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


# ------------------------------------------------------------------ SigV4 signer


def test_sigv4_get_vanilla_vector():
    signed = node_eval(
        "aws.signRequest({method: 'GET', host: 'example.amazonaws.com', path: '/', service: 'service', "
        f"region: 'us-east-1', credentials: {json.dumps(VECTOR_CREDENTIALS)}, amzDate: '20150830T123600Z'}})"
    )
    assert signed["canonicalRequest"] == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert signed["stringToSign"] == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )
    assert signed["signature"] == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    assert signed["headers"]["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_sigv4_session_token_vector():
    # post-sts-token/post-sts-header-before: the token is sent as X-Amz-Security-Token and signed.
    creds = dict(VECTOR_CREDENTIALS, sessionToken=VECTOR_TOKEN)
    signed = node_eval(
        "aws.signRequest({method: 'POST', host: 'example.amazonaws.com', path: '/', service: 'service', "
        f"region: 'us-east-1', credentials: {json.dumps(creds)}, amzDate: '20150830T123600Z'}})"
    )
    assert signed["headers"]["x-amz-security-token"] == VECTOR_TOKEN
    assert signed["signature"] == "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in signed["authorization"]


def test_sigv4_path_and_query_encoding():
    result = node_eval(
        "[aws.signRequest({method: 'GET', host: 'h', path: '/a%3Ab/c', query: {'b': 'x y', 'a': '~*/'}, "
        "service: 'lambda', region: 'us-east-1', credentials: {accessKeyId: 'A', secretAccessKey: 'S'}, "
        "amzDate: '20240101T000000Z'}).canonicalRequest,"
        " aws.signRequest({method: 'PUT', host: 'h', path: '/bkt/a%20b%2Bc/%C3%BC', body: 'x', service: 's3', "
        "region: 'us-east-1', credentials: {accessKeyId: 'A', secretAccessKey: 'S'}, amzDate: '20240101T000000Z', "
        "s3: true}).canonicalRequest]"
    )
    lambda_lines, s3_lines = (r.split("\n") for r in result)
    assert lambda_lines[1:3] == ["/a%253Ab/c", "a=~%2A%2F&b=x%20y"]  # other services: the path is encoded twice
    assert s3_lines[1] == "/bkt/a%20b%2Bc/%C3%BC"  # S3: the path is used as sent
    assert s3_lines[-2] == "host;x-amz-content-sha256;x-amz-date"
    assert s3_lines[-1] == hashlib.sha256(b"x").hexdigest()


def test_endpoints():
    hosts = node_eval(
        "(() => { for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];"
        " const S = aws.SERVICES, out = [];"
        " out.push(aws.endpointFor(S.DYNAMODB, 'eu-west-1'), aws.endpointFor(S.S3, 'cn-north-1'));"
        " process.env.AWS_ENDPOINT_URL = 'http://localhost:4566/';"
        " process.env.AWS_ENDPOINT_URL_S3 = 'http://[::1]:9000';"
        " out.push(aws.endpointFor(S.SQS, 'eu-west-1'), aws.endpointFor(S.S3, 'eu-west-1'));"
        " process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = 'true';"
        " out.push(aws.endpointFor(S.LAMBDA, 'us-east-2'));"
        " return out.map((e) => [e.protocol, e.hostname, e.host, e.basePath]); })()"
    )
    assert hosts == [
        ["https:", "dynamodb.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", ""],
        ["https:", "s3.cn-north-1.amazonaws.com.cn", "s3.cn-north-1.amazonaws.com.cn", ""],
        ["http:", "localhost", "localhost:4566", ""],
        ["http:", "::1", "[::1]:9000", ""],
        ["https:", "lambda.us-east-2.amazonaws.com", "lambda.us-east-2.amazonaws.com", ""],
    ]


S3_KEYS = [
    "plain.txt",
    "with space/and/slashes/file name.bin",
    "ünïcødé/ключ/文件 😀.json",
    "odd+chars=&?#%;,'!*()~$@[]{}.txt",
]


def test_every_request_verifies_with_botocore_on_the_wire():
    """Each API's request, with a session token, signed as botocore would verify it from the bytes received."""
    body = "héllo ✓"
    with Recorder() as rec:
        # answers in call order, shaped as each service's success
        rec.script = [
            (200, {"X-Amz-Function-Error": "Unhandled"}, b'{"errorMessage":"boom"}'),
            (202, {}, b""),
            (200, {}, json.dumps({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q"}).encode()),
            (200, {}, json.dumps({"MessageId": "m-1", "MD5OfMessageBody": md5_hex(body.encode())}).encode()),
            (
                200,
                {},
                b"<PublishResponse><PublishResult><MessageId>sns-1</MessageId></PublishResult></PublishResponse>",
            ),
            *[(200, {"ETag": '"e"'}, b"") for _ in S3_KEYS],
            (200, {}, b"\x00\xffbytes"),
            (200, {}, json.dumps({"Item": {"pk": {"S": "k"}}}).encode()),
        ]
        calls = [
            {"fn": "lambdaInvoke", "args": ["my-fn", '{"a": 1}', "RequestResponse"]},
            {"fn": "lambdaInvoke", "args": [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:my-fn:live", "{}", "Event"]},
            {"fn": "sqsGetQueueUrl", "args": ["q"]},
            {"fn": "sqsSendMessage", "args": ["https://sqs.us-east-1.amazonaws.com/1/q", body, {"kind": "x", "n": 2}]},
            {"fn": "snsPublish", "args": [f"arn:aws:sns:eu-west-1:{ACCOUNT}:t", "m & ü=1", {"a": "b"}]},
            *[{"fn": "s3PutObject", "args": ["bkt", key, buf(b"data"), "text/plain"]} for key in S3_KEYS],
            {"fn": "s3GetObject", "args": ["bkt", S3_KEYS[2]]},
            {"fn": "ddb", "args": ["GetItem", {"TableName": "t", "Key": {"pk": {"S": "k"}}}]},
        ]
        results = run_node(calls, node_env(rec.url, AWS_SESSION_TOKEN=SESSION_TOKEN))
        requests = rec.requests

    for result in results:
        ok(result)
    assert ok(results[0]) == {"status": 200, "payload": '{"errorMessage":"boom"}', "functionError": "Unhandled"}
    assert ok(results[1]) == {"status": 202, "payload": "", "functionError": None}
    assert ok(results[2]) == "https://sqs.us-east-1.amazonaws.com/1/q"
    assert ok(results[3])["MessageId"] == "m-1"
    assert ok(results[4]) == {"MessageId": "sns-1"}
    assert unbuf(ok(results[-2])) == b"\x00\xffbytes"
    assert ok(results[-1]) == {"Item": {"pk": {"S": "k"}}}

    assert len(requests) == len(calls)
    assert len({r["client_port"] for r in requests}) == 1  # one kept-alive connection for sequential calls
    for req in requests:
        assert req["headers"]["x-amz-security-token"] == SESSION_TOKEN
        assert "x-amz-security-token" in AUTH_RE.match(req["headers"]["authorization"])["signed"].split(";")
        assert botocore_verifies(req["method"], req["path"], req["headers"], req["body"]), req
    lambda_rr, lambda_event, get_url, send, publish, *s3_puts, s3_get, get_item = requests
    assert lambda_rr["path"] == "/2015-03-31/functions/my-fn/invocations"
    assert lambda_rr["headers"]["x-amz-invocation-type"] == "RequestResponse"
    encoded_arn = f"arn%3Aaws%3Alambda%3A{REGION}%3A{ACCOUNT}%3Afunction%3Amy-fn%3Alive"
    assert lambda_event["path"] == f"/2015-03-31/functions/{encoded_arn}/invocations"
    assert lambda_event["headers"]["x-amz-invocation-type"] == "Event"
    assert send["headers"]["x-amz-target"] == "AmazonSQS.SendMessage"
    assert send["headers"]["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(send["body"]) == {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q",
        "MessageBody": body,
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "x"},
            "n": {"DataType": "Number", "StringValue": "2"},
        },
    }
    assert get_url["headers"]["x-amz-target"] == "AmazonSQS.GetQueueUrl"
    assert "/eu-west-1/sns/" in publish["headers"]["authorization"]  # signed for the topic's own region
    assert {k: v[0] for k, v in parse_qs(publish["body"].decode()).items()} == {
        "Action": "Publish",
        "Version": "2010-03-31",
        "TopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:t",
        "Message": "m & ü=1",
        "MessageAttributes.entry.1.Name": "a",
        "MessageAttributes.entry.1.Value.DataType": "String",
        "MessageAttributes.entry.1.Value.StringValue": "b",
    }
    assert [unquote(r["path"]) for r in s3_puts] == [f"/bkt/{key}" for key in S3_KEYS]
    assert all(r["method"] == "PUT" and r["body"] == b"data" for r in s3_puts)
    assert s3_get["method"] == "GET" and unquote(s3_get["path"]) == f"/bkt/{S3_KEYS[2]}"
    assert get_item["headers"]["x-amz-target"] == "DynamoDB_20120810.GetItem"


def test_retries_errors_and_per_service_endpoints(moto_url):
    throttled = (400, {}, b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}')
    unavailable = (503, {}, b"<html>Service Unavailable</html>")
    internal = (500, {}, b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}')
    validation = (400, {}, b'{"__type":"com.amazon.coral.validate#ValidationException","message":"bad key"}')
    lambda_missing = (
        404,
        {"x-amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/"},
        b'{"Type":"User","message":"Function not found: nope"}',
    )
    with Recorder() as rec:
        rec.script = [unavailable, throttled, (200, {}, b'{"Item":{"n":{"N":"1"}}}')]  # retried twice, then fine
        rec.script += [internal] * 4  # gives up after 4 attempts
        rec.script += [validation]  # not retried
        rec.script += [lambda_missing]
        env = node_env(
            moto_url,
            AWS_ENDPOINT_URL_DYNAMODB=rec.url,  # wins over AWS_ENDPOINT_URL
            AWS_ENDPOINT_URL_LAMBDA=rec.url,
            AWS_DEFAULT_REGION="eu-central-1",  # AWS_REGION wins
        )
        get = {"fn": "ddb", "args": ["GetItem", {"TableName": "t", "Key": {"pk": {"S": "k"}}}]}
        results = run_node(
            [
                get,
                get,
                get,
                {"fn": "lambdaInvoke", "args": ["nope", "{}", "Event"]},
                # configuration is read per call: drop the DynamoDB endpoint and the region
                {"fn": "setEnv", "args": [{"AWS_ENDPOINT_URL_DYNAMODB": None, "AWS_REGION": None}]},
                {"fn": "ddb", "args": ["ListTables", {}]},
                {"fn": "setEnv", "args": [{"AWS_DEFAULT_REGION": None}]},
                {"fn": "ddb", "args": ["ListTables", {}]},
            ],
            env,
        )
        requests = rec.requests

    assert ok(results[0]) == {"Item": {"n": {"N": "1"}}}
    assert results[1] == {"error": {"name": "InternalServerError", "status": 500, "message": "oops"}}
    assert results[2] == {"error": {"name": "ValidationException", "status": 400, "message": "bad key"}}
    assert results[3] == {
        "error": {"name": "ResourceNotFoundException", "status": 404, "message": "Function not found: nope"}
    }
    assert "TableNames" in ok(results[5])  # reached moto through AWS_ENDPOINT_URL
    assert results[7]["error"]["name"] == "ConfigError" and "AWS_REGION" in results[7]["error"]["message"]
    assert len(requests) == 3 + 4 + 1 + 1
    for req in requests:
        assert f"/{REGION}/" in req["headers"]["authorization"]
        assert "x-amz-security-token" not in req["headers"]
        assert botocore_verifies(req["method"], req["path"], req["headers"], req["body"])
    # each retry is signed afresh and carries the same body
    assert len({r["body"] for r in requests[:3]}) == 1


# ------------------------------------------------------------------ against moto


def test_lambda_invoke(moto_url, aws):
    iam = aws("iam")
    role = iam.create_role(RoleName="node-aws-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.js", "exports.handler = async () => 1;")
    arn = aws("lambda").create_function(
        FunctionName="node-aws-fn",
        Runtime="nodejs20.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    payload = json.dumps({"order": "ünï 😀", "n": [1, 2]})
    results = run_node(
        [
            {"fn": "lambdaInvoke", "args": ["node-aws-fn", payload, "Event"]},
            {"fn": "lambdaInvoke", "args": [arn, payload, "RequestResponse"]},
        ],
        node_env(moto_url),
    )
    event = ok(results[0])
    assert event["status"] == 202 and event["functionError"] is None
    reply = ok(results[1])  # moto's Docker-less Lambda answers with the payload it was given
    assert reply == {"status": 200, "payload": payload, "functionError": None}

    # The Docker-less Lambda accepts any function name; moto's own Lambda looks the function up first.
    moto_lambda_config(moto_url, {"use_docker": True})
    try:
        (missing,) = run_node(
            [{"fn": "lambdaInvoke", "args": ["node-aws-missing", payload, "Event"]}], node_env(moto_url)
        )
    finally:
        moto_lambda_config(moto_url, {"use_docker": False})
    assert missing["error"]["name"] == "ResourceNotFoundException"
    assert missing["error"]["status"] == 404
    assert "node-aws-missing" in missing["error"]["message"]


def test_sqs_send_message(moto_url, aws):
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="node-aws-queue")["QueueUrl"]
    small = 'héllo wörld ✓ 😀 "quoted" <xml> & \\ \n\t end'
    unit = "unicode ü € 😀 / "
    big = unit * (200_000 // len(unit.encode()))  # ~200 KB of UTF-8
    assert 190_000 < len(big.encode()) <= 200_000
    results = run_node(
        [
            {"fn": "sqsGetQueueUrl", "args": ["node-aws-queue"]},
            {"fn": "sqsSendMessage", "args": [url, small, {"kind": "order", "count": 3}]},
            {"fn": "sqsSendMessage", "args": [url, big]},
            {"fn": "sqsGetQueueUrl", "args": ["node-aws-no-such-queue"]},
        ],
        node_env(moto_url),
    )
    assert ok(results[0]) == url
    ids = [ok(results[1])["MessageId"], ok(results[2])["MessageId"]]
    assert results[3]["error"]["name"] == "QueueDoesNotExist" and results[3]["error"]["status"] == 400

    received = {}
    for _ in range(4):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        for message in got.get("Messages", []):
            received[message["MessageId"]] = message
        if len(received) == 2:
            break
    assert sorted(received) == sorted(ids)
    assert received[ids[0]]["Body"] == small
    assert received[ids[0]]["MessageAttributes"] == {
        "kind": {"DataType": "String", "StringValue": "order"},
        "count": {"DataType": "Number", "StringValue": "3"},
    }
    assert received[ids[1]]["Body"] == big


def test_sns_publish_reaches_subscribed_queue(moto_url, aws):
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name="node-aws-topic")["TopicArn"]
    url = sqs.create_queue(QueueName="node-aws-topic-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    message = json.dumps({"alert": "disk ü 😀 & <full>", "level": 3})
    results = run_node(
        [
            {"fn": "snsPublish", "args": [topic, message, {"severity": "high", "code": 7}]},
            {"fn": "snsPublish", "args": [topic + "-missing", "x"]},
        ],
        node_env(moto_url),
    )
    message_id = ok(results[0])["MessageId"]
    assert results[1]["error"]["name"] == "NotFound" and results[1]["error"]["status"] == 404

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1
    envelope = json.loads(got[0]["Body"])
    assert envelope["MessageId"] == message_id
    assert envelope["TopicArn"] == topic
    assert envelope["Message"] == message
    assert envelope["MessageAttributes"] == {
        "severity": {"Type": "String", "Value": "high"},
        "code": {"Type": "Number", "Value": "7"},
    }


def test_s3_put_get_round_trip(moto_url, aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="node-aws-bucket")
    blob = bytes(range(256)) * 1200  # every byte value, ~300 KB
    calls = []
    for i, key in enumerate(S3_KEYS):
        data = blob if i == 0 else f"{key} ✓".encode()
        calls.append({"fn": "s3PutObject", "args": ["node-aws-bucket", key, buf(data), "application/x-test"]})
        calls.append({"fn": "s3GetObject", "args": ["node-aws-bucket", key]})
    calls.append({"fn": "s3PutObject", "args": ["node-aws-bucket", "text.txt", "plain ü text", "text/plain"]})
    calls.append({"fn": "s3GetObject", "args": ["node-aws-bucket", "no/such key"]})
    results = run_node(calls, node_env(moto_url))

    for i, key in enumerate(S3_KEYS):
        data = blob if i == 0 else f"{key} ✓".encode()
        assert ok(results[2 * i])["ETag"] == f'"{md5_hex(data)}"'
        assert unbuf(ok(results[2 * i + 1])) == data
        stored = s3.get_object(Bucket="node-aws-bucket", Key=key)
        assert stored["Body"].read() == data
        assert stored["ContentType"] == "application/x-test"
    assert s3.get_object(Bucket="node-aws-bucket", Key="text.txt")["Body"].read() == "plain ü text".encode()
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket="node-aws-bucket")["Contents"]}
    assert listed == {*S3_KEYS, "text.txt"}
    assert results[-1]["error"]["name"] == "NoSuchKey" and results[-1]["error"]["status"] == 404


def test_dynamodb(moto_url, aws):
    ddb = aws("dynamodb")
    ddb.create_table(
        TableName="node-aws-state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName="node-aws-items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    rich = {
        "pk": "rich",
        "s": "ünï 😀",
        "n": 42,
        "f": -1.5,
        "t": True,
        "z": None,
        "l": [1, "two", False, None, {"x": [3.25]}],
        "m": {"nested": {"deep": "yes"}, "empty": {}},
    }
    put_once = {
        "TableName": "node-aws-state",
        "Item": {"pk": {"S": "dispatch-1"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    add = {
        "TableName": "node-aws-state",
        "Key": {"pk": {"S": "counter"}},
        "UpdateExpression": "ADD #c :one",
        "ExpressionAttributeNames": {"#c": "count"},
        "ExpressionAttributeValues": {":one": {"N": "1"}},
        "ReturnValues": "UPDATED_NEW",
    }
    batches = [
        [
            {"PutRequest": {"Item": {"pk": {"S": "exec-1"}, "sk": {"N": str(i)}, "v": {"S": f"item {i} ✓"}}}}
            for i in range(start, min(start + 25, 150))
        ]
        for start in range(0, 150, 25)
    ]
    calls = [
        {"fn": "toItem", "args": [rich]},
        {"fn": "ddb", "args": ["PutItem", {"TableName": "node-aws-state", "Item": None}]},  # filled below
        {"fn": "ddb", "args": ["PutItem", put_once]},
        {"fn": "ddb", "args": ["PutItem", put_once]},
        {"fn": "ddb", "args": ["UpdateItem", add]},
        {"fn": "ddb", "args": ["UpdateItem", add]},
        {"fn": "ddb", "args": ["UpdateItem", add]},
        *[{"fn": "ddb", "args": ["BatchWriteItem", {"RequestItems": {"node-aws-items": b}}]} for b in batches],
        {
            "fn": "ddbQueryAll",
            "args": [
                {
                    "TableName": "node-aws-items",
                    "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": "exec-1"}},
                    "Limit": 40,
                }
            ],
        },
        {"fn": "ddb", "args": ["GetItem", {"TableName": "node-aws-state", "Key": {"pk": {"S": "rich"}}}]},
        {"fn": "ddb", "args": ["GetItem", {"TableName": "node-aws-state", "Key": {"pk": {"S": "absent"}}}]},
        {"fn": "ddb", "args": ["DeleteItem", {"TableName": "node-aws-state", "Key": {"pk": {"S": "dispatch-1"}}}]},
        {"fn": "ddb", "args": ["GetItem", {"TableName": "node-aws-missing", "Key": {"pk": {"S": "x"}}}]},
    ]
    # toItem is checked on its own first, then its output is the item PutItem stores
    rich_item = ok(run_node(calls[:1], node_env(moto_url))[0])
    calls[1]["args"][1]["Item"] = rich_item
    results = run_node(calls[1:], node_env(moto_url))

    assert rich_item["l"] == {
        "L": [{"N": "1"}, {"S": "two"}, {"BOOL": False}, {"NULL": True}, {"M": {"x": {"L": [{"N": "3.25"}]}}}]
    }
    assert ok(results[0]) == {}
    assert ok(results[1]) == {}
    assert results[2] == {
        "error": {"name": "ConditionalCheckFailedException", "status": 400, "message": results[2]["error"]["message"]}
    }
    assert [ok(r)["Attributes"]["count"] for r in results[3:6]] == [{"N": "1"}, {"N": "2"}, {"N": "3"}]
    assert ddb.get_item(TableName="node-aws-state", Key={"pk": {"S": "counter"}})["Item"]["count"] == {"N": "3"}

    assert all(ok(r)["UnprocessedItems"] == {} for r in results[6:12])
    query = ok(results[12])
    assert len(query["pages"]) > 1 and sum(query["pages"]) == 150  # followed LastEvaluatedKey
    assert query["pages"][0] == 40
    assert query["items"] == [{"pk": "exec-1", "sk": i, "v": f"item {i} ✓"} for i in range(150)]

    stored = ok(results[13])["Item"]
    assert stored == rich_item
    assert ddb.get_item(TableName="node-aws-state", Key={"pk": {"S": "rich"}})["Item"] == rich_item
    round_trip = node_eval(f"aws.fromItem({json.dumps(stored)})")
    assert round_trip == rich
    assert node_eval("aws.fromItem(undefined)") is None
    assert ok(results[14]) == {}  # no such item
    assert ok(results[15]) == {}
    assert "Item" not in ddb.get_item(TableName="node-aws-state", Key={"pk": {"S": "dispatch-1"}})
    assert results[16]["error"]["name"] == "ResourceNotFoundException"
