"""`refinery-tui import`: every Refinery example converts and validates; what cannot be converted is reported."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from refinery_tui.cli import main
from refinery_tui.importer.refinery import ImportFailed, import_refinery
from refinery_tui.model import CodeBlock, ProjectGraph, load_project, validate_project
from tests.conftest import REFINERY_FIXTURES

EXPORTS = sorted(
    p
    for p in REFINERY_FIXTURES.rglob("*.json")
    if "workflow_states" in p.read_text() or "diagram_data" in p.read_text()
)


def test_the_fixtures_are_there():
    assert len(EXPORTS) >= 9


@pytest.mark.parametrize("export", EXPORTS, ids=[p.stem for p in EXPORTS])
def test_every_example_converts_and_validates(export, tmp_path, capsys):
    target = tmp_path / export.stem
    assert main(["import", str(export), str(target)]) == 0
    result = validate_project(target)
    assert result.ok, [d.format() for d in result.errors]
    source = json.loads(export.read_text())
    if "diagram_data" in source:
        source = json.loads(source["diagram_data"])
    states = [s for s in source["workflow_states"] if s["type"] not in ("api_gateway", "warmer_trigger")]
    assert len(result.project.blocks) == len(states)
    assert len(result.project.transitions) == len(source["workflow_relationships"])
    for block in result.project.code_blocks():
        assert (target / block.code_file).is_file()


def test_complex_example_keeps_types_expressions_and_order(tmp_path):
    report = import_refinery(
        REFINERY_FIXTURES / "front-end/tests/unit/fake-project-data/complex-data.json", tmp_path / "complex"
    )
    project = report.project
    types = {block.type for block in project.blocks.values()}
    assert types == {"code", "schedule", "topic", "queue", "api_endpoint", "api_response"}
    ifs = [t for t in project.transitions if t.type == "if"]
    assert [t.expression for t in ifs] == ['return_data == "test"', 'return_data == "pew"', "True"]
    assert project.blocks["bad-timer"].schedule == "rate(1 hour)"
    assert project.blocks["api-endpoint"].path == "/"


def test_stored_deployment_with_swapped_fields(tmp_path):
    report = import_refinery(
        REFINERY_FIXTURES / "api/tests/fixtures/simple_deployment_previous_deploy.json", tmp_path / "deployed"
    )
    project = report.project
    assert sorted(project.blocks) == [
        "api-endpoint-response-block",
        "untitled-api-endpoint-block",
        "untitled-code-block",
    ]
    assert [t.type for t in project.transitions] == ["then", "then"]
    assert project.blocks["untitled-code-block"].env is None  # Refinery's own plumbing is not carried over
    assert any("layer" in w for w in report.warnings)


def _export(**state) -> dict:
    base = {
        "id": "s1",
        "name": "Legacy Block",
        "type": "lambda",
        "memory": 768,
        "max_execution_time": 60,
        "libraries": [],
        "layers": [],
        "environment_variables": {},
    }
    return {"name": "synthetic", "workflow_states": [{**base, **state}], "workflow_relationships": []}


def test_python2_code_is_kept_and_reported(tmp_path):
    export = tmp_path / "py2.json"
    export.write_text(
        json.dumps(
            _export(language="python2.7", code="def main(block_input, backpack):\n    print 'hi'\n    return 1\n")
        )
    )
    report = import_refinery(export, tmp_path / "py2")
    assert any("not valid Python 3" in w and "legacy_block.py:2" in w for w in report.warnings)
    assert "print 'hi'" in (tmp_path / "py2/blocks/legacy_block.py").read_text()
    result = validate_project(tmp_path / "py2")
    assert [d.file for d in result.errors] == ["blocks/legacy_block.py"]


@pytest.mark.parametrize("language, extension", [("php7.3", ".php"), ("ruby2.6.4", ".rb"), ("go1.12", ".go")])
def test_unsupported_languages_are_kept_with_a_placeholder(language, extension, tmp_path):
    export = tmp_path / "other.json"
    export.write_text(json.dumps(_export(language=language, code="original code here")))
    report = import_refinery(export, tmp_path / "other")
    original = tmp_path / "other" / "blocks" / "unconverted" / f"legacy_block{extension}"
    assert original.read_text().startswith("original code here")
    assert any(language in w for w in report.warnings)
    assert validate_project(tmp_path / "other").ok


def test_environment_values_come_from_the_project_config(tmp_path):
    state = _export(
        language="python3.6",
        code="def main(block_input, backpack):\n    return 1\n",
        environment_variables={
            "v1": {"name": "API_KEY", "required": True, "description": ""},
            "v2": {"name": "REGION", "required": False, "description": ""},
        },
    )
    request = {
        "diagram_data": json.dumps(state),
        "project_config": {"environment_variables": {"v1": {"value": "abc", "timestamp": 1}}},
    }
    export = tmp_path / "request.json"
    export.write_text(json.dumps(request))
    report = import_refinery(export, tmp_path / "env")
    block = report.project.blocks["legacy-block"]
    assert isinstance(block, CodeBlock) and block.env == {"API_KEY": "abc", "REGION": ""}
    assert any("REGION" in w for w in report.warnings)


def test_global_handler_and_shared_files(tmp_path):
    export = {
        "name": "handled",
        "workflow_states": [
            {
                "id": "a",
                "name": "Work",
                "type": "lambda",
                "language": "python3.6",
                "code": "def main(block_input, backpack):\n    return 1\n",
            },
            {
                "id": "h",
                "name": "Handler",
                "type": "lambda",
                "language": "python3.6",
                "code": "def main(block_input, backpack):\n    return 0\n",
            },
        ],
        "workflow_relationships": [],
        "global_handlers": {"exception_handler": {"id": "h"}},
        "workflow_files": [{"id": "f", "name": "helpers.py", "version": "1", "type": "shared_file", "body": "X = 1\n"}],
        "workflow_file_links": [
            {"id": "l", "file_id": "f", "node": "a", "version": "1", "type": "shared_file_link", "path": ""}
        ],
    }
    path = tmp_path / "handled.json"
    path.write_text(json.dumps(export))
    report = import_refinery(path, tmp_path / "handled")
    assert report.project.on_exception == "handler"
    assert (tmp_path / "handled/blocks/shared_files/helpers.py").read_text() == "X = 1\n"
    assert ProjectGraph(load_project(tmp_path / "handled").project).exception_targets("work") == ["handler"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_adapted_node_code_runs(tmp_path):
    import_refinery(REFINERY_FIXTURES / "api/default_projects/dev-workflow-intro.json", tmp_path / "intro")
    code = tmp_path / "intro/blocks/hello_world_code_block.js"
    script = f"require({json.dumps(str(code))}).main({{msg: 'Hi'}}, {{}}).then((r) => console.log(JSON.stringify(r)))"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Some debug message", '"Hi With <3 from Refinery!"']


def test_bad_exports_are_usage_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "workflow_states": [}')
    assert main(["import", str(bad), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and "not valid JSON" in err and "Traceback" not in err
    with pytest.raises(ImportFailed):
        import_refinery(REFINERY_FIXTURES / "api/tests/fixtures/simple_project_config.json", tmp_path / "cfg")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    assert main(["import", str(EXPORTS[0]), str(tmp_path / "full")]) == 2
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "state, fragment",
    [
        ({"code": 5}, "not text"),
        ({"code": ["x"], "language": "nodejs10.16.3"}, "not text"),
        ({"environment_variables": [1, 2]}, "not a mapping"),
        ({"max_execution_time": True, "memory": "512"}, "is not a number"),
    ],
)
def test_malformed_values_are_warnings(state, fragment, tmp_path):
    export = tmp_path / "odd.json"
    export.write_text(
        json.dumps(_export(**{"language": "python3.6", "code": "def main(a, b):\n    return 1\n", **state}))
    )
    report = import_refinery(export, tmp_path / "odd")
    assert any(fragment in w for w in report.warnings), report.warnings
    assert validate_project(tmp_path / "odd").ok


def test_deeply_nested_json_is_refused(tmp_path, capsys):
    export = tmp_path / "deep.json"
    export.write_text("[" * 100000 + "]" * 100000)
    assert main(["import", str(export), str(tmp_path / "deep")]) == 2
    assert "nested too deeply" in capsys.readouterr().err
