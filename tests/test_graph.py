"""Graph queries: entries, successors, the tree with links, cycles, fan-in pairing, merges, exception routing."""

from __future__ import annotations

from refinery_tui.model import ProjectGraph, load_project, load_project_text
from tests.conftest import PROJECTS


def graph_of(text: str) -> ProjectGraph:
    result = load_project_text(text)
    assert result.diagnostics == [], result.diagnostics
    return ProjectGraph(result.project)


def test_all_transitions_queries():
    project = load_project(PROJECTS / "all-transitions").project
    graph = ProjectGraph(project)
    assert graph.entry_blocks() == ["start"]
    assert [t.target for t in graph.successors("start")] == ["split", "describe"]
    assert [t.source for t in graph.predecessors("report")] == ["total", "describe"]
    assert [t.source for t in graph.merge_sources("report")] == ["total", "describe"]
    fan_out = next(i for i, t in enumerate(project.transitions) if t.type == "fan-out")
    fan_ins = sorted(i for i, t in enumerate(project.transitions) if t.type == "fan-in")
    assert sorted(graph.fan_in_for(fan_out)) == fan_ins
    assert graph.exception_targets("square") == ["square-failed"]
    assert graph.exception_targets("start") == ["report-error"]
    assert graph.exception_targets("report-error") == []  # the handler does not catch itself
    assert graph.cycles() == []


def test_tree_shows_repeated_blocks_as_links_and_every_block_once():
    project = load_project(PROJECTS / "all-transitions").project
    roots = ProjectGraph(project).tree()
    assert [r.block for r in roots] == ["start", "report-error"]
    full, links = [], []

    def walk(node):
        (links if node.link else full).append(node.block)
        assert not (node.link and node.children)
        for child in node.children:
            walk(child)

    for root in roots:
        walk(root)
    assert sorted(full) == sorted(project.blocks)
    assert sorted(links) == ["report", "total"]
    keys = set()
    for root in roots:
        stack = [root]
        while stack:
            node = stack.pop()
            assert node.key not in keys
            keys.add(node.key)
            stack.extend(node.children)


def test_nested_fan_out_pairs_with_the_nearest_enclosing_fan_out():
    graph = graph_of("""
name: nested
blocks: {a: {type: code}, b: {type: code}, c: {type: code}, d: {type: code}, e: {type: code}}
transitions:
  - {from: a, to: b, type: fan-out}
  - {from: b, to: c, type: fan-out}
  - {from: c, to: d, type: fan-in}
  - {from: d, to: e, type: fan-in}
""")
    assert graph.fan_in_pairs == {2: 1, 3: 0}


def test_cycles_and_pure_cycles_become_roots():
    graph = graph_of("""
name: loops
blocks: {a: {type: code}, b: {type: code}, c: {type: code}, x: {type: code}, y: {type: code}}
transitions:
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: c, to: b, type: if, expression: "return_data < 3"}
  - {from: x, to: y}
  - {from: y, to: x}
  - {from: a, to: a, type: if, expression: "False"}
""")
    assert sorted(map(sorted, graph.cycles())) == [["a"], ["b", "c"], ["x", "y"]]
    assert graph.entry_blocks() == ["a"]  # a self-loop does not stop a block being an entry
    assert [root.block for root in graph.tree()] == ["a", "x"]


def test_schedules_and_endpoints_are_always_entries():
    project = load_project(PROJECTS / "api-orders").project
    graph = ProjectGraph(project)
    assert graph.entry_blocks() == ["new-order"]
    assert graph.successors("order-events")[1].target == "update-stats"
    assert load_project(PROJECTS / "scheduled-report").project.blocks["nightly"].type == "schedule"
