"""Turn the project model into the plain-JSON manifest the engine reads (built once, at run or package time)."""

from __future__ import annotations

from typing import Any

from refinery_tui.model.graph import ProjectGraph
from refinery_tui.model.project import ApiEndpointBlock, CodeBlock, Project, QueueBlock, ScheduleBlock
from refinery_tui.runtime.expressions import ExpressionError, expression_tree


def build_manifest(project: Project) -> dict[str, Any]:
    """Everything the engine needs, as JSON-ready data: blocks, transitions, pairings, handler coverage."""
    graph = ProjectGraph(project)
    blocks: dict[str, dict[str, Any]] = {}
    for name, block in project.blocks.items():
        entry: dict[str, Any] = {"type": block.type}
        if isinstance(block, CodeBlock):
            entry.update(
                language=block.language_name,
                file=block.code_file,
                timeout=block.timeout_s,
                memory=block.memory_mb,
                retries=block.retry_count,
                env=dict(block.env or {}),
                handler_catches=graph.catches_with_handler(name),
            )
            if block.max_return is not None:  # only when set: the default leaves deployed code unchanged
                entry["max_return"] = block.max_return
        elif isinstance(block, QueueBlock):
            entry["batch_size"] = block.batch
        elif isinstance(block, ScheduleBlock):
            entry["input"] = block.input
        elif isinstance(block, ApiEndpointBlock):
            entry.update(path=block.path, method=block.http_method)
        entry["outgoing"] = [index for index, _ in graph.outgoing[name]]
        blocks[name] = entry
    transitions = [
        {"index": index, "from": t.source, "to": t.target, "type": t.type, "expression": t.expression}
        for index, t in enumerate(project.transitions)
    ]
    for transition in transitions:
        if transition["type"] == "if":
            transition.update(_tree_of(transition["expression"]))
    merge_sources = {
        name: [index for index, t in graph.incoming[name] if t.type == "merge"]
        for name in project.blocks
        if graph.merge_sources(name)
    }
    fan_ins_of: dict[str, list[int]] = {}
    for fan_in, fan_out in graph.fan_in_pairs.items():
        fan_ins_of.setdefault(str(fan_out), []).append(fan_in)
    return {
        "project": project.name,
        "on_exception": project.on_exception if project.on_exception in project.blocks else None,
        "max_hops": project.hop_limit,
        "blocks": blocks,
        "transitions": transitions,
        "fan_in_pairs": {str(k): v for k, v in graph.fan_in_pairs.items()},
        "fan_ins_of": {k: sorted(v) for k, v in fan_ins_of.items()},
        "merge_sources": merge_sources,
        "entries": graph.entry_blocks(),
    }


def _tree_of(expression: str | None) -> dict[str, Any]:
    """The checked tree the Node engine interprets; None (and the reason) when the expression does not compile,
    which the validator reports and the engine turns into the block's failure, as the Python engine does."""
    try:
        return {"expression_tree": expression_tree(expression or "")}
    except ExpressionError as exc:
        return {"expression_tree": None, "expression_error": str(exc)}
