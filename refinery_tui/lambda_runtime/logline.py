"""The structured log lines the runtime writes (one JSON object a line), from which executions are rebuilt."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

SMALL = 4096
PREVIEW = 200


def preview(value: Any, limit: int = PREVIEW) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def small(value: Any) -> tuple[bool, Any]:
    """(True, value) when the value is small enough to travel whole in a log line, else (False, its preview)."""
    text = json.dumps(value, separators=(",", ":"), default=repr)
    return (True, value) if len(text) <= SMALL else (False, preview(value))


def write(event: str, **fields: Any) -> None:
    record = {"refinery": event, "ts": round(time.time() * 1000), **fields}
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=repr) + "\n")
    sys.stdout.flush()


def value_fields(name: str, value: Any) -> dict[str, Any]:
    whole, shown = small(value)
    return {name: shown} if whole else {f"{name}_preview": shown, f"{name}_truncated": True}
