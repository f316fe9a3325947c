"""Where a project's relative path really leads: a path whose real location (links followed) leaves the project
folder is refused, whatever its text says."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


class OutsideProject(ValueError):
    """A path that leads outside the project folder (by its text, or through a symbolic link)."""


def inside_project(root: Path | str, relative: str) -> Path:
    """The real path of `relative` under `root`; OutsideProject when it is absolute, climbs with `..`, or a link on
    the way (the file itself or any folder above it) leads outside the project."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relative:
        raise OutsideProject(f"'{relative}' is not a relative path inside the project")
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root / relative))
    if real != real_root and real_root not in real.parents:
        link = _first_link(real_root, pure)
        raise OutsideProject(f"'{link}' is a link to '{os.path.realpath(real_root / link)}'")
    return real


def _first_link(root: Path, relative: PurePosixPath) -> str:
    """The shortest leading part of `relative` that is a symbolic link (the part that leaves the project)."""
    for count in range(1, len(relative.parts) + 1):
        part = PurePosixPath(*relative.parts[:count])
        if (root / part).is_symlink():
            return part.as_posix()
    return relative.as_posix()


def leads_inside(root: Path | str, path: Path | str) -> bool:
    """Whether `path` (absolute, or relative to the current folder) really lies inside the project at `root`."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real == real_root or real_root in real.parents
