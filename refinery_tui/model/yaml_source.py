"""Parse YAML into plain values that remember where each key and value was written, finding duplicate keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from refinery_tui.model.diagnostics import Diagnostic, Position
from refinery_tui.model.yaml_limits import MAX_NODES, GuardedLoader, LimitExceeded, check_size, prescan


class LocatedMap(dict):
    """A dict that knows the position of itself, of each key and of each value."""

    position: Position
    key_positions: dict[Any, Position]
    value_positions: dict[Any, Position]
    flow_style: bool

    def key_pos(self, key: Any) -> Position:
        return self.key_positions.get(key, self.position)

    def value_pos(self, key: Any) -> Position:
        return self.value_positions.get(key, self.key_pos(key))


class LocatedList(list):
    """A list that knows the position of itself and of each item."""

    position: Position
    item_positions: list[Position]

    def item_pos(self, index: int) -> Position:
        if 0 <= index < len(self.item_positions):
            return self.item_positions[index]
        return self.position


@dataclass
class ScalarInfo:
    """How a scalar was written: where its text starts and whether it was quoted."""

    position: Position
    style: str | None
    single_line: bool


@dataclass
class ParsedYaml:
    value: Any
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scalars: dict[Position, ScalarInfo] = field(default_factory=dict)


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


class _TooLarge(Exception):
    pass


class _Builder:
    def __init__(self, filename: str, loader: GuardedLoader) -> None:
        self.filename = filename
        self.loader = loader
        self.diagnostics: list[Diagnostic] = []
        self.scalars: dict[Position, ScalarInfo] = {}
        self.nodes = 0

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLarge(node)
        if depth > 200:
            self.diagnostics.append(
                Diagnostic(self.filename, _pos(node.start_mark), "YAML is nested too deeply", "flatten the structure")
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            result = LocatedList(self.build(item, depth + 1) for item in node.value)
            result.position = _pos(node.start_mark)
            result.item_positions = [_pos(item.start_mark) for item in node.value]
            return result
        position = _pos(node.start_mark)
        self.scalars[position] = ScalarInfo(position, node.style, node.start_mark.line == node.end_mark.line)
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:
            self.diagnostics.append(
                Diagnostic(
                    self.filename,
                    position,
                    f"invalid value: {exc}",
                    "use a smaller number, or quote the value to keep it as text",
                )
            )
            return None
        except yaml.YAMLError as exc:
            self.diagnostics.append(
                Diagnostic(self.filename, position, f"invalid value: {exc}", "quote the value to keep it as text")
            )
            return None

    def _mapping(self, node: yaml.MappingNode, depth: int) -> LocatedMap:
        result = LocatedMap()
        result.position = _pos(node.start_mark)
        result.key_positions = {}
        result.value_positions = {}
        result.flow_style = bool(node.flow_style)
        for key_node, value_node in node.value:
            key_position = _pos(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.diagnostics.append(
                    Diagnostic(self.filename, key_position, "a key must be a plain name, not a list or mapping")
                )
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.diagnostics.append(
                    Diagnostic(
                        self.filename,
                        key_position,
                        "YAML merge keys (<<) are not supported",
                        "write the fields out in full",
                    )
                )
                continue
            key = self.build(key_node, depth + 1)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            if key in result.key_positions:
                first = result.key_positions[key]
                self.diagnostics.append(
                    Diagnostic(
                        self.filename,
                        key_position,
                        f"duplicate key '{key}' (first defined at line {first.line})",
                        "YAML keeps only one of them: remove or rename one",
                        code="duplicate-key",
                    )
                )
                continue
            result.key_positions[key] = key_position
            result.value_positions[key] = _pos(value_node.start_mark)
            result[key] = self.build(value_node, depth + 1)
        return result


def parse_yaml(text: str, filename: str) -> ParsedYaml:
    """Parse text; a syntax error, or a document over the limits (yaml_limits), becomes a diagnostic and the value
    None."""
    try:
        check_size(text, filename)
        prescan(text, filename)
    except LimitExceeded as exc:
        return ParsedYaml(None, [exc.diagnostic])
    loader = GuardedLoader(text, filename)
    try:
        try:
            node = loader.get_single_node()
        except LimitExceeded as exc:
            return ParsedYaml(None, [exc.diagnostic])
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            position = _pos(mark) if mark else Position()
            problem = exc.problem or "invalid YAML"
            context = f" ({exc.context})" if exc.context else ""
            hint = "check the indentation, colons and quotes around this place"
            if (
                exc.context_mark is not None
                and exc.problem_mark is not None
                and exc.context_mark.line != exc.problem_mark.line
            ):
                start = _pos(exc.context_mark)
                hint = f"what starts at line {start.line}, column {start.col} is not closed or not indented right"
            return ParsedYaml(
                None,
                [Diagnostic(filename, position, f"YAML syntax error: {problem}{context}", hint, code="yaml-syntax")],
            )
        except yaml.YAMLError as exc:
            return ParsedYaml(None, [Diagnostic(filename, Position(), f"YAML error: {exc}", code="yaml-syntax")])
        if node is None:
            return ParsedYaml(None)
        builder = _Builder(filename, loader)
        try:
            value = builder.build(node)
        except _TooLarge as exc:
            return ParsedYaml(
                None,
                [
                    Diagnostic(
                        filename,
                        _pos(exc.args[0].start_mark),
                        f"the YAML expands to more than {MAX_NODES:,} values once its aliases are filled in",
                        "aliases (*name) that repeat large anchors multiply the size; write the values out",
                        code="too-large",
                    )
                ],
            )
        return ParsedYaml(value, builder.diagnostics, builder.scalars)
    finally:
        loader.dispose()
