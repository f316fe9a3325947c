"""Inputs: read from the command line, and kept per project and block (`.refinery/inputs/BLOCK.json`)."""

from __future__ import annotations

import json
import math
import re
import sys
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
    """An input given on the command line (or typed in the workbench) that cannot be read or is not plain JSON."""


MAX_INPUT_DEPTH = 200
MAX_INTEGER_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)()  # Python's limit for text to int
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_TOO_DEEP = f"the input nests deeper than {MAX_INPUT_DEPTH} levels; flatten it"
_BRACKETS = re.compile(_STRING + r"|([\[{])|([\]}])")
_NUMBERS = re.compile(_STRING + r"|(-?(?:NaN|Infinity)|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")


class _Refused(Exception):
    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.message, self.token = message, token


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        shown = token if len(token) <= 20 else token[:17] + "..."
        raise _Refused(f"the number {shown} is too large for a float; pass it as a string", token)
    return value


def _constant(token: str) -> Any:
    raise _Refused(f"{token} is not JSON (JSON has no NaN or Infinity); use null or a string", token)


def _place(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _deeper_than_allowed(value: Any) -> bool:
    """Whether a parsed value nests past `MAX_INPUT_DEPTH` (containers only are visited)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_INPUT_DEPTH:
            return True
        for item in current.values() if isinstance(current, dict) else current:
            if isinstance(item, (list, dict)):
                stack.append((item, depth + 1))
    return False


def _where_too_deep(text: str) -> int:
    """Where the text's nesting first goes past `MAX_INPUT_DEPTH` (strings skipped)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group(1):
            depth += 1
            if depth > MAX_INPUT_DEPTH:
                return match.start()
        elif match.group(2):
            depth -= 1
    return 0


def _where_number(text: str, wanted) -> int:
    return next((m.start(1) for m in _NUMBERS.finditer(text) if m.group(1) and wanted(m.group(1))), 0)


def loads_input(text: str, source: str) -> Any:
    """JSON text as a run's input, or `InputError("SOURCE:LINE:COL: what; how to fix")`: not JSON, nested deeper
    than `MAX_INPUT_DEPTH`, an integer past `MAX_INTEGER_DIGITS` digits, NaN, Infinity or a float out of range."""
    offset, message = 0, ""
    try:
        value = json.loads(text, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}:{exc.colno}: the input is not valid JSON: {exc.msg}") from None
    except _Refused as refused:
        token, message = refused.token, refused.message
        offset = _where_number(text, lambda found: found == token)
    except RecursionError:
        offset, message = _where_too_deep(text), _TOO_DEEP
    except ValueError:  # the only other one: an integer too long to convert (Python's own limit)
        offset = _where_number(text, lambda token: len(token.lstrip("-")) > MAX_INTEGER_DIGITS)
        match = _NUMBERS.match(text, offset)
        digits = len(match.group(1).lstrip("-")) if match and match.group(1) else MAX_INTEGER_DIGITS + 1
        message = (
            f"an integer of {digits} digits is longer than the {MAX_INTEGER_DIGITS} digits allowed; pass it as a string"
        )
    else:
        if (text.count("[") + text.count("{") <= MAX_INPUT_DEPTH) or not _deeper_than_allowed(value):
            return value
        offset, message = _where_too_deep(text), _TOO_DEEP
    line, col = _place(text, offset)
    raise InputError(f"{source}:{line}:{col}: {message}")


def parse_input(text: str | None, file: str | None) -> Any:
    """The input given as `--input JSON` or `--input-file F`, or None when neither was given."""
    if text is not None and file is not None:
        raise InputError("give --input or --input-file, not both")
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{file}: cannot read the input: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{file}: the input is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        source = file
    else:
        source = "--input"
    if text is None:
        return None
    return loads_input(text, source)
