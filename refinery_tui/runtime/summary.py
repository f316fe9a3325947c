"""How an execution's end is told, locally and deployed: error messages, join errors and the order of outputs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def failure_messages(failures: Iterable[dict[str, Any]]) -> list[str]:
    messages = []
    for failure in failures:
        error = failure["error"]
        where = ""
        if failure.get("frames"):
            where = " (item " + "/".join(str(frame[1]) for frame in failure["frames"]) + ")"
        messages.append(f"'{failure['block']}'{where} failed: {error['type']}: {error['message']}")
    return messages


def join_error_messages(
    incomplete: Iterable[dict[str, Any]], failures: list[dict[str, Any]], manifest: dict[str, Any]
) -> list[str]:
    """One message per join that never completed; each `incomplete` item has key, kind, target, missing."""
    errors = []
    for state in incomplete:
        missing = state["missing"]
        if state["kind"] == "fan-in":
            frame_id = state["key"].split("|", 1)[1].split(">", 1)[0]
            causes = []
            for failure in failures:
                for frame in failure.get("frames", []):
                    if frame[0] == frame_id and frame[1] in missing:
                        causes.append(
                            f"item {frame[1]} failed at '{failure['block']}': "
                            f"{failure['error']['type']}: {failure['error']['message']}"
                        )
            detail = (
                "; ".join(causes)
                if causes
                else f"item{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} never arrived"
            )
            errors.append(f"the fan-in into '{state['target']}' did not run: {detail}")
        else:
            sources = manifest.get("merge_sources", {}).get(state["target"], [])
            names = [manifest["transitions"][sources[slot]]["from"] for slot in missing if slot < len(sources)]
            errors.append(
                f"the merge into '{state['target']}' did not run: {', '.join(repr(n) for n in names)} never arrived"
            )
    return errors


def ordered_outputs(outputs: list[dict[str, Any]], block_order: list[str]) -> list[dict[str, Any]]:
    """Outputs by block (project order), then fan-out item, then creation (`seq`)."""
    order = {name: index for index, name in enumerate(block_order)}
    ordered = sorted(outputs, key=lambda o: (order.get(o["block"], 0), tuple(o["place"]), o["seq"]))
    return [{"block": o["block"], "output": o["output"], "backpack": o["backpack"]} for o in ordered]
