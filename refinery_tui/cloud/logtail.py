"""Tail every log group of a stage at once: StartLiveTail where the endpoint has it, FilterLogEvents polling elsewhere.

Polling keeps, per group, the newest timestamp it has seen, asks again from a little before it (events can be
ingested late) and drops the events it already has by id, so there are no gaps across pages or polls and no
duplicates. A tail started again with the same window returns the same lines. New log streams are found by
every poll (FilterLogEvents reads all of a group's streams); a group that does not exist yet is asked again.
A group's cursor moves only when its lines are delivered: a throttled group is asked again after a back-off while
the others' lines come. A live session that fails is closed and polling carries the follow on.
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.loglines import LogLine, StreamAttribution, make_line

LATE_MS = 10_000
LIVE_GROUPS_PER_SESSION = 10
LIVE_SESSION_S = 3 * 3600 - 10 * 60
THROTTLED = ("ThrottlingException", "TooManyRequestsException", "LimitExceededException", "RequestLimitExceeded")
MISSING = "ResourceNotFoundException"
POLL_ATTEMPTS = 1
"""FilterLogEvents and StartLiveTail are not retried by botocore: the tail backs off per group itself and never
skips a failed one, and a live session that cannot start hands over to polling at once."""
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
LIVE_WATCH_S = 0.25
MODE_ENV = "REFINERY_LOG_TAIL"
"""`live` or `poll`: how `auto` tails, whatever the endpoint (tests force the live tail against the sandbox)."""


class _GroupCursor:
    def __init__(self, start_ms: int) -> None:
        self.newest = start_ms
        self.seen: dict[str, int] = {}
        self.live: set[str] = set()
        self.backoff_s = 0.0
        self.retry_at = 0.0

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

    def failed(self) -> None:
        """This group's call failed: ask it again after a pause that doubles with each failure in a row."""
        self.backoff_s = min(MAX_BACKOFF_S, max(FIRST_BACKOFF_S, self.backoff_s * 2))
        self.retry_at = time.monotonic() + self.backoff_s * random.uniform(0.75, 1.25)


def content_key(stream: str, timestamp: int, message: str) -> str:
    """An event's identity where AWS gives no id (live tail): the same line read by polling has the same key."""
    return hashlib.sha1(f"{stream}|{timestamp}|{message}".encode()).hexdigest()


def close_stream(stream: Any) -> None:
    """End a live tail's response stream now, even while another thread waits on it: shutting its socket down
    wakes that read and tells AWS the session is over (it bills until then)."""
    connection = getattr(getattr(stream, "_raw_stream", None), "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    stream.close()


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error in THROTTLED or status >= 500
    return isinstance(exc, BotoCoreError)


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
        self.throttled = 0
        self.live_error: BaseException | None = None

    def _choose(self, mode: str) -> str:
        if mode != "auto":
            return mode
        forced = os.environ.get(MODE_ENV, "")
        if forced in ("live", "poll"):
            return forced
        custom = self.aws.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        return "poll" if custom else "live"

    # -- polling ---------------------------------------------------------------------------------------------

    def _fetch(self, group: str) -> tuple[list[LogLine], dict[str, int]]:
        """The group's new lines and the ids they take; the cursor is left alone (moved when they are delivered)."""
        logs = self.aws.client("logs", attempts=POLL_ATTEMPTS)
        cursor = self.cursors[group]
        params: dict[str, Any] = {"logGroupName": group, "startTime": cursor.since()}
        if self.page_size:
            params["limit"] = self.page_size
        found: list[LogLine] = []
        taken: dict[str, int] = {}
        while True:
            self.calls += 1
            page = logs.filter_log_events(**params)
            for event in page.get("events", []):
                event_id, timestamp = event["eventId"], event["timestamp"]
                if event_id in cursor.seen or event_id in taken:
                    continue
                taken[event_id] = timestamp
                stream, message = event.get("logStreamName", ""), event.get("message", "")
                if cursor.live and content_key(stream, timestamp, message) in cursor.live:
                    continue
                found.append(make_line(group, stream, timestamp, event_id, message, self.groups[group]))
            token = page.get("nextToken")
            if not token or token == params.get("nextToken"):
                break
            params["nextToken"] = token
        return found, taken

    def _fetch_safely(self, group: str) -> tuple[list[LogLine], dict[str, int]] | BaseException:
        try:
            return self._fetch(group)
        except (ClientError, BotoCoreError) as exc:
            return exc

    def poll(self) -> list[LogLine]:
        """One round over every group that is due: the new lines, oldest first, attributed to their executions.
        A group whose call fails keeps its cursor and is asked again after a back-off; the others' lines come."""
        now = time.monotonic()
        groups = [group for group in self.groups if self.cursors[group].retry_at <= now]
        with ThreadPoolExecutor(min(8, max(1, len(groups))), thread_name_prefix="logtail") as pool:
            results = list(pool.map(self._fetch_safely, groups))
        self.polls += 1
        fatal = None
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, ClientError) and result.response.get("Error", {}).get("Code") == MISSING:
                self.missing_groups.add(group)
            elif isinstance(result, BaseException):
                if not _retryable(result):
                    fatal = fatal or result
                self.throttled += 1
                self.cursors[group].failed()
        if fatal is not None:
            raise fatal
        delivered: list[LogLine] = []
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, BaseException):
                continue
            lines, taken = result
            cursor = self.cursors[group]
            for event_id, timestamp in taken.items():
                cursor.take(event_id, timestamp)
            cursor.prune()
            cursor.backoff_s = 0.0
            self.missing_groups.discard(group)
            delivered.extend(lines)
        self.backoff_s = max((self.cursors[group].backoff_s for group in self.groups), default=0.0)
        delivered.sort(key=lambda line: line.sort_key)
        return [self.attribution.apply(line) for line in delivered]

    def follow(self, emit: Callable[[list[LogLine]], None], stop: threading.Event) -> None:
        """Keep tailing until `stop` is set: live sessions, or a poll every `interval_s` (slower while AWS
        throttles). A live session that fails is closed and polling takes over. Lines go to `emit` in batches."""
        if self.mode == "live":
            self._follow_live(emit, stop)
            if stop.is_set():
                return
            self.mode = "poll"
        while not stop.is_set():
            lines = self.poll()
            if lines:
                emit(lines)
            stop.wait(self.interval_s + min(self.backoff_s, self.interval_s * 4))

    # -- live tail -------------------------------------------------------------------------------------------

    def _group_arn(self, group: str) -> str:
        return f"arn:{self.aws.partition}:logs:{self.aws.region}:{self.aws.account}:log-group:{group}"

    def _follow_live(self, emit: Callable[[list[LogLine]], None], stop: threading.Event) -> None:
        """Live sessions until `stop` is set or one of them fails (`live_error`); every stream is closed when it
        returns (AWS bills a live tail until its stream closes)."""
        groups = list(self.groups)
        chunks = [groups[i : i + LIVE_GROUPS_PER_SESSION] for i in range(0, len(groups), LIVE_GROUPS_PER_SESSION)]
        lock = threading.Lock()
        ended = threading.Event()
        streams: set[Any] = set()

        def over() -> bool:
            return stop.is_set() or ended.is_set()

        def session(chunk: list[str]) -> None:
            try:
                while not over():
                    self._live_session(chunk, emit, over, streams, lock)
            except Exception as exc:  # noqa: BLE001 - the follow goes on by polling
                if not over():
                    self.live_error = exc
                ended.set()

        threads = [threading.Thread(target=session, args=(chunk,), daemon=True) for chunk in chunks]
        for thread in threads:
            thread.start()
        while not over() and any(thread.is_alive() for thread in threads):
            ended.wait(LIVE_WATCH_S)
        ended.set()
        with lock:
            for stream in list(streams):
                close_stream(stream)
        for thread in threads:
            thread.join(5)

    def _live_session(
        self,
        chunk: list[str],
        emit: Callable[[list[LogLine]], None],
        over: Callable[[], bool],
        streams: set[Any],
        lock: threading.Lock,
    ) -> None:
        """One StartLiveTail session over up to 10 groups, ended before AWS's 3-hour limit (the caller reconnects)."""
        by_arn = {self._group_arn(group): group for group in chunk}
        reply = self.aws.client("logs", attempts=POLL_ATTEMPTS).start_live_tail(logGroupIdentifiers=list(by_arn))
        stream = reply["responseStream"]
        with lock:
            streams.add(stream)
        opened = time.monotonic()
        try:
            for event in stream:
                if over() or time.monotonic() - opened > LIVE_SESSION_S:
                    return
                update = event.get("sessionUpdate")
                if not update:
                    continue
                sampled = bool(update.get("sessionMetadata", {}).get("sampled"))
                lines = list(self._live_lines(update.get("sessionResults", []), by_arn, sampled))
                if lines:
                    with lock:
                        self.sampled = self.sampled or sampled
                        emit([self.attribution.apply(line) for line in sorted(lines, key=lambda line: line.sort_key)])
        finally:
            with lock:
                streams.discard(stream)
            close_stream(stream)

    def _live_lines(self, results: Iterable[dict[str, Any]], by_arn: dict[str, str], sampled: bool):
        for result in results:
            identifier = result.get("logGroupIdentifier", "")
            group = by_arn.get(identifier) or identifier.rsplit(":log-group:", 1)[-1]
            message = result.get("message", "")
            timestamp = int(result.get("timestamp", 0))
            event_id = content_key(result.get("logStreamName", ""), timestamp, message)
            cursor = self.cursors.setdefault(group, _GroupCursor(self.start_ms))
            if timestamp < self.start_ms or not cursor.take(event_id, timestamp):
                continue
            cursor.live.add(event_id)
            line = make_line(
                group, result.get("logStreamName", ""), timestamp, event_id, message, self.groups.get(group)
            )
            line.sampled = sampled
            yield line


def stage_groups(names: Any, manifest: dict[str, Any]) -> dict[str, str | None]:
    """Every log group of a stage's functions, with the block each one belongs to."""
    return {names.log_group(block): block for block, entry in manifest["blocks"].items() if entry["type"] == "code"}
