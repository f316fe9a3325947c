"""The deployed entry point: unwrap the event, run the block at most once per dispatch id, route, record, dispatch."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from refinery_tui.runtime import blockload, resources
from refinery_tui.runtime.engine import Context, Invocation, Manifest, Outcome, route
from refinery_tui.runtime.joins import merge_backpacks

from . import logline
from .store import DuplicateSlot, Store

ROOT = os.environ.get("LAMBDA_TASK_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_WAIT_S = 28.0


def _load_manifest() -> dict[str, Any]:
    with open(os.path.join(ROOT, "manifest.json"), encoding="utf-8") as handle:
        return json.load(handle)


DATA = _load_manifest()
MANIFEST = Manifest(DATA)
SELF: str = DATA["self"]
_clients: dict[str, Any] = {}
_queue_urls: dict[str, str] = {}


def _client(name: str):
    if name not in _clients:
        import boto3

        _clients[name] = boto3.client(name)
    return _clients[name]


def new_execution_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:6]


def child_ids(parent: str, execution: str):
    """Ids of what an invocation dispatches: derived from its own id, so a re-run makes the same ids."""
    count = 0

    def new_id() -> str:
        nonlocal count
        count += 1
        digest = hashlib.sha1(f"{parent}/{count}".encode()).hexdigest()[:12]
        return f"{execution}.{digest}"

    return new_id


@dataclass
class Send:
    """One message leaving this function, holding `units` of the execution's in-flight count."""

    kind: str  # "invoke" | "sqs" | "sns"
    target: str
    message: dict[str, Any]
    key: str
    units: int


@dataclass
class Step:
    """What one invocation leaves behind: sends, and the records to write before the counter moves."""

    sends: list[Send] = field(default_factory=list)
    failures: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class Runtime:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.store = Store.from_environment()
        arn = getattr(context, "invoked_function_arn", "") or ""
        parts = arn.split(":")
        self.partition, self.region, self.account = (
            (parts[1], parts[3], parts[4])
            if len(parts) > 5
            else ("aws", os.environ.get("AWS_REGION", "us-east-1"), "000000000000")
        )

    # -- entry points -------------------------------------------------------------------------------------

    def handle(self, event: Any) -> Any:
        if isinstance(event, dict) and event.get("refinery") == 1:
            message = self.store.unpack(event)
            if message.get("start"):
                return self.start(
                    message.get("input"), message.get("execution") or new_execution_id(), message.get("block") or SELF
                )
            self.run(self.invocation_from(message), int(message.get("units", 1)))
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
        self.run(invocation, 1)
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
            self.run(invocation, len(batch))
        return {"batchItemFailures": []}

    def from_topic(self, record: dict[str, Any]) -> None:
        message = self.store.unpack(_json_or_text(record["Sns"].get("Message", "")))
        ours = isinstance(message, dict) and message.get("refinery") == 1
        delivery = (message.get("deliveries") or {}).get(SELF) if ours else None
        if delivery is not None:
            self.run(self.invocation_from(delivery), 1)
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

    def run(self, invocation: Invocation, units: int) -> None:
        execution = invocation.context.execution_id
        if not self.store.claim(execution, invocation.id, invocation.block):
            logline.write(
                "skipped",
                execution_id=execution,
                block=invocation.block,
                invocation_id=invocation.id,
                reason="this dispatch ran already (a redelivered event)",
            )
            return
        block = MANIFEST.blocks[invocation.block]
        step = Step()
        if block["type"] == "code":
            outcome = self.call(invocation, block)
            self.after(invocation, outcome, step, started=self._started)
        else:
            self.resource(invocation, step)
        for invocation_id, failure in step.failures:
            self.store.put_failure(execution, invocation_id, failure)
        left = self.store.add_inflight(execution, sum(send.units for send in step.sends) - units)
        for send in step.sends:
            self.send(send)
        if left == 0:
            status = self.store.finish(execution)
            if status is not None:
                logline.write("execution_finished", execution_id=execution, status=status)

    def call(self, invocation: Invocation, block: dict[str, Any]) -> Outcome:
        self._started = time.time()
        logline.write(
            "start",
            execution_id=invocation.context.execution_id,
            block=invocation.block,
            invocation_id=invocation.id,
            parent=invocation.parent,
            via=invocation.via,
            attempt=invocation.attempt,
            place=[f.index for f in invocation.context.frames],
            frames=[f.to_json() for f in invocation.context.frames],
            **logline.value_fields("input", invocation.input),
            **logline.value_fields("backpack", invocation.backpack),
        )
        timeout = min(float(block.get("timeout", 30)), max(0.1, self.remaining_s() - 3.0))
        env = {str(k): str(v) for k, v in (block.get("env") or {}).items()}
        os.environ.update(env)
        result = blockload.call_with_deadline(
            os.path.join(ROOT, block["file"]), invocation.input, invocation.backpack, timeout
        )
        if result["ok"]:
            return Outcome.success(result["output"], result["backpack"])
        return Outcome(False, error=result["error"])

    def resource(self, invocation: Invocation, step: Step) -> None:
        """A resource block reached by a dispatch (or an entry event) runs here, inline."""
        block = MANIFEST.blocks[invocation.block]
        self._started = time.time()
        value = resources.resource_output(block, invocation.input)
        logline.write(
            "start",
            execution_id=invocation.context.execution_id,
            block=invocation.block,
            invocation_id=invocation.id,
            parent=invocation.parent,
            via=invocation.via,
            attempt=0,
            place=[f.index for f in invocation.context.frames],
            frames=[f.to_json() for f in invocation.context.frames],
            **logline.value_fields("input", invocation.input),
            **logline.value_fields("backpack", invocation.backpack),
        )
        if block["type"] == "queue":
            consumers = [t for t in MANIFEST.outgoing(invocation.block) if t["type"] == "then"]
            self.end(invocation, Outcome.success(value, invocation.backpack), final=False)
            message = {
                "refinery": 1,
                "queued": {
                    "queue": invocation.block,
                    "execution": invocation.context.execution_id,
                    "value": value,
                    "backpack": invocation.backpack,
                    "hops": invocation.context.hops,
                    "source": invocation.id,
                },
            }
            step.sends.append(Send("sqs", invocation.block, message, self.key(invocation), 1 if consumers else 0))
            return
        outcome = Outcome.success(value, invocation.backpack)
        if block["type"] == "api_response":
            self.store.put_reply(invocation.context.execution_id, value)
        self.after(invocation, outcome, step, started=self._started)

    def after(self, invocation: Invocation, outcome: Outcome, step: Step, started: float) -> None:
        """Route the outcome and turn it into records and sends."""
        execution = invocation.context.execution_id
        routing = route(MANIFEST, invocation, outcome, child_ids(invocation.id, execution))
        final = routing.final and routing.outcome.ok
        self.end(invocation, routing.outcome, final=final, started=started)
        children: list[Invocation] = []
        if routing.retry is not None:
            logline.write(
                "retrying",
                execution_id=execution,
                block=invocation.block,
                invocation_id=invocation.id,
                attempt=routing.retry.attempt,
            )
            children.append(routing.retry)
        for index, target in routing.taken:
            kind = "on_exception" if index < 0 else MANIFEST.transitions[index]["type"]
            logline.write(
                "transition",
                execution_id=execution,
                source=invocation.block,
                target=target,
                type=kind,
                transition=index,
                invocation_id=invocation.id,
            )
        children.extend(routing.dispatches)
        release_ids = child_ids(invocation.id + "/join", execution)
        for arrival in routing.arrivals:
            record = {"value": arrival.value, "backpack": arrival.backpack, "source": arrival.source}
            try:
                release = self.store.arrive(
                    execution,
                    arrival.key,
                    arrival.kind,
                    arrival.target,
                    arrival.slot,
                    arrival.size,
                    record,
                    arrival.context.to_json(),
                )
            except DuplicateSlot:
                what = f"item {arrival.slot}" if arrival.kind == "fan-in" else f"merge source #{arrival.slot + 1}"
                error = {
                    "type": "JoinError",
                    "message": f"{what} reached the {arrival.kind} into '{arrival.target}' twice",
                    "traceback": "",
                }
                step.failures.append((invocation.id, _failure(invocation, error)))
                continue
            if release is not None:
                children.append(
                    Invocation(
                        release_ids(),
                        release.target,
                        release.values,
                        merge_backpacks(release.backpacks),
                        Context.from_json(release.context),
                        parent=invocation.id,
                        via=arrival.via,
                    )
                )
        if routing.failure is not None:
            step.failures.append((invocation.id, routing.failure))
            logline.write(
                "execution_failing",
                execution_id=execution,
                block=routing.failure["block"],
                invocation_id=invocation.id,
                error=routing.failure["error"],
            )
        if final:
            self.store.put_output(
                execution,
                invocation.id,
                {
                    "block": invocation.block,
                    "output": routing.outcome.output,
                    "backpack": routing.outcome.backpack or {},
                    "place": [f.index for f in invocation.context.frames],
                    "seq": time.time_ns(),
                },
            )
        for child in children:
            target = MANIFEST.blocks[child.block]
            if target["type"] == "code":
                step.sends.append(Send("invoke", child.block, _envelope(child), self.key(child), 1))
            else:
                self.inline(child, step)

    def inline(self, invocation: Invocation, step: Step) -> None:
        """A dispatch to a queue, topic or API response: done here; a topic's deliveries go out as one publish."""
        inner = Step()
        self.resource(invocation, inner)
        step.failures.extend(inner.failures)
        deliveries = {s.target: s.message for s in inner.sends if s.kind == "invoke"}
        step.sends.extend(s for s in inner.sends if s.kind != "invoke")
        if deliveries:
            message = {"refinery": 1, "topic": invocation.block, "deliveries": deliveries}
            step.sends.append(Send("sns", invocation.block, message, self.key(invocation), len(deliveries)))

    def end(self, invocation: Invocation, outcome: Outcome, final: bool, started: float | None = None) -> None:
        began = started if started is not None else self._started
        fields: dict[str, Any] = {}
        if outcome.ok:
            fields.update(logline.value_fields("output", outcome.output))
            fields["output_preview"] = logline.preview(outcome.output)
            fields.update(logline.value_fields("backpack_after", outcome.backpack or {}))
        else:
            fields["error"] = outcome.error
        logline.write(
            "end",
            execution_id=invocation.context.execution_id,
            block=invocation.block,
            invocation_id=invocation.id,
            status="succeeded" if outcome.ok else "failed",
            final=final,
            duration_ms=round((time.time() - began) * 1000, 3),
            attempt=invocation.attempt,
            **fields,
        )

    # -- leaving this function ----------------------------------------------------------------------------

    def key(self, invocation: Invocation) -> str:
        return f"payloads/{invocation.context.execution_id}/{invocation.id}.json"

    def send(self, send: Send) -> None:
        names = DATA["resources"][send.target]
        payload = self.store.pack(send.message, send.key)
        if send.kind == "invoke":
            _client("lambda").invoke(
                FunctionName=names["function"], InvocationType="Event", Payload=payload.encode("utf-8")
            )
        elif send.kind == "sqs":
            name = names["queue"]
            if name not in _queue_urls:
                _queue_urls[name] = _client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
            _client("sqs").send_message(QueueUrl=_queue_urls[name], MessageBody=payload)
        else:
            arn = f"arn:{self.partition}:sns:{self.region}:{self.account}:{names['topic']}"
            _client("sns").publish(TopicArn=arn, Message=payload)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _envelope(invocation: Invocation) -> dict[str, Any]:
    return {
        "refinery": 1,
        "id": invocation.id,
        "block": invocation.block,
        "input": invocation.input,
        "backpack": invocation.backpack,
        "context": invocation.context.to_json(),
        "attempt": invocation.attempt,
        "parent": invocation.parent,
        "via": invocation.via,
        "units": 1,
    }


def _failure(invocation: Invocation, error: dict[str, Any]) -> dict[str, Any]:
    return {
        "block": invocation.block,
        "invocation": invocation.id,
        "error": error,
        "frames": [f.to_json() for f in invocation.context.frames],
    }


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
