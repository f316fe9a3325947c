"""Diagnostics: one validation finding with its place (file:line:col), message and hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column in a file."""

    line: int = 1
    col: int = 1


@dataclass(frozen=True)
class Diagnostic:
    file: str
    position: Position
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR
    code: str = field(default="", compare=False)

    @property
    def line(self) -> int:
        return self.position.line

    @property
    def col(self) -> int:
        return self.position.col

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self, file_prefix: str = "") -> str:
        """`file:line:col: severity: message`, then the hint indented on the next line."""
        path = f"{file_prefix}{self.file}"
        text = f"{path}:{self.line}:{self.col}: {self.severity.value}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a candidate is close to word, else ''."""
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.file != "project.yaml", d.file, d.position, d.message))
