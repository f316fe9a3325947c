"""Start a deployed execution at any entry: invoke its function, call its API route, send to its queue, or publish
to its topic; the execution id comes back at once."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.executions import Executions, new_execution_id

SANDBOX_APIS = "/_sandbox/apis/"
ENTRY_TYPES = ("code", "schedule", "api_endpoint", "queue", "topic")


class InvokeError(Exception):
    """The execution could not be started (no such block, nothing deployed, the entry function failed)."""


@dataclass
class Started:
    execution_id: str
    block: str
    how: str
    reply: dict[str, Any] | None = None


def entry_points(manifest: dict[str, Any]) -> list[str]:
    """Blocks an execution can start at: the entry blocks, then every queue and topic."""
    entries = list(manifest.get("entries", []))
    for name, block in manifest["blocks"].items():
        if block["type"] in ("queue", "topic") and name not in entries:
            entries.append(name)
    return entries


def default_how(block_type: str) -> str:
    return {"api_endpoint": "api", "queue": "queue", "topic": "topic"}.get(block_type, "invoke")


class Invoker:
    def __init__(self, aws: Aws, placement: Placement) -> None:
        self.aws = aws
        self.placement = placement
        self.executions = Executions(aws, placement)

    def start(
        self, block: str, value: Any, how: str | None = None, sync: bool = False, execution_id: str | None = None
    ) -> Started:
        blocks = self.placement.manifest["blocks"]
        if block not in blocks:
            raise InvokeError(
                f"there is no block named '{block}' (entry points: {', '.join(entry_points(self.placement.manifest))})"
            )
        kind = blocks[block]["type"]
        how = how or default_how(kind)
        execution_id = execution_id or new_execution_id()
        try:
            if how == "api":
                return self._api(block, value)
            if how == "queue":
                return self._queue(block, value, execution_id)
            if how == "topic":
                return self._topic(block, value, execution_id)
            return Started(self.executions.start(block, value, execution_id, wait_for_start=sync), block, "invoke")
        except KeyError as exc:
            raise InvokeError(str(exc).strip("'\"")) from None
        except RuntimeError as exc:
            raise InvokeError(str(exc)) from None

    def _envelope(self, block: str, value: Any, execution_id: str) -> str:
        return json.dumps({"refinery": 1, "start": True, "execution": execution_id, "block": block, "input": value})

    def _queue(self, block: str, value: Any, execution_id: str) -> Started:
        sqs = self.aws.client("sqs")
        url = sqs.get_queue_url(QueueName=self.placement.names.queue(block))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=self._envelope(block, value, execution_id))
        return Started(execution_id, block, "queue")

    def _topic(self, block: str, value: Any, execution_id: str) -> Started:
        arn = self.placement.arn("sns", self.placement.names.topic(block))
        self.aws.client("sns").publish(TopicArn=arn, Message=self._envelope(block, value, execution_id))
        return Started(execution_id, block, "topic")

    def api_base(self) -> str:
        gateway = self.aws.client("apigatewayv2")
        api = next((a for a in gateway.get_apis().get("Items", []) if a["Name"] == self.placement.names.api()), None)
        if api is None:
            raise InvokeError("the stage has no HTTP API deployed (deploy it first)")
        endpoint = self.aws.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return endpoint.rstrip("/") + SANDBOX_APIS + api["ApiId"]
        return api["ApiEndpoint"].rstrip("/")

    def _api(self, block: str, value: Any) -> Started:
        entry = self.placement.manifest["blocks"][block]
        method = (entry.get("method") or "GET").upper()
        body = value.get("body") if isinstance(value, dict) and "body" in value else value
        data = (
            None
            if method in ("GET", "HEAD") or body is None
            else (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        )
        request = urllib.request.Request(
            self.api_base() + (entry.get("path") or "/"),
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=35) as response:
                status, headers, text = response.status, response.headers, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, headers, text = exc.code, exc.headers, exc.read().decode("utf-8", "replace")
        except OSError as exc:
            raise InvokeError(f"the API did not answer: {exc}") from None
        try:
            parsed: Any = json.loads(text)
        except json.JSONDecodeError:
            parsed = text
        execution_id = headers.get("x-refinery-execution") or ""
        return Started(execution_id, block, "api", {"statusCode": status, "body": parsed})
