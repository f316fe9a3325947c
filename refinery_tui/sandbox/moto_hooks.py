"""Hooks into moto's internals so that the Lambda deliveries moto would make itself are made by the sandbox."""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

# Checked against moto 5.2.5 (the version pinned in pyproject.toml); installing refuses to run if the hooked names
# have moved. What moto does there without Docker, and what each hook does instead:
#
# - SQS event-source mappings: `Queue.add_message` (moto/sqs/models.py) walks `queue.lambda_event_source_mappings`
#   on every SendMessage and, inside the sender's request, receives up to BatchSize messages and invokes the function
#   once per message (through Docker, which fails). The hook makes that attribute a property that reads as empty
#   while a sandbox is active, so moto never touches the queue; the mappings stay in the Lambda backend, where the
#   sandbox's SQS poller reads them.
# - SNS to Lambda: `Subscription.publish` (moto/sns/models.py) calls `LambdaBackend.send_sns_message`, which invokes
#   the function with a fixed example event. The hook takes over `lambda` subscriptions (after moto's own filter
#   policy and message-structure handling) and hands the real message to the sandbox.
# - Anything else moto invokes in-process (S3 notifications, Kinesis and DynamoDB streams, Secrets Manager rotation)
#   ends in `LambdaFunction.invoke`; the hook runs the function in the sandbox's Lambda host, synchronously.
#
# - CloudWatch Logs live tail: `LogsBackend._find_log_group` (moto/logs/models.py), when given an ARN (as
#   StartLiveTail does), walks every group without stopping at the match and returns the last group. The fix
#   returns the group whose ARN (with or without the trailing `:*`) matches.
#
# Moto's state is global to the process, so the hooks are too: they route to the most recently started sandbox and
# fall back to moto's own behaviour when none is running.
MOTO_VERSION_CHECKED = "5.2.5"


class Deliveries(Protocol):
    """What the hooks hand their work to."""

    def deliver_sns(
        self,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None,
    ) -> None: ...

    def invoke_for_moto(self, function: Any, event: Any) -> tuple[bytes, bool]: ...


_active: list[Deliveries] = []
_lock = threading.Lock()
_installed = False


def activate(target: Deliveries) -> None:
    with _lock:
        _install()
        _active.append(target)


def deactivate(target: Deliveries) -> None:
    with _lock:
        if target in _active:
            _active.remove(target)


def active() -> bool:
    """Is a sandbox taking moto's deliveries now?"""
    return bool(_active)


def _current() -> Deliveries | None:
    return _active[-1] if _active else None


def _install() -> None:
    global _installed
    if _installed:
        return
    from moto.awslambda.models import LambdaFunction
    from moto.logs.models import LogsBackend
    from moto.sns.models import Subscription
    from moto.sqs.models import Queue

    for owner, name in (
        (Subscription, "publish"),
        (Subscription, "_parse_message_structure"),
        (LambdaFunction, "invoke"),
        (Queue, "add_message"),
        (LogsBackend, "_find_log_group"),
    ):
        if not hasattr(owner, name):
            raise RuntimeError(
                f"moto changed: {owner.__name__}.{name} is gone (the sandbox's hooks were checked "
                f"on moto {MOTO_VERSION_CHECKED})"
            )

    def get_mappings(queue: Any) -> dict[str, Any]:
        if _current() is not None:
            return {}
        return queue.__dict__.setdefault("lambda_event_source_mappings", {})

    def set_mappings(queue: Any, value: dict[str, Any]) -> None:
        queue.__dict__["lambda_event_source_mappings"] = value

    Queue.lambda_event_source_mappings = property(get_mappings, set_mappings)

    moto_publish = Subscription.publish

    def publish(
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        target = _current()
        if target is None or subscription.protocol != "lambda":
            return moto_publish(
                subscription,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
        matcher = getattr(subscription, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        if message_structure == "json":
            message = subscription._parse_message_structure(message, subscription.protocol)
        target.deliver_sns(subscription, message, message_id, subject, message_attributes)
        return None

    Subscription.publish = publish

    moto_invoke = LambdaFunction.invoke

    def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
        target = _current()
        if target is None:
            return moto_invoke(function, body, request_headers, response_headers)
        if isinstance(body, (str, bytes)):
            event = json.loads(body) if body else {}
        else:
            event = body
        payload, failed = target.invoke_for_moto(function, event)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    LambdaFunction.invoke = invoke

    moto_find_log_group = LogsBackend._find_log_group

    def find_log_group(backend: Any, log_group_id: str | None = None, log_group_name: str | None = None) -> Any:
        if log_group_id and not log_group_name:
            wanted = log_group_id.removesuffix(":*")
            for group in backend.groups.values():
                if group.arn.removesuffix(":*") == wanted:
                    return group
        return moto_find_log_group(backend, log_group_id=log_group_id, log_group_name=log_group_name)

    LogsBackend._find_log_group = find_log_group
    _installed = True
