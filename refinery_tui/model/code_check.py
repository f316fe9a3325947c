"""Static checks of block code files: Python parsed for syntax and `main`, Node checked cheaply for `exports.main`."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeProblem:
    line: int
    col: int
    message: str
    hint: str = ""


_NODE_MAIN = re.compile(
    r"""(?:\bexports\.main\s*=)                                  # exports.main = ...
      | (?:\bmodule\.exports\.main\s*=)                          # module.exports.main = ...
      | (?:\bmodule\.exports\s*=\s*\{[^}]*\bmain\b)             # module.exports = { main, ... }
      | (?:\bexport\s+(?:async\s+)?function\s*\*?\s*main\b)      # export async function main
      | (?:\bexport\s+(?:const|let|var)\s+main\b)                # export const main = ...
      | (?:\bexport\s*\{[^}]*\bmain\b[^}]*\})                    # export { main }
    """,
    re.VERBOSE,
)
_JS_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def check_python(source: str) -> list[CodeProblem]:
    """A syntax error (with its line), or a missing module-level `main`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        text = (exc.text or "").strip()
        hint = f"near: {text}" if text else "fix the syntax; the file must be valid Python 3"
        return [CodeProblem(line, max(col, 1), f"Python syntax error: {exc.msg}", hint)]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [CodeProblem(1, 1, f"the file cannot be parsed as Python: {exc}")]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main":
            return []
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "main" for t in node.targets):
            return []
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == "main" for a in node.names):
            return []
    return [
        CodeProblem(
            1,
            1,
            "the block's code defines no `main` function",
            "add `def main(block_input, backpack):` returning the block's output",
        )
    ]


def check_node(source: str) -> list[CodeProblem]:
    """A cheap check that the module exports `main` (comments stripped first)."""
    if _NODE_MAIN.search(_JS_COMMENTS.sub("", source)):
        return []
    return [
        CodeProblem(
            1,
            1,
            "the block's code does not export `main`",
            "add `exports.main = async (blockInput, backpack) => { ... }`",
        )
    ]


def check_code(language: str, source: str) -> list[CodeProblem]:
    return check_python(source) if language == "python" else check_node(source)
