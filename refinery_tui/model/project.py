"""The typed project model: blocks, transitions and the project, with the edits the workbench makes to them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from refinery_tui.model import schema
from refinery_tui.model.diagnostics import Position


class ModelError(ValueError):
    """An edit that would make the model inconsistent (a duplicate name, a missing block)."""


def _located() -> Any:
    return field(default_factory=dict, compare=False, repr=False)


@dataclass
class Block:
    """A block of any type. `field_positions` maps each written field to where its value is in project.yaml."""

    name: str
    type: str = ""
    description: str | None = None
    position: Position = field(default=Position(), compare=False, repr=False)
    field_positions: dict[str, Position] = _located()

    DATA_FIELDS: ClassVar[tuple[str, ...]] = ("description",)

    def field_pos(self, name: str) -> Position:
        return self.field_positions.get(name, self.position)

    def to_data(self) -> dict[str, Any]:
        """The block as it is written in project.yaml: its type, then every field that is set."""
        data: dict[str, Any] = {"type": self.type}
        for name in self.DATA_FIELDS:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @property
    def is_code(self) -> bool:
        return self.type == "code"


@dataclass
class CodeBlock(Block):
    type: str = field(default="code", init=False)
    language: str | None = None
    file: str | None = None
    timeout: int | None = None
    memory: int | None = None
    env: dict[str, str] | None = None
    libraries: list[str] | None = None
    retries: int | None = None
    max_return: int | None = None

    DATA_FIELDS: ClassVar[tuple[str, ...]] = (
        "language",
        "file",
        "timeout",
        "memory",
        "env",
        "libraries",
        "retries",
        "max_return",
        "description",
    )

    @property
    def language_name(self) -> str:
        return self.language or schema.DEFAULT_LANGUAGE

    @property
    def code_file(self) -> str:
        """The code file's path relative to the project, the default one when `file` is not set."""
        return self.file or schema.default_code_file(self.name, self.language_name)

    @property
    def timeout_s(self) -> int:
        return self.timeout or schema.DEFAULT_TIMEOUT_S

    @property
    def memory_mb(self) -> int:
        return self.memory or schema.DEFAULT_MEMORY_MB

    @property
    def max_return_mb(self) -> int:
        """The largest value (output and backpack, as JSON) the block may return, in MB."""
        return self.max_return or schema.DEFAULT_MAX_RETURN_MB

    @property
    def retry_count(self) -> int:
        return self.retries or 0


@dataclass
class ScheduleBlock(Block):
    type: str = field(default="schedule", init=False)
    schedule: str | None = None
    input: Any = None

    DATA_FIELDS: ClassVar[tuple[str, ...]] = ("schedule", "input", "description")


@dataclass
class QueueBlock(Block):
    type: str = field(default="queue", init=False)
    batch_size: int | None = None

    DATA_FIELDS: ClassVar[tuple[str, ...]] = ("batch_size", "description")

    @property
    def batch(self) -> int:
        return self.batch_size or schema.DEFAULT_BATCH_SIZE


@dataclass
class TopicBlock(Block):
    type: str = field(default="topic", init=False)


@dataclass
class ApiEndpointBlock(Block):
    type: str = field(default="api_endpoint", init=False)
    path: str | None = None
    method: str | None = None

    DATA_FIELDS: ClassVar[tuple[str, ...]] = ("path", "method", "description")

    @property
    def http_method(self) -> str:
        return (self.method or schema.DEFAULT_METHOD).upper()


@dataclass
class ApiResponseBlock(Block):
    type: str = field(default="api_response", init=False)


BLOCK_CLASSES: dict[str, type[Block]] = {
    "code": CodeBlock,
    "schedule": ScheduleBlock,
    "queue": QueueBlock,
    "topic": TopicBlock,
    "api_endpoint": ApiEndpointBlock,
    "api_response": ApiResponseBlock,
}


def make_block(name: str, block_type: str, **values: Any) -> Block:
    """A block of the class for block_type; an unknown type gives a plain Block that keeps the type's name."""
    cls = BLOCK_CLASSES.get(block_type)
    if cls is None:
        return Block(name=name, type=block_type, **values)
    return cls(name=name, **values)


@dataclass
class Transition:
    """A join from one block to another. `type_written` remembers whether `type:` was written (then is default)."""

    source: str
    target: str
    type: str = "then"
    expression: str | None = None
    type_written: bool = field(default=True, compare=False, repr=False)
    number: int | None = field(default=None, compare=False, repr=False)
    """Its place (1-based) in the file's transition list, for messages; None for one not read from a file."""
    position: Position = field(default=Position(), compare=False, repr=False)
    field_positions: dict[str, Position] = _located()

    def field_pos(self, name: str) -> Position:
        return self.field_positions.get(name, self.position)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"from": self.source, "to": self.target}
        if self.type_written or self.type != "then":
            data["type"] = self.type
        if self.expression is not None:
            data["expression"] = self.expression
        return data

    def label(self) -> str:
        return f"{self.type}: {self.expression}" if self.type == "if" and self.expression else self.type


@dataclass
class Project:
    """A whole project: its blocks in the order written, its transitions in the order declared."""

    name: str
    blocks: dict[str, Block] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    description: str | None = None
    on_exception: str | None = None
    max_hops: int | None = None
    root: Path | None = field(default=None, compare=False, repr=False)
    field_positions: dict[str, Position] = _located()
    renames: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Blocks renamed since the file was read: new name -> the name written in the file (for the writer)."""

    def field_pos(self, name: str) -> Position:
        return self.field_positions.get(name, Position())

    @property
    def hop_limit(self) -> int:
        return self.max_hops or schema.DEFAULT_MAX_HOPS

    @property
    def project_file(self) -> Path:
        if self.root is None:
            raise ModelError("this project has no folder")
        return self.root / schema.PROJECT_FILE

    def block(self, name: str) -> Block:
        try:
            return self.blocks[name]
        except KeyError:
            raise ModelError(f"no block named '{name}'") from None

    def code_blocks(self) -> list[CodeBlock]:
        return [block for block in self.blocks.values() if isinstance(block, CodeBlock)]

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        for key in ("description", "on_exception", "max_hops"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data["blocks"] = {name: block.to_data() for name, block in self.blocks.items()}
        data["transitions"] = [transition.to_data() for transition in self.transitions]
        return data

    # Edits. Each keeps the model consistent; project.yaml is written only by the writer.

    def add_block(self, block: Block) -> None:
        if block.name in self.blocks:
            raise ModelError(f"a block named '{block.name}' already exists")
        if not schema.BLOCK_NAME_RE.match(block.name):
            raise ModelError(f"'{block.name}' is not a valid block name (lowercase letters, digits and '-')")
        self.blocks[block.name] = block

    def remove_block(self, name: str) -> Block:
        """Remove a block and every transition into or out of it."""
        block = self.block(name)
        del self.blocks[name]
        self.transitions = [t for t in self.transitions if name not in (t.source, t.target)]
        if self.on_exception == name:
            self.on_exception = None
        return block

    def rename_block(self, old: str, new: str) -> None:
        """Rename a block everywhere it is named; a defaulted code file keeps pointing at the same file."""
        block = self.block(old)
        if new == old:
            return
        if new in self.blocks:
            raise ModelError(f"a block named '{new}' already exists")
        if not schema.BLOCK_NAME_RE.match(new):
            raise ModelError(f"'{new}' is not a valid block name (lowercase letters, digits and '-')")
        if isinstance(block, CodeBlock) and block.file is None:
            block.file = block.code_file
        block.name = new
        self.renames[new] = self.renames.pop(old, old)
        self.blocks = {(new if name == old else name): value for name, value in self.blocks.items()}
        for transition in self.transitions:
            if transition.source == old:
                transition.source = new
            if transition.target == old:
                transition.target = new
        if self.on_exception == old:
            self.on_exception = new

    def add_transition(self, transition: Transition) -> int:
        for end in (transition.source, transition.target):
            self.block(end)
        if transition.type not in schema.TRANSITION_TYPES:
            raise ModelError(f"unknown transition type '{transition.type}'")
        self.transitions.append(transition)
        return len(self.transitions) - 1

    def remove_transition(self, index: int) -> Transition:
        return self.transitions.pop(index)


def block_field_names(block: Block) -> tuple[str, ...]:
    """Every field a block of this class may have in project.yaml (type included)."""
    return ("type", *type(block).DATA_FIELDS)


def dataclass_values(block: Block) -> dict[str, Any]:
    return {f.name: getattr(block, f.name) for f in fields(block) if f.compare}
