"""The project as the workbench knows it: last good model, problems, manifest, chosen deploy target; no Textual."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from refinery_tui.cloud.stage import StageTarget
from refinery_tui.model.diagnostics import Diagnostic
from refinery_tui.model.project import Project
from refinery_tui.model.validator import ValidationResult
from refinery_tui.tui.deploy_target import TARGET_FILE, default_target, load_target, save_target

Listener = Callable[[set[str]], None]  # told what changed: "project" (model, problems, manifest), "target"


class ProjectState:
    """One object every pane reads; the app updates it after each validation, the Deploy pane when a target is
    chosen. Listeners run on the thread that made the change (the UI thread): they post a message, nothing more."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.validation: ValidationResult | None = None
        self.last_good: Project | None = None
        self._manifest: dict[str, Any] | None = None
        # the target is remembered on disk so it survives a restart; None until one is chosen
        self.target: StageTarget | None = load_target(self.root) if self._target_file().is_file() else None
        self._listeners: list[Listener] = []

    def _target_file(self) -> Path:
        return self.root / ".refinery" / TARGET_FILE

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self, what: str) -> None:
        for listener in list(self._listeners):
            listener({what})

    # the project

    def update(self, result: ValidationResult, good: Project | None = None) -> None:
        """A new validation; `good` is the model to keep running (the last one without errors)."""
        self.validation = result
        good = good or (result.project if result.ok else None)
        if good is not None and good is not self.last_good:
            self.last_good, self._manifest = good, None
        self._changed("project")

    @property
    def project(self) -> Project | None:
        """The model to show and edit: the last good one, else what was parsed (with its errors)."""
        return self.last_good or (self.validation.project if self.validation else None)

    @property
    def problems(self) -> list[Diagnostic]:
        return list(self.validation.diagnostics) if self.validation else []

    @property
    def ok(self) -> bool:
        return self.validation is not None and self.validation.ok

    @property
    def parsed(self) -> bool:
        """project.yaml was read (it may still have errors)."""
        return self.validation is not None and self.validation.project is not None

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The manifest of the last good model (built when first asked for)."""
        if self._manifest is None and self.last_good is not None:
            from refinery_tui.model.manifest import build_manifest

            self._manifest = build_manifest(self.last_good)
        return self._manifest

    # where the Deploy, Invoke and Logs panes point

    def deploy_target(self) -> StageTarget:
        """The chosen target, or the default one (the sandbox, stage dev) to offer."""
        return self.target or default_target()

    def choose_target(self, target: StageTarget) -> None:
        if target == self.target:
            return
        self.target = target
        save_target(self.root, target)
        self._changed("target")
