"""A project opened for local runs: the last good model and manifest, warm workers, the run history."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from refinery_tui.local.controller import ExecutionResult
from refinery_tui.local.executor import Executor
from refinery_tui.local.history import History
from refinery_tui.local.workers import WorkerPool
from refinery_tui.model.manifest import build_manifest
from refinery_tui.model.project import Project
from refinery_tui.model.validator import ValidationResult, validate_project
from refinery_tui.runtime.events import Event


class InvalidProject(Exception):
    """The project has validation errors and no earlier good version to fall back on."""

    def __init__(self, result: ValidationResult) -> None:
        super().__init__(f"{len(result.errors)} validation error(s)")
        self.result = result


def default_concurrency() -> int:
    return max(2, min(8, (os.cpu_count() or 2) * 2))


class LocalSession:
    def __init__(
        self,
        root: Path | str,
        on_event: Callable[[Event], None] | None = None,
        concurrency: int | None = None,
        keep_history: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.on_event = on_event
        self.concurrency = concurrency or default_concurrency()
        self.history = History(self.root) if keep_history else None
        self.project: Project | None = None
        self.executor: Executor | None = None
        self.pool: WorkerPool | None = None
        self.last_validation: ValidationResult | None = None
        result = self.reload()
        if self.project is None:
            raise InvalidProject(result)

    def reload(self) -> ValidationResult:
        """Validate project.yaml again; on success switch to the new model, on errors keep the last good one."""
        result = validate_project(self.root)
        self.last_validation = result
        if not result.ok:
            return result
        self.project = result.project
        manifest = build_manifest(result.project)
        ceiling = max([b.get("memory", 256) for b in manifest["blocks"].values()] + [256])
        if self.pool is None:
            self.pool = WorkerPool(self.root, memory_ceiling_mb=ceiling)
        else:
            self.pool.memory_ceiling_mb = max(self.pool.memory_ceiling_mb, ceiling)  # for workers started next
        if self.executor is None:
            self.executor = Executor(self.root, manifest, self.pool, self.history, self._emit, self.concurrency)
        else:
            self.executor.use_manifest(manifest)  # a run under way keeps the manifest it started with
        return result

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def run(self, value: Any = None, entry: str | None = None, *, step: bool = False) -> ExecutionResult:
        return self.executor.run(entry, value, step=step)

    def replay(
        self,
        block: str,
        base_execution: str | None = None,
        value: Any = None,
        *,
        use_input: bool = False,
        step: bool = False,
    ) -> ExecutionResult:
        """Replay from `block`: from the given execution, or the last one that reached it."""
        if base_execution is None:
            record = self.history.last_execution_reaching(block) if self.history else None
            if record is None:
                raise KeyError(f"no recorded execution reached '{block}' yet; run the project first")
            base_execution = record.id
        return self.executor.replay(base_execution, block, value, use_input=use_input, step=step)

    def blocks_using(self, path: Path) -> list[str]:
        """Code blocks whose file is `path`, in the order the tree shows them."""
        if self.project is None:
            return []
        resolved = Path(path).resolve()
        return [b.name for b in self.project.code_blocks() if (self.root / b.code_file).resolve() == resolved]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        if self.history is not None:
            self.history.close()

    def __enter__(self) -> LocalSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
