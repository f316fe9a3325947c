"""Block settings: a block's type, language, file, memory, timeout, env and its transitions in and out."""

from __future__ import annotations

from refinery_tui.model.graph import ProjectGraph
from refinery_tui.model.project import CodeBlock, Project
from refinery_tui.tui.modals import ShowText


def settings_markdown(project: Project, name: str) -> str:
    block = project.blocks[name]
    graph = ProjectGraph(project)
    lines = [f"## {name}", "", f"- type: `{block.type}`"]
    if isinstance(block, CodeBlock):
        lines += [
            f"- language: `{block.language_name}`",
            f"- file: `{block.code_file}`",
            f"- memory: {block.memory_mb} MB",
            f"- timeout: {block.timeout_s} s",
            f"- retries: {block.retry_count}",
            f"- env: `{block.env or {}}`",
            f"- libraries: `{block.libraries or []}`",
        ]
    for key in ("schedule", "input", "batch_size", "path", "method"):
        if getattr(block, key, None) is not None:
            lines.append(f"- {key}: `{getattr(block, key)}`")
    lines += ["", "### Transitions in"] + [f"- `{t.source}` → {t.label()}" for t in graph.predecessors(name)]
    lines += ["", "### Transitions out"] + [f"- {t.label()} → `{t.target}`" for t in graph.successors(name)]
    if graph.exception_targets(name) and not any(t.type == "exception" for t in graph.successors(name)):
        lines.append(f"- failures go to the global handler `{project.on_exception}`")
    return "\n".join(lines)


class BlockSettings(ShowText):
    """The settings of one block, to read (Escape or q closes it)."""

    def __init__(self, project: Project, name: str) -> None:
        super().__init__(settings_markdown(project, name))
        self.block = name
