"""The deployed entry point: unwrap the event (a dispatch, a queue batch, a topic delivery, a schedule, an HTTP
request, or a message sent by hand) and hand its invocations to the runner."""

from __future__ import annotations

import hashlib
import json
import os
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

# API Gateway gives up on an integration 29 s after the request reached it (a cold start counts), and its caller
# gets a bare 503: the function answers first, leaving this margin.
API_TIMEOUT_MS = 29_000
API_REPLY_MARGIN_S = 4.0


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
        deadline = min(reply_deadline(event), time.time() + self.remaining_s() - 1.0)
        delay = 0.02
        while time.time() < deadline:
            reply = self.store.get_reply(execution)
            if reply is not None:
                return _http_reply(reply, execution)
            time.sleep(max(0.0, min(delay, deadline - time.time())))
            delay = min(delay * 1.5, 0.25)
        return still_running(execution)

    def from_queue(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """A batch of queue messages, each claimed by its own id: SQS redelivers a failed batch grouped differently,
        so a message already run is skipped whatever batch it comes back in. The messages that failed are reported
        (ReportBatchItemFailures), so only they come back."""
        failed: list[str] = []
        groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for record in records:
            message_id = record.get("messageId", "")
            try:
                message = self.store.unpack(_json_or_text(record.get("body", "")))
                queued = message.get("queued") if isinstance(message, dict) and message.get("refinery") == 1 else None
                if queued is None:
                    self.start_from(message, _message_execution_id(record))
                    continue
            except Exception as error:  # noqa: BLE001 - the message comes back; the others go on
                _message_failed(message_id, error)
                failed.append(message_id)
                continue
            groups.setdefault(queued["execution"], []).append((message_id, queued))
        for execution, batch in groups.items():
            claimed: list[tuple[str, dict[str, Any]]] = []
            try:
                for message_id, queued in batch:
                    try:
                        if self.store.claim(execution, message_claim_id(queued), SELF):
                            claimed.append((message_id, queued))
                        else:
                            logline.write(
                                "skipped",
                                execution_id=execution,
                                block=SELF,
                                invocation_id=queued["source"],
                                reason="this queue message ran already (a redelivered message)",
                            )
                    except Exception as error:  # noqa: BLE001 - this message comes back; the others go on
                        _message_failed(message_id, error)
                        failed.append(message_id)
                if claimed:
                    self.run_batch(execution, [queued for _, queued in claimed])
            except Exception as error:  # noqa: BLE001 - reported: SQS delivers them again, their claims skip them
                for message_id, _ in claimed:
                    _message_failed(message_id, error)
                    failed.append(message_id)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def run_batch(self, execution: str, batch: list[dict[str, Any]]) -> None:
        """One invocation of this block with a batch of one execution's queued messages."""
        queue = batch[0]["queue"]
        via = next((t["index"] for t in MANIFEST.outgoing(queue) if t["to"] == SELF), None)
        digest = hashlib.sha1("/".join(sorted(message_claim_id(m) for m in batch)).encode()).hexdigest()[:12]
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

    def from_topic(self, record: dict[str, Any]) -> None:
        message = self.store.unpack(_json_or_text(record["Sns"].get("Message", "")))
        ours = isinstance(message, dict) and message.get("refinery") == 1
        delivery = (message.get("deliveries") or {}).get(SELF) if ours else None
        if delivery is not None:
            self.runner.run(self.invocation_from(delivery), 1)
        elif not ours or message.get("start"):
            self.start_from(message)

    def start_from(self, message: Any, execution: str | None = None) -> None:
        """A message sent or published by hand starts an execution: at the block a start envelope names, or at
        this block with the message as its input. A queue message names its execution after itself, so a
        redelivery does not start it twice."""
        execution = execution or new_execution_id()
        if isinstance(message, dict) and message.get("refinery") == 1 and message.get("start"):
            self.start(message.get("input"), message.get("execution") or execution, message.get("block") or SELF)
        else:
            self.start(message, execution, SELF)

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


def reply_deadline(event: dict[str, Any]) -> float:
    """When the function must answer an HTTP request: before the API's integration timeout, counted from when the
    request reached API Gateway (`requestContext.timeEpoch`). REFINERY_API_TIMEOUT_MS says the integration's
    timeout when it is not the deployed 29 s."""
    limit_s = float(os.environ.get("REFINERY_API_TIMEOUT_MS") or API_TIMEOUT_MS) / 1000
    received = (event.get("requestContext") or {}).get("timeEpoch")
    received_s = received / 1000 if isinstance(received, (int, float)) else time.time()
    return min(received_s, time.time()) + limit_s - min(API_REPLY_MARGIN_S, limit_s / 4)


def still_running(execution: str) -> dict[str, Any]:
    """The answer when the workflow's reply has not come in time: accepted, with the execution id to follow."""
    return {
        "statusCode": 202,
        "headers": {"content-type": "application/json", "x-refinery-execution": execution},
        "body": json.dumps(
            {
                "message": "the workflow is still running: its reply did not come within the API's time limit",
                "execution_id": execution,
                "follow": f"refinery-tui logs PROJECT --execution {execution} --follow",
            }
        ),
    }


def message_claim_id(queued: dict[str, Any]) -> str:
    """The id that claims one queued message's work for this block: the queue step that sent it, and this block
    (a queue with two consumers delivers each message to both)."""
    return f"{queued['source']}>{SELF}"


def _message_execution_id(record: dict[str, Any]) -> str:
    """An execution id made from a queue message: its send time and its message id (the same on redelivery)."""
    sent = int(record.get("attributes", {}).get("SentTimestamp") or 0) / 1000 or time.time()
    digest = hashlib.sha1(str(record.get("messageId", "")).encode()).hexdigest()[:6]
    return time.strftime("%Y%m%d-%H%M%S-", time.gmtime(sent)) + digest


def _message_failed(message_id: str, error: BaseException) -> None:
    logline.write("message_failed", message_id=message_id, error=f"{type(error).__name__}: {error}")


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
