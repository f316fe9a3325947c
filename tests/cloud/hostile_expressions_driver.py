"""Evaluate every hostile expression of tests/fixtures/hostile_expressions.json in this process, measuring each.

Prints one JSON object: the process's peak RSS before the first expression and after the last (bytes), and for
each expression its wall-clock and CPU seconds, the peak RSS so far and its answer, as the Node driver gives it (mode "measured").
"""

from __future__ import annotations

import json
import resource
import sys
import time

from refinery_tui.runtime.expression_repr import short_repr
from refinery_tui.runtime.expressions import ExpressionError, compile_expression

SUMMARY_REPR = 1_000


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def answer(source: str, data: dict) -> dict:
    try:
        value = compile_expression(source).evaluate(data["return_data"], data["block_input"], data["backpack"])
    except ExpressionError as exc:
        return {"error": {"name": type(exc).__name__, "message": str(exc)}}
    return {"ok": {"type": type(value).__name__, "repr": short_repr(value, SUMMARY_REPR)}}


def main() -> None:
    fixture = json.loads(open(sys.argv[1], encoding="utf-8").read())
    baseline = peak_rss()
    results = []
    for source in fixture["expressions"]:
        started, started_cpu = time.perf_counter(), time.process_time()
        result = answer(source, fixture["data"])
        result["seconds"] = time.perf_counter() - started
        result["cpu_seconds"] = time.process_time() - started_cpu
        result["peak_rss"] = peak_rss()
        results.append(result)
    print(json.dumps({"baseline_rss": baseline, "peak_rss": peak_rss(), "results": results}))


if __name__ == "__main__":
    main()
