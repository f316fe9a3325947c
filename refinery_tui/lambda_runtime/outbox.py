"""What leaves this function: a dispatch to another block's function, a message to a queue, a publish to a topic."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from refinery_tui.runtime.engine import Invocation

from .function import DATA
from .store import Store

_clients: dict[str, Any] = {}
_queue_urls: dict[str, str] = {}


def _client(name: str):
    if name not in _clients:
        import boto3

        _clients[name] = boto3.client(name)
    return _clients[name]


@dataclass
class Send:
    """One message leaving this function, holding `units` of the execution's in-flight count."""

    kind: str  # "invoke" | "sqs" | "sns"
    target: str
    message: dict[str, Any]
    key: str
    units: int


def payload_key(invocation: Invocation) -> str:
    """Where a message for this invocation is kept when it is too big to travel inline."""
    return f"payloads/{invocation.context.execution_id}/{invocation.id}.json"


def envelope(invocation: Invocation) -> dict[str, Any]:
    """The message that dispatches `invocation` to its block's function."""
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


class Outbox:
    """Sends messages from this function, in the account and region it runs in."""

    def __init__(self, store: Store, invoked_function_arn: str) -> None:
        self.store = store
        parts = invoked_function_arn.split(":")
        self.partition, self.region, self.account = (
            (parts[1], parts[3], parts[4])
            if len(parts) > 5
            else ("aws", os.environ.get("AWS_REGION", "us-east-1"), "000000000000")
        )

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
