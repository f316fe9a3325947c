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
from refinery_tui.model.project import ModelError, Project
from refinery_tui.model.yaml_comments import delete_item, reattach

_PLAIN_RESOLVER = yaml.resolver.Resolver()
_KNOWN_BLOCK_FIELDS = tuple(
    dict.fromkeys([*schema.COMMON_BLOCK_FIELDS, *(name for names in schema.BLOCK_FIELDS.values() for name in names)])
)
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

    def mapping(
        self,
        target: CommentedMap,
        new: dict[str, Any],
        owned: tuple[str, ...] | None,
        nested: dict[str, Any] | None = None,
        textual: tuple[str, ...] = (),
    ) -> None:
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
                elif key in textual and not isinstance(current, str) and str(current) == value:
                    continue  # `expression: true` was read as the text "True"
                elif not _same(current, value):
                    target[key] = _node(value, flow)
                    self.changed = True
            else:
                target[key] = _node(value, flow)
                self.changed = True

    def renames(self, doc: CommentedMap, renames: dict[str, str]) -> None:
        """Rename blocks in place, in `blocks:` and in every transition, so that their comments and layout stay."""
        blocks = doc.get("blocks")
        for new, old in renames.items():
            if new == old or not isinstance(blocks, CommentedMap) or old not in blocks or new in blocks:
                continue
            position = list(blocks).index(old)
            node = blocks[old]
            comment = blocks.ca.items.pop(old, None)
            del blocks[old]
            blocks.insert(position, new, node)
            if comment is not None:
                blocks.ca.items[new] = comment
            for item in doc.get("transitions") or []:
                if isinstance(item, CommentedMap):
                    for key in ("from", "to"):
                        if item.get(key) == old:
                            item[key] = new
            if doc.get("on_exception") == old:
                doc["on_exception"] = new
            self.changed = True

    def blocks(self, target: CommentedMap, new: dict[str, dict[str, Any]]) -> str:
        """Make `blocks:` hold new; the comment lines that trailed a removed last block, for `reattach`."""
        trailing = ""
        for key in [k for k in target if k not in new]:
            trailing += delete_item(target, key)
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
        return trailing

    def transitions(self, target: CommentedSeq, new: list[dict[str, Any]]) -> str:
        """Make `transitions:` hold new; the comment lines that trailed a removed last transition."""
        trailing = ""
        old_keys = [json.dumps(_transition_plain(item), sort_keys=True, default=str) for item in target]
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
                    trailing += delete_item(target, index)
            position = i1
            for j in range(j1, j2):
                paired = next((old for old, new_j in kept.items() if new_j == j), None)
                if paired is None:
                    target.insert(position, _node(new[j], flow=True))
                else:
                    item = target[position]
                    if isinstance(item, CommentedMap):
                        self.mapping(item, new[j], schema.TRANSITION_FIELDS, textual=("expression",))
                    else:
                        target[position] = _node(new[j], flow=True)
                position += 1
        return trailing


def _transition_plain(item: Any) -> Any:
    plain = _plain(item)
    if isinstance(plain, dict) and "expression" in plain and not isinstance(plain["expression"], str):
        plain["expression"] = str(plain["expression"])
    return plain


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
    handler.version = (1, 1)  # read values as PyYAML (the loader) does: `yes` is true, `010` is 8
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
        sync.renames(doc, project.renames)
        top = {k: v for k, v in data.items() if k not in ("blocks", "transitions")}
        sync.mapping(doc, top, tuple(k for k in schema.TOP_LEVEL_FIELDS if k not in ("blocks", "transitions")))
        if not isinstance(doc.get("blocks"), CommentedMap):
            doc["blocks"] = CommentedMap()
        reattach(sync.blocks(doc["blocks"], data["blocks"]), doc["blocks"])
        if not isinstance(doc.get("transitions"), CommentedSeq):
            if not data["transitions"] and "transitions" not in doc:
                return _dump(handler, doc) if sync.changed else existing
            doc["transitions"] = CommentedSeq()
        reattach(sync.transitions(doc["transitions"], data["transitions"]), doc["transitions"])
        if not sync.changed:
            return existing
        return _keep_spacing(existing, _dump(handler, doc), data)
    return _dump(handler, doc)


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) as the user wrote them; 2 and 2 when nothing shows it."""
    indent = offset = None
    previous = ""
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        width = len(line) - len(stripped)
        if not stripped or stripped.startswith("#"):
            continue
        if width == 0:
            previous = line
            continue
        parent, previous = previous, line
        if parent.split("#", 1)[0].rstrip().endswith(":") and not parent.startswith((" ", "-")):
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
    matcher = difflib.SequenceMatcher(
        a=[_collapse(x) for x in old_lines], b=[_collapse(x) for x in new_lines], autojunk=False
    )
    merged: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            merged.extend(old_lines[i1:i2])
        elif tag == "replace" and i2 - i1 == j2 - j1:
            merged.extend(old if _same_line(old, new) else new for old, new in zip(old_lines[i1:i2], new_lines[j1:j2]))
        else:
            merged.extend(new_lines[j1:j2])
    text = "".join(merged)
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        reread = yaml.safe_load(text)
    except yaml.YAMLError:
        return dumped
    return text if _same_meaning(reread, data) else dumped


_UNPARSED = object()
# Loader errors after which the model still holds everything that was written (unknown keys are never deleted).
_KEPT_BY_THE_WRITER = {"unknown-field", "invalid-name", "out-of-range", "unknown-transition-type"}


def _line_value(line: str) -> Any:
    text = line.strip()
    if text.startswith("- "):
        text = text[2:]
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return _UNPARSED


def _same_line(old: str, new: str) -> bool:
    """The user's line says the same as the writer's (`yes` for true, `010` for 8): keep the user's."""
    if _collapse(old)[0] != _collapse(new)[0]:
        return False
    old_value, new_value = _line_value(old), _line_value(new)
    return old_value is not _UNPARSED and isinstance(old_value, dict) and _same(old_value, new_value)


def _same_meaning(reread: Any, data: dict[str, Any]) -> bool:
    """The re-read file holds the model's data (ignoring keys the model does not know)."""
    if not isinstance(reread, dict):
        return False

    def normal(value: dict[str, Any]) -> Any:
        plain = _plain({k: value.get(k) for k in data})
        if isinstance(plain.get("transitions"), list):
            plain["transitions"] = [_transition_plain(t) for t in plain["transitions"]]
        if isinstance(plain.get("blocks"), dict):
            plain["blocks"] = {
                name: {k: v for k, v in block.items() if k in _KNOWN_BLOCK_FIELDS} if isinstance(block, dict) else block
                for name, block in plain["blocks"].items()
            }
        if isinstance(plain.get("transitions"), list):
            plain["transitions"] = [
                {k: v for k, v in t.items() if k in schema.TRANSITION_FIELDS} if isinstance(t, dict) else t
                for t in plain["transitions"]
            ]
        return plain

    return _same(normal(reread), normal(data))


def _dump(handler: YAML, doc: Any) -> str:
    stream = io.StringIO()
    handler.dump(doc, stream)
    text = stream.getvalue()
    if text.startswith("%YAML 1.1\n---\n"):
        text = text[len("%YAML 1.1\n---\n") :]
    return text


def check_writable(existing: str) -> None:
    """Refuse a structured save that could lose or distort what the user wrote: a file the loader could not read
    in full (its errors would drop fields), or one that shares values through YAML anchors and aliases."""
    from refinery_tui.model.loader import load_project_text

    result = load_project_text(existing)
    unsafe = [d for d in result.errors if d.code not in _KEPT_BY_THE_WRITER]
    if unsafe:
        first = unsafe[0]
        raise ModelError(
            f"project.yaml has errors ({first.line}:{first.col}: {first.message}); fix them in the "
            "editor before changing the structure"
        )
    try:
        for event in yaml.parse(existing, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ModelError(
                    "project.yaml uses YAML anchors or aliases (&name, *name); an edit here would change "
                    "every place that shares the value. Write the values out to edit them here."
                )
    except yaml.YAMLError as exc:
        raise ModelError(f"project.yaml cannot be read: {exc}") from None


def save_project(project: Project, path: Path | str | None = None) -> Path:
    """Write the project to path (default: its project.yaml) atomically; an unchanged model leaves the file as is.

    Raises ModelError, writing nothing, when the file on disk cannot be updated safely (see check_writable).
    Line endings and a byte-order mark are kept as they were."""
    target = Path(path) if path is not None else project.project_file
    raw = target.read_bytes().decode("utf-8") if target.is_file() else None
    bom = raw is not None and raw.startswith("\ufeff")
    crlf = raw is not None and "\r\n" in raw
    existing = None if raw is None else raw.lstrip("\ufeff").replace("\r\n", "\n")
    if existing is not None and existing.strip():
        check_writable(existing)
    text = render_project(project, existing)
    if text != existing:
        if crlf:
            text = text.replace("\n", "\r\n")
        atomic_write_text(target, ("\ufeff" if bom else "") + text)
    project.renames.clear()
    return target
