"""AWS's windows after a delete, which moto lacks: a queue's name cannot be reused for 60 s, a deleted queue is still
listed for a while (its other calls answer QueueDoesNotExist), a deleted table stays DELETING for a while.

Set the windows on `Sandbox.deletion_windows` while it runs, or with `REFINERY_SANDBOX_DELETION_WINDOWS` when it
starts: comma-separated `queue_name_reuse=S`, `queue_listed=S`, `table_deleting=S` (seconds), or one number for all
three (e.g. `3` in tests). Defaults: 60 s for a queue's name (AWS's documented wait), 5 s for the others.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .admission import refuse
from .aws_requests import RequestInfo
from .signatures import Refusal

ENV = "REFINERY_SANDBOX_DELETION_WINDOWS"
WINDOWS = ("queue_name_reuse", "queue_listed", "table_deleting")
DEFAULTS = {"queue_name_reuse": 60.0, "queue_listed": 5.0, "table_deleting": 5.0}
OPERATIONS = {
    ("sqs", "CreateQueue"),
    ("sqs", "DeleteQueue"),
    ("sqs", "ListQueues"),
    ("dynamodb", "CreateTable"),
    ("dynamodb", "DeleteTable"),
    ("dynamodb", "DescribeTable"),
}
# What moto answers, as the gateway got it: status line, headers, whole body.
Answer = tuple[str, list[tuple[str, str]], bytes]
MotoCall = Callable[[dict[str, Any], Any], Iterable[bytes]]


class DeletionWindowsError(ValueError):
    """A REFINERY_SANDBOX_DELETION_WINDOWS value that cannot be read."""


def parse(spec: str) -> dict[str, float]:
    """The windows `spec` sets (see the module's docstring), over the defaults."""
    windows = dict(DEFAULTS)
    spec = spec.strip()
    if not spec:
        return windows
    try:
        return dict.fromkeys(WINDOWS, float(spec))
    except ValueError:
        pass
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        key, _, value = entry.partition("=")
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if key.strip() not in WINDOWS or seconds < 0:
            raise DeletionWindowsError(
                f"{ENV}: {entry!r} is not one of {', '.join(k + '=SECONDS' for k in WINDOWS)} (or one number for all)"
            )
        windows[key.strip()] = seconds
    return windows


@dataclass
class _Deleted:
    at: float
    url: str = ""
    description: dict[str, Any] = field(default_factory=dict)


class DeletionWindows:
    """The windows in force and what was deleted within them; `serve` is asked by the gateway for `OPERATIONS`."""

    def __init__(self, spec: str | None = None) -> None:
        windows = parse(spec if spec is not None else os.environ.get(ENV, ""))
        self.queue_name_reuse_s = windows["queue_name_reuse"]
        self.queue_listed_s = windows["queue_listed"]
        self.table_deleting_s = windows["table_deleting"]
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str], _Deleted] = {}
        self._tables: dict[tuple[str, str], _Deleted] = {}

    def set_all(self, seconds: float) -> None:
        self.queue_name_reuse_s = self.queue_listed_s = self.table_deleting_s = seconds

    def serve(self, environ: dict[str, Any], start_response: Any, info: RequestInfo, moto: MotoCall) -> Iterable[bytes]:
        """Answer a call of `OPERATIONS` as AWS would within its windows; moto answers the rest."""
        fields = _fields(environ)
        if info.service == "sqs":
            return self._sqs(environ, start_response, info, fields, moto)
        return self._dynamodb(environ, start_response, info, fields, moto)

    # -- SQS -----------------------------------------------------------------------------------------------

    def _sqs(
        self, environ: dict[str, Any], start_response: Any, info: RequestInfo, fields: dict[str, str], moto: MotoCall
    ) -> Iterable[bytes]:
        now = time.monotonic()
        if info.operation == "CreateQueue":
            deleted = self._recent(self._queues, (info.region, fields.get("QueueName", "")), now)
            if deleted is not None and now - deleted.at < self.queue_name_reuse_s:
                return _refuse_queue_deleted_recently(environ, start_response)
        status, headers, body = _call(moto, environ)
        if status.startswith("200") and info.operation == "DeleteQueue":
            url = fields.get("QueueUrl", "")
            with self._lock:
                self._queues[(info.region, url.rstrip("/").rsplit("/", 1)[-1])] = _Deleted(now, url)
        elif status.startswith("200") and info.operation == "ListQueues":
            body = self._with_lingering_queues(info.region, fields, headers, body, now)
        return _answer(start_response, status, headers, body)

    def _with_lingering_queues(
        self, region: str, fields: dict[str, str], headers: list[tuple[str, str]], body: bytes, now: float
    ) -> bytes:
        """ListQueues' answer with the queues deleted within `queue_listed_s` added (on its last page)."""
        prefix = fields.get("QueueNamePrefix", "")
        with self._lock:
            lingering = [
                d.url
                for (where, name), d in self._queues.items()
                if where == region and name.startswith(prefix) and d.url and now - d.at < self.queue_listed_s
            ]
        if not lingering:
            return body
        if _is_json(headers):
            answer = json.loads(body or b"{}")
            if answer.get("NextToken"):
                return body
            urls = answer.get("QueueUrls", [])
            answer["QueueUrls"] = urls + [url for url in lingering if url not in urls]
            return json.dumps(answer).encode()
        text = body.decode()
        if "<NextToken>" in text or "</ListQueuesResult>" not in text:
            return body
        added = "".join(f"<QueueUrl>{escape(url)}</QueueUrl>" for url in lingering if f">{escape(url)}<" not in text)
        return text.replace("</ListQueuesResult>", added + "</ListQueuesResult>", 1).encode()

    # -- DynamoDB ------------------------------------------------------------------------------------------

    def _dynamodb(
        self, environ: dict[str, Any], start_response: Any, info: RequestInfo, fields: dict[str, str], moto: MotoCall
    ) -> Iterable[bytes]:
        now = time.monotonic()
        key = (info.region, fields.get("TableName", ""))
        deleting = self._recent(self._tables, key, now)
        if deleting is not None and now - deleting.at >= self.table_deleting_s:
            deleting = None
        if deleting is not None and info.operation in ("CreateTable", "DeleteTable"):
            message = f"Attempt to change a resource which is still in use: Table is being deleted: {key[1]}"
            return refuse(environ, start_response, Refusal(400, "ResourceInUseException", message), "dynamodb")
        status, headers, body = _call(moto, environ)
        if info.operation == "DescribeTable" and deleting is not None and not status.startswith("200"):
            status, body = "200 OK", json.dumps({"Table": deleting.description}).encode()
        elif info.operation == "DeleteTable" and status.startswith("200"):
            answer = json.loads(body)
            description = {**answer.get("TableDescription", {}), "TableStatus": "DELETING"}
            with self._lock:
                self._tables[key] = _Deleted(now, description=description)
            body = json.dumps({**answer, "TableDescription": description}).encode()
        return _answer(start_response, status, headers, body)

    def _recent(self, deleted: dict[tuple[str, str], _Deleted], key: tuple[str, str], now: float) -> _Deleted | None:
        """What was deleted under `key` within the longest window; forgets what is older."""
        longest = max(self.queue_name_reuse_s, self.queue_listed_s, self.table_deleting_s)
        with self._lock:
            for old in [k for k, d in deleted.items() if now - d.at >= longest]:
                del deleted[old]
            return deleted.get(key)


def _fields(environ: dict[str, Any]) -> dict[str, str]:
    """The request's top-level fields (JSON or form); the body is put back for moto to read."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    if environ.get("HTTP_X_AMZ_TARGET"):
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            return {}
        return {k: v for k, v in parsed.items() if isinstance(v, str)} if isinstance(parsed, dict) else {}
    form = parse_qs(body.decode("utf-8", "replace")) | parse_qs(environ.get("QUERY_STRING", ""))
    return {k: v[0] for k, v in form.items()}


def _call(moto: MotoCall, environ: dict[str, Any]) -> Answer:
    got: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(moto(environ, lambda status, headers, exc_info=None: got.append((status, list(headers)))))
    status, headers = got[-1]
    return status, headers, body


def _answer(start_response: Any, status: str, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "x-amz-crc32")]
    if len(kept) < len(headers) - 1:  # DynamoDB's checksum of the body, which botocore checks
        kept.append(("x-amz-crc32", str(zlib.crc32(body))))
    start_response(status, [*kept, ("Content-Length", str(len(body)))])
    return [body]


def _is_json(headers: list[tuple[str, str]]) -> bool:
    return any(k.lower() == "content-type" and "json" in v for k, v in headers)


def _refuse_queue_deleted_recently(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """SQS's refusal as AWS sends it: JSON clients read the query-compatible code from `x-amzn-query-error`."""
    code = "AWS.SimpleQueueService.QueueDeletedRecently"
    message = "You must wait 60 seconds after deleting a queue before you can create another with the same name."
    if not environ.get("HTTP_X_AMZ_TARGET"):
        return refuse(environ, start_response, Refusal(400, code, message), "sqs")
    body = json.dumps({"__type": "com.amazonaws.sqs#QueueDeletedRecently", "message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-query-error", f"{code};Sender"),
        ("Content-Length", str(len(body))),
    ]
    start_response("400 Bad Request", headers)
    return [body]
