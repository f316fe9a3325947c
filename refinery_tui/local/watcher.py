"""Hot reload: on a saved block file, replay the last execution from that block; on a saved project.yaml,
validate and reload (a broken file reports its errors and the last good model keeps running)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from refinery_tui.local.controller import ExecutionResult
from refinery_tui.local.history import compare_executions
from refinery_tui.local.session import LocalSession
from refinery_tui.model.graph import ProjectGraph
from refinery_tui.model.project import Project
from refinery_tui.model.schema import PROJECT_FILE
from refinery_tui.runtime.events import (
    Event,
    FileChanged,
    OutputsCompared,
    ProjectInvalid,
    ProjectReloaded,
    WatchError,
    Watching,
)

DEBOUNCE_MS = 30


class ProjectFilter(DefaultFilter):
    """Ignore run data, caches, dependencies and editors' temporary files."""

    ignore_dirs = (*DefaultFilter.ignore_dirs, ".refinery")

    def __call__(self, change: Change, path: str) -> bool:
        name = Path(path).name
        if name.endswith((".tmp", ".swp", ".swx", "~")) or name.startswith((".#", ".project.yaml.")):
            return False
        return super().__call__(change, path)


def earliest_block(project: Project, blocks: list[str]) -> str:
    """Of `blocks`, the one that runs first: the earliest in the tree's order."""
    order: list[str] = []
    stack = list(reversed(ProjectGraph(project).tree()))
    while stack:
        node = stack.pop()
        if not node.link:
            order.append(node.block)
        stack.extend(reversed(node.children))
    return min(blocks, key=lambda name: order.index(name) if name in order else len(order))


class HotReloader:
    """Turns file changes into reloads and replays. `handle` does the work; `run` feeds it from watchfiles."""

    def __init__(self, session: LocalSession, emit: Callable[[Event], None]) -> None:
        self.session = session
        self.emit = emit

    def handle(self, paths: Iterable[Path]) -> list[ExecutionResult]:
        paths = [Path(p).resolve() for p in paths]
        results: list[ExecutionResult] = []
        if any(p.name == PROJECT_FILE and p.parent == self.session.root for p in paths):
            validation = self.session.reload()
            if validation.ok:
                self.emit(ProjectReloaded(len(validation.project.blocks), len(validation.warnings)))
            else:
                self.emit(
                    ProjectInvalid(
                        [d.format() for d in validation.errors],
                        self.session.project.name if self.session.project else None,
                    )
                )
        changed_blocks: list[str] = []
        for path in paths:
            for block in self.session.blocks_using(path):
                if block not in changed_blocks:
                    changed_blocks.append(block)
        if not changed_blocks:
            return results
        block = earliest_block(self.session.project, changed_blocks)
        history = self.session.history
        base = history.last_execution_reaching(block) if history else None
        self.emit(FileChanged(changed_blocks, block, base.id if base else None))
        if base is None:
            latest = history.executions(limit=1) if history else []
            if latest and latest[0].replay_of is None and latest[0].entry in self.session.project.blocks:
                result = self.session.run(latest[0].input, latest[0].entry)  # the last run again, same input
            else:
                result = self.session.run()
        else:
            result = self.session.replay(block, base.id)
            comparison = compare_executions(history, base.id, result.execution_id)
            self.emit(OutputsCompared(result.execution_id, base.id, **comparison))
        results.append(result)
        return results

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set. Announces `watching` once the watcher is really in place."""
        announced = False
        for changes in watch(
            self.session.root,
            watch_filter=ProjectFilter(),
            debounce=DEBOUNCE_MS,
            step=10,
            stop_event=stop,
            rust_timeout=100,
            yield_on_timeout=True,
        ):
            if not announced:
                announced = True
                self.emit(Watching(str(self.session.root)))
            paths = [Path(path) for change, path in changes if change != Change.deleted]
            if paths:
                try:
                    self.handle(paths)
                except Exception as exc:  # noqa: BLE001 - a failed re-run is reported, the watcher goes on
                    self.emit(WatchError(f"{type(exc).__name__}: {exc}"))
