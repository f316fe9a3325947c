"""`refinery-tui history`: list past executions, show one invocation by invocation, compare two."""

from __future__ import annotations

import json
import time
from pathlib import Path

from refinery_tui.commands.outcome import UsageError
from refinery_tui.local.history import History, compare_executions
from refinery_tui.run_rows import row_of_record

HISTORY_PREVIEW_CHARS = 100


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _resolve(history: History, prefix: str) -> str:
    matches = [e.id for e in history.executions(limit=10_000) if e.id.startswith(prefix) or e.id.endswith(prefix)]
    if not matches:
        raise UsageError(f"no execution matches '{prefix}'")
    if len(matches) > 1:
        raise UsageError(f"'{prefix}' matches {len(matches)} executions; give more of the id")
    return matches[0]


def show_history(project: str, execution: str | None, compare: str | None, as_json: bool, limit: int) -> int:
    root = Path(project)
    if not (root / ".refinery" / "history.sqlite3").is_file():
        raise UsageError(f"{project}: no runs recorded yet; run it with `refinery-tui run {project}`")
    history = History(root)
    try:
        if execution is None:
            records = history.executions(limit)
            if as_json:
                for record in records:
                    print(
                        json.dumps(
                            {
                                "event": "execution",
                                "id": record.id,
                                "status": record.status,
                                "started": record.started,
                                "ended": record.ended,
                                "entry": record.entry,
                                "replay_of": record.replay_of,
                            }
                        )
                    )
                return 0
            for record in records:
                took = f"{(record.ended - record.started) * 1000:8.0f} ms" if record.ended else "       -   "
                replay = f"  replay of {record.replay_of} from '{record.replay_from}'" if record.replay_of else ""
                print(
                    f"{record.id}  {_when(record.started)}  {record.status:<11} {took}  from '{record.entry}'{replay}"
                )
            return 0
        first = _resolve(history, execution)
        if compare is not None:
            comparison = compare_executions(history, first, _resolve(history, compare))
            if as_json:
                print(json.dumps({"event": "comparison", **comparison}))
            else:
                for key in ("changed", "unchanged", "only_old", "only_new"):
                    print(f"{key.replace('_', ' ')}: {', '.join(comparison[key]) or '-'}")
            return 0
        record = history.execution(first)
        invocations = history.invocations(first)
        if as_json:
            for item in invocations:
                print(
                    json.dumps(
                        {
                            "event": "invocation",
                            "id": item.id,
                            "block": item.block,
                            "status": item.status,
                            "input": item.input,
                            "output": item.output,
                            "error": item.error,
                            "backpack": item.backpack_out,
                            "stdout": item.stdout,
                            "stderr": item.stderr,
                            "duration_ms": round(item.duration_ms, 3),
                        },
                        default=str,
                    )
                )
            return 0
        print(f"{record.id}  {record.status}  started {_when(record.started)}  from '{record.entry}'")
        for item in invocations:
            print(row_of_record(item, HISTORY_PREVIEW_CHARS).history_line())
        for error in record.errors:
            print(f"  error: {error}")
        return 0
    finally:
        history.close()
