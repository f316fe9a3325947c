"""The Logs pane's filter box, read into a LogFilter: free text (`re:` for a regex), `block:`, `exec:`, `level:`."""

from __future__ import annotations

from collections.abc import Iterable

from refinery_tui.cloud.logfilter import FilterError, LogFilter
from refinery_tui.cloud.loglines import LEVELS

LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "ERROR", "FATAL": "ERROR", "PLAT": "PLATFORM", "TRACE": "DEBUG"}
KEYS = {"block": "block", "exec": "exec", "execution": "exec", "level": "level"}


def parse_filter(text: str, blocks: Iterable[str] = ()) -> LogFilter:
    """`block:NAME[,NAME]`, `exec:ID` (a prefix or suffix of it), `level:ERROR[,WARN]` anywhere; the rest is text to
    find (any case), or a regular expression after `re:` (which takes the rest of the box). Raises FilterError,
    worded for the user."""
    known = set(blocks)
    chosen_blocks: set[str] = set()
    levels: set[str] = set()
    execution = None
    words = []
    for word in text.split():
        key, colon, value = word.partition(":")
        regex_started = bool(words) and words[0].startswith("re:")
        kind = KEYS.get(key.lower()) if colon and not regex_started else None
        if kind is None:
            words.append(word)
            continue
        if not value:
            raise FilterError(f"`{key}:` needs a value, as in {key}:{'ERROR' if kind == 'level' else 'NAME'}")
        if kind == "block":
            for name in filter(None, value.split(",")):
                if known and name not in known:
                    raise FilterError(f"no block named '{name}' on this stage (blocks: {', '.join(sorted(known))})")
                chosen_blocks.add(name)
        elif kind == "exec":
            execution = value
        else:
            for name in filter(None, value.upper().split(",")):
                name = LEVEL_NAMES.get(name, name)
                if name not in LEVELS:
                    raise FilterError(f"no level '{name}': use {', '.join(LEVELS)}")
                levels.add(name)
    rest = " ".join(words)
    regex = rest.startswith("re:")
    if regex:
        rest = rest[3:].strip()
        if not rest:
            raise FilterError("`re:` needs a regular expression after it, as in re:took \\d+ ms")
    return LogFilter(frozenset(chosen_blocks), execution, frozenset(levels), rest or None, regex)
