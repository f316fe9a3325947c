"""The state table and payload bucket: at-most-once claims, join slots, the in-flight counter, outputs, replies."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

TTL_S = 7 * 24 * 3600
ITEM_INLINE = 300_000


class DuplicateSlot(Exception):
    """A join slot was filled twice."""


@dataclass
class JoinRelease:
    target: str
    values: list[Any]
    backpacks: list[dict[str, Any]]
    sources: list[str]
    context: dict[str, Any]


# One client per service per container, made on first use: building one costs tens of ms (and a warm container
# serves many invocations).
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """The container's client of `service`, created the first time it is asked for."""
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


# Every execution also has an item in this one partition, sorted by start time: the latest are read with one Query.
STARTED_INDEX = "executions"


def started_index_key(execution: str, started: float) -> dict[str, dict[str, str]]:
    """The key of the execution's item in the started index (fixed width, so text order is time order)."""
    return {"pk": {"S": STARTED_INDEX}, "sk": {"S": f"{started:020.6f}#{execution}"}}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


class Store:
    def __init__(self, table: str, bucket: str, inline_limit: int) -> None:
        self.table = table
        self.bucket = bucket
        self.inline_limit = inline_limit
        self.ddb = client("dynamodb")

    @staticmethod
    def from_environment() -> Store:
        return Store(
            os.environ["REFINERY_TABLE"],
            os.environ["REFINERY_BUCKET"],
            int(os.environ.get("REFINERY_INLINE_LIMIT", "200000")),
        )

    @property
    def s3(self) -> Any:
        return client("s3")

    # Payloads: JSON text that is too big travels as a reference to an object in the bucket.

    def put_payload(self, key: str, text: str) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=text.encode("utf-8"), ContentType="application/json")
        return key

    def get_payload(self, key: str) -> str:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8")

    def pack(self, message: dict[str, Any], key: str) -> str:
        """The message as JSON, or a reference to it in the bucket when it is above the inline limit."""
        text = json.dumps(message, allow_nan=False, separators=(",", ":"))
        if len(text.encode("utf-8")) <= self.inline_limit:
            return text
        return json.dumps({"refinery": 1, "ref": self.put_payload(key, text)})

    def unpack(self, message: Any) -> Any:
        if isinstance(message, dict) and message.get("refinery") == 1 and "ref" in message:
            return json.loads(self.get_payload(message["ref"]))
        return message

    def _data(self, value: Any, key: str) -> dict[str, dict[str, str]]:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
        if len(text.encode("utf-8")) <= ITEM_INLINE:
            return {"data": _s(text)}
        return {"data_ref": _s(self.put_payload(key, text))}

    def _value(self, item: dict[str, Any]) -> Any:
        if "data_ref" in item:
            return json.loads(self.get_payload(item["data_ref"]["S"]))
        return json.loads(item["data"]["S"]) if "data" in item else None

    # Items all live in the execution's partition.

    def _key(self, execution: str, sort: str) -> dict[str, dict[str, str]]:
        return {"pk": _s(f"exec#{execution}"), "sk": _s(sort)}

    def _ttl(self) -> dict[str, dict[str, str]]:
        return {"ttl": _n(int(time.time()) + TTL_S)}

    def start_execution(self, execution: str, entry: str, started: float) -> bool:
        """Create the execution's record holding one unit in flight; False when it exists already."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item={
                    **self._key(execution, "meta"),
                    **self._ttl(),
                    "inflight": _n(1),
                    "status": _s("running"),
                    "entry": _s(entry),
                    "started": _n(started),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        self.ddb.put_item(TableName=self.table, Item={**started_index_key(execution, started), **self._ttl()})
        return True

    def claim(self, execution: str, invocation_id: str, block: str) -> bool:
        """Run each dispatch at most once: the first claim of an id wins."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item={
                    **self._key(execution, f"run#{invocation_id}"),
                    **self._ttl(),
                    "block": _s(block),
                    "claimed": _n(time.time()),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def add_inflight(self, execution: str, delta: int) -> int:
        reply = self.ddb.update_item(
            TableName=self.table,
            Key=self._key(execution, "meta"),
            UpdateExpression="ADD inflight :d",
            ExpressionAttributeValues={":d": _n(delta)},
            ReturnValues="ALL_NEW",
        )
        return int(reply["Attributes"]["inflight"]["N"])

    def put_output(self, execution: str, invocation_id: str, record: dict[str, Any]) -> None:
        self.ddb.put_item(
            TableName=self.table,
            Item={
                **self._key(execution, f"out#{invocation_id}"),
                **self._ttl(),
                **self._data(record, f"payloads/{execution}/out-{invocation_id}.json"),
            },
        )

    def put_failure(self, execution: str, invocation_id: str, failure: dict[str, Any]) -> None:
        self.ddb.put_item(
            TableName=self.table,
            Item={
                **self._key(execution, f"fail#{invocation_id}"),
                **self._ttl(),
                **self._data(failure, f"payloads/{execution}/fail-{invocation_id}.json"),
            },
        )

    def put_reply(self, execution: str, reply: dict[str, Any]) -> None:
        self.ddb.put_item(
            TableName=self.table,
            Item={
                **self._key(execution, "reply"),
                **self._ttl(),
                **self._data(reply, f"payloads/{execution}/reply.json"),
            },
        )

    def get_reply(self, execution: str) -> dict[str, Any] | None:
        item = self.ddb.get_item(TableName=self.table, Key=self._key(execution, "reply"), ConsistentRead=True).get(
            "Item"
        )
        return self._value(item) if item else None

    def arrive(
        self,
        execution: str,
        key: str,
        kind: str,
        target: str,
        slot: int,
        size: int,
        record: dict[str, Any],
        context: dict[str, Any],
    ) -> JoinRelease | None:
        """Fill one slot of a join; exactly one arrival (the one that fills the last slot) gets the release."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item={
                    **self._key(execution, f"join#{key}#slot#{slot:07d}"),
                    **self._ttl(),
                    **self._data(
                        record, f"payloads/{execution}/join-{hashlib.sha1(key.encode()).hexdigest()[:16]}-{slot}.json"
                    ),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise DuplicateSlot(key) from exc
            raise
        reply = self.ddb.update_item(
            TableName=self.table,
            Key=self._key(execution, f"join#{key}#count"),
            UpdateExpression="ADD filled :one SET size_ = :size, target = :target, kind = :kind, "
            "join_key = :key, context = :context, #t = :ttl",
            ExpressionAttributeNames={"#t": "ttl"},
            ExpressionAttributeValues={
                ":one": _n(1),
                ":size": _n(size),
                ":target": _s(target),
                ":kind": _s(kind),
                ":key": _s(key),
                ":context": _s(json.dumps(context)),
                ":ttl": _n(int(time.time()) + TTL_S),
            },
            ReturnValues="ALL_NEW",
        )
        if int(reply["Attributes"]["filled"]["N"]) != size:
            return None
        slots = [self._value(item) for item in self._query(execution, f"join#{key}#slot#")]
        return JoinRelease(
            target, [s["value"] for s in slots], [s["backpack"] for s in slots], [s["source"] for s in slots], context
        )

    def _query(self, execution: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(f"exec#{execution}"), ":prefix": _s(prefix)},
        }
        while True:
            reply = self.ddb.query(**params)
            items.extend(reply.get("Items", []))
            if "LastEvaluatedKey" not in reply:
                return items
            params["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def finish(self, execution: str) -> str | None:
        """Called when nothing is in flight: set the final status once; returns it (None if already set)."""
        failed = bool(self._query(execution, "fail#"))
        if not failed:
            for item in self._query(execution, "join#"):
                if item["sk"]["S"].endswith("#count") and int(item["filled"]["N"]) < int(item["size_"]["N"]):
                    failed = True
                    break
        status = "failed" if failed else "succeeded"
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(execution, "meta"),
                UpdateExpression="SET #s = :s, ended = :e",
                ConditionExpression="#s = :running",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": _s(status), ":e": _n(time.time()), ":running": _s("running")},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return status
