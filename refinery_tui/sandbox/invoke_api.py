"""Lambda's Invoke operation served by the sandbox's own host: RequestResponse, Event and DryRun, as Lambda answers."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.iam.models import get_account_id_from

from .aws_requests import RequestInfo
from .functions import FunctionNotFound, resolve
from .lambda_host import LambdaHost, encode_log_tail

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
# Lambda raised the asynchronous limit from 256 KB to 1 MB in 2025.
ASYNC_PAYLOAD_LIMIT = 1024 * 1024


def account_of(environ: dict[str, Any], info: RequestInfo) -> str:
    """The account a request acts in (moto's, from its access key)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    return environ.get("HTTP_X_MOTO_ACCOUNT_ID") or get_account_id_from(info.access_key)


def _error(start_response: Any, status: str, error_type: str, message: str) -> Iterable[bytes]:
    body = json.dumps({"Type": "User", "message": message}).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def handle_invoke(
    environ: dict[str, Any], start_response: Any, host: LambdaHost, info: RequestInfo
) -> Iterable[bytes] | None:
    """Serve an Invoke; None when it is not one the sandbox can run (moto then answers, with its own errors)."""
    match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
    if environ.get("REQUEST_METHOD") != "POST" or match is None:
        return None
    qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
    try:
        spec, invoked_arn = resolve(unquote(match.group("name")), qualifier, info.region, account_of(environ, info))
    except FunctionNotFound:
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
    if len(body) > limit:
        return _error(
            start_response,
            "413 Request Entity Too Large",
            "RequestEntityTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        )
    try:
        event = json.loads(body) if body.strip() else {}
    except ValueError as error:
        return _error(
            start_response,
            "400 Bad Request",
            "InvalidRequestContentException",
            f"Could not parse request body into json: {error}",
        )
    headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", spec.version)]
    if invocation_type == "DryRun":
        start_response("204 No Content", headers + [("Content-Length", "0")])
        return [b""]
    if invocation_type == "Event":
        request_id = host.submit(spec, event, invoked_arn=invoked_arn)
        start_response("202 Accepted", headers + [("x-amzn-RequestId", request_id), ("Content-Length", "0")])
        return [b""]
    if invocation_type != "RequestResponse":
        return _error(
            start_response,
            "400 Bad Request",
            "InvalidParameterValueException",
            f"Unsupported invocation type {invocation_type}",
        )
    client_context = None
    if environ.get("HTTP_X_AMZ_CLIENT_CONTEXT"):
        try:
            client_context = json.loads(base64.b64decode(environ["HTTP_X_AMZ_CLIENT_CONTEXT"]))
        except ValueError:
            client_context = None
    result = host.invoke(spec, event, invoked_arn=invoked_arn, client_context=client_context)
    payload = result.payload
    failed = result.failed
    if len(payload) > SYNC_PAYLOAD_LIMIT:
        failed = True
        payload = json.dumps(
            {
                "errorMessage": f"Response payload size ({len(payload)} bytes) exceeded maximum "
                f"allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            }
        ).encode()
    headers.append(("x-amzn-RequestId", result.request_id))
    if failed:
        headers.append(("X-Amz-Function-Error", "Unhandled"))
    if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
        headers.append(("X-Amz-Log-Result", encode_log_tail(result)))
    start_response("200 OK", headers + [("Content-Length", str(len(payload)))])
    return [payload]
