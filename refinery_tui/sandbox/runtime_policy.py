"""Lambda's refusal of deprecated runtimes, which moto does not make: a function is not created with a runtime past its
block-create date, nor updated (code or configuration) on one past its block-update date unless the update moves it
to a runtime still accepted; the refusal is AWS's InvalidParameterValueException."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from moto.awslambda.utils import get_backend

from refinery_tui.cloud.runtimes import blocked, refusal_message

from .aws_requests import RequestInfo
from .functions import split_arn
from .invoke_api import account_of

_CHECKED = {"CreateFunction", "UpdateFunctionConfiguration", "UpdateFunctionCode"}
_BODY_LIMIT = 80 * 1024 * 1024  # CreateFunction may carry a 50 MB zip, base64-encoded


def refuse_blocked_runtime(environ: dict[str, Any], start_response: Any, info: RequestInfo) -> Iterable[bytes] | None:
    """AWS's refusal when the request creates or updates a function on a runtime AWS no longer accepts for it; None
    otherwise (the body is rewound for whoever serves the request next)."""
    if info.service != "lambda" or info.operation not in _CHECKED:
        return None
    requested = _requested_runtime(environ) if info.operation != "UpdateFunctionCode" else None
    if info.operation == "CreateFunction":
        refused = requested if requested and blocked(requested, updating=False) else None
    elif requested:
        refused = requested if blocked(requested, updating=True) else None
    else:
        current = _current_runtime(environ, info)
        refused = current if current and blocked(current, updating=True) else None
    if refused is None:
        return None
    payload = json.dumps({"Type": "User", "message": refusal_message(refused)}).encode()
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", "InvalidParameterValueException"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


def _requested_runtime(environ: dict[str, Any]) -> str | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= _BODY_LIMIT:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        runtime = json.loads(body).get("Runtime")
    except (ValueError, AttributeError):
        return None
    return runtime if isinstance(runtime, str) else None


def _current_runtime(environ: dict[str, Any], info: RequestInfo) -> str | None:
    """The runtime of the function named by `/2015-03-31/functions/{name}/...`, if it exists."""
    parts = environ.get("PATH_INFO", "").split("/")
    if len(parts) < 4:
        return None
    region, account, name = split_arn(unquote(parts[3]), info.region, account_of(environ, info))
    try:
        function = get_backend(account, region).get_function(name.partition(":")[0], None)
    except Exception:
        return None  # moto answers with its own ResourceNotFoundException
    return getattr(function, "run_time", None)
