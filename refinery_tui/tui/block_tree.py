"""The block tree: entries as roots, children labelled by transition, links for repeated blocks, run states."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode as UiNode

from refinery_tui.model.graph import ProjectGraph, TreeNode
from refinery_tui.model.project import CodeBlock, Project, Transition
from refinery_tui.textview import TRANSITION_SYMBOLS
from refinery_tui.tui.messages import BlockSettingsWanted, OpenFile

TRANSITION_STYLES = {
    "then": "bold",
    "if": "cyan",
    "else": "magenta",
    "exception": "red",
    "fan-out": "yellow",
    "fan-in": "green",
    "merge": "blue",
    "on_exception": "red",
}
STATE_STYLES = {
    "pending": "dim",
    "queued": "dim",
    "running": "bold yellow",
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "dim italic",
    "paused": "reverse yellow",
}
STATE_MARKS = {"queued": "·", "running": "▶", "succeeded": "✓", "failed": "✗", "paused": "⏸", "skipped": "○"}


@dataclass
class NodeData:
    block: str
    key: str
    link: bool
    source: TreeNode  # the graph's node: the transition that leads here, for labels and transition edits


class BlockTree(Tree[NodeData]):
    """Enter opens a block (a link jumps to the block's first place); `b` toggles a breakpoint."""

    ALLOW_MAXIMIZE = True

    HELP = """\
## Block tree

The workflow as a tree: entry blocks at the roots; each child shows the transition that leads to it
(`→` then, `?` if with its expression, `⤳` else, `✗` exception, `⇉` fan-out, `⇇` fan-in, `⋈` merge).
A block reached a second time is a link (`↺`): Enter jumps to its first place.

During a run each block shows its state: `·` queued, `▶` running, `✓` succeeded, `✗` failed, `⏸` paused, `○`
skipped (the run did not reach it). The same marks show a deployed execution's states while the Invoke pane follows
it, or after `o` there (or in the Logs pane) opens one.

- `enter`: open the block's code (or jump, on a link)
- `j` / `k`, arrows: move; `l` / `h`, space: expand / collapse
- `b`: toggle a breakpoint on the block
- `i`: the block's settings; `n` new block, `F2` rename, `delete` remove
- `t` add a transition from the block; `e` change the transition that leads to it; `T` remove that transition
- `y` opens `project.yaml`
"""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up"),
        Binding("l", "expand_node", "Expand", show=False, id="tree.expand"),
        Binding("h", "collapse_node", "Collapse", show=False, id="tree.collapse"),
        Binding("b", "app.toggle_breakpoint", "Breakpoint", id="tree.breakpoint"),
        Binding("i", "block_settings", "Settings", id="tree.settings"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__("blocks", **kwargs)
        self.show_root = False
        self.auto_expand = False  # Enter opens the block; `l` / `h` / space expand and collapse
        self.guide_depth = 3
        self.project: Project | None = None
        self.states: dict[str, str] = {}
        self.breakpoints: set[str] = set()
        self._block_nodes: dict[str, list[UiNode[NodeData]]] = {}

    def action_expand_node(self) -> None:
        if self.cursor_node is not None:
            self.cursor_node.expand()

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is not None:
            if node.is_expanded and node.children:
                node.collapse()
            elif node.parent is not None and node.parent is not self.root:
                self.move_cursor(node.parent)

    @property
    def selected_block(self) -> str | None:
        node = self.cursor_node
        return node.data.block if node is not None and node.data is not None else None

    def selected_transition(self) -> tuple[int, Transition] | None:
        """(index in the project, transition) of the transition leading to the cursor's node, if one does."""
        node = self.cursor_node
        source = node.data.source if node is not None and node.data is not None else None
        if source is None or source.via is None:
            return None
        return source.via_index, source.via

    def action_block_settings(self) -> None:
        if self.selected_block is not None:
            self.post_message(BlockSettingsWanted(self.selected_block))

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        """Enter: a code block opens in the editor, another block shows its settings, a link jumps."""
        data = event.node.data
        block = self.project.blocks.get(data.block) if data is not None and self.project is not None else None
        if block is None:
            return
        event.stop()
        if data.link:
            self.select_block(data.block)
        elif isinstance(block, CodeBlock):
            self.post_message(OpenFile(self.project.root / block.code_file))
        else:
            self.post_message(BlockSettingsWanted(block.name))

    def show_project(self, project: Project) -> None:
        """Rebuild from the model, keeping expanded nodes and the cursor (by their stable keys)."""
        expanded = {key for key, nodes in self._key_index().items() if nodes.is_expanded} if self.project else None
        cursor = self.cursor_node.data.key if self.cursor_node is not None and self.cursor_node.data else None
        self.project = project
        self.clear()
        self._block_nodes = {}
        graph = ProjectGraph(project)
        index: dict[str, UiNode[NodeData]] = {}
        stack: list[tuple[UiNode[NodeData], TreeNode]] = [(self.root, root) for root in reversed(graph.tree())]
        while stack:
            parent, node = stack.pop()
            data = NodeData(node.block, node.key, node.link, node)
            label = self._label(node)
            if node.children:
                ui_node = parent.add(label, data=data, expand=expanded is None or node.key in expanded)
            else:
                ui_node = parent.add_leaf(label, data=data)
            index[node.key] = ui_node
            self._block_nodes.setdefault(node.block, []).append(ui_node)
            for child in reversed(node.children):
                stack.append((ui_node, child))
        if cursor and cursor in index:
            self.call_after_refresh(self.move_cursor, index[cursor])  # lines are known only after the refresh
        elif self.root.children:
            self.cursor_line = 0

    def _key_index(self) -> dict[str, UiNode[NodeData]]:
        return {node.data.key: node for nodes in self._block_nodes.values() for node in nodes if node.data}

    def _label(self, node: TreeNode) -> Text:
        project = self.project
        text = Text()
        if node.via is not None:
            kind = node.via.type
            text.append(f"{TRANSITION_SYMBOLS.get(kind, '-')} ", style=TRANSITION_STYLES.get(kind, ""))
            if kind == "if" and node.via.expression:
                text.append(f"{node.via.expression} ", style="cyan")
        elif project is not None and node.block == project.on_exception:
            text.append("on_exception ", style="red")
        state = self.states.get(node.block)
        if state:
            text.append(f"{STATE_MARKS.get(state, '')} ", style=STATE_STYLES.get(state, ""))
        if node.block in self.breakpoints:
            text.append("● ", style="bold red")
        block = project.blocks.get(node.block) if project else None
        text.append(node.block, style=STATE_STYLES.get(state, "bold") if state else "bold")
        if node.link:
            text.append("  ↺", style="dim")
        elif block is not None:
            kind = f"{block.language_name}" if isinstance(block, CodeBlock) else block.type
            text.append(f"  {kind}", style="dim")
        return text

    def set_states(self, states: dict[str, str]) -> None:
        self.states = dict(states)
        self._relabel()

    def set_state(self, block: str, state: str) -> None:
        self.states[block] = state
        self._relabel(block)

    def set_breakpoints(self, blocks: set[str]) -> None:
        self.breakpoints = set(blocks)
        self._relabel()

    def _relabel(self, only: str | None = None) -> None:
        for block, nodes in self._block_nodes.items():
            if only is not None and block != only:
                continue
            for node in nodes:
                node.set_label(self._label(node.data.source))

    def first_place(self, block: str) -> UiNode[NodeData] | None:
        for node in self._block_nodes.get(block, []):
            if node.data and not node.data.link:
                return node
        return None

    def select_block(self, block: str) -> None:
        node = self.first_place(block)
        if node is not None:
            parent = node.parent
            while parent is not None:
                parent.expand()
                parent = parent.parent
            self.move_cursor(node)
