"""The part of a project's manifest one deployed function needs, with the AWS names of what it dispatches to."""

from __future__ import annotations

from typing import Any

from refinery_tui.cloud.naming import Names

_SOURCES = ("api_endpoint", "schedule", "queue", "topic")


def entry_resources(manifest: dict[str, Any], block: str) -> list[str]:
    """Resource blocks whose `then` delivers to `block`: their events arrive at this block's function."""
    return [
        t["from"]
        for t in manifest["transitions"]
        if t["to"] == block and manifest["blocks"][t["from"]]["type"] in _SOURCES
    ]


def included_blocks(manifest: dict[str, Any], block: str) -> list[str]:
    """The blocks whose manifest entries the function of `block` reads."""
    blocks = manifest["blocks"]
    wanted: list[str] = []

    def add(name: str) -> None:
        if name not in wanted:
            wanted.append(name)

    def add_with_targets(name: str) -> None:
        add(name)
        for index in blocks[name].get("outgoing", []):
            target = manifest["transitions"][index]["to"]
            add(target)
            if blocks[target]["type"] in ("topic", "api_response"):
                for inner in blocks[target].get("outgoing", []):
                    add(manifest["transitions"][inner]["to"])
                add(target)

    add_with_targets(block)
    for index in blocks[block].get("outgoing", []):
        target = manifest["transitions"][index]["to"]
        if blocks[target]["type"] in ("topic", "api_response"):
            add_with_targets(target)
    for fan_out, fan_ins in manifest.get("fan_ins_of", {}).items():
        if int(fan_out) in blocks[block].get("outgoing", []):
            for fan_in in fan_ins:
                add(manifest["transitions"][fan_in]["to"])
    for source in entry_resources(manifest, block):
        add_with_targets(source)
    if manifest.get("on_exception"):
        add(manifest["on_exception"])
    return wanted


def successors(manifest: dict[str, Any], block: str) -> list[str]:
    """The blocks `block`'s function may hand work to itself (invoke, send, publish): its targets, the joins it
    may complete, itself (a retry, or a dispatch whose state could not be written, sent again), the global handler,
    and the other targets of the API endpoints and schedules whose events it receives."""
    blocks, transitions = manifest["blocks"], manifest["transitions"]
    found: list[str] = []

    def add(name: str | None) -> None:
        if name and name not in found and blocks[name]["type"] in ("code", "queue", "topic"):
            found.append(name)

    own = blocks[block].get("outgoing", [])
    for index in own:
        add(transitions[index]["to"])
        for fan_in in manifest.get("fan_ins_of", {}).get(str(index), []):
            add(transitions[fan_in]["to"])
    add(block)
    if blocks[block].get("handler_catches") and manifest.get("on_exception"):
        add(manifest["on_exception"])
    for source in entry_resources(manifest, block):
        if blocks[source]["type"] in ("api_endpoint", "schedule"):
            for index in blocks[source].get("outgoing", []):
                add(transitions[index]["to"])
    return found


def block_manifest(manifest: dict[str, Any], block: str, names: Names) -> dict[str, Any]:
    """The manifest slice shipped in the zip of `block`'s function (transitions keep their global indexes;
    the ones this function never reads are null)."""
    blocks = manifest["blocks"]
    included = included_blocks(manifest, block)
    used: set[int] = set()
    for name in included:
        used.update(blocks[name].get("outgoing", []))
    for fan_in, fan_out in manifest.get("fan_in_pairs", {}).items():
        if int(fan_in) in used:
            used.add(int(fan_out))
    for fan_out, fan_ins in manifest.get("fan_ins_of", {}).items():
        if int(fan_out) in used:
            used.update(fan_ins)
    transitions = [t if t["index"] in used else None for t in manifest["transitions"]]
    resources: dict[str, dict[str, str]] = {}
    for name in [*included, *successors(manifest, block)]:
        kind = blocks[name]["type"]
        if kind == "code":
            resources[name] = {"function": names.function(name)}
        elif kind == "queue":
            resources[name] = {"queue": names.queue(name)}
        elif kind == "topic":
            resources[name] = {"topic": names.topic(name)}
    return {
        "project": manifest["project"],
        "stage": names.stage,
        "self": block,
        "max_hops": manifest.get("max_hops", 10_000),
        "on_exception": manifest.get("on_exception"),
        "blocks": {name: blocks[name] for name in included},
        "transitions": transitions,
        "fan_in_pairs": {k: v for k, v in manifest.get("fan_in_pairs", {}).items() if int(k) in used},
        "fan_ins_of": {k: v for k, v in manifest.get("fan_ins_of", {}).items() if int(k) in used},
        "merge_sources": {k: v for k, v in manifest.get("merge_sources", {}).items() if k in included},
        "entries": [name for name in manifest.get("entries", []) if name in included],
        "resources": resources,
        "successors": successors(manifest, block),
        "sources": [name for name in entry_resources(manifest, block) if blocks[name]["type"] == "queue"],
    }
