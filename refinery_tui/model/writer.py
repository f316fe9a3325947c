"""Write the model back to project.yaml, changing only what changed: comments, key order and quoting are kept."""

from __future__ import annotations

import difflib
import io
import json
import re
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from refinery_tui.model import schema
from refinery_tui.model.files import atomic_write_text
from refinery_tui.model.project import Project

_PLAIN_RESOLVER = yaml.resolver.Resolver()
_KNOWN_BLOCK_FIELDS = tuple(dict.fromkeys(
    [*schema.COMMON_BLOCK_FIELDS, *(name for names in schema.BLOCK_FIELDS.values() for name in names)]))
_STR_TAG = "tag:yaml.org,2002:str"


def _same(a: Any, b: Any) -> bool:
    """Equality that tells true from 1 and '1' from 1, through nested lists and mappings."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, str) != isinstance(b, str):
        return False
    return a == b


def _node(value: Any, flow: bool = False) -> Any:
    """A ruamel node for a plain value; text that a YAML 1.1 reader would take for a number or boolean is quoted."""
    if isinstance(value, dict):
        node = CommentedMap((str(k), _node(v, flow)) for k, v in value.items())
        if flow:
            node.fa.set_flow_style()
        return node
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_node(v, flow) for v in value)
        if flow:
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and _PLAIN_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG:
        return DoubleQuotedScalarString(value)
    return value


class _Sync:
    """Applies the model's data to the ruamel document in place, remembering whether anything changed."""

    def __init__(self) -> None:
        self.changed = False

    def mapping(self, target: CommentedMap, new: dict[str, Any], owned: tuple[str, ...] | None,
                nested: dict[str, Any] | None = None) -> None:
        """Make target hold new; keys not in `owned` (unknown to the model) are left alone, so nothing is lost."""
        nested = nested or {}
        for key in [k for k in target if k not in new and (owned is None or k in owned)]:
            del target[key]
            self.changed = True
        flow = target.fa.flow_style()
        for key, value in new.items():
            if key in target:
                current = target[key]
                if key in nested and isinstance(current, CommentedMap) and isinstance(value, dict):
                    nested[key](current, value)
                elif not _same(current, value):
                    target[key] = _node(value, flow)
                    self.changed = True
            else:
                target[key] = _node(value, flow)
                self.changed = True

    def blocks(self, target: CommentedMap, new: dict[str, dict[str, Any]]) -> None:
        removed = [k for k in target if k not in new]
        added = [k for k in new if k not in target]
        old_order, new_order = list(target), list(new)
        if len(removed) == 1 and len(added) == 1 and \
                old_order.index(removed[0]) == new_order.index(added[0]):
            old, renamed = removed[0], added[0]
            position = old_order.index(old)
            node = target[old]
            comment = target.ca.items.pop(old, None)
            del target[old]
            target.insert(position, renamed, node)
            if comment is not None:
                target.ca.items[renamed] = comment
            self.changed = True
        for key in [k for k in target if k not in new]:
            del target[key]
            self.changed = True
        for index, (name, data) in enumerate(new.items()):
            if name not in target:
                target.insert(index, name, _node(data, flow=True))
                self.changed = True
                continue
            node = target[name]
            if not isinstance(node, CommentedMap):
                target[name] = _node(data, flow=True)
                self.changed = True
                continue
            self.mapping(node, data, _KNOWN_BLOCK_FIELDS, {"env": lambda t, v: self.mapping(t, v, None)})

    def transitions(self, target: CommentedSeq, new: list[dict[str, Any]]) -> None:
        old_keys = [json.dumps(_plain(item), sort_keys=True, default=str) for item in target]
        new_keys = [json.dumps(item, sort_keys=True, default=str) for item in new]
        matcher = difflib.SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
        for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
            if tag == "equal":
                continue
            self.changed = True
            pairs = _align([_plain(item) for item in target[i1:i2]], new[j1:j2])
            kept = {i1 + a: j1 + b for a, b in pairs}
            for index in range(i2 - 1, i1 - 1, -1):  # from the end, so earlier indexes stay valid
                if index not in kept:
                    del target[index]
            position = i1
            for j in range(j1, j2):
                paired = next((old for old, new_j in kept.items() if new_j == j), None)
                if paired is None:
                    target.insert(position, _node(new[j], flow=True))
                else:
                    item = target[position]
                    if isinstance(item, CommentedMap):
                        self.mapping(item, new[j], schema.TRANSITION_FIELDS)
                    else:
                        target[position] = _node(new[j], flow=True)
                position += 1


def _align(old: list[Any], new: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pair old and new transitions in order, maximising the fields they share (two at least), so that an edited
    transition keeps its place and its comment."""
    def score(a: Any, b: dict[str, Any]) -> int:
        if not isinstance(a, dict):
            return 0
        return sum(1 for key in schema.TRANSITION_FIELDS if key in b and a.get(key) == b[key])

    rows, cols = len(old), len(new)
    best = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            match = score(old[i], new[j])
            paired = best[i + 1][j + 1] + match if match >= 2 else -1
            best[i][j] = max(paired, best[i + 1][j], best[i][j + 1])
    pairs = []
    i = j = 0
    while i < rows and j < cols:
        match = score(old[i], new[j])
        if match >= 2 and best[i][j] == best[i + 1][j + 1] + match:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _yaml(indent: int = 2, sequence_indent: int = 4, offset: int = 2) -> YAML:
    handler = YAML()
    handler.preserve_quotes = True
    handler.width = 4096
    handler.indent(mapping=indent, sequence=sequence_indent, offset=offset)
    return handler


def render_project(project: Project, existing: str | None = None) -> str:
    """project.yaml's new text: existing text updated in place, or a fresh file in the documented layout."""
    data = project.to_data()
    if existing is None or not existing.strip():
        handler = _yaml()
        doc = CommentedMap()
        sync = _Sync()
        sync.mapping(doc, {k: v for k, v in data.items() if k not in ("blocks", "transitions")}, None)
        doc["blocks"] = CommentedMap()
        sync.blocks(doc["blocks"], data["blocks"])
        doc["transitions"] = CommentedSeq()
        sync.transitions(doc["transitions"], data["transitions"])
    else:
        indent, offset = _guess_indent(existing)
        handler = _yaml(indent, offset + 2, offset)
        doc = handler.load(existing)
        sync = _Sync()
        top = {k: v for k, v in data.items() if k not in ("blocks", "transitions")}
        sync.mapping(doc, top, tuple(k for k in schema.TOP_LEVEL_FIELDS if k not in ("blocks", "transitions")))
        if not isinstance(doc.get("blocks"), CommentedMap):
            doc["blocks"] = CommentedMap()
        sync.blocks(doc["blocks"], data["blocks"])
        if not isinstance(doc.get("transitions"), CommentedSeq):
            if not data["transitions"] and "transitions" not in doc:
                return _dump(handler, doc) if sync.changed else existing
            doc["transitions"] = CommentedSeq()
        sync.transitions(doc["transitions"], data["transitions"])
        if not sync.changed:
            return existing
        return _keep_spacing(existing, _dump(handler, doc), data)
    return _dump(handler, doc)


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) as the user wrote them; 2 and 2 when nothing shows it."""
    indent = offset = None
    lines = text.splitlines()
    for previous, line in zip(lines, lines[1:]):
        stripped = line.lstrip(" ")
        width = len(line) - len(stripped)
        if not stripped or stripped.startswith("#") or width == 0:
            continue
        if previous.rstrip().endswith(":") and not previous.startswith((" ", "-")):
            if stripped.startswith("- ") and offset is None:
                offset = width
            elif not stripped.startswith("- ") and indent is None:
                indent = width
    return indent or 2, 2 if offset is None else offset


def _collapse(line: str) -> tuple[int, str]:
    stripped = line.lstrip(" ")
    return len(line) - len(stripped), re.sub(r"\s+", " ", stripped.rstrip())


def _keep_spacing(original: str, dumped: str, data: dict[str, Any]) -> str:
    """Lines that changed only in spacing (aligned columns, padding before a comment) are kept as the user wrote
    them. If that would change what the file means, the plain dump is used instead."""
    old_lines = original.splitlines(keepends=True)
    new_lines = dumped.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=[_collapse(x) for x in old_lines], b=[_collapse(x) for x in new_lines],
                                      autojunk=False)
    merged: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        merged.extend(old_lines[i1:i2] if tag == "equal" else new_lines[j1:j2])
    text = "".join(merged)
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        reread = yaml.safe_load(text)
    except yaml.YAMLError:
        return dumped
    return text if _plain(reread) == _plain(data) or _same_meaning(reread, data) else dumped


def _same_meaning(reread: Any, data: dict[str, Any]) -> bool:
    if not isinstance(reread, dict):
        return False
    known = {k: reread.get(k) for k in data}
    return _same(_plain(known), _plain(data))


def _dump(handler: YAML, doc: Any) -> str:
    stream = io.StringIO()
    handler.dump(doc, stream)
    return stream.getvalue()


def save_project(project: Project, path: Path | str | None = None) -> Path:
    """Write the project to path (default: its project.yaml) atomically; an unchanged model leaves the file as is."""
    target = Path(path) if path is not None else project.project_file
    existing = target.read_text(encoding="utf-8") if target.is_file() else None
    text = render_project(project, existing)
    if text != existing:
        atomic_write_text(target, text)
    return target
