"""Which AWS service, region and operation a signed request is for (from its headers, body and botocore models)."""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import botocore.session

_SCOPE = re.compile(r"Credential=([^/,\s]*)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_FORM_LIMIT = 1 << 20
# Services whose signing name covers several API models (API Gateway v1 and v2 both sign as "apigateway").
_MODELS_BY_SIGNING_NAME = {"apigateway": ("apigatewayv2", "apigateway"), "execute-api": ("apigatewayv2",)}


@dataclass(frozen=True)
class RequestInfo:
    """What a request is: its service (signing name), region, operation name and access key."""

    service: str
    region: str
    operation: str
    access_key: str


def identify(environ: dict[str, Any]) -> RequestInfo:
    """Name the request's service and operation; rewinds the body if it had to read it."""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    access_key, region, service = scope.groups() if scope else ("", "us-east-1", "")
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
    else:
        operation = _form_action(environ) or _rest_operation(service, method, path, environ.get("QUERY_STRING", ""))
    return RequestInfo(service or "unknown", region, operation or f"{method} {path}", access_key)


def guess_rest_service(environ: dict[str, Any], candidates: tuple[str, ...]) -> str:
    """For an unsigned request (no credential scope names its service): the first of `candidates` with an operation
    at this method and path, or ""."""
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
    for service in candidates:
        if _rest_operation(service, method, path, environ.get("QUERY_STRING", "")):
            return service
    return ""


def _form_action(environ: dict[str, Any]) -> str | None:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= _FORM_LIMIT:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else None


def _rest_operation(service: str, method: str, path: str, query_string: str) -> str | None:
    query = set(parse_qs(query_string, keep_blank_values=True))
    best: tuple[int, str] | None = None
    for model_name in _MODELS_BY_SIGNING_NAME.get(service, (service,)):
        for route in _routes(model_name):
            if route.method == method and route.pattern.fullmatch(path) and route.query <= query:
                if best is None or route.specificity > best[0]:
                    best = (route.specificity, route.operation)
        if best:
            return best[1]
    return None


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    query: frozenset[str]
    specificity: int


@functools.lru_cache(maxsize=64)
def _routes(model_name: str) -> tuple[_Route, ...]:
    try:
        model = botocore.session.get_session().get_service_model(model_name)
    except Exception:
        return ()
    if model.protocol not in ("rest-json", "rest-xml"):
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = http.get("requestUri", "/").partition("?")
        regex = ""
        for piece in re.split(r"(\{[^}]+\})", uri):
            if piece.startswith("{"):
                regex += ".+" if piece.endswith("+}") else "[^/]+"
            else:
                regex += re.escape(piece)
        literal = len(re.sub(r"\{[^}]+\}", "", uri))
        keys = frozenset(part.split("=")[0] for part in query.split("&") if part)
        routes.append(
            _Route(
                name, http.get("method", "GET"), re.compile(regex.rstrip("/") + "/?"), keys, literal * 10 + len(keys)
            )
        )
    return tuple(routes)
