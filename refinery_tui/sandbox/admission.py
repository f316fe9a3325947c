"""Who the sandbox answers: requests to its own host names only, signed with its keys (the HTTP APIs excepted);
refusals worded as AWS words them; no CORS headers in any answer."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

import botocore.session

from .aws_requests import guess_rest_service
from .signatures import Refusal

_JSON_PROTOCOLS = {"json", "rest-json"}
# REST services whose clients parse JSON errors: how an unsigned request to one is recognised.
_REST_JSON = ("lambda", "apigateway")


def allowed_hosts(bound_host: str, port: int) -> frozenset[str]:
    """The Host header values the sandbox answers to: its loopback names with its port."""
    names = {"127.0.0.1", "localhost", "[::1]", f"[{bound_host}]" if ":" in bound_host else bound_host}
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names
    return frozenset(hosts)


def host_allowed(host: str, allowed: frozenset[str], port: int) -> bool:
    """Is `host` one of the sandbox's names, or a name under `localhost` (which only ever means this machine:
    virtual-host S3 buckets, `<api id>.execute-api.localhost`) with the sandbox's port?"""
    host = host.strip().lower()
    if host in allowed:
        return True
    name, _, host_port = host.rpartition(":")
    if not name or host_port != str(port):
        return False
    return name.endswith(".localhost") and all(part and part.isascii() for part in name.split("."))


def host_refusal(host: str, allowed: frozenset[str]) -> Refusal:
    return Refusal(
        403,
        "InvalidHostHeader",
        f"The sandbox answers only requests addressed to it ({', '.join(sorted(allowed))}), not {host or 'no Host'!r}",
    )


@functools.lru_cache(maxsize=64)
def _protocol(service: str) -> str:
    models = {"apigateway": "apigatewayv2", "execute-api": "apigatewayv2", "monitoring": "cloudwatch"}
    try:
        return str(botocore.session.get_session().get_service_model(models.get(service, service)).protocol)
    except Exception:
        return ""


def _wants_json(environ: dict[str, Any], service: str) -> bool:
    if environ.get("HTTP_X_AMZ_TARGET"):
        return True
    protocol = _protocol(service) if service not in ("", "unknown") else ""
    if not protocol:
        if "json" in environ.get("CONTENT_TYPE", ""):
            return True
        protocol = _protocol(guess_rest_service(environ, _REST_JSON))
    return protocol in _JSON_PROTOCOLS


def refuse(environ: dict[str, Any], start_response: Any, refusal: Refusal, service: str) -> Iterable[bytes]:
    """Answer with `refusal` in the form the service's clients parse (JSON or XML), so boto3 shows its code."""
    request_id = str(uuid.uuid4())
    status = f"{refusal.status} {HTTPStatus(refusal.status).phrase}"
    headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", refusal.code)]
    if _wants_json(environ, service):
        body = json.dumps({"__type": refusal.code, "message": refusal.message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
    else:
        error = f"<Code>{escape(refusal.code)}</Code><Message>{escape(refusal.message)}</Message>"
        if service == "s3":
            text = f"<Error>{error}<RequestId>{request_id}</RequestId></Error>"
        else:
            text = (
                f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode()
        headers.append(("Content-Type", "text/xml"))
    if environ.get("REQUEST_METHOD") == "HEAD":
        body = b""
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


def without_cors(start_response: Any) -> Any:
    """`start_response` that drops every `Access-Control-*` header: no web page may read the sandbox's answers."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
        return start_response(status, kept, exc_info)

    return start
