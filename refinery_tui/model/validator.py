"""Semantic validation: names, files, code, expressions, schedules and the graph rules, every problem at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from refinery_tui.model import schema
from refinery_tui.model.code_check import check_code
from refinery_tui.model.diagnostics import Diagnostic, Position, Severity, did_you_mean, sort_diagnostics
from refinery_tui.model.graph import ProjectGraph
from refinery_tui.model.loader import LoadResult, load_project
from refinery_tui.model.project import ApiEndpointBlock, CodeBlock, Project, ScheduleBlock, Transition
from refinery_tui.model.project_paths import OutsideProject, inside_project
from refinery_tui.model.yaml_source import ScalarInfo
from refinery_tui.runtime.expressions import ExpressionSyntaxError, compile_expression


@dataclass
class ValidationResult:
    project: Project | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return self.project is not None and not self.errors


def _suggest(name: str, candidates: dict[str, object]) -> str:
    """'did you mean' against block names; skipped for very large projects, where it would cost too much."""
    return did_you_mean(name, candidates) if len(candidates) <= 500 else ""


class _Checker:
    def __init__(self, project: Project, scalars: dict[Position, ScalarInfo]) -> None:
        self.project = project
        self.root = project.root
        self.scalars = scalars
        self.graph = ProjectGraph(project)
        self.diagnostics: list[Diagnostic] = []

    def report(
        self,
        position: Position,
        message: str,
        hint: str = "",
        *,
        file: str = schema.PROJECT_FILE,
        warning: bool = False,
        code: str = "",
    ) -> None:
        severity = Severity.WARNING if warning else Severity.ERROR
        self.diagnostics.append(Diagnostic(file, position, message, hint, severity, code))

    def run(self) -> list[Diagnostic]:
        self.check_handler()
        routes: dict[tuple[str, str], str] = {}
        for block in self.project.blocks.values():
            if isinstance(block, CodeBlock):
                self.check_code_block(block)
            elif isinstance(block, ScheduleBlock):
                self.check_schedule(block)
            elif isinstance(block, ApiEndpointBlock):
                self.check_endpoint(block, routes)
        for index, transition in enumerate(self.project.transitions):
            self.check_transition((transition.number or index + 1) - 1, transition)
        self.check_else_and_joins()
        self.check_cycles()
        self.check_connections()
        return self.diagnostics

    def check_handler(self) -> None:
        handler = self.project.on_exception
        if handler is None:
            return
        position = self.project.field_pos("on_exception")
        if handler not in self.project.blocks:
            self.report(
                position,
                f"on_exception names a block that does not exist: '{handler}'"
                f"{did_you_mean(handler, self.project.blocks)}",
                "name a code block defined under `blocks:`",
                code="missing-block",
            )
        elif not self.project.blocks[handler].is_code:
            self.report(
                position,
                f"on_exception must name a code block; '{handler}' is a {self.project.blocks[handler].type} block",
                "point it at a code block that handles errors",
                code="bad-handler",
            )

    def check_code_block(self, block: CodeBlock) -> None:
        if block.language is not None and block.language not in schema.LANGUAGES:
            self.report(
                block.field_pos("language"),
                f"unknown language '{block.language}'{did_you_mean(block.language, schema.LANGUAGES)}",
                f"languages: {', '.join(schema.LANGUAGES)}",
                code="unknown-language",
            )
            return
        for key in block.env or {}:
            position = block.field_pos("env")
            if not schema.ENV_NAME_RE.match(key):
                self.report(
                    position,
                    f"invalid environment variable name '{key}' in block '{block.name}'",
                    "use letters, digits and '_', not starting with a digit",
                    code="invalid-name",
                )
            elif key.startswith("AWS_"):
                self.report(
                    position,
                    f"environment variable '{key}' of block '{block.name}' is reserved by AWS",
                    "rename it; names starting with AWS_ are set by Lambda",
                    code="reserved-env",
                )
        self.check_code_file(block)

    def check_code_file(self, block: CodeBlock) -> None:
        relative = block.code_file
        position = block.field_pos("file")
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts or "\\" in relative:
            self.report(
                position,
                f"the file of block '{block.name}' must be a relative path inside the project: '{relative}'",
                "e.g. blocks/my_block.py",
                code="bad-path",
            )
            return
        extensions = schema.LANGUAGE_EXTENSIONS[block.language_name]
        if pure.suffix not in extensions:
            self.report(
                position,
                f"'{relative}' does not look like {block.language_name} code (expected {' or '.join(extensions)})",
                "fix the file name or the block's language",
                code="wrong-extension",
            )
            return
        if self.root is None:
            return
        try:
            path = inside_project(self.root, relative)
        except OutsideProject as exc:
            self.report(
                position,
                f"the file of block '{block.name}' leads outside the project: {exc}",
                "copy the code into the project folder instead of linking to it",
                code="bad-path",
            )
            return
        try:
            is_folder = path.is_dir()
            exists = path.is_file()
        except OSError as exc:
            self.report(
                position,
                f"cannot look at '{relative}': {exc.strerror or exc}",
                "check the permissions of the file and its folders",
                code="unreadable-file",
            )
            return
        if is_folder:
            self.report(
                position,
                f"'{relative}' is a folder, not a code file",
                "point `file:` at the code file",
                code="missing-file",
            )
            return
        if not exists:
            written = "file" in block.field_positions
            how = "" if written else f" (the default for block '{block.name}')"
            self.report(
                position,
                f"code file '{relative}'{how} does not exist",
                f"create it with a `main` function, or set `file:` on block '{block.name}'",
                code="missing-file",
            )
            return
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.report(
                Position(),
                f"the block's code is not UTF-8 text: {exc}",
                "save the file as UTF-8 text",
                file=relative,
                code="unreadable-file",
            )
            return
        except OSError as exc:
            self.report(
                Position(),
                f"cannot read the block's code: {exc.strerror or exc}",
                "check the file's permissions",
                file=relative,
                code="unreadable-file",
            )
            return
        for problem in check_code(block.language_name, source):
            self.report(Position(problem.line, problem.col), problem.message, problem.hint, file=relative, code="code")

    def check_schedule(self, block: ScheduleBlock) -> None:
        expression = block.schedule
        if expression is None:
            return
        problem = schedule_problem(expression)
        if problem:
            message, hint = problem
            self.report(
                block.field_pos("schedule"), f"schedule of block '{block.name}': {message}", hint, code="bad-schedule"
            )

    def check_endpoint(self, block: ApiEndpointBlock, routes: dict[tuple[str, str], str]) -> None:
        if block.path is not None and not block.path.startswith("/"):
            self.report(
                block.field_pos("path"),
                f"the path of block '{block.name}' must start with '/'",
                f"e.g. /{block.path}",
                code="bad-path",
            )
        if block.method is not None and block.method.upper() not in schema.HTTP_METHODS:
            self.report(
                block.field_pos("method"),
                f"unknown HTTP method '{block.method}'{did_you_mean(block.method.upper(), schema.HTTP_METHODS)}",
                f"methods: {', '.join(schema.HTTP_METHODS)}",
                code="bad-method",
            )
        if block.path is not None:
            route = (block.http_method, block.path)
            if route in routes:
                self.report(
                    block.field_pos("path"),
                    f"{route[0]} {route[1]} is already served by block '{routes[route]}'",
                    "give each endpoint its own path or method",
                    code="duplicate-route",
                )
            routes[route] = block.name

    def check_transition(self, index: int, transition: Transition) -> None:
        ends_ok = True
        for key, name in (("from", transition.source), ("to", transition.target)):
            if name not in self.project.blocks:
                ends_ok = False
                self.report(
                    transition.field_pos(key),
                    f"transition #{index + 1} {key} a block that does not "
                    f"exist: '{name}'{_suggest(name, self.project.blocks)}",
                    "name a block defined under `blocks:`",
                    code="missing-block",
                )
        if transition.type not in schema.TRANSITION_TYPES:
            return
        if transition.type == "if":
            self.check_expression(index, transition)
        elif transition.expression is not None:
            self.report(
                transition.field_pos("expression"),
                f"transition #{index + 1} is '{transition.type}': only 'if' transitions take an expression",
                "remove `expression:` or make it `type: if`",
                code="stray-expression",
            )
        if not ends_ok:
            return
        source = self.project.blocks[transition.source]
        target = self.project.blocks[transition.target]
        if (
            not source.type
            or not target.type
            or source.type not in schema.BLOCK_TYPES
            or target.type not in schema.BLOCK_TYPES
        ):
            return
        allowed = schema.allowed_transitions(source.type, target.type)
        if transition.type not in allowed:
            if allowed:
                hint = f"between these blocks use: {', '.join(allowed)}"
            elif target.type in ("schedule", "api_endpoint"):
                hint = f"a {target.type} block starts executions; nothing can lead into it"
            elif source.type == "api_response":
                hint = "an api_response block ends the request; nothing can follow it"
            else:
                hint = "put a code block between them"
            self.report(
                transition.field_pos("type") if transition.type_written else transition.position,
                f"a '{transition.type}' transition cannot join {source.type} block '{source.name}' "
                f"to {target.type} block '{target.name}'",
                hint,
                code="bad-join",
            )

    def check_expression(self, index: int, transition: Transition) -> None:
        if transition.expression is None:
            self.report(
                transition.position,
                f"'if' transition #{index + 1} has no expression",
                "add e.g. `expression: \"return_data['ok']\"`",
                code="missing-expression",
            )
            return
        try:
            compile_expression(transition.expression)
        except ExpressionSyntaxError as exc:
            position = self.expression_position(transition.field_pos("expression"), exc)
            self.report(
                position,
                f"expression of transition #{index + 1}: {exc.message}",
                "an expression may use return_data, block_input, backpack and a few builtins",
                code="bad-expression",
            )

    def expression_position(self, start: Position, exc: ExpressionSyntaxError) -> Position:
        info = self.scalars.get(start)
        if info is None or not info.single_line or exc.line != 1:
            return start
        quote = 1 if info.style in ('"', "'") else 0
        return Position(start.line, start.col + quote + exc.offset - 1)

    def check_else_and_joins(self) -> None:
        for name in self.project.blocks:
            outgoing = self.graph.outgoing[name]
            has_if = any(t.type == "if" for _, t in outgoing)
            for index, transition in outgoing:
                if transition.type == "else" and not has_if:
                    self.report(
                        transition.field_pos("type"),
                        f"'else' transition #{transition.number or index + 1} "
                        f"from '{name}' has "
                        f"no 'if' on the same block",
                        "add an `if` transition from this block, or use `then`",
                        code="else-without-if",
                    )
            merges = self.graph.merge_sources(name)
            if len(merges) == 1:
                self.report(
                    merges[0].field_pos("type"),
                    f"block '{name}' has a single merge source ('{merges[0].source}'): a merge joins two or more",
                    "add the other merge sources, or use `then`",
                    code="single-merge",
                )
        always = self.graph.always_run()
        for name in self.project.blocks:
            merges = self.graph.merge_sources(name)
            conditional = [t.source for t in merges if t.source not in always]
            if len(merges) > 1 and conditional:
                self.report(
                    self.project.blocks[name].position,
                    f"merge into '{name}' may never complete: "
                    f"{', '.join(repr(c) for c in conditional)} runs only when an if, else or exception "
                    "fires",
                    "the execution fails at this merge when a source does not run; merge only blocks that always run",
                    warning=True,
                    code="merge-may-wait",
                )
        if any(t.type not in schema.TRANSITION_TYPES for t in self.project.transitions):
            return  # a mistyped fan-out would make every fan-in after it look unpaired: report the typo alone
        pairs = self.graph.fan_in_pairs
        for index, transition in enumerate(self.project.transitions):
            if transition.type == "fan-in" and index not in pairs and transition.source in self.project.blocks:
                self.report(
                    transition.field_pos("type"),
                    f"fan-in transition #{transition.number or index + 1} from "
                    f"'{transition.source}' has no enclosing fan-out",
                    "a fan-in collects the branches of a fan-out upstream of it; add the fan-out or use `then`",
                    code="fan-in-without-fan-out",
                )
        for fan_out_index in sorted(set(pairs.values())):
            dead = self.graph.branch_dead_ends(fan_out_index)
            if dead:
                fan_out = self.project.transitions[fan_out_index]
                self.report(
                    fan_out.field_pos("type"),
                    f"a branch of the fan-out from '{fan_out.source}' can end at "
                    f"{', '.join(repr(d) for d in dead)} without reaching its fan-in",
                    "the execution fails when a branch never arrives; route that path into the fan-in",
                    warning=True,
                    code="branch-never-joins",
                )

    def check_cycles(self) -> None:
        for cycle in self.graph.cycles():
            members = set(cycle)
            exits = [
                t
                for name in cycle
                for t in self.graph.successors(name)
                if t.type in ("if", "else", "exception") or t.target not in members
            ]
            conditional = [
                t
                for name in cycle
                for t in self.graph.successors(name)
                if t.target in members and t.type in ("if", "else", "exception")
            ]
            if not exits and not conditional:
                block = self.project.blocks[cycle[0]]
                self.report(
                    block.position,
                    f"blocks {' -> '.join(cycle)} form a loop with no condition to leave it",
                    f"it runs until max_hops ({self.project.hop_limit}) stops it; add an `if` to end it",
                    warning=True,
                    code="endless-loop",
                )

    def check_connections(self) -> None:
        if len(self.project.blocks) < 2:
            return
        for name, block in self.project.blocks.items():
            if name == self.project.on_exception:
                continue
            if not self.graph.outgoing[name] and not self.graph.incoming[name]:
                self.report(
                    block.position,
                    f"block '{name}' is not connected to any other block",
                    "add a transition to or from it, or remove it",
                    warning=True,
                    code="unconnected",
                )
            elif block.type in ("api_endpoint", "schedule", "queue", "topic") and not self.graph.outgoing[name]:
                self.report(
                    block.position,
                    f"{block.type} block '{name}' leads nowhere",
                    "add a `then` transition to a code block",
                    warning=True,
                    code="dead-end",
                )


def schedule_problem(expression: str) -> tuple[str, str] | None:
    """(message, hint) when a schedule expression is neither a valid rate(...) nor cron(...), else None."""
    text = expression.strip()
    rate = schema.RATE_RE.match(text)
    if rate:
        if len(rate.group(1)) > 9:
            return "the rate is too large", "use a rate below 1,000,000,000"
        value, unit = int(rate.group(1)), rate.group(2)
        if unit not in schema.RATE_UNITS:
            return (
                f"unknown rate unit '{unit}'{did_you_mean(unit, schema.RATE_UNITS)}",
                "units: minute(s), hour(s), day(s)",
            )
        if value < 1:
            return "a rate must be at least 1", "e.g. rate(1 hour)"
        singular = unit.rstrip("s")
        expected = singular if value == 1 else singular + "s"
        if unit != expected:
            return f"'{text}' should say '{expected}'", f"write rate({value} {expected})"
        return None
    cron = schema.CRON_RE.match(text)
    if cron:
        parts = cron.group(1).split()
        if len(parts) != 6:
            return (
                f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "
                f"this one has {len(parts)}",
                "e.g. cron(0 8 * * ? *)",
            )
        if any(not part or set(part) - set("0123456789*?,-/#LWABCDEFGHIJKLMNOPQRSTUVWXYZ") for part in parts):
            return "a cron field has characters AWS does not accept", "fields use digits, * ? , - / L W #, names"
        if "?" not in (parts[2], parts[4]):
            return "either day-of-month or day-of-week must be '?'", f"e.g. cron({' '.join(parts[:4])} ? {parts[5]})"
        return None
    return f"'{expression}' is neither rate(...) nor cron(...)", "e.g. rate(5 minutes) or cron(0 8 * * ? *)"


def validate_loaded(result: LoadResult) -> ValidationResult:
    diagnostics = list(result.diagnostics)
    if result.project is not None:
        diagnostics += _Checker(result.project, result.scalars).run()
    return ValidationResult(result.project, sort_diagnostics(diagnostics))


def validate_project(root: Path | str) -> ValidationResult:
    """Load and validate PROJECT; raises ProjectNotFound when the folder has no project.yaml."""
    return validate_loaded(load_project(root))
