"""Graph queries over a project: entries, successors, the block tree with links, cycles, fan-in and merge pairing."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

from refinery_tui.model.project import CodeBlock, Project, Transition

ENTRY_TYPES = ("schedule", "api_endpoint")


@dataclass
class TreeNode:
    """A block's place in the tree. `via` is the transition that led here (None for a root).

    `link` marks a block already shown elsewhere in the tree: it has no children and points at its first place.
    """

    block: str
    via: Transition | None = None
    via_index: int | None = None
    link: bool = False
    children: list[TreeNode] = field(default_factory=list)
    path: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """A stable identifier of this place in the tree (its path of block names and transition indexes)."""
        return "/".join(self.path)


class ProjectGraph:
    """Read-only queries over a project's transitions. Build a new one after the project changes."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.outgoing: dict[str, list[tuple[int, Transition]]] = {name: [] for name in project.blocks}
        self.incoming: dict[str, list[tuple[int, Transition]]] = {name: [] for name in project.blocks}
        for index, transition in enumerate(project.transitions):
            if transition.source in self.outgoing and transition.target in self.incoming:
                self.outgoing[transition.source].append((index, transition))
                self.incoming[transition.target].append((index, transition))

    def successors(self, block: str) -> list[Transition]:
        return [t for _, t in self.outgoing.get(block, [])]

    def predecessors(self, block: str) -> list[Transition]:
        return [t for _, t in self.incoming.get(block, [])]

    def entry_blocks(self) -> list[str]:
        """Blocks nothing else leads into (schedules and API endpoints always), in the order written.

        The global exception handler is not an entry: errors lead into it.
        """
        handler = self.project.on_exception
        return [
            name
            for name, block in self.project.blocks.items()
            if (block.type in ENTRY_TYPES or all(t.source == name for _, t in self.incoming[name])) and name != handler
        ]

    def reachable_from(self, start: str) -> set[str]:
        seen = {start}
        queue = deque([start])
        while queue:
            for transition in self.successors(queue.popleft()):
                if transition.target not in seen:
                    seen.add(transition.target)
                    queue.append(transition.target)
        return seen

    @cached_property
    def handler_protected(self) -> set[str]:
        """Blocks reachable from the global exception handler: the handler does not catch their errors."""
        handler = self.project.on_exception
        if handler is None or handler not in self.project.blocks:
            return set()
        return self.reachable_from(handler)

    def catches_with_handler(self, block: str) -> bool:
        """True when a failure of this code block goes to the global handler (no exception transition of its own)."""
        handler = self.project.on_exception
        if handler is None or handler not in self.project.blocks:
            return False
        if not isinstance(self.project.blocks.get(block), CodeBlock) or block in self.handler_protected:
            return False
        return not any(t.type == "exception" for t in self.successors(block))

    def tree(self) -> list[TreeNode]:
        """The block tree: entries as roots, children in declaration order, blocks seen before shown as links.

        Blocks that no root reaches (a pure cycle, the global handler) become roots of their own, so every block
        appears once in full.
        """
        placed: set[str] = set()
        roots: list[TreeNode] = []

        def expand(root: TreeNode) -> None:
            # Depth first, in the order the tree is read: a block's first appearance is its full place, and
            # every later one (below it) is a link.
            stack = [root]
            while stack:
                current = stack.pop()
                if current.link:
                    continue
                if current is not root and current.block in placed:
                    current.link = True
                    continue
                placed.add(current.block)
                current.children = [
                    TreeNode(transition.target, transition, index, path=(*current.path, f"{index}:{transition.target}"))
                    for index, transition in self.outgoing.get(current.block, [])
                ]
                stack.extend(reversed(current.children))

        def add_root(name: str) -> None:
            root = TreeNode(name, path=(name,))
            roots.append(root)
            expand(root)

        for name in self.entry_blocks():
            if name not in placed:
                add_root(name)
        for name in self.project.blocks:
            if name not in placed:
                add_root(name)
        return roots

    def cycles(self) -> list[list[str]]:
        """Strongly connected groups of blocks that lead back to themselves (self-loops included)."""
        index_of: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        result: list[list[str]] = []
        counter = 0
        for start in self.project.blocks:
            if start in index_of:
                continue
            work = [(start, iter(self.successors(start)))]
            index_of[start] = low[start] = counter
            counter += 1
            stack.append(start)
            on_stack.add(start)
            while work:
                node, successors = work[-1]
                advanced = False
                for transition in successors:
                    target = transition.target
                    if target not in index_of:
                        index_of[target] = low[target] = counter
                        counter += 1
                        stack.append(target)
                        on_stack.add(target)
                        work.append((target, iter(self.successors(target))))
                        advanced = True
                        break
                    if target in on_stack:
                        low[node] = min(low[node], index_of[target])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index_of[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    self_loop = any(t.target == node for t in self.successors(node))
                    if len(component) > 1 or self_loop:
                        order = list(self.project.blocks)
                        result.append(sorted(component, key=order.index))
        return result

    @cached_property
    def fan_in_pairs(self) -> dict[int, int]:
        """For each fan-in transition (by index), the index of the nearest enclosing fan-out transition.

        Walking forward from a fan-out's target, a nested fan-out opens a level and its fan-in closes it; the first
        fan-in met at level 0 closes this fan-out. The nearest is the fan-out with the shortest such walk.
        """
        best: dict[int, tuple[int, int]] = {}
        for fan_out_index, fan_out in enumerate(self.project.transitions):
            if fan_out.type != "fan-out" or fan_out.target not in self.outgoing:
                continue
            queue = deque([(fan_out.target, 0, 1)])
            seen = {(fan_out.target, 0)}
            while queue:
                block, level, distance = queue.popleft()
                for index, transition in self.outgoing[block]:
                    next_level = level
                    if transition.type == "fan-out":
                        next_level = level + 1
                    elif transition.type == "fan-in":
                        if level == 0:
                            if index not in best or distance < best[index][1]:
                                best[index] = (fan_out_index, distance)
                            continue
                        next_level = level - 1
                    if next_level > 50:
                        continue
                    state = (transition.target, next_level)
                    if state not in seen:
                        seen.add(state)
                        queue.append((transition.target, next_level, distance + 1))
        return {index: pair[0] for index, pair in best.items()}

    def branch_dead_ends(self, fan_out_index: int) -> list[str]:
        """Blocks inside a fan-out's branch (not nested deeper) with no transition out: a branch ending there never
        reaches the fan-in."""
        fan_out = self.project.transitions[fan_out_index]
        if fan_out.target not in self.outgoing:
            return []
        dead: list[str] = []
        queue = deque([(fan_out.target, 0)])
        seen = {(fan_out.target, 0)}
        while queue:
            block, level = queue.popleft()
            if not self.outgoing[block] and level == 0:
                dead.append(block)
            for _, transition in self.outgoing[block]:
                if transition.type == "fan-in" and level == 0:
                    continue
                next_level = level + (transition.type == "fan-out") - (transition.type == "fan-in")
                state = (transition.target, next_level)
                if next_level <= 50 and state not in seen:
                    seen.add(state)
                    queue.append(state)
        return dead

    def always_run(self) -> set[str]:
        """Blocks that run in every execution of their entry: reached from an entry without an if, else or
        exception transition on the way."""
        unconditional = ("then", "fan-out", "fan-in", "merge")
        seen = set(self.entry_blocks())
        queue = deque(seen)
        while queue:
            for _, transition in self.outgoing.get(queue.popleft(), []):
                if transition.type in unconditional and transition.target not in seen:
                    seen.add(transition.target)
                    queue.append(transition.target)
        return seen

    def fan_in_for(self, fan_out_index: int) -> list[int]:
        return [fan_in for fan_in, fan_out in self.fan_in_pairs.items() if fan_out == fan_out_index]

    def merge_sources(self, block: str) -> list[Transition]:
        """The merge transitions into a block, in declaration order (the order of the merged list)."""
        return [t for t in self.predecessors(block) if t.type == "merge"]

    def exception_targets(self, block: str) -> list[str]:
        """Where a failure of this block goes: its exception transitions, else the global handler, else nowhere."""
        explicit = [t.target for t in self.successors(block) if t.type == "exception"]
        if explicit:
            return explicit
        return [self.project.on_exception] if self.catches_with_handler(block) else []
