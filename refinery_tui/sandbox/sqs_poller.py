"""SQS event-source mappings: a poller that delivers queued messages to the mapped functions in batches."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.sqs.models import sqs_backends

from .activity import Activity
from .functions import FunctionNotFound, resolve
from .lambda_host import InvocationResult, LambdaHost

# Batching: a full batch (BatchSize messages) goes out as soon as it is waiting. A partial batch goes out when the
# sandbox is otherwise idle (no invocation queued or running, nothing being sent), or, when the mapping sets
# MaximumBatchingWindowInSeconds > 0, once its oldest message has waited that long. So the same sends always give
# the same batches. A batch whose invocation succeeds is deleted; one that fails stays, and comes back when its
# visibility timeout ends. With ReportBatchItemFailures on the mapping, only the messages the function reports
# (`batchItemFailures`) stay; without it, a reply naming failures counts as success, as on AWS.
# Redelivery is regrouped, as SQS does (a standard queue promises no order and no grouping): the messages of a
# failed batch come back first, in reverse order, in batches one message smaller than the one they failed in
# (at least one), so code that recognises a batch by its messages sees new batches.

FALLBACK_POLL_S = 1.0


class SqsPoller:
    """Wakes on every change of the sandbox's activity (a send, an invocation ending), and once a second anyway."""

    def __init__(self, host: LambdaHost, activity: Activity) -> None:
        self._host = host
        self._activity = activity
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="sandbox-sqs")
        self._failed: dict[str, int] = {}  # message id -> the size of the batch it failed in
        self._failed_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._activity.poke()
        self._thread.join(timeout=5)

    def has_waiting(self) -> bool:
        """Is a message waiting in a queue that an enabled mapping delivers from (visible, or failed and coming
        back when its visibility timeout ends)?"""
        mapped = _mapped_queues()
        if any(queue.messages for _, queue, _ in mapped):
            return True
        with self._failed_lock:
            if not self._failed:
                return False
            present = {message.id for _, queue, _ in mapped for message in list(queue._messages)}
            for message_id in [m for m in self._failed if m not in present]:
                del self._failed[message_id]
            return bool(self._failed)

    def _loop(self) -> None:
        seen = self._activity.generation
        while not self._stopped.is_set():
            try:
                deadline = self._poll()
            except Exception:
                deadline = None
            wait = FALLBACK_POLL_S if deadline is None else min(FALLBACK_POLL_S, max(deadline - time.time(), 0.01))
            seen = self._activity.wait_for_change(seen, wait)

    def _poll(self) -> float | None:
        """Deliver what the batching rule allows; return when a batching window ends next, if one is open."""
        next_deadline = None
        for mapping, queue, backend in _mapped_queues():
            if self._stopped.is_set():
                return None
            size = int(mapping.batch_size)
            while len(queue.messages) >= size:
                if self._deliver(mapping, queue, backend, size) < size:
                    break
            waiting = queue.messages
            if not waiting:
                continue
            window = int(mapping.max_batch_window or 0)
            if window > 0:
                deadline = min(int(m.sent_timestamp or 0) for m in waiting) / 1000 + window
                if time.time() < deadline:
                    next_deadline = deadline if next_deadline is None else min(next_deadline, deadline)
                    continue
            elif not self._activity.quiet:
                continue
            self._deliver(mapping, queue, backend, len(waiting))
        return next_deadline

    def _regroup(self, queue: Any, count: int) -> int:
        """Failed messages visible again go first, reversed, in a batch smaller than the one they failed in: how
        many messages the next batch takes."""
        if queue.fifo_queue:
            return count
        with self._failed_lock:
            back = [m for m in queue.messages if m.id in self._failed]
            if not back:
                return count
            smaller = max(1, min(self._failed[m.id] for m in back) - 1)
            with queue._messages_lock:
                queue._messages[:] = list(reversed(back)) + [m for m in queue._messages if m not in back]
        return min(count, smaller, len(back))

    def _deliver(self, mapping: Any, queue: Any, backend: Any, count: int) -> int:
        try:
            spec, invoked_arn = resolve(mapping.function_arn, None, mapping.region, mapping.account_id)
        except FunctionNotFound:
            return 0
        with self._activity.hold():
            messages = backend.receive_message(
                queue.name,
                self._regroup(queue, count),
                0,
                int(queue.visibility_timeout or 30),
                message_attribute_names=["All"],
            )
            if not messages:
                return 0
            event = {"Records": [_record(message, queue) for message in messages]}
            report_failures = "ReportBatchItemFailures" in (mapping.function_response_types or [])

            with self._failed_lock:
                for message in messages:
                    self._failed.pop(message.id, None)

            def done(result: InvocationResult) -> None:
                succeeded = _succeeded(messages, result, report_failures)
                for message in succeeded:
                    try:
                        backend.delete_message(queue.name, message.receipt_handle)
                    except Exception:
                        pass
                with self._failed_lock:
                    for message in messages:
                        if message not in succeeded:
                            self._failed[message.id] = len(messages)

            self._host.submit(spec, event, invoked_arn=invoked_arn, on_done=done)
        return len(messages)


def _mapped_queues() -> list[tuple[Any, Any, Any]]:
    found = []
    for regions in list(lambda_backends.values()):
        for lambda_backend in list(regions.values()):
            for mapping in list(lambda_backend.list_event_source_mappings(None, None)):
                arn = mapping.event_source_arn.split(":")
                if not mapping.enabled or len(arn) != 6 or arn[2] != "sqs":
                    continue
                backend = sqs_backends[arn[4]][arn[3]]
                queue = backend.queues.get(arn[5])
                if queue is not None:
                    found.append((mapping, queue, backend))
    return found


def _succeeded(messages: list[Any], result: InvocationResult, report_failures: bool) -> list[Any]:
    if result.failed:
        return []
    if not report_failures:
        return messages
    try:
        reply = json.loads(result.payload or b"null")
        failures = {item["itemIdentifier"] for item in (reply or {}).get("batchItemFailures") or []}
    except (ValueError, TypeError, KeyError, AttributeError):
        return []
    return [message for message in messages if message.id not in failures]


def _record(message: Any, queue: Any) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        attributes.update(
            {
                "MessageGroupId": message.group_id,
                "MessageDeduplicationId": message.deduplication_id,
                "SequenceNumber": message.sequence_number,
            }
        )
    message_attributes = {name: _attribute(value) for name, value in (message.message_attributes or {}).items()}
    record = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if value.get("StringValue") is not None:
        shaped["stringValue"] = value["StringValue"]
    binary = value.get("BinaryValue")
    if binary is not None:
        shaped["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    return shaped
