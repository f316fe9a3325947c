"""The project's run-data folder, `.refinery/`: made on first use with its own `.gitignore`, so build zips (which
hold `env:` values), history and inputs never reach git, whoever made the project."""

from __future__ import annotations

from pathlib import Path

FOLDER = ".refinery"
GITIGNORE = "# refinery-tui's run data (history, inputs, build zips): never committed\n*\n"


def run_data_folder(root: Path | str) -> Path:
    """`root/.refinery`, created with its `.gitignore` when missing."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    gitignore = folder / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(GITIGNORE, encoding="utf-8")
    return folder
