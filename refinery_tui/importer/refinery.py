"""Convert a Refinery project export (or deploy request, or stored deployment) into a refinery-tui project folder."""

from __future__ import annotations

import ast
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from refinery_tui.model import schema
from refinery_tui.model.files import atomic_write_text
from refinery_tui.model.project import Project, Transition, make_block
from refinery_tui.model.writer import render_project


class ImportFailed(Exception):
    """The export cannot be read or converted at all (not JSON, not a Refinery project, target not empty)."""


@dataclass
class ImportReport:
    project: Project
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


_BLOCK_TYPES = {
    "lambda": "code",
    "schedule_trigger": "schedule",
    "sqs_queue": "queue",
    "sns_topic": "topic",
    "api_endpoint": "api_endpoint",
    "api_gateway_response": "api_response",
}
_INTERNAL_TYPES = ("api_gateway", "warmer_trigger")
_OTHER_LANGUAGE_EXTENSIONS = {"php": ".php", "ruby": ".rb", "go": ".go"}
_UUID_SUFFIX = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_NODE_EXPORTS_MAIN = re.compile(r"\b(?:module\.)?exports\.main\s*=|\bmodule\.exports\s*=")
_NODE_MAIN = re.compile(r"\b(?:async\s+)?function\s+main\s*\(|\b(?:const|let|var)\s+main\s*=")
_NODE_MAIN_CALLBACK = re.compile(r"\bfunction\s+mainCallback\s*\(|\b(?:const|let|var)\s+mainCallback\s*=")

_NODE_ADAPTER = """
// Added by `refinery-tui import`: Refinery called main(blockInput) with `backpack` as a global.
exports.main = async (blockInput, backpack) => {
  globalThis.backpack = backpack;
  return await main(blockInput, backpack);
};
"""
_NODE_CALLBACK_ADAPTER = """
// Added by `refinery-tui import`: Refinery called mainCallback(blockInput, callback) with `backpack` as a global.
exports.main = (blockInput, backpack) => new Promise((resolve, reject) => {
  globalThis.backpack = backpack;
  mainCallback(blockInput, (error, result) => (error ? reject(error) : resolve(result)));
});
"""
_UNSUPPORTED_STUB = '''"""Placeholder written by `refinery-tui import`: this block was {language} code in Refinery.

refinery-tui runs Python and Node blocks; the original code is kept in {original}. Port it here.
"""


def main(block_input, backpack):
    raise NotImplementedError("block '{name}' was {language} code in Refinery; port {original} to Python")
'''
_EMPTY_STUBS = {
    "python": "def main(block_input, backpack):\n    return block_input\n",
    "node": "exports.main = async (blockInput, backpack) => blockInput;\n",
}


def read_export(path: Path | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The project (workflow_states / workflow_relationships) and its project config, from any of the shapes."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot read the export: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ImportFailed(f"{path}: the JSON is nested too deeply to be a Refinery export") from None
    if not isinstance(data, dict):
        raise ImportFailed(f"{path}:1:1: a Refinery export is a JSON object")
    config = data.get("project_config") if isinstance(data.get("project_config"), dict) else {}
    if isinstance(data.get("diagram_data"), str):
        try:
            data = json.loads(data["diagram_data"])
        except json.JSONDecodeError as exc:
            raise ImportFailed(f"{path}: diagram_data is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("workflow_states"), list):
        raise ImportFailed(f"{path}:1:1: no workflow_states: this is not a Refinery project export")
    return data, config


def _unique_name(base: str, taken: set[str]) -> str:
    name = base
    counter = 2
    while name in taken:
        suffix = f"-{counter}"
        name = base[: 48 - len(suffix)].rstrip("-") + suffix
        counter += 1
    taken.add(name)
    return name


def _block_name(state: dict[str, Any]) -> str:
    raw = str(state.get("name") or state.get("type") or "block")
    raw = _UUID_SUFFIX.sub("", raw)
    return schema.slugify(raw)


def _relationship_type(relationship: dict[str, Any]) -> str:
    """The transition type; a stored deployment swaps `name` (the type) and `type` (the target's block type)."""
    kind = relationship.get("type")
    if kind in schema.TRANSITION_TYPES:
        return kind
    if relationship.get("name") in schema.TRANSITION_TYPES:
        return relationship["name"]
    return str(kind)


def _fix_schedule(expression: str) -> str:
    """Refinery fixed singular and plural units in rate(...) on deploy; do the same."""
    match = schema.RATE_RE.match(expression.strip())
    if not match:
        return expression.strip()
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.rstrip("s")
    return f"rate({value} {singular if value == 1 else singular + 's'})"


def _whole_number(value: Any) -> int | None:
    """An int from the export, or from text holding one; None for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    return None


def _parses_as_python3(code: str) -> int | None:
    """None when the code parses as Python 3, else the line of the first syntax error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except SyntaxError as exc:
        return exc.lineno or 1
    return None


class _Converter:
    def __init__(self, data: dict[str, Any], config: dict[str, Any], name: str) -> None:
        self.data = data
        self.config = config
        self.report = ImportReport(Project(name=name))
        self.files: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.code_paths: dict[str, str] = {}

    def warn(self, message: str) -> None:
        self.report.warnings.append(message)

    def convert(self) -> ImportReport:
        project = self.report.project
        title = self.data.get("name")
        if title:
            project.description = f"Imported from the Refinery project '{title}'"
        taken: set[str] = set()
        for state in self.data["workflow_states"]:
            if not isinstance(state, dict):
                continue
            kind = state.get("type")
            if kind in _INTERNAL_TYPES:
                continue
            if kind not in _BLOCK_TYPES:
                self.warn(f"block '{state.get('name')}' has an unknown Refinery type '{kind}': skipped")
                continue
            name = _unique_name(_block_name(state), taken)
            self.ids[str(state.get("id"))] = name
            if state.get("arn"):
                self.ids.setdefault(str(state["arn"]), name)
            project.blocks[name] = self.convert_block(name, _BLOCK_TYPES[kind], state)
        self.convert_transitions()
        self.convert_handler()
        self.convert_shared_files()
        return self.report

    def convert_block(self, name: str, kind: str, state: dict[str, Any]):
        if kind == "code":
            return self.convert_code(name, state)
        if kind == "schedule":
            expression = _fix_schedule(str(state.get("schedule_expression") or "rate(1 day)"))
            raw_input = state.get("input_string")
            block_input: Any = None
            if isinstance(raw_input, str) and raw_input.strip():
                try:
                    block_input = json.loads(raw_input)
                except json.JSONDecodeError:
                    block_input = raw_input
            return make_block(name, "schedule", schedule=expression, input=block_input)
        if kind == "queue":
            batch = state.get("batch_size")
            return make_block(name, "queue", batch_size=batch if isinstance(batch, int) and batch > 1 else None)
        if kind == "api_endpoint":
            path = str(state.get("api_path") or f"/{name}")
            method = str(state.get("http_method") or "GET").upper()
            return make_block(name, "api_endpoint", path=path if path.startswith("/") else "/" + path, method=method)
        return make_block(name, kind)

    def convert_code(self, name: str, state: dict[str, Any]):
        refinery_language = str(state.get("language") or self.config.get("default_language") or "nodejs8.10")
        code = state.get("code")
        if code is not None and not isinstance(code, str):
            self.warn(f"block '{name}': its code is not text in the export; wrote a placeholder main")
            code = None
        stem = name.replace("-", "_")
        if refinery_language.startswith("python"):
            language = "python"
            if code is None:
                self.warn(f"block '{name}': the export has no code; wrote a placeholder main")
                code = _EMPTY_STUBS["python"]
            elif refinery_language.startswith("python2"):
                line = _parses_as_python3(code)
                if line is None:
                    self.warn(f"block '{name}' was {refinery_language}; it parses as Python 3, check that it runs")
                else:
                    self.warn(
                        f"block '{name}' is {refinery_language} code that is not valid Python 3 "
                        f"(blocks/{stem}.py:{line}): port it by hand"
                    )
            file = f"blocks/{stem}.py"
        elif refinery_language.startswith("nodejs"):
            language = "node"
            file = f"blocks/{stem}.js"
            code = self.adapt_node(name, code)
        else:
            language = "python"
            family = re.sub(r"[\d.]+$", "", refinery_language)
            extension = _OTHER_LANGUAGE_EXTENSIONS.get(family, ".txt")
            original = f"blocks/unconverted/{stem}{extension}"
            self.files[original] = code or ""
            file = f"blocks/{stem}.py"
            code = _UNSUPPORTED_STUB.format(language=refinery_language, original=original, name=name)
            self.warn(
                f"block '{name}' is {refinery_language} code, which refinery-tui cannot run: kept in "
                f"{original}, and {file} raises until it is ported"
            )
        self.files[file] = code if code.endswith("\n") else code + "\n"
        self.code_paths[str(state.get("id"))] = file
        memory = _whole_number(state.get("memory"))
        timeout = _whole_number(state.get("max_execution_time"))
        for key, value in (("memory", state.get("memory")), ("max_execution_time", state.get("max_execution_time"))):
            if value is not None and _whole_number(value) is None:
                self.warn(f"block '{name}': {key} {value!r} is not a number; the default is used")
        if isinstance(memory, int) and not 128 <= memory <= 10_240:
            self.warn(f"block '{name}': memory {memory} MB is out of range; clamped")
            memory = min(max(memory, 128), 10_240)
        if isinstance(timeout, int) and not 1 <= timeout <= 900:
            timeout = min(max(timeout, 1), 900)
        for layer in state.get("layers") or []:
            self.warn(f"block '{name}': Lambda layer {layer} is not carried over; add what it provided to `libraries`")
        if isinstance(state.get("reserved_concurrency_count"), int) and not isinstance(
            state.get("reserved_concurrency_count"), bool
        ):
            self.warn(f"block '{name}': reserved concurrency is not supported and was dropped")
        env = self.environment(name, state.get("environment_variables"))
        libraries = [str(lib) for lib in state.get("libraries") or [] if isinstance(lib, str) and lib.strip()]
        default_file = schema.default_code_file(name, language)
        return make_block(
            name,
            "code",
            language=language,
            file=None if file == default_file else file,
            memory=memory if isinstance(memory, int) else None,
            timeout=timeout if isinstance(timeout, int) else None,
            env=env or None,
            libraries=libraries or None,
        )

    def adapt_node(self, name: str, code: str | None) -> str:
        if code is None:
            self.warn(f"block '{name}': the export has no code; wrote a placeholder main")
            return _EMPTY_STUBS["node"]
        if _NODE_EXPORTS_MAIN.search(code):
            return code
        if _NODE_MAIN.search(code):
            return code.rstrip("\n") + "\n" + _NODE_ADAPTER
        if _NODE_MAIN_CALLBACK.search(code):
            return code.rstrip("\n") + "\n" + _NODE_CALLBACK_ADAPTER
        self.warn(f"block '{name}': no main() or mainCallback() found in its Node code; add `exports.main`")
        return code

    def environment(self, name: str, variables: Any) -> dict[str, str]:
        if variables is not None and not isinstance(variables, dict):
            self.warn(f"block '{name}': its environment variables are not a mapping in the export; dropped")
            return {}
        if isinstance(variables, dict) and variables and all(isinstance(v, str) for v in variables.values()):
            return {}  # a stored deployment's resolved variables are Refinery's own plumbing, not the user's
        values = self.config.get("environment_variables") if isinstance(self.config, dict) else {}
        env: dict[str, str] = {}
        missing = []
        for variable_id, spec in (variables or {}).items():
            if not isinstance(spec, dict) or not spec.get("name"):
                continue
            value = (values or {}).get(variable_id, {})
            if isinstance(value, dict) and "value" in value:
                env[str(spec["name"])] = str(value["value"])
            else:
                env[str(spec["name"])] = ""
                missing.append(str(spec["name"]))
        if missing:
            self.warn(
                f"block '{name}': values of {', '.join(missing)} are not in the export; fill them in project.yaml"
            )
        return env

    def convert_transitions(self) -> None:
        for relationship in self.data.get("workflow_relationships") or []:
            if not isinstance(relationship, dict):
                continue
            source = self.ids.get(str(relationship.get("node")))
            target = self.ids.get(str(relationship.get("next")))
            kind = _relationship_type(relationship)
            if source is None or target is None:
                self.warn(f"a '{kind}' transition names a block that is not in the export: skipped")
                continue
            expression = relationship.get("expression") if kind == "if" else None
            if kind == "if" and not (isinstance(expression, str) and expression.strip()):
                self.warn(f"the 'if' transition {source} -> {target} has no expression; set to False")
                expression = "False"
            self.report.project.transitions.append(
                Transition(source=source, target=target, type=kind, expression=expression, type_written=kind != "then")
            )

    def convert_handler(self) -> None:
        handlers = self.data.get("global_handlers")
        if not isinstance(handlers, dict):
            return
        handler = handlers.get("exception_handler")
        if isinstance(handler, dict) and handler.get("id"):
            name = self.ids.get(str(handler["id"]))
            if name is None:
                self.warn("the global exception handler names a block that is not in the export: dropped")
            else:
                self.report.project.on_exception = name

    def convert_shared_files(self) -> None:
        files = {str(f.get("id")): f for f in self.data.get("workflow_files") or [] if isinstance(f, dict)}
        for link in self.data.get("workflow_file_links") or []:
            if not isinstance(link, dict):
                continue
            shared = files.get(str(link.get("file_id")))
            code_path = self.code_paths.get(str(link.get("node")))
            if shared is None or code_path is None:
                self.warn("a shared-file link names a file or block that is not in the export: skipped")
                continue
            relative = PurePosixPath(str(link.get("path") or "")) / str(shared.get("name") or "shared_file")
            parts = [part for part in relative.parts if part not in ("", ".", "..", "/")]
            target = PurePosixPath(code_path).parent / "shared_files" / PurePosixPath(*parts)
            self.files[str(target)] = str(shared.get("body") or "")

    def readme(self, text: str, title: Any) -> str:
        body = text.strip() or f"# {self.report.project.name}"
        notes = "\n".join(f"- {w}" for w in self.report.warnings) or "- nothing needed attention"
        origin = f" '{title}'" if title else ""
        return (
            f"{body}\n\n## Imported from Refinery\n\nConverted from the Refinery project{origin} by "
            f"`refinery-tui import`. Notes from the conversion:\n\n{notes}\n"
        )


def import_refinery(export_path: Path | str, project_dir: Path | str) -> ImportReport:
    """Convert the export into project_dir (which must be missing or empty) and return what was done."""
    target = Path(project_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ImportFailed(f"{target}: already exists and is not empty; choose a new folder")
    data, config = read_export(export_path)
    name = schema.slugify(target.resolve().name, 40, fallback="imported")
    converter = _Converter(data, config, name)
    try:
        report = converter.convert()
    except (TypeError, AttributeError, ValueError, KeyError, IndexError, RecursionError) as exc:
        raise ImportFailed(
            f"{export_path}: the export has a value this converter does not understand "
            f"({type(exc).__name__}: {exc}); nothing was written"
        ) from None
    report.project.root = target
    files = dict(converter.files)
    files["README.md"] = converter.readme(
        data.get("readme") if isinstance(data.get("readme"), str) else "", data.get("name")
    )
    header = f"# Imported from a Refinery export ({Path(export_path).name}) by `refinery-tui import`.\n"
    files[schema.PROJECT_FILE] = header + render_project(report.project)
    target.mkdir(parents=True, exist_ok=True)
    (target / ".gitignore").write_text(".refinery/\n", encoding="utf-8")
    for relative, text in files.items():
        atomic_write_text(target / relative, text)
        report.files.append(relative)
    return report
