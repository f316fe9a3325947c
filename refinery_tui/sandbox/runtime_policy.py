"""Lambda's refusal of deprecated runtimes, which moto does not make: CreateFunction and UpdateFunctionConfiguration
naming a runtime past its block date are answered with AWS's InvalidParameterValueException."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from refinery_tui.cloud.runtimes import blocked, refusal_message

from .aws_requests import RequestInfo

_CHECKED = {"CreateFunction": False, "UpdateFunctionConfiguration": True}  # operation → is it an update?
_BODY_LIMIT = 80 * 1024 * 1024  # CreateFunction may carry a 50 MB zip, base64-encoded


def refuse_blocked_runtime(environ: dict[str, Any], start_response: Any, info: RequestInfo) -> Iterable[bytes] | None:
    """AWS's refusal when the request sets a runtime AWS no longer accepts for it; None otherwise (the body is
    rewound for whoever serves the request next)."""
    updating = _CHECKED.get(info.operation) if info.service == "lambda" else None
    if updating is None:
        return None
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
    if not isinstance(runtime, str) or not blocked(runtime, updating):
        return None
    payload = json.dumps({"Type": "User", "message": refusal_message(runtime)}).encode()
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", "InvalidParameterValueException"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]
