"""The WSGI layer in front of moto: takes over Lambda Invoke and the HTTP APIs, passes the rest on, logs requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .activity import Activity
from .admission import host_allowed, host_refusal, refuse, without_cors
from .aws_requests import identify
from .credentials import Keys
from .deletion_windows import OPERATIONS as AFTER_DELETE
from .deletion_windows import DeletionWindows
from .fault_knobs import Faults
from .functions import split_arn
from .http_api import PATH_PREFIX, HttpApis, api_id_from_host
from .iam_limits import oversized_role_policy
from .invoke_api import handle_invoke
from .lambda_host import LambdaHost
from .request_log import RequestLog, ServedRequest
from .runtime_policy import refuse_blocked_runtime
from .signatures import check_signature

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

# Calls that may give the SQS poller work: the sandbox is not idle while one is being served.
_PRODUCERS = {
    ("sqs", "SendMessage"),
    ("sqs", "SendMessageBatch"),
    ("sqs", "ChangeMessageVisibility"),
    ("sqs", "ChangeMessageVisibilityBatch"),
    ("sns", "Publish"),
    ("sns", "PublishBatch"),
    ("lambda", "CreateEventSourceMapping"),
    ("lambda", "UpdateEventSourceMapping"),
}


# moto's DynamoDB is not thread-safe: served at the same time, two `ADD` updates or conditional writes of one item can
# lose one another (a join that never fills), which DynamoDB never does. Its requests are served one at a time.
_ONE_AT_A_TIME = {"dynamodb"}


@dataclass(frozen=True)
class Door:
    """Who the gateway lets in: requests whose Host is one of `hosts` (or a name under localhost) on `port`, signed
    with one of `keys`."""

    keys: Keys
    hosts: frozenset[str]
    port: int


class Gateway:
    """A WSGI app: `moto` serves whatever this layer does not take over itself; strangers are refused first."""

    def __init__(
        self, moto: WsgiApp, host: LambdaHost, apis: HttpApis, activity: Activity, requests: RequestLog, door: Door
    ) -> None:
        self._moto = moto
        self._host = host
        self._apis = apis
        self._activity = activity
        self._requests = requests
        self._door = door
        self.faults = Faults()
        self.deletion_windows = DeletionWindows()
        self._one_at_a_time = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.monotonic()
        statuses: list[int] = []

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        recording = without_cors(recording)
        service, operation = "unknown", environ.get("PATH_INFO", "")
        try:
            service, operation, result = self._serve(environ, recording)
        except Exception as error:
            body = json.dumps({"message": f"sandbox error: {type(error).__name__}: {error}"}).encode()
            if not statuses:
                recording(
                    "500 Internal Server Error",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                )
            result = [body]
        self._requests.add(
            ServedRequest(
                service, operation, statuses[-1] if statuses else 0, round((time.monotonic() - started) * 1000, 2)
            )
        )
        return result

    def _serve(self, environ: dict[str, Any], start_response: Any) -> tuple[str, str, Iterable[bytes]]:
        path = environ.get("PATH_INFO", "")
        host = environ.get("HTTP_HOST", "")
        if not host_allowed(host, self._door.hosts, self._door.port):
            return "refused", "Host", refuse(environ, start_response, host_refusal(host, self._door.hosts), "")
        api_id = api_id_from_host(environ.get("HTTP_HOST", ""))
        if api_id is not None and not self._apis.serves(api_id):
            api_id = None
        if api_id is None and path.startswith(PATH_PREFIX):
            api_id, _, rest = path[len(PATH_PREFIX) :].partition("/")
            path = "/" + rest
        if api_id:
            method = environ.get("REQUEST_METHOD", "GET")
            return "execute-api", f"{method} {path}", self._apis(environ, start_response, api_id, path)
        info = identify(environ)
        refusal = check_signature(environ, self._door.keys)
        if refusal is not None:
            return "refused", refusal.code, refuse(environ, start_response, refusal, info.service)
        if (info.service, info.operation) == ("iam", "PutRolePolicy"):
            refusal = oversized_role_policy(environ)
            if refusal is not None:
                return "iam", "PutRolePolicy", refuse(environ, start_response, refusal, "iam")
        faulted = self.faults.answer(info.service, info.operation, start_response, environ)
        if faulted is not None:
            return info.service, info.operation, faulted
        if (info.service, info.operation) in AFTER_DELETE:
            moto = self._moto_one_at_a_time if info.service in _ONE_AT_A_TIME else self._moto_whole
            return info.service, info.operation, self.deletion_windows.serve(environ, start_response, info, moto)
        if info.service == "lambda":
            result = handle_invoke(environ, start_response, self._host, info)
            if result is not None:
                return info.service, "Invoke", result
            result = refuse_blocked_runtime(environ, start_response, info)
            if result is not None:
                return info.service, info.operation, result
        if (info.service, info.operation) in _PRODUCERS:
            with self._activity.hold():
                body = self._moto_whole(environ, start_response)
            return info.service, info.operation, body
        if info.service in _ONE_AT_A_TIME:
            return info.service, info.operation, self._moto_one_at_a_time(environ, start_response)
        response = self._moto(environ, start_response)
        if (info.service, info.operation) == ("lambda", "DeleteFunction"):
            name = unquote(path.rstrip("/").rsplit("/", 1)[-1])
            region, _, name = split_arn(name, info.region, "")
            self._host.forget(region, name.partition(":")[0])
        return info.service, info.operation, response

    def _moto_one_at_a_time(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self._one_at_a_time:
            return self._moto_whole(environ, start_response)

    def _moto_whole(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """moto's whole response, read before returning (while a hold or a lock is kept)."""
        response = self._moto(environ, start_response)
        try:
            return list(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
