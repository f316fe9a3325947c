"""Tail every log group of a stage at once: StartLiveTail where the endpoint has it, FilterLogEvents polling elsewhere.

Polling keeps, per group, the newest timestamp it has seen, asks again from a little before it (events can be
ingested late) and drops the events it already has by id, so there are no gaps across pages or polls and no
duplicates. A tail started again with the same window returns the same lines. New log streams are found by
every poll (FilterLogEvents reads all of a group's streams); a group that does not exist yet is asked again.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.loglines import LogLine, StreamAttribution, make_line

LATE_MS = 10_000
LIVE_GROUPS_PER_SESSION = 10
LIVE_SESSION_S = 3 * 3600 - 10 * 60
THROTTLED = ("ThrottlingException", "TooManyRequestsException", "LimitExceededException", "RequestLimitExceeded")


class _GroupCursor:
    def __init__(self, start_ms: int) -> None:
        self.newest = start_ms
        self.seen: dict[str, int] = {}

    def since(self) -> int:
        return max(0, self.newest - LATE_MS) if self.seen else self.newest

    def take(self, event_id: str, timestamp: int) -> bool:
        if event_id in self.seen:
            return False
        self.seen[event_id] = timestamp
        if timestamp > self.newest:
            self.newest = timestamp
        return True

    def prune(self) -> None:
        floor = self.newest - 2 * LATE_MS
        if len(self.seen) > 10_000:
            self.seen = {k: v for k, v in self.seen.items() if v >= floor}


class LogTail:
    """Tails `groups` (log group name → block) from `start_ms`. `poll()` is one round; `follow()` keeps going."""

    def __init__(
        self,
        aws: Aws,
        groups: dict[str, str | None],
        start_ms: int | None = None,
        mode: str = "auto",
        interval_s: float = 1.0,
        page_size: int | None = None,
    ) -> None:
        self.aws = aws
        self.groups = dict(groups)
        self.start_ms = start_ms if start_ms is not None else int(time.time() * 1000)
        self.cursors = {group: _GroupCursor(self.start_ms) for group in self.groups}
        self.attribution = StreamAttribution()
        self.interval_s = interval_s
        self.mode = self._choose(mode)
        self.backoff_s = 0.0
        self.sampled = False
        self.missing_groups: set[str] = set()
        self.polls = 0
        self.page_size = page_size
        self.calls = 0

    def _choose(self, mode: str) -> str:
        if mode != "auto":
            return mode
        custom = self.aws.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        return "poll" if custom else "live"

    # -- polling ---------------------------------------------------------------------------------------------

    def _fetch(self, group: str) -> list[LogLine]:
        logs = self.aws.client("logs")
        cursor = self.cursors[group]
        params: dict[str, Any] = {"logGroupName": group, "startTime": cursor.since()}
        if self.page_size:
            params["limit"] = self.page_size
        found: list[LogLine] = []
        try:
            while True:
                self.calls += 1
                page = logs.filter_log_events(**params)
                for event in page.get("events", []):
                    if cursor.take(event["eventId"], event["timestamp"]):
                        found.append(
                            make_line(
                                group,
                                event.get("logStreamName", ""),
                                event["timestamp"],
                                event["eventId"],
                                event.get("message", ""),
                                self.groups[group],
                            )
                        )
                token = page.get("nextToken")
                if not token or token == params.get("nextToken"):
                    break
                params["nextToken"] = token
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                self.missing_groups.add(group)
                return found
            raise
        self.missing_groups.discard(group)
        cursor.prune()
        return found

    def poll(self) -> list[LogLine]:
        """One round over every group: the new lines, oldest first, attributed to their executions."""
        groups = list(self.groups)
        with ThreadPoolExecutor(min(8, max(1, len(groups))), thread_name_prefix="logtail") as pool:
            batches = list(pool.map(self._fetch, groups))
        self.polls += 1
        lines = sorted((line for batch in batches for line in batch), key=lambda line: line.sort_key)
        return [self.attribution.apply(line) for line in lines]

    def follow(self, emit: Callable[[list[LogLine]], None], stop: threading.Event) -> None:
        """Keep tailing until `stop` is set: live sessions, or a poll every `interval_s` (backing off when AWS
        throttles). Lines are handed to `emit` in batches."""
        if self.mode == "live":
            try:
                self._follow_live(emit, stop)
                return
            except ClientError:
                self.mode = "poll"
        while not stop.is_set():
            try:
                lines = self.poll()
                self.backoff_s = 0.0
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in THROTTLED:
                    raise
                self.backoff_s = min(30.0, max(1.0, self.backoff_s * 2))
                lines = []
            if lines:
                emit(lines)
            stop.wait(self.interval_s + self.backoff_s)

    # -- live tail -------------------------------------------------------------------------------------------

    def _group_arn(self, group: str) -> str:
        return f"arn:{self.aws.partition}:logs:{self.aws.region}:{self.aws.account}:log-group:{group}"

    def _follow_live(self, emit: Callable[[list[LogLine]], None], stop: threading.Event) -> None:
        groups = list(self.groups)
        chunks = [groups[i : i + LIVE_GROUPS_PER_SESSION] for i in range(0, len(groups), LIVE_GROUPS_PER_SESSION)]
        lock = threading.Lock()
        errors: list[BaseException] = []

        def session(chunk: list[str]) -> None:
            try:
                while not stop.is_set():
                    self._live_session(chunk, emit, stop, lock)
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                errors.append(exc)
                stop.set()

        threads = [threading.Thread(target=session, args=(chunk,), daemon=True) for chunk in chunks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _live_session(
        self, chunk: list[str], emit: Callable[[list[LogLine]], None], stop: threading.Event, lock: threading.Lock
    ) -> None:
        """One StartLiveTail session over up to 10 groups, ended before AWS's 3-hour limit (the caller reconnects)."""
        by_arn = {self._group_arn(group): group for group in chunk}
        reply = self.aws.client("logs").start_live_tail(logGroupIdentifiers=list(by_arn))
        opened = time.monotonic()
        for event in reply["responseStream"]:
            if stop.is_set() or time.monotonic() - opened > LIVE_SESSION_S:
                break
            update = event.get("sessionUpdate")
            if not update:
                continue
            sampled = bool(update.get("sessionMetadata", {}).get("sampled"))
            lines = list(self._live_lines(update.get("sessionResults", []), by_arn, sampled))
            if lines:
                with lock:
                    self.sampled = self.sampled or sampled
                    emit([self.attribution.apply(line) for line in sorted(lines, key=lambda line: line.sort_key)])
        else:
            stop.wait(self.interval_s)

    def _live_lines(self, results: Iterable[dict[str, Any]], by_arn: dict[str, str], sampled: bool):
        for result in results:
            identifier = result.get("logGroupIdentifier", "")
            group = by_arn.get(identifier) or by_arn.get(f"{identifier}") or identifier.rsplit(":log-group:", 1)[-1]
            message = result.get("message", "")
            timestamp = int(result.get("timestamp", 0))
            event_id = hashlib.sha1(f"{result.get('logStreamName')}|{timestamp}|{message}".encode()).hexdigest()
            cursor = self.cursors.setdefault(group, _GroupCursor(self.start_ms))
            if timestamp < self.start_ms or not cursor.take(event_id, timestamp):
                continue
            line = make_line(
                group, result.get("logStreamName", ""), timestamp, event_id, message, self.groups.get(group)
            )
            line.sampled = sampled
            yield line


def stage_groups(names: Any, manifest: dict[str, Any]) -> dict[str, str | None]:
    """Every log group of a stage's functions, with the block each one belongs to."""
    return {names.log_group(block): block for block, entry in manifest["blocks"].items() if entry["type"] == "code"}
