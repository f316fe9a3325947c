"""Layer hygiene: each headless layer imports in a fresh interpreter without Textual (or boto3, for the core)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import refinery_tui

PACKAGE = refinery_tui.__path__[0]

CHECKS = [
    ("refinery_tui.model", ("textual", "boto3", "botocore")),
    ("refinery_tui.runtime.expressions", ("textual", "boto3", "yaml", "ruamel")),
    ("refinery_tui.importer.refinery", ("textual", "boto3")),
    ("refinery_tui.cli", ("textual", "boto3")),
    ("refinery_tui.runtime.engine", ("textual", "boto3", "botocore", "yaml", "ruamel")),
    ("refinery_tui.runtime.joins", ("textual", "boto3", "botocore", "yaml", "ruamel")),
    ("refinery_tui.local.session", ("textual", "boto3", "botocore")),
    ("refinery_tui.commands.run", ("textual", "boto3")),
    ("refinery_tui.templates", ("textual", "boto3")),
    ("refinery_tui.cloud.deployer", ("textual",)),
    ("refinery_tui.cloud.logtail", ("textual",)),
    ("refinery_tui.cloud.invoker", ("textual",)),
    ("refinery_tui.cloud.rebuild", ("textual", "boto3", "botocore")),
    ("refinery_tui.sandbox.server", ("textual",)),
    ("refinery_tui.commands.deploy", ("textual",)),
    ("refinery_tui.commands.invoke", ("textual",)),
    ("refinery_tui.commands.logs", ("textual",)),
    ("refinery_tui.tui.deploy_target", ("textual", "boto3")),
    ("refinery_tui.cloud.stage", ("textual", "boto3")),
]


@pytest.mark.parametrize("module, forbidden", CHECKS, ids=[c[0] for c in CHECKS])
def test_layer_imports_without(module, forbidden):
    code = f"import sys, {module}\nbad = [m for m in {forbidden!r} if m in sys.modules]\nprint(','.join(bad))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} pulled in {result.stdout.strip()}"


def test_expressions_use_only_the_standard_library():
    """The evaluator ships inside every deployed Lambda: it may import nothing outside the standard library."""
    source = open(f"{PACKAGE}/runtime/expressions.py").read()
    imports = [line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))]
    siblings = {name for name in imports if name.startswith("refinery_tui.runtime.expression_")}  # its own parts
    assert set(imports) - siblings <= {"__future__", "ast", "time", "dataclasses", "typing", "collections.abc"}


def test_runtime_uses_only_the_standard_library():
    """runtime/ ships inside every Lambda: the standard library and itself, nothing else."""
    import ast
    from pathlib import Path

    allowed_packages = {"refinery_tui"}
    for path in Path(PACKAGE, "runtime").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                root = node.module.split(".")[0]
                assert root in allowed_packages or root in sys.stdlib_module_names, (path.name, node.module)
                if root == "refinery_tui":
                    assert node.module.startswith("refinery_tui.runtime"), (path.name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in sys.stdlib_module_names, (path.name, alias.name)


def test_the_deployed_python_runtime_imports_only_what_a_lambda_has():
    """lambda_runtime/ runs inside Lambda: the standard library, boto3 and runtime/."""
    import ast
    from pathlib import Path

    for path in Path(PACKAGE, "lambda_runtime").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and not node.level
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                root = name.split(".")[0]
                assert (
                    root in sys.stdlib_module_names
                    or root in ("boto3", "botocore")
                    or name.startswith("refinery_tui.runtime")
                ), (path.name, name)
