"""Layer hygiene: each headless layer imports in a fresh interpreter without Textual (or boto3, for the core)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import refinery_tui

PACKAGE = refinery_tui.__path__[0]

CHECKS = [
    ("refinery_tui.model", ("textual", "boto3", "botocore")),
    ("refinery_tui.model.expressions", ("textual", "boto3", "yaml", "ruamel")),
    ("refinery_tui.importer.refinery", ("textual", "boto3")),
    ("refinery_tui.cli", ("textual", "boto3")),
    ("refinery_tui.templates", ("textual", "boto3")),
]


@pytest.mark.parametrize("module, forbidden", CHECKS, ids=[c[0] for c in CHECKS])
def test_layer_imports_without(module, forbidden):
    code = (f"import sys, {module}\n"
            f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
            "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} pulled in {result.stdout.strip()}"


def test_expressions_use_only_the_standard_library():
    """The evaluator ships inside every deployed Lambda: it may import nothing outside the standard library."""
    source = open(f"{PACKAGE}/model/expressions.py").read()
    imports = [line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert set(imports) <= {"__future__", "ast", "time", "dataclasses", "typing"}
