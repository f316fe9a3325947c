"""The state table and payload bucket: at-most-once claims, join slots, the in-flight counter, outputs, replies."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TTL_S = 7 * 24 * 3600
ITEM_INLINE = 300_000

# The state table's layout, kept in each execution's `meta` item. Layout 1 kept every item of an execution in one
# partition (`exec#<id>`); layout 2 keeps there only what is read or counted as one (`meta`, `reply`, each join's
# count) and spreads the per-dispatch records (claims, outputs, failures, join slots) over SHARDS partitions
# `exec#<id>#<shard>`, so no partition takes every write of a wide fan-out (DynamoDB caps one at 1,000 WCU/s).
LAYOUT = 2
SHARDS = 16

# A throttled call is tried again with jittered, growing waits until this much of the invocation's time is left.
THROTTLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "Throttling"}
)
THROTTLE_MARGIN_S = 5.0
THROTTLE_BASE_S, THROTTLE_CAP_S = 0.05, 2.0


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
        # The same few quick retries whatever boto3 Lambda bundles; throttling is waited out by `Store._call`.
        _clients[service] = boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return _clients[service]


# Every execution also has an item in this one partition, sorted by start time: the latest are read with one Query.
STARTED_INDEX = "executions"


def started_index_key(execution: str, started: float) -> dict[str, dict[str, str]]:
    """The key of the execution's item in the started index (fixed width, so text order is time order)."""
    return {"pk": {"S": STARTED_INDEX}, "sk": {"S": f"{started:020.6f}#{execution}"}}


def base_partition(execution: str) -> str:
    """The partition of what is read or counted as one: the execution's `meta`, its reply, its joins' counts."""
    return f"exec#{execution}"


def shard_partition(execution: str, name: str) -> str:
    """The partition of a per-dispatch record named `name` (an invocation id, or a join slot's number)."""
    return f"exec#{execution}#{int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % SHARDS:02d}"


def partitions(execution: str, layout: int) -> list[str]:
    """Every partition an execution written in `layout` keeps items in."""
    base = base_partition(execution)
    return [base] if layout < 2 else [base, *(f"{base}#{shard:02d}" for shard in range(SHARDS))]


def throttled(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in THROTTLE_CODES


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
        # How long the invocation may still run (the runner sets it); throttled calls are retried until near it.
        self.remaining_s: Callable[[], float] = lambda: 60.0
        # Counter updates made so far: a claim may be given back only while none of its updates has landed.
        self.counted = 0

    def _call(self, operation: str, **params: Any) -> Any:
        """One state-table call; throttling is waited out (full jitter) while the invocation has time left."""
        method = getattr(self.ddb, operation)
        attempt = 0
        while True:
            try:
                return method(**params)
            except ClientError as exc:
                wait = random.uniform(0, min(THROTTLE_CAP_S, THROTTLE_BASE_S * 2 ** min(attempt, 10)))
                if not throttled(exc) or self.remaining_s() - wait < THROTTLE_MARGIN_S:
                    raise
            time.sleep(wait)
            attempt += 1

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

    # What is read or counted as one lives in the execution's base partition; per-dispatch records in its shards.

    def _key(self, execution: str, sort: str) -> dict[str, dict[str, str]]:
        return {"pk": _s(base_partition(execution)), "sk": _s(sort)}

    def _shard_key(self, execution: str, name: str, sort: str) -> dict[str, dict[str, str]]:
        return {"pk": _s(shard_partition(execution, name)), "sk": _s(sort)}

    def _ttl(self) -> dict[str, dict[str, str]]:
        return {"ttl": _n(int(time.time()) + TTL_S)}

    def start_execution(self, execution: str, entry: str, started: float) -> bool:
        """Create the execution's record holding one unit in flight; False when it exists already."""
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item={
                    **self._key(execution, "meta"),
                    **self._ttl(),
                    "layout": _n(LAYOUT),
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
        self._call("put_item", TableName=self.table, Item={**started_index_key(execution, started), **self._ttl()})
        return True

    def claim(self, execution: str, invocation_id: str, block: str) -> bool:
        """Run each dispatch at most once: the first claim of an id wins."""
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item={
                    **self._shard_key(execution, invocation_id, f"run#{invocation_id}"),
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

    def release(self, execution: str, invocation_id: str) -> None:
        """Give a claim back, so a retry of the same dispatch runs it (its work did not land)."""
        self._call(
            "delete_item", TableName=self.table, Key=self._shard_key(execution, invocation_id, f"run#{invocation_id}")
        )

    def add_inflight(self, execution: str, delta: int) -> int:
        reply = self._call(
            "update_item",
            TableName=self.table,
            Key=self._key(execution, "meta"),
            UpdateExpression="ADD inflight :d",
            ExpressionAttributeValues={":d": _n(delta)},
            ReturnValues="ALL_NEW",
        )
        self.counted += 1
        return int(reply["Attributes"]["inflight"]["N"])

    def put_output(self, execution: str, invocation_id: str, record: dict[str, Any]) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item={
                **self._shard_key(execution, invocation_id, f"out#{invocation_id}"),
                **self._ttl(),
                **self._data(record, f"payloads/{execution}/out-{invocation_id}.json"),
            },
        )

    def put_failure(self, execution: str, invocation_id: str, failure: dict[str, Any]) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item={
                **self._shard_key(execution, invocation_id, f"fail#{invocation_id}"),
                **self._ttl(),
                **self._data(failure, f"payloads/{execution}/fail-{invocation_id}.json"),
            },
        )

    def put_reply(self, execution: str, reply: dict[str, Any]) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item={
                **self._key(execution, "reply"),
                **self._ttl(),
                **self._data(reply, f"payloads/{execution}/reply.json"),
            },
        )

    def get_reply(self, execution: str) -> dict[str, Any] | None:
        item = self._call("get_item", TableName=self.table, Key=self._key(execution, "reply"), ConsistentRead=True).get(
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
        by: str = "",
    ) -> JoinRelease | None:
        """Fill one slot of a join; exactly one arrival (the one that fills the last slot) gets the release. The
        invocation `by` may fill its own slot again (a retry of it whose count did not land)."""
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item={
                    **self._shard_key(execution, f"{key}#{slot}", f"join#{key}#slot#{slot:07d}"),
                    **self._ttl(),
                    "by": _s(by),
                    **self._data(
                        record, f"payloads/{execution}/join-{hashlib.sha1(key.encode()).hexdigest()[:16]}-{slot}.json"
                    ),
                },
                ConditionExpression="attribute_not_exists(pk) OR #by = :by",
                ExpressionAttributeNames={"#by": "by"},
                ExpressionAttributeValues={":by": _s(by or "-")},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise DuplicateSlot(key) from exc
            raise
        reply = self._call(
            "update_item",
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
        self.counted += 1
        if int(reply["Attributes"]["filled"]["N"]) != size:
            return None
        found = [item for pk in partitions(execution, LAYOUT) for item in self._query(pk, f"join#{key}#slot#")]
        slots = [self._value(item) for item in sorted(found, key=lambda item: item["sk"]["S"])]
        return JoinRelease(
            target, [s["value"] for s in slots], [s["backpack"] for s in slots], [s["source"] for s in slots], context
        )

    def _query(self, partition: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(partition), ":prefix": _s(prefix)},
        }
        while True:
            reply = self._call("query", **params)
            items.extend(reply.get("Items", []))
            if "LastEvaluatedKey" not in reply:
                return items
            params["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def finish(self, execution: str) -> str | None:
        """Called when nothing is in flight: set the final status once; returns it (None if already set)."""
        failed = any(self._query(pk, "fail#") for pk in partitions(execution, LAYOUT))
        if not failed:
            for item in self._query(base_partition(execution), "join#"):
                if item["sk"]["S"].endswith("#count") and int(item["filled"]["N"]) < int(item["size_"]["N"]):
                    failed = True
                    break
        status = "failed" if failed else "succeeded"
        try:
            self._call(
                "update_item",
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
