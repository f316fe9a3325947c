"""Plain-text renderings of a project for the command line: the summary and the block tree."""

from __future__ import annotations

from refinery_tui.model.graph import ProjectGraph, TreeNode
from refinery_tui.model.project import Block, CodeBlock, Project

TRANSITION_SYMBOLS = {
    "then": "→",
    "if": "?",
    "else": "⤳",
    "exception": "↯",
    "fan-out": "⇉",
    "fan-in": "⇇",
    "merge": "⋈",
}


def describe_block(block: Block) -> str:
    if isinstance(block, CodeBlock):
        return f"code, {block.language_name}, {block.code_file}"
    return block.type or "no type"


def tree_lines(project: Project) -> list[str]:
    graph = ProjectGraph(project)
    lines: list[str] = []
    stack: list[tuple[TreeNode, str, bool, bool]] = [(root, "", True, True) for root in reversed(graph.tree())]
    while stack:  # depth first, without recursion: a chain may be thousands of blocks long
        node, prefix, last, root = stack.pop()
        block = project.blocks.get(node.block)
        details = describe_block(block) if block is not None else "missing"
        if root:
            role = "  [on_exception]" if node.block == project.on_exception else ""
            lines.append(f"{node.block}  ({details}){role}")
        else:
            via = node.via
            label = f"{TRANSITION_SYMBOLS.get(via.type, '-')} {via.label()}" if via else ""
            link = "  ↺ (shown above)" if node.link else f"  ({details})"
            lines.append(f"{prefix}{'└─' if last else '├─'} {label} → {node.block}{link}")
        child_prefix = prefix if root else prefix + ("   " if last else "│  ")
        count = len(node.children)
        for index in range(count - 1, -1, -1):
            stack.append((node.children[index], child_prefix, index == count - 1, False))
    return lines


def summary(project: Project) -> str:
    head = f"{project.name}: {len(project.blocks)} blocks, {len(project.transitions)} transitions"
    if project.on_exception:
        head += f", on_exception: {project.on_exception}"
    parts = [head]
    if project.description:
        parts.append(project.description)
    parts.append("")
    parts.extend(tree_lines(project))
    return "\n".join(parts)
