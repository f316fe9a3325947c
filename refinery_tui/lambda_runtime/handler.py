"""The deployed entry point: unwrap the event (a dispatch, a queue batch, a topic delivery, a schedule, an HTTP
request, or a message sent by hand) and hand its invocations to the runner."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from refinery_tui.runtime.engine import Context, Invocation
from refinery_tui.runtime.joins import merge_backpacks

from . import logline
from .function import MANIFEST, SELF
from .invocation import InvocationRunner
from .outbox import Outbox
from .store import Store

API_WAIT_S = 28.0


def new_execution_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:6]


class Runtime:
    """Serves one event: its invocations run here, at most once per dispatch id."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.store = Store.from_environment()
        outbox = Outbox(self.store, getattr(context, "invoked_function_arn", "") or "")
        self.runner = InvocationRunner(self.store, outbox, self.remaining_s)

    # -- entry points -------------------------------------------------------------------------------------

    def handle(self, event: Any) -> Any:
        if isinstance(event, dict) and event.get("refinery") == 1:
            message = self.store.unpack(event)
            if message.get("start"):
                return self.start(
                    message.get("input"), message.get("execution") or new_execution_id(), message.get("block") or SELF
                )
            self.runner.run(self.invocation_from(message), int(message.get("units", 1)))
            return {"ok": True}
        if isinstance(event, dict) and isinstance(event.get("Records"), list) and event["Records"]:
            first = event["Records"][0]
            if first.get("eventSource") == "aws:sqs":
                return self.from_queue(event["Records"])
            if first.get("EventSource") == "aws:sns":
                for record in event["Records"]:
                    self.from_topic(record)
                return {"ok": True}
        if isinstance(event, dict) and event.get("refinery_schedule"):
            return self.start(None, new_execution_id(), event["refinery_schedule"])
        if isinstance(event, dict) and "routeKey" in event and "requestContext" in event:
            return self.from_api(event)
        return self.start(event, new_execution_id(), SELF)

    def start(self, value: Any, execution: str, block: str) -> dict[str, Any]:
        """A new execution at `block` (this function's block, or a schedule / API endpoint it serves)."""
        if block not in MANIFEST.blocks:
            raise ValueError(f"'{block}' is not an entry this function serves")
        invocation = Invocation(f"{execution}.0", block, value, {}, Context(execution))
        if not self.store.start_execution(execution, block, time.time()):
            logline.write(
                "skipped",
                execution_id=execution,
                block=block,
                invocation_id=invocation.id,
                reason="this execution was started already",
            )
            return {"execution_id": execution, "skipped": True}
        logline.write("execution_started", execution_id=execution, block=block, **logline.value_fields("input", value))
        self.runner.run(invocation, 1)
        return {"execution_id": execution}

    def from_api(self, event: dict[str, Any]) -> dict[str, Any]:
        route_key = event.get("routeKey", "")
        endpoint = next(
            (
                name
                for name, block in MANIFEST.blocks.items()
                if block["type"] == "api_endpoint"
                and f"{(block.get('method') or 'GET').upper()} {block.get('path') or '/'}" == route_key
            ),
            None,
        )
        if endpoint is None:
            return {"statusCode": 404, "body": json.dumps({"message": f"no block serves {route_key}"})}
        request = dict(event)
        body = request.get("body")
        if request.get("isBase64Encoded") and isinstance(body, str):
            import base64

            request["body"] = base64.b64decode(body).decode("utf-8", "replace")
        execution = new_execution_id()
        self.start(request, execution, endpoint)
        deadline = time.time() + min(API_WAIT_S, self.remaining_s() - 1.0)
        delay = 0.02
        while time.time() < deadline:
            reply = self.store.get_reply(execution)
            if reply is not None:
                return _http_reply(reply, execution)
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)
        return {
            "statusCode": 504,
            "headers": {"content-type": "application/json", "x-refinery-execution": execution},
            "body": json.dumps(
                {"message": "the workflow gave no reply within the API's time limit", "execution_id": execution}
            ),
        }

    def from_queue(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        groups: dict[str, list[dict[str, Any]]] = {}
        ids: dict[str, list[str]] = {}
        for record in records:
            message = self.store.unpack(_json_or_text(record.get("body", "")))
            queued = message.get("queued") if isinstance(message, dict) and message.get("refinery") == 1 else None
            if queued is None:
                self.start_from(message)
                continue
            groups.setdefault(queued["execution"], []).append(queued)
            ids.setdefault(queued["execution"], []).append(record.get("messageId", ""))
        for execution, batch in groups.items():
            queue = batch[0]["queue"]
            via = next((t["index"] for t in MANIFEST.outgoing(queue) if t["to"] == SELF), None)
            digest = hashlib.sha1("/".join(sorted(ids[execution])).encode()).hexdigest()[:12]
            invocation = Invocation(
                f"{execution}.q{digest}",
                SELF,
                [m["value"] for m in batch],
                merge_backpacks([m["backpack"] for m in batch]),
                Context(execution, max(int(m["hops"]) for m in batch) + 1),
                parent=batch[-1]["source"],
                via=via,
            )
            logline.write(
                "transition",
                execution_id=execution,
                source=queue,
                target=SELF,
                type="then",
                transition=via,
                invocation_id=batch[-1]["source"],
                batch=len(batch),
            )
            self.runner.run(invocation, len(batch))
        return {"batchItemFailures": []}

    def from_topic(self, record: dict[str, Any]) -> None:
        message = self.store.unpack(_json_or_text(record["Sns"].get("Message", "")))
        ours = isinstance(message, dict) and message.get("refinery") == 1
        delivery = (message.get("deliveries") or {}).get(SELF) if ours else None
        if delivery is not None:
            self.runner.run(self.invocation_from(delivery), 1)
        elif not ours or message.get("start"):
            self.start_from(message)

    def start_from(self, message: Any) -> None:
        """A message sent or published by hand starts an execution: at the block a start envelope names, or at
        this block with the message as its input."""
        if isinstance(message, dict) and message.get("refinery") == 1 and message.get("start"):
            self.start(
                message.get("input"), message.get("execution") or new_execution_id(), message.get("block") or SELF
            )
        else:
            self.start(message, new_execution_id(), SELF)

    # -- one invocation -----------------------------------------------------------------------------------

    @staticmethod
    def invocation_from(message: dict[str, Any]) -> Invocation:
        return Invocation(
            message["id"],
            message["block"],
            message.get("input"),
            message.get("backpack") or {},
            Context.from_json(message["context"]),
            int(message.get("attempt", 0)),
            message.get("parent"),
            message.get("via"),
        )

    def remaining_s(self) -> float:
        remaining = getattr(self.context, "get_remaining_time_in_millis", None)
        return remaining() / 1000 if callable(remaining) else 900.0


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _http_reply(reply: dict[str, Any], execution: str) -> dict[str, Any]:
    headers = {
        "content-type": "application/json",
        **{str(k).lower(): str(v) for k, v in (reply.get("headers") or {}).items()},
    }
    headers["x-refinery-execution"] = execution
    body = reply.get("body")
    if not isinstance(body, str):
        body = json.dumps(body)
    return {"statusCode": int(reply.get("statusCode", 200)), "headers": headers, "body": body}


def handler(event: Any, context: Any) -> Any:
    return Runtime(context).handle(event)
