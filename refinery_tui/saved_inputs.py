"""Inputs: read from the command line, and kept per project and block (`.refinery/inputs/BLOCK.json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refinery_tui.model.files import atomic_write_text
from refinery_tui.model.run_data import FOLDER, run_data_folder

_MISSING = object()


def _path(root: Path, block: str) -> Path:
    return Path(root) / FOLDER / "inputs" / f"{block}.json"


def remember(root: Path, block: str, value: Any) -> None:
    """Keep `value` as the last input given to `block` (and as the project's last input)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    folder = run_data_folder(root)
    atomic_write_text(_path(root, block), text)
    atomic_write_text(folder / "last-input.json", text)


def recall(root: Path, block: str | None = None) -> Any:
    """The last input given to `block`, else the project's last input, else its `input.json`; None when none."""
    candidates = ([_path(root, block)] if block else []) + [
        Path(root) / FOLDER / "last-input.json",
        Path(root) / "input.json",
    ]
    for path in candidates:
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
    return None


class InputError(ValueError):
    """An input given on the command line that cannot be read or is not JSON."""


def parse_input(text: str | None, file: str | None) -> Any:
    """The input given as `--input JSON` or `--input-file F`, or None when neither was given."""
    if text is not None and file is not None:
        raise InputError("give --input or --input-file, not both")
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{file}: cannot read the input: {exc.strerror or exc}") from None
        source = file
    else:
        source = "--input"
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}:{exc.colno}: the input is not valid JSON: {exc.msg}") from None
