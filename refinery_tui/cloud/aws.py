"""boto3 clients from the standard configuration (profile, region, AWS_ENDPOINT_URL), with a log of every call."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

READ_PREFIXES = ("Get", "List", "Describe", "Head")
# How much longer than a function's timeout a synchronous Invoke waits for its reply (cold start, the network).
INVOKE_READ_MARGIN = 30


@dataclass
class Call:
    service: str
    operation: str
    ok: bool
    ms: float
    error: str = ""
    target: str = ""

    @property
    def is_write(self) -> bool:
        return not self.operation.startswith(READ_PREFIXES)

    def line(self) -> str:
        state = "ok" if self.ok else f"error: {self.error}"
        target = f" {self.target}" if self.target else ""
        return f"{self.service} {self.operation}{target} ({self.ms:.0f} ms) {state}"


@dataclass
class CallLog:
    """The AWS calls made, in order (the workbench shows it like lazygit's command log)."""

    calls: list[Call] = field(default_factory=list)
    listeners: list[Callable[[Call], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)
        for listener in list(self.listeners):
            listener(call)

    def writes(self) -> list[Call]:
        return [call for call in self.calls if call.is_write]

    def count(self, operation: str) -> int:
        return sum(1 for call in self.calls if call.operation == operation)


_loader_lock = threading.Lock()
_loader = None


def _shared_loader():
    """One loader of AWS's service models for every session: loading them costs tens of ms per client."""
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
        return _loader


_TARGET_KEYS = (
    "FunctionName",
    "RoleName",
    "QueueUrl",
    "QueueName",
    "TopicArn",
    "Name",
    "Bucket",
    "TableName",
    "ApiId",
    "Rule",
    "logGroupName",
    "UUID",
    "SubscriptionArn",
    "ResourceArn",
    "Resource",
)


class Aws:
    """One AWS target: a boto3 session and clients that record their calls. `fault` may raise before a call
    (tests inject failures through it)."""

    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        log: CallLog | None = None,
    ) -> None:
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())
        self.session = boto3.Session(botocore_session=core, profile_name=profile, region_name=region)
        self.region = self.session.region_name or "us-east-1"
        self.endpoint_url = endpoint_url
        self.log = log or CallLog()
        self.fault: Callable[[str, str, dict[str, Any]], None] | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._account: str | None = None

    def client(self, service: str, attempts: int = 8):
        """The service's client; `attempts` below 8 gives a separate one for callers that back off themselves."""
        key = service if attempts == 8 else f"{service}/{attempts}"
        with self._lock:
            if key not in self._clients:
                # Adaptive mode's client-side rate limiter would stall a caller that backs off by itself.
                mode = "adaptive" if attempts == 8 else "standard"
                self._clients[key] = self._new_client(service, Config(retries={"max_attempts": attempts, "mode": mode}))
            return self._clients[key]

    def invoke_client(self, function_timeout: int):
        """A Lambda client for Invoke of a function that may run `function_timeout` seconds: it waits for the reply
        longer than that (botocore's default 60 s would give up on a longer run) and never retries, since a retried
        Invoke is a second invocation."""
        key = f"lambda-invoke-{function_timeout}"
        with self._lock:
            if key not in self._clients:
                config = Config(retries={"total_max_attempts": 1}, read_timeout=function_timeout + INVOKE_READ_MARGIN)
                self._clients[key] = self._new_client("lambda", config)
            return self._clients[key]

    def _new_client(self, service: str, config: Config):
        # Host prefixes (StartLiveTail's `stream-`) route real AWS calls; a custom endpoint has none.
        direct = not (self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL"))
        config = Config(max_pool_connections=32, inject_host_prefix=direct, connect_timeout=5).merge(config)
        client = self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url, config=config)
        client.meta.events.register("provide-client-params.*.*", self._before)
        client.meta.events.register("after-call.*.*", self._after)
        client.meta.events.register("after-call-error.*.*", self._after_error)
        return client

    _local = threading.local()

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        if self.fault is not None:
            self.fault(service, model.name, params)
        context["refinery_started"] = time.perf_counter()
        context["refinery_operation"] = (service, model.name)
        context["refinery_target"] = next((str(params[k]) for k in _TARGET_KEYS if k in params), "")

    def _record(self, context: dict[str, Any], ok: bool, error: str) -> None:
        started = context.get("refinery_started", time.perf_counter())
        service, operation = context.get("refinery_operation", ("?", "?"))
        self.log.add(
            Call(
                service,
                operation,
                ok,
                (time.perf_counter() - started) * 1000,
                error,
                context.get("refinery_target", ""),
            )
        )

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        error = parsed.get("Error", {}).get("Code", "") if isinstance(parsed, dict) else ""
        self._record(context, not error, error)

    def _after_error(self, exception: Exception, context: dict[str, Any], **_: Any) -> None:
        self._record(context, False, type(exception).__name__)

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account

    @property
    def partition(self) -> str:
        return (
            self.session.get_partition_for_region(self.region)
            if hasattr(self.session, "get_partition_for_region")
            else "aws"
        )

    def describe(self) -> str:
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        return f"{endpoint} ({self.region})" if endpoint else f"AWS {self.region}"
