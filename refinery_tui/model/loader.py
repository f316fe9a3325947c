"""Load project.yaml into the typed model, reporting every structural mistake (types, fields, ranges) found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refinery_tui.model import schema
from refinery_tui.model.diagnostics import Diagnostic, Position, Severity, did_you_mean
from refinery_tui.model.project import Block, Project, Transition, make_block
from refinery_tui.model.yaml_limits import MAX_CHARS, too_big
from refinery_tui.model.yaml_source import LocatedList, LocatedMap, ScalarInfo, parse_yaml


@dataclass
class LoadResult:
    """The model (best effort, even when there are errors) and what was wrong with the file."""

    project: Project | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scalars: dict[Position, ScalarInfo] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


class ProjectNotFound(FileNotFoundError):
    """The folder has no project.yaml."""


_TYPE_NAMES = {str: "text", int: "a whole number", dict: "a mapping", list: "a list", bool: "true or false"}


class _Reader:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.diagnostics: list[Diagnostic] = []

    def error(self, position: Position, message: str, hint: str = "", code: str = "") -> None:
        self.diagnostics.append(Diagnostic(self.filename, position, message, hint, Severity.ERROR, code))

    def expect(self, value: Any, kind: type, position: Position, what: str) -> bool:
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.error(
                position,
                f"{what} must be {_TYPE_NAMES[kind]}, not {_describe(value)}",
                _type_hint(kind),
                code="wrong-type",
            )
        return ok

    def check_fields(
        self, mapping: LocatedMap, allowed: tuple[str, ...], where: str, elsewhere: dict[str, str] | None = None
    ) -> None:
        for key in mapping:
            if key in allowed:
                continue
            note = ""
            if elsewhere and key in elsewhere:
                note = f"; '{key}' belongs to {elsewhere[key]}"
            suggestion = did_you_mean(key, allowed)
            self.error(
                mapping.key_pos(key),
                f"unknown field '{key}' in {where}{suggestion}",
                f"allowed fields: {', '.join(allowed)}{note}",
                code="unknown-field",
            )

    def ranged_int(self, mapping: LocatedMap, key: str, what: str) -> int | None:
        if key not in mapping:
            return None
        value = mapping[key]
        position = mapping.value_pos(key)
        if not self.expect(value, int, position, f"{what} '{key}'"):
            return None
        low, high, unit = schema.RANGES[key]
        if not low <= value <= high:
            self.error(
                position,
                f"'{key}' is {value}, outside {low}–{high} {unit}",
                f"use a value from {low} to {high}",
                code="out-of-range",
            )
        return value

    def text(self, mapping: LocatedMap, key: str, what: str) -> str | None:
        if key not in mapping or mapping[key] is None and key == "description":
            return None
        value = mapping[key]
        return value if self.expect(value, str, mapping.value_pos(key), f"{what} '{key}'") else None


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return repr(value)


def _type_hint(kind: type) -> str:
    return {
        str: 'quote the value: "..."',
        int: "write a number without quotes or units",
        dict: 'write `key: value` pairs, e.g. {A: "1"}',
        list: "write a list, e.g. [a, b]",
        bool: "write true or false",
    }[kind]


_FIELD_OWNERS = {name: f"{block_type} blocks" for block_type, names in schema.BLOCK_FIELDS.items() for name in names}


def _read_block(reader: _Reader, name: Any, data: Any, blocks: LocatedMap) -> Block | None:
    position = blocks.key_pos(name)
    where = f"block '{name}'"
    if not isinstance(data, LocatedMap):
        reader.error(
            blocks.value_pos(name),
            f"block '{name}' must be a mapping of fields, not {_describe(data)}",
            "e.g. my-block: {type: code, language: python}",
            code="wrong-type",
        )
        return None
    block_type = data.get("type")
    field_positions = {key: data.value_pos(key) for key in data}
    if "type" not in data:
        reader.error(
            position,
            f"block '{name}' has no type",
            f"add `type:` with one of: {', '.join(schema.BLOCK_TYPES)}",
            code="missing-type",
        )
        return Block(name=str(name), type="", position=position, field_positions=field_positions)
    if block_type not in schema.BLOCK_TYPES:
        known = schema.BLOCK_TYPE_SYNONYMS.get(str(block_type))
        suggestion = f" (did you mean '{known}'?)" if known else did_you_mean(str(block_type), schema.BLOCK_TYPES)
        reader.error(
            data.value_pos("type"),
            f"unknown block type '{block_type}'{suggestion}",
            f"block types: {', '.join(schema.BLOCK_TYPES)}",
            code="unknown-block-type",
        )
        return Block(name=str(name), type=str(block_type), position=position, field_positions=field_positions)
    allowed = (*schema.COMMON_BLOCK_FIELDS, *schema.BLOCK_FIELDS[block_type])
    reader.check_fields(data, allowed, f"{block_type} {where}", _FIELD_OWNERS)
    values: dict[str, Any] = {"description": reader.text(data, "description", where)}
    if block_type == "code":
        values.update(_read_code_fields(reader, data, where))
    elif block_type == "schedule":
        values["schedule"] = reader.text(data, "schedule", where)
        values["input"] = data.get("input")
        if "schedule" not in data:
            reader.error(
                position,
                f"schedule block '{name}' has no schedule",
                'add e.g. `schedule: "rate(1 hour)"` or `schedule: "cron(0 8 * * ? *)"`',
                code="missing-field",
            )
    elif block_type == "queue":
        values["batch_size"] = reader.ranged_int(data, "batch_size", where)
    elif block_type == "api_endpoint":
        values["path"] = reader.text(data, "path", where)
        values["method"] = reader.text(data, "method", where)
        if "path" not in data:
            reader.error(
                position, f"api_endpoint block '{name}' has no path", "add e.g. `path: /orders`", code="missing-field"
            )
    return make_block(str(name), block_type, position=position, field_positions=field_positions, **values)


def _read_code_fields(reader: _Reader, data: LocatedMap, where: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "language": reader.text(data, "language", where),
        "file": reader.text(data, "file", where),
        "timeout": reader.ranged_int(data, "timeout", where),
        "memory": reader.ranged_int(data, "memory", where),
        "retries": reader.ranged_int(data, "retries", where),
        "max_return": reader.ranged_int(data, "max_return", where),
    }
    if "env" in data and reader.expect(data["env"], dict, data.value_pos("env"), f"{where} 'env'"):
        env = data["env"]
        values["env"] = {}
        for key, value in env.items():
            if isinstance(value, (dict, list)):
                reader.error(
                    env.value_pos(key),
                    f"environment variable '{key}' must be a single value",
                    "environment values are text; encode structures as JSON text",
                    code="wrong-type",
                )
                continue
            values["env"][str(key)] = value
    if "libraries" in data and reader.expect(
        data["libraries"], list, data.value_pos("libraries"), f"{where} 'libraries'"
    ):
        libraries = data["libraries"]
        values["libraries"] = []
        for index, library in enumerate(libraries):
            if reader.expect(library, str, libraries.item_pos(index), f"library #{index + 1} of {where}"):
                values["libraries"].append(library)
    return values


def _read_transition(reader: _Reader, index: int, data: Any, transitions: LocatedList) -> Transition | None:
    position = transitions.item_pos(index)
    where = f"transition #{index + 1}"
    if not isinstance(data, LocatedMap):
        reader.error(
            position,
            f"{where} must be a mapping, not {_describe(data)}",
            "e.g. - {from: a, to: b, type: then}",
            code="wrong-type",
        )
        return None
    reader.check_fields(data, schema.TRANSITION_FIELDS, where)
    ends = {}
    for key in ("from", "to"):
        if key not in data:
            reader.error(position, f"{where} has no '{key}'", f"add `{key}:` with a block name", code="missing-field")
            ends[key] = None
        elif reader.expect(data[key], str, data.value_pos(key), f"'{key}' of {where}"):
            ends[key] = data[key]
        else:
            ends[key] = None
    transition_type = data.get("type", "then")
    if not isinstance(transition_type, str) or transition_type not in schema.TRANSITION_TYPES:
        reader.error(
            data.value_pos("type"),
            f"unknown transition type '{transition_type}'{did_you_mean(str(transition_type), schema.TRANSITION_TYPES)}",
            f"transition types: {', '.join(schema.TRANSITION_TYPES)}",
            code="unknown-transition-type",
        )
    expression = data.get("expression")
    if expression is not None and not isinstance(expression, str):
        expression = str(expression)  # `expression: true` is the Python expression True
    if ends["from"] is None or ends["to"] is None:
        return None
    return Transition(
        source=ends["from"],
        target=ends["to"],
        type=str(transition_type),
        expression=expression,
        type_written="type" in data,
        position=position,
        number=index + 1,
        field_positions={key: data.value_pos(key) for key in data},
    )


def project_from_data(data: Any, filename: str = schema.PROJECT_FILE) -> tuple[Project | None, list[Diagnostic]]:
    """Build the model from parsed YAML (a LocatedMap); returns the model and the structural diagnostics."""
    reader = _Reader(filename)
    if data is None:
        reader.error(Position(), "project.yaml is empty", "start from `refinery-tui new PROJECT`", code="empty")
        return None, reader.diagnostics
    if not isinstance(data, LocatedMap):
        reader.error(
            getattr(data, "position", Position()),
            f"project.yaml must be a mapping, not {_describe(data)}",
            "the top level holds name:, blocks: and transitions:",
            code="wrong-type",
        )
        return None, reader.diagnostics
    reader.check_fields(data, schema.TOP_LEVEL_FIELDS, "the project")
    name = data.get("name")
    if "name" not in data:
        reader.error(
            Position(1, 1), "the project has no name", "add `name: my-project` at the top", code="missing-field"
        )
        name = ""
    elif reader.expect(name, str, data.value_pos("name"), "the project 'name'"):
        if not schema.PROJECT_NAME_RE.match(name):
            reader.error(
                data.value_pos("name"),
                f"invalid project name '{name}'",
                f"use 1–40 lowercase letters, digits and '-' (it names AWS resources), "
                f"e.g. '{schema.slugify(name, 40)}'",
                code="invalid-name",
            )
    else:
        name = ""
    project = Project(
        name=name,
        description=reader.text(data, "description", "the project"),
        on_exception=reader.text(data, "on_exception", "the project"),
        max_hops=reader.ranged_int(data, "max_hops", "the project"),
        field_positions={key: data.value_pos(key) for key in data},
    )
    blocks = data.get("blocks")
    if "blocks" not in data:
        reader.error(Position(1, 1), "the project has no blocks", "add a `blocks:` mapping", code="missing-field")
    elif blocks is None:
        pass
    elif reader.expect(blocks, dict, data.value_pos("blocks"), "'blocks'"):
        for block_name, block_data in blocks.items():
            if not isinstance(block_name, str) or not schema.BLOCK_NAME_RE.match(block_name):
                reader.error(
                    blocks.key_pos(block_name),
                    f"invalid block name '{block_name}'",
                    f"use 1–48 lowercase letters, digits and '-', e.g. '{schema.slugify(str(block_name))}'",
                    code="invalid-name",
                )
            block = _read_block(reader, block_name, block_data, blocks)
            if block is not None:
                project.blocks[block.name] = block
    transitions = data.get("transitions")
    if transitions is not None and reader.expect(transitions, list, data.value_pos("transitions"), "'transitions'"):
        for index, item in enumerate(transitions):
            transition = _read_transition(reader, index, item, transitions)
            if transition is not None:
                project.transitions.append(transition)
    return project, reader.diagnostics


def load_project_text(text: str, root: Path | None = None, filename: str = schema.PROJECT_FILE) -> LoadResult:
    parsed = parse_yaml(text, filename)
    if parsed.value is None and parsed.diagnostics:
        return LoadResult(None, parsed.diagnostics, parsed.scalars)
    project, diagnostics = project_from_data(parsed.value, filename)
    if project is not None:
        project.root = root
    return LoadResult(project, parsed.diagnostics + diagnostics, parsed.scalars)


def load_project(root: Path | str) -> LoadResult:
    """Read PROJECT/project.yaml; raises ProjectNotFound when the folder has none."""
    root = Path(root)
    path = root / schema.PROJECT_FILE
    try:
        found = path.is_file()
        folder = path.is_dir()
    except OSError as exc:
        raise ProjectNotFound(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if folder:
        raise ProjectNotFound(f"{path}: is a folder, not a file")
    if not found:
        raise ProjectNotFound(f"{path}: no such file (is '{root}' a refinery-tui project?)")
    try:
        size = path.stat().st_size
        if size > MAX_CHARS:  # refused before it is read
            return LoadResult(None, [too_big(schema.PROJECT_FILE, size)])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return LoadResult(
            None,
            [
                Diagnostic(
                    schema.PROJECT_FILE, Position(), f"project.yaml is not UTF-8 text: {exc}", "save the file as UTF-8"
                )
            ],
        )
    except OSError as exc:
        return LoadResult(
            None,
            [
                Diagnostic(
                    schema.PROJECT_FILE,
                    Position(),
                    f"cannot read project.yaml: {exc.strerror or exc}",
                    "check the file's permissions",
                )
            ],
        )
    return load_project_text(text, root)
