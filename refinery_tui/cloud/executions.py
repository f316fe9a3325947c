"""Start deployed executions and read how they ended, from the state table (the same summary a local run gives)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import INLINE_LIMIT, Placement, function_timeout, serves_an_api
from refinery_tui.lambda_runtime.store import LAYOUT, STARTED_INDEX, base_partition, partitions
from refinery_tui.runtime.summary import failure_messages, join_error_messages, ordered_outputs


@dataclass
class CloudExecution:
    execution_id: str
    status: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None
    invocations: int = 0

    @property
    def duration_ms(self) -> float | None:
        return (self.ended - self.started) * 1000 if self.started and self.ended else None


class ExecutionNotFinished(Exception):
    """The execution was still running when the wait ended."""


def new_execution_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:6]


def entry_code_block(placement: Placement, block: str) -> str:
    """The code block whose function starts executions at `block`: itself, or for a schedule or API endpoint, its
    first code target."""
    blocks = placement.manifest["blocks"]
    if block not in blocks:
        raise KeyError(f"there is no block named '{block}'")
    if blocks[block]["type"] == "code":
        return block
    for index in blocks[block].get("outgoing", []):
        name = placement.manifest["transitions"][index]["to"]
        if blocks[name]["type"] == "code":
            return name
    raise KeyError(f"'{block}' starts nothing: it has no code block after it")


def entry_function(placement: Placement, block: str) -> str:
    return placement.names.function(entry_code_block(placement, block))


def entry_invoke_client(aws: Aws, placement: Placement, block: str) -> Any:
    """The Lambda client that invokes `block`'s entry function: waits longer than it may run, never retries."""
    code = entry_code_block(placement, block)
    manifest = placement.manifest
    return aws.invoke_client(function_timeout(manifest["blocks"][code], serves_an_api(manifest, code)))


class Executions:
    def __init__(self, aws: Aws, placement: Placement) -> None:
        self.aws = aws
        self.placement = placement

    def start(self, block: str, value: Any, execution_id: str | None = None, wait_for_start: bool = False) -> str:
        """Start an execution at `block` and return its id at once (`wait_for_start`: the entry block's own run
        finishes before this returns)."""
        execution_id = execution_id or new_execution_id()
        message = {"refinery": 1, "start": True, "execution": execution_id, "block": block, "input": value}
        payload = json.dumps(message, allow_nan=False).encode("utf-8")
        if len(payload) > INLINE_LIMIT:
            key = f"payloads/{execution_id}/start.json"
            self.aws.client("s3").put_object(
                Bucket=self.placement.bucket, Key=key, Body=payload, ContentType="application/json"
            )
            payload = json.dumps({"refinery": 1, "ref": key}).encode("utf-8")
        reply = entry_invoke_client(self.aws, self.placement, block).invoke(
            FunctionName=entry_function(self.placement, block),
            InvocationType="RequestResponse" if wait_for_start else "Event",
            Payload=payload,
        )
        if reply.get("FunctionError"):
            body = reply["Payload"].read().decode("utf-8", "replace")
            raise RuntimeError(f"the entry function failed: {body[:500]}")
        return execution_id

    def _meta(self, execution_id: str) -> dict[str, Any] | None:
        return (
            self.aws.client("dynamodb")
            .get_item(
                TableName=self.placement.names.table(),
                ConsistentRead=True,
                Key={"pk": {"S": base_partition(execution_id)}, "sk": {"S": "meta"}},
            )
            .get("Item")
        )

    def _items(self, partition: str) -> list[dict[str, Any]]:
        ddb = self.aws.client("dynamodb")
        params: dict[str, Any] = {
            "TableName": self.placement.names.table(),
            "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        }
        items = []
        while True:
            page = ddb.query(**params)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _value(self, item: dict[str, Any]) -> Any:
        if "data_ref" in item:
            body = self.aws.client("s3").get_object(Bucket=self.placement.bucket, Key=item["data_ref"]["S"])["Body"]
            return json.loads(body.read())
        return json.loads(item["data"]["S"]) if "data" in item else None

    def recent(self, limit: int = 50) -> list[CloudExecution]:
        """The latest executions (newest first) with status and times: one Query of the started index for their ids,
        then their records (never a Scan of the whole table)."""
        ddb, table = self.aws.client("dynamodb"), self.placement.names.table()
        index = ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": STARTED_INDEX}},
            ScanIndexForward=False,
            Limit=limit,
        )
        ids = [item["sk"]["S"].partition("#")[2] for item in index.get("Items", [])]
        records: dict[str, dict[str, Any]] = {}
        for first in range(0, len(ids), 100):
            keys = [{"pk": {"S": base_partition(i)}, "sk": {"S": "meta"}} for i in ids[first : first + 100]]
            request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                reply = ddb.batch_get_item(RequestItems=request)
                for item in reply.get("Responses", {}).get(table, []):
                    records[item["pk"]["S"].removeprefix("exec#")] = item
                request = reply.get("UnprocessedKeys") or {}
        return [
            CloudExecution(
                execution_id,
                item["status"]["S"],
                started=float(item["started"]["N"]) if "started" in item else None,
                ended=float(item["ended"]["N"]) if "ended" in item else None,
            )
            for execution_id in ids
            if (item := records.get(execution_id)) is not None
        ]

    def status(self, execution_id: str) -> str | None:
        item = self._meta(execution_id)
        return item["status"]["S"] if item else None

    def wait(self, execution_id: str, timeout: float = 300.0) -> CloudExecution:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            status = self.status(execution_id)
            if status not in (None, "running"):
                return self.read(execution_id)
            if time.monotonic() > deadline:
                raise ExecutionNotFinished(
                    f"execution {execution_id} is still {status or 'not started'} after {timeout:.0f} s"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def read(self, execution_id: str) -> CloudExecution:
        meta = self._meta(execution_id)
        if meta is None:
            return CloudExecution(execution_id, "unknown")
        # Layout 2's partitions hold layout 1's (one partition) too: an execution begun by an older runtime and
        # continued by this one has items in both.
        items = [item for partition in partitions(execution_id, LAYOUT) for item in self._items(partition)]
        outputs, failures, joins = [], [], []
        runs = 0
        for item in items:
            sort = item["sk"]["S"]
            if sort.startswith("out#"):
                outputs.append(self._value(item))
            elif sort.startswith("fail#"):
                failures.append(self._value(item))
            elif sort.startswith("run#") and ">" not in sort:  # not a queue message's claim (`source>block`)
                runs += 1
            elif sort.startswith("join#") and sort.endswith("#count"):
                size, filled = int(item["size_"]["N"]), int(item["filled"]["N"])
                if filled < size:
                    slots = {
                        int(i["sk"]["S"].rsplit("#", 1)[1])
                        for i in items
                        if i["sk"]["S"].startswith(sort[: -len("count")] + "slot#")
                    }
                    joins.append(
                        {
                            "key": item["join_key"]["S"],
                            "kind": item["kind"]["S"],
                            "target": item["target"]["S"],
                            "missing": [s for s in range(size) if s not in slots],
                        }
                    )
        failures.sort(key=lambda f: f.get("invocation", ""))
        errors = failure_messages(failures) + join_error_messages(joins, failures, self.placement.manifest)
        return CloudExecution(
            execution_id,
            meta["status"]["S"],
            ordered_outputs(outputs, list(self.placement.manifest["blocks"])),
            errors,
            float(meta["started"]["N"]) if "started" in meta else None,
            float(meta["ended"]["N"]) if "ended" in meta else None,
            runs,
        )
