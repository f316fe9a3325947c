"""User key remapping: a `[keymap]` table of binding id = "keys" in the platform's config folder."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from platformdirs import user_config_dir


def config_file() -> Path:
    folder = os.environ.get("REFINERY_TUI_CONFIG_DIR") or user_config_dir("refinery-tui")
    return Path(folder) / "keymap.toml"


def load() -> tuple[dict[str, str], str | None]:
    """The keymap, and a problem to show (a broken file never stops the app)."""
    path = config_file()
    if not path.is_file():
        return {}, None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path}: ignored: {exc}"
    table = data.get("keymap", {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        return {}, f"{path}: ignored: [keymap] must map binding ids to key strings"
    return dict(table), None


def apply(app) -> None:
    mapping, problem = load()
    if mapping:
        app.set_keymap(mapping)
    if problem:
        app.notify(problem, severity="warning", timeout=10)
