"""The Logs pane's lines without Textual: at most MAX_LINES kept (oldest dropped), filtered as they come, laid out."""

from __future__ import annotations

import json
import re
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from rich.cells import cell_len

from refinery_tui.cloud.logfilter import LogFilter
from refinery_tui.cloud.loglines import LogLine, make_line

MAX_LINES = 50_000
"""Lines kept in memory; beyond it the oldest go, and the pane says so."""
COMPACT_AFTER = 4_096
"""Dropped slots at the front of a list before it is compacted (dropping is O(1) until then)."""
SUMMARY_LIMIT = 160
"""Characters of an input or output preview in a record's one-line summary."""

_LAMBDA_PREFIX = re.compile(
    r"^(?:\[(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\]\t\S+\t\S+\t"
    r"|\S+\t\S+\t(?:DEBUG|INFO|WARN|ERROR|TRACE|FATAL)\t)"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


(
    SEQ,
    TIME_MS,
    CLOCK,
    GROUP,
    STREAM,
    EVENT_ID,
    MESSAGE,
    BLOCK,
    LEVEL,
    EXECUTION,
    INVOCATION,
    SAMPLED,
    KIND,
    TEXT,
    WIDTH,
    PARTS,
    PART_WIDTHS,
) = range(17)
"""The fields of an entry: a plain tuple of strings and numbers (see `Entry`)."""
_SEQ = itemgetter(SEQ)
_WIDTH = itemgetter(WIDTH)
Entry = tuple
"""A log line ready to draw: (seq, timestamp ms, clock text, group, stream, event id, message, block, level,
execution id, invocation id, sampled, record kind, display text, its cells, its lines or None, their cells or None).
A tuple of strings and numbers, not an object: Python's garbage collector stops tracking such tuples, so 50,000
kept lines cost its full collections nothing (as objects they made each one take 150-300 ms, in the middle of key
presses). `line_of` gives the LogLine back."""


def _cells(text: str) -> int:
    """Terminal cells of a display text (ASCII is one cell a character: control characters are replaced)."""
    return len(text) if text.isascii() else cell_len(text)


class Clock:
    """HH:MM:SS.mmm in local time, with the formatted second kept (a burst shares a few seconds)."""

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def __call__(self, timestamp_ms: int) -> str:
        second, millis = divmod(int(timestamp_ms), 1000)
        if second != self.second:
            self.second, self.text = second, time.strftime("%H:%M:%S", time.localtime(second))
        return f"{self.text}.{millis:03d}"


def compact(value: Any, limit: int = SUMMARY_LIMIT) -> str:
    text = (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type', 'Error')}: {error.get('message', '')}"
    return compact(error)


def summary(record: dict[str, Any], block: str | None) -> str:
    """The runtime's structured line in words (the whole record is one Enter away)."""
    kind = record.get("refinery")
    where = record.get("block")
    other = f" {where}" if where and where != block else ""
    if kind == "start":
        value = record.get("input", record.get("input_preview"))
        return f"▶ start{other} · input {compact(value)}"
    if kind == "end":
        ms = record.get("duration_ms")
        took = f" {ms:.0f} ms" if isinstance(ms, (int, float)) else ""
        if record.get("status") == "failed":
            return f"✗ end{other} failed{took} · {_error(record.get('error'))}"
        final = " (final)" if record.get("final") else ""
        return f"■ end{other} succeeded{took}{final} → {compact(record.get('output_preview', ''))}"
    if kind == "transition":
        return f"→ {record.get('type')} → {record.get('target')}"
    if kind == "execution_started":
        value = record.get("input", record.get("input_preview"))
        return f"⚑ execution started at {where} · input {compact(value)}"
    if kind == "execution_finished":
        return f"⚑ execution {record.get('status')}"
    if kind == "execution_failing":
        return f"✗ execution failing at {where} · {_error(record.get('error'))}"
    if kind == "skipped":
        return f"↷ skipped{other} · {record.get('reason', '')}"
    if kind == "retrying":
        return f"↻ retrying{other} (attempt {record.get('attempt')})"
    rest = {key: value for key, value in record.items() if key not in ("refinery", "ts", "execution_id")}
    return f"{kind} {compact(rest)}"


def display_parts(line: LogLine) -> list[str]:
    """What the line says, one string per line of its message: a record summarised, Lambda's own prefix (time,
    request id, level: shown in their columns) taken off, tabs and control characters made harmless."""
    if line.record is not None:
        return [summary(line.record, line.block)]
    message = _LAMBDA_PREFIX.sub("", line.message, count=1)
    parts = message.replace("\r\n", "\n").split("\n")
    return [_CONTROL.sub("�", part.expandtabs(4)) for part in parts]


def prepare(lines: Iterable[LogLine], clock: Clock | None = None) -> list[Entry]:
    """Entries for lines (called on the thread that read them, so the UI only appends); their seq is set later."""
    clock = clock or Clock()
    entries = []
    for line in lines:
        parts = display_parts(line)
        if len(parts) == 1:
            text, many, widths = parts[0], None, None
        else:
            text, many = " ⏎ ".join(parts), tuple(parts)
            widths = tuple(_cells(part) for part in parts)
        entries.append(
            (
                0,
                line.timestamp,
                clock(line.timestamp),
                line.group,
                line.stream,
                line.event_id,
                line.message,
                line.block,
                line.level,
                line.execution_id,
                line.invocation_id,
                line.sampled,
                line.kind,
                text,
                _cells(text),
                many,
                widths,
            )
        )
    return entries


def line_of(entry: Entry) -> LogLine:
    """The LogLine an entry was made from (its record parsed again)."""
    line = make_line(entry[GROUP], entry[STREAM], entry[TIME_MS], entry[EVENT_ID], entry[MESSAGE], entry[BLOCK])
    line.execution_id, line.invocation_id, line.sampled = entry[EXECUTION], entry[INVOCATION], entry[SAMPLED]
    return line


class _Probe:
    """What LogFilter.matches reads of a line, filled in from an entry (one probe, reused: no object a line)."""

    __slots__ = ("block", "execution_id", "level", "message")


def matcher(log_filter: LogFilter) -> Callable[[Entry], bool] | None:
    """`log_filter.matches` for entries; None when it lets everything through."""
    if log_filter.empty:
        return None
    probe = _Probe()
    matches = log_filter.matches

    def match(entry: Entry) -> bool:
        probe.block, probe.execution_id, probe.level, probe.message = (
            entry[BLOCK],
            entry[EXECUTION],
            entry[LEVEL],
            entry[MESSAGE],
        )
        return matches(probe)

    return match


def rows_of(entry: Entry, width: int, prefix: int, indent: int) -> int:
    """Screen rows of an entry wrapped at `width`: the first row holds the prefix columns, the rest (and every
    further line of a multi-line message) are indented by `indent`."""
    rest = max(1, width - indent)
    widths = entry[PART_WIDTHS] or (entry[WIDTH],)
    first = prefix + widths[0]
    rows = 1 if first <= width else 1 + -(-(first - width) // rest)
    for part in widths[1:]:
        rows += max(1, -(-part // rest))
    return rows


class LogBuffer:
    """The kept entries (oldest first), the ones the filter lets through, and the screen row each of those starts
    on (an array beside them: wrapping gives a line several rows)."""

    def __init__(self, limit: int = MAX_LINES) -> None:
        self.limit = limit
        self._all: list[Entry] = []
        self._all_start = 0
        self._shown: list[Entry] = []
        self._rows = array("q")
        self._shown_start = 0
        self.filter = LogFilter()
        self._match: Callable[[Entry], bool] | None = None
        self.received = 0
        self.dropped = 0
        self.widest = 0
        self.wrap = False
        self.width = 80
        self.prefix = 0
        self.indent = 4
        self._next_row = 0
        self._seq = 0

    # counts and access

    def __len__(self) -> int:
        return len(self._all) - self._all_start

    @property
    def shown_count(self) -> int:
        return len(self._shown) - self._shown_start

    def shown(self, index: int) -> Entry:
        return self._shown[self._shown_start + index]

    def entries(self) -> list[Entry]:
        """Every kept entry, oldest first (a copy)."""
        return self._all[self._all_start :]

    def shown_entries(self) -> list[Entry]:
        return self._shown[self._shown_start :]

    def lines_of(self, execution_id: str) -> list[LogLine]:
        """The kept lines of one execution, oldest first."""
        return [line_of(entry) for entry in self._all[self._all_start :] if entry[EXECUTION] == execution_id]

    @property
    def base_row(self) -> int:
        return self._rows[self._shown_start] if self.shown_count else self._next_row

    @property
    def total_rows(self) -> int:
        return self._next_row - self.base_row

    def row_of(self, index: int) -> int:
        return self._rows[self._shown_start + index] - self.base_row

    def rows_at(self, index: int) -> int:
        """How many screen rows the shown entry `index` takes."""
        at = self._shown_start + index
        end = self._rows[at + 1] if at + 1 < len(self._rows) else self._next_row
        return end - self._rows[at]

    def index_at_row(self, row: int) -> int:
        """The shown entry drawn on screen row `row` (clamped to the shown ones; -1 when none is shown)."""
        if not self.shown_count:
            return -1
        index = bisect_right(self._rows, self.base_row + row, self._shown_start) - 1
        return min(max(index - self._shown_start, 0), self.shown_count - 1)

    # changes

    def add(self, prepared: list[Entry]) -> tuple[int, int, int]:
        """Append entries (dropping the oldest beyond the limit); (shown added, shown dropped, rows dropped)."""
        if not prepared:
            return 0, 0, 0
        self.received += len(prepared)
        if len(prepared) > self.limit:
            self.dropped += len(prepared) - self.limit
            prepared = prepared[-self.limit :]
        seq = self._seq
        entries = [(number,) + entry[1:] for number, entry in enumerate(prepared, seq)]
        self._seq = seq + len(entries)
        self._all.extend(entries)
        new = entries if self._match is None else list(filter(self._match, entries))
        self._place(new)
        self._shown.extend(new)
        over = len(self) - self.limit
        if over <= 0:
            return len(new), 0, 0
        self.dropped += over
        self._all_start += over
        floor = self._all[self._all_start][SEQ]
        first_row = self.base_row
        cut = bisect_left(self._shown, floor, lo=self._shown_start, key=_SEQ)
        shown_dropped = cut - self._shown_start
        self._shown_start = cut
        rows_dropped = self.base_row - first_row
        self._compact()
        return len(new), shown_dropped, rows_dropped

    def set_filter(self, log_filter: LogFilter) -> None:
        self.filter = log_filter
        self._match = matcher(log_filter)
        kept = self._all[self._all_start :]
        self._shown = kept if self._match is None else list(filter(self._match, kept))
        self._shown_start = 0
        self._relayout()

    def set_layout(self, wrap: bool, width: int, prefix: int, indent: int) -> bool:
        """Lay the shown entries out again if anything that decides their rows changed; True if it did."""
        width = max(width, prefix + 8, 16)
        if (wrap, width, prefix, indent) == (self.wrap, self.width, self.prefix, self.indent):
            return False
        changed = wrap or self.wrap
        self.wrap, self.width, self.prefix, self.indent = wrap, width, prefix, indent
        if changed:
            self._relayout()
        return changed

    def clear(self) -> None:
        self._all, self._all_start, self._shown, self._rows, self._shown_start = [], 0, [], array("q"), 0
        self.received = self.dropped = self.widest = self._next_row = 0

    # layout

    def _place(self, entries: list[Entry]) -> None:
        """Give each new shown entry its first row (one row each without wrap)."""
        if not entries:
            return
        row = self._next_row
        widest = max(self.widest, max(map(_WIDTH, entries)))
        if not self.wrap:
            self._rows.extend(range(row, row + len(entries)))
            row += len(entries)
        else:
            width, prefix, indent = self.width, self.prefix, self.indent
            fits = width - prefix
            starts = []
            for entry in entries:
                starts.append(row)
                row += 1 if entry[PARTS] is None and entry[WIDTH] <= fits else rows_of(entry, width, prefix, indent)
            self._rows.extend(starts)
        self._next_row = row
        self.widest = widest

    def _relayout(self) -> None:
        self._next_row = 0
        self._rows = array("q")
        if self._shown_start:
            del self._shown[: self._shown_start]
            self._shown_start = 0
        self._place(self._shown)

    def _compact(self) -> None:
        if self._all_start > COMPACT_AFTER and self._all_start * 2 > len(self._all):
            del self._all[: self._all_start]
            self._all_start = 0
        if self._shown_start > COMPACT_AFTER and self._shown_start * 2 > len(self._shown):
            del self._shown[: self._shown_start]
            del self._rows[: self._shown_start]
            self._shown_start = 0
