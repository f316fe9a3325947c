"""The bundled example projects, used as templates by `refinery-tui new`."""

from __future__ import annotations

import shutil
from pathlib import Path

from refinery_tui.model import schema
from refinery_tui.model.loader import load_project
from refinery_tui.model.writer import save_project

DEFAULT_TEMPLATE = "hello-world"
_SKIP = shutil.ignore_patterns(".refinery", "__pycache__", "node_modules", "*.pyc")


class TemplateError(Exception):
    """An unknown template, or a target folder that cannot be used."""


def templates_dir() -> Path:
    """Where the bundled projects are: inside the installed package, or `projects/` in a source checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "bundled_projects", package.parent / "projects"):
        if candidate.is_dir():
            return candidate
    raise TemplateError("the bundled example projects are missing from this installation")


def template_names() -> list[str]:
    return sorted(p.name for p in templates_dir().iterdir() if (p / schema.PROJECT_FILE).is_file())


def create_project(target: Path | str, template: str = DEFAULT_TEMPLATE) -> Path:
    """Copy a template to target (missing or empty) and name the project after the folder."""
    target = Path(target)
    names = template_names()
    if template not in names:
        raise TemplateError(f"unknown template '{template}'; templates: {', '.join(names)}")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TemplateError(f"{target}: already exists and is not empty; choose a new folder")
    name = schema.slugify(target.resolve().name, 40, fallback="")
    if not schema.PROJECT_NAME_RE.match(name):
        raise TemplateError(
            f"cannot make a project name from the folder name '{target.resolve().name}'; "
            "use a folder name with letters, digits and '-'"
        )
    try:
        shutil.copytree(templates_dir() / template, target, ignore=_SKIP, dirs_exist_ok=True)
    except OSError as exc:
        raise TemplateError(f"{target}: cannot create the project: {exc.strerror or exc}") from None
    gitignore = target / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".refinery/\n", encoding="utf-8")
    project = load_project(target).project
    if project is not None and project.name != name:
        project.name = name
        save_project(project)
    return target
