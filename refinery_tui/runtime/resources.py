"""What resource blocks (schedule, api_endpoint, api_response, topic, queue) do to the value passing through."""

from __future__ import annotations

import json
from typing import Any

_REQUEST_KEYS = ("body", "headers", "rawPath", "requestContext", "queryStringParameters")


def api_request(block: dict[str, Any], value: Any) -> dict[str, Any]:
    """The request as API Gateway's HTTP API (payload 2.0) gives it. A value that already looks like one is kept;
    anything else becomes the body. A JSON body with a JSON content type is parsed."""
    if isinstance(value, dict) and any(key in value for key in _REQUEST_KEYS) and "body" in value:
        request = dict(value)
    else:
        request = {"body": value}
    method = (block.get("method") or "GET").upper()
    request.setdefault("headers", {"content-type": "application/json"})
    request.setdefault("queryStringParameters", {})
    request.setdefault("rawPath", block.get("path") or "/")
    request.setdefault("requestContext", {"http": {"method": method, "path": request["rawPath"]}})
    headers = {str(k).lower(): v for k, v in (request.get("headers") or {}).items()}
    if isinstance(request.get("body"), str) and "json" in str(headers.get("content-type", "")):
        try:
            request["body"] = json.loads(request["body"])
        except json.JSONDecodeError:
            pass
    return request


def api_reply(value: Any) -> dict[str, Any]:
    """The HTTP reply: a dict with statusCode is used as is, anything else becomes a 200 JSON body."""
    if isinstance(value, dict) and "statusCode" in value:
        return value
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": value}


def schedule_input(block: dict[str, Any], value: Any) -> Any:
    """A schedule starts an execution with its configured input unless one is given."""
    if value is None:
        configured = block.get("input")
        return {} if configured is None else configured
    return value


def resource_output(block: dict[str, Any], value: Any) -> Any:
    """What a resource block passes on: the request, the schedule's input, the reply, or the value itself."""
    kind = block["type"]
    if kind == "api_endpoint":
        return api_request(block, value)
    if kind == "schedule":
        return schedule_input(block, value)
    if kind == "api_response":
        return api_reply(value)
    return value
