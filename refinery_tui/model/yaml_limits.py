"""Limits on a YAML document, enforced before and while it is parsed: its size, how many values it writes, and how
deeply they nest, so an oversized or hostile project.yaml costs a second, not minutes and gigabytes."""

from __future__ import annotations

import yaml

from refinery_tui.model.diagnostics import Diagnostic, Position

MAX_CHARS = 4 * 1024 * 1024  # a 10,000-block project is about 1 MB
MAX_NODES = 500_000  # keys, values and items written (and, separately, after aliases are expanded)
MAX_DEPTH = 100

_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODES = (yaml.ScalarEvent, yaml.AliasEvent, *_OPENING)


class LimitExceeded(Exception):
    """The document is over one of the limits; `diagnostic` says which, and where."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def too_big(filename: str, size: int) -> Diagnostic:
    return Diagnostic(
        filename,
        Position(),
        f"{filename} is {size / 1_048_576:.1f} MB; the limit is {MAX_CHARS // 1_048_576} MB",
        "a project.yaml this large is not supported: split the workflow into several projects",
        code="too-large",
    )


def too_many(filename: str, mark: yaml.Mark, limit: int = MAX_NODES) -> Diagnostic:
    return Diagnostic(
        filename,
        Position(mark.line + 1, mark.column + 1),
        f"{filename} writes more than {limit:,} values (keys, values and list items)",
        "a project.yaml this large is not supported: split the workflow into several projects",
        code="too-large",
    )


def too_deep(filename: str, mark: yaml.Mark, limit: int = MAX_DEPTH) -> Diagnostic:
    return Diagnostic(
        filename,
        Position(mark.line + 1, mark.column + 1),
        f"YAML is nested too deeply (more than {limit} levels)",
        "flatten the structure",
        code="too-deep",
    )


def check_size(text: str, filename: str) -> None:
    if len(text) > MAX_CHARS:
        raise LimitExceeded(too_big(filename, len(text.encode("utf-8", "replace"))))


def prescan(text: str, filename: str) -> None:
    """Count values and nesting with libyaml's fast event parser, when it is installed; syntax errors are left to
    the parser that reports them with positions."""
    parser_class = getattr(yaml, "CSafeLoader", None)
    if parser_class is None:
        return
    parser = parser_class(text)
    nodes = depth = 0
    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, _NODES):
                nodes += 1
                if nodes > MAX_NODES:
                    raise LimitExceeded(too_many(filename, event.start_mark))
            if isinstance(event, _OPENING):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LimitExceeded(too_deep(filename, event.start_mark))
            elif isinstance(event, _CLOSING):
                depth -= 1
    except yaml.YAMLError:
        return
    finally:
        parser.dispose()


class GuardedLoader(yaml.SafeLoader):
    """PyYAML's composer with the same limits, counted as nodes are composed (also without libyaml)."""

    def __init__(self, stream: str, filename: str, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
        super().__init__(stream)
        self.filename = filename
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.composed = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        self.composed += 1
        if self.composed > self.max_nodes:
            raise LimitExceeded(too_many(self.filename, self.peek_event().start_mark, self.max_nodes))
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise LimitExceeded(too_deep(self.filename, self.peek_event().start_mark, self.max_depth))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1
