"""HTTP APIs (API Gateway v2): routes matched, Lambda proxy events built, replies turned into HTTP responses."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from moto.apigatewayv2.models import apigatewayv2_backends

from .functions import FunctionNotFound, resolve
from .lambda_host import InvocationResult, LambdaHost

# An API is served at `<endpoint>/_sandbox/apis/<api id>/<path>`, and to any request whose Host is
# `<api id>.execute-api.<anything>`. As on AWS, a path under a named stage starts with the stage's name; otherwise
# the `$default` stage serves it.

PATH_PREFIX = "/_sandbox/apis/"
MAX_TIMEOUT_MS = 29_000
_FUNCTION_ARN = re.compile(r"arn:aws[\w-]*:lambda:[\w-]+:\d+:function:[^/]+")
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|[\w.+-]*\+(json|xml))\b)", re.I)
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class HttpReply:
    """An HTTP response to send back: status, headers (repeated names allowed) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _message(status: int, message: str) -> HttpReply:
    return HttpReply(status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode())


def api_id_from_host(host: str) -> str | None:
    match = re.match(r"^([a-z0-9]+)\.execute-api\.", host or "")
    return match.group(1) if match else None


class HttpApis:
    """Serves the HTTP APIs defined in moto's API Gateway v2 backend, invoking their Lambda integrations."""

    def __init__(self, host: LambdaHost) -> None:
        self._host = host

    def serves(self, api_id: str) -> bool:
        """Is there an HTTP API with this id? (REST APIs are left to moto.)"""
        api = _find_api(api_id)
        return api is not None and getattr(api, "protocol_type", "HTTP") == "HTTP"

    def __call__(self, environ: dict[str, Any], start_response: Any, api_id: str, path: str) -> Iterable[bytes]:
        reply = self.serve(environ, api_id, path)
        reason = _REASONS.get(reply.status, "Unknown")
        start_response(f"{reply.status} {reason}", reply.headers + [("Content-Length", str(len(reply.body)))])
        return [reply.body]

    def serve(self, environ: dict[str, Any], api_id: str, path: str) -> HttpReply:
        api = _find_api(api_id)
        if api is None or getattr(api, "protocol_type", "HTTP") != "HTTP":
            return _message(404, "Not Found")
        stage, route_path = _stage(api, path or "/")
        if stage not in api.stages:  # an API without its stage serves nothing, as on AWS
            return _message(404, "Not Found")
        method = environ.get("REQUEST_METHOD", "GET")
        match = _match_route(api, method, route_path)
        if match is None:
            return _message(404, "Not Found")
        route, parameters = match
        integration = api.integrations.get((route.target or "").removeprefix("integrations/"))
        function_arn = _FUNCTION_ARN.search(getattr(integration, "integration_uri", "") or "")
        if integration is None or integration.integration_type != "AWS_PROXY" or function_arn is None:
            return _message(500, "Internal Server Error")
        try:
            spec, invoked_arn = resolve(function_arn.group(0), None, api.backend.region_name, api.backend.account_id)
        except FunctionNotFound:
            return _message(500, "Internal Server Error")
        request_id = base64.b64encode(os.urandom(10)).decode()
        request = _Request(environ, api, stage, route.route_key, path or "/", parameters, request_id)
        version = str(integration.payload_format_version or "2.0")
        event = request.event_v1() if version == "1.0" else request.event_v2()
        timeout_ms = min(int(integration.timeout_in_millis or MAX_TIMEOUT_MS), MAX_TIMEOUT_MS)
        result = self._invoke(spec, event, invoked_arn, timeout_ms / 1000)
        if result is None:
            reply = _message(503, "Service Unavailable")
        elif result.failed:
            reply = _message(500, "Internal Server Error")
        else:
            reply = _http_reply(result.payload, version)
        reply.headers.append(("apigw-requestid", request_id))
        return reply

    def _invoke(self, spec: Any, event: Any, invoked_arn: str, timeout_s: float) -> InvocationResult | None:
        results: list[InvocationResult] = []
        finished = threading.Event()

        def run() -> None:
            try:
                results.append(self._host.invoke(spec, event, invoked_arn=invoked_arn))
            finally:
                finished.set()

        threading.Thread(target=run, daemon=True, name="sandbox-http-api").start()
        finished.wait(timeout_s)
        return results[0] if results else None


def _find_api(api_id: str) -> Any:
    for regions in list(apigatewayv2_backends.values()):
        for backend in list(regions.values()):
            api = backend.apis.get(api_id)
            if api is not None:
                return api
    return None


def _stage(api: Any, path: str) -> tuple[str, str]:
    first, _, rest = path.lstrip("/").partition("/")
    if first and first != "$default" and first in api.stages:
        return first, "/" + rest
    return "$default", path


def _match_route(api: Any, method: str, path: str) -> tuple[Any, dict[str, str]] | None:
    best: tuple[tuple[int, ...], Any, dict[str, str]] | None = None
    segments = [s for s in path.split("/") if s]
    for route in api.routes.values():
        key = route.route_key or ""
        if key == "$default":
            candidate = ((-1,), route, {})
        else:
            route_method, _, template = key.partition(" ")
            if route_method not in (method, "ANY"):
                continue
            parameters = _match_template(template, segments)
            if parameters is None:
                continue
            parts = [s for s in template.split("/") if s]
            literal = sum(1 for p in parts if not p.startswith("{"))
            greedy = int(bool(parts) and parts[-1].endswith("+}"))
            candidate = ((literal, 1 - greedy, len(parts), int(route_method != "ANY")), route, parameters)
        if best is None or candidate[0] > best[0]:
            best = candidate
    return (best[1], best[2]) if best else None


def _match_template(template: str, segments: list[str]) -> dict[str, str] | None:
    parts = [s for s in template.split("/") if s]
    parameters: dict[str, str] = {}
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index >= len(segments) or index != len(parts) - 1:
                return None
            parameters[part[1:-2]] = "/".join(segments[index:])
            return parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = segments[index]
        elif part != segments[index]:
            return None
    return parameters if len(parts) == len(segments) else None


class _Request:
    """One HTTP request, read from the WSGI environ and shaped as API Gateway's proxy events."""

    def __init__(
        self,
        environ: dict[str, Any],
        api: Any,
        stage: str,
        route_key: str,
        path: str,
        parameters: dict[str, str],
        request_id: str,
    ) -> None:
        self.api, self.stage, self.route_key, self.parameters = api, stage, route_key, parameters
        self.request_id = request_id
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = path
        self.query = environ.get("QUERY_STRING", "")
        self.source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
        self.protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        self.headers: dict[str, list[str]] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                self.headers.setdefault(key[5:].replace("_", "-").lower(), []).append(value)
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                self.headers.setdefault(key.replace("_", "-").lower(), []).append(environ[key])
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > 0:
            self.body = environ["wsgi.input"].read(length)
        else:
            self.body = environ["wsgi.input"].read() if environ.get("wsgi.input_terminated") else b""
        now = datetime.datetime.now(datetime.UTC)
        self.time = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
        self.time_epoch = int(now.timestamp() * 1000)

    def _body(self) -> tuple[str | None, bool]:
        if not self.body:
            return None, False
        content_type = ",".join(self.headers.get("content-type", []))
        if _TEXT_TYPES.match(content_type) or not content_type:
            try:
                return self.body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(self.body).decode(), True

    def _context(self) -> dict[str, Any]:
        api_id, region = self.api.api_id, self.api.backend.region_name
        return {
            "accountId": self.api.backend.account_id,
            "apiId": api_id,
            "domainName": f"{api_id}.execute-api.{region}.amazonaws.com",
            "domainPrefix": api_id,
            "requestId": self.request_id,
            "routeKey": self.route_key,
            "stage": self.stage,
            "time": self.time,
            "timeEpoch": self.time_epoch,
        }

    def event_v2(self) -> dict[str, Any]:
        headers = {name: ",".join(values) for name, values in self.headers.items() if name != "cookie"}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
        }
        cookies = [c.strip() for value in self.headers.get("cookie", []) for c in value.split(";") if c.strip()]
        if cookies:
            event["cookies"] = cookies
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(self.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        if query:
            event["queryStringParameters"] = {name: ",".join(values) for name, values in query.items()}
        context = self._context()
        context["http"] = {
            "method": self.method,
            "path": self.path,
            "protocol": self.protocol,
            "sourceIp": self.source_ip,
            "userAgent": headers.get("user-agent", ""),
        }
        event["requestContext"] = context
        body, encoded = self._body()
        if body is not None:
            event["body"] = body
        if self.parameters:
            event["pathParameters"] = dict(self.parameters)
        event["isBase64Encoded"] = encoded
        return event

    def event_v1(self) -> dict[str, Any]:
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(self.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        body, encoded = self._body()
        _, _, resource = self.route_key.partition(" ")
        context = self._context()
        context.update(
            {
                "httpMethod": self.method,
                "path": self.path,
                "protocol": self.protocol,
                "resourcePath": resource or "$default",
                "identity": {"sourceIp": self.source_ip, "userAgent": ",".join(self.headers.get("user-agent", []))},
            }
        )
        return {
            "version": "1.0",
            "resource": resource or "$default",
            "path": self.path,
            "httpMethod": self.method,
            "headers": {name: values[-1] for name, values in self.headers.items()},
            "multiValueHeaders": dict(self.headers),
            "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "requestContext": context,
            "pathParameters": dict(self.parameters) or None,
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": encoded,
        }


def _http_reply(payload: bytes, version: str) -> HttpReply:
    try:
        reply = json.loads(payload or b"null")
    except ValueError:
        return _message(500, "Internal Server Error")
    if not (isinstance(reply, dict) and "statusCode" in reply):
        if version == "1.0":
            return _message(500, "Internal Server Error")
        return HttpReply(200, [("Content-Type", "application/json")], payload)
    try:
        status = int(reply["statusCode"])
    except (TypeError, ValueError):
        return _message(500, "Internal Server Error")
    body = reply.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        data = json.dumps(body).encode()
    elif reply.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = body.encode()
    headers = [(str(name), str(value)) for name, value in (reply.get("headers") or {}).items()]
    for name, values in (reply.get("multiValueHeaders") or {}).items():
        headers += [(str(name), str(value)) for value in values or []]
    headers += [("Set-Cookie", str(cookie)) for cookie in reply.get("cookies") or []]
    if not any(name.lower() == "content-type" for name, _ in headers) and version != "1.0":
        headers.append(("Content-Type", "application/json"))
    return HttpReply(status, [(n, v) for n, v in headers if n.lower() != "content-length"], data)
