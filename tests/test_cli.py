"""The command line: new, validate, the project summary, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from refinery_tui.cli import main
from refinery_tui.model import load_project
from refinery_tui.templates import template_names
from tests.conftest import BUNDLED, PROJECTS


def test_bundled_projects_are_the_templates():
    assert {"hello-world", "all-transitions", "api-orders", "scheduled-report"} <= set(template_names())
    for name in BUNDLED:
        assert (PROJECTS / name / "README.md").is_file()


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_project_validates(name, capsys):
    assert main(["validate", str(PROJECTS / name)]) == 0
    captured = capsys.readouterr()
    assert f"{name}: valid" in captured.out
    assert captured.err == ""


@pytest.mark.parametrize("template", BUNDLED)
def test_new_from_every_template(template, tmp_path, capsys):
    target = tmp_path / f"my-{template}"
    assert main(["new", str(target), "--template", template]) == 0
    assert load_project(target).project.name == f"my-{template}"
    assert main(["validate", str(target)]) == 0
    assert (target / ".gitignore").read_text() == ".refinery/\n"
    text = (target / "project.yaml").read_text()
    assert text.splitlines()[0] == (PROJECTS / template / "project.yaml").read_text().splitlines()[0]


def test_new_refuses_a_non_empty_folder_and_unknown_templates(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("keep me")
    assert main(["new", str(tmp_path / "taken")]) == 2
    assert (tmp_path / "taken" / "notes.txt").read_text() == "keep me"
    assert main(["new", str(tmp_path / "fresh"), "--template", "nope"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "unknown template 'nope'" in err and "hello-world" in err


def test_validate_usage_errors_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "project.yaml").write_text("")
    assert main(["validate", str(tmp_path / "empty")]) == 1
    assert "project.yaml is empty" in capsys.readouterr().err


def test_summary_shows_the_tree(capsys):
    assert main([str(PROJECTS / "all-transitions")]) == 0
    out = capsys.readouterr().out
    assert "all-transitions: 10 blocks, 10 transitions, on_exception: report-error" in out
    assert "? if: return_data['sum'] > 100 → big" in out
    assert "⇇ fan-in → total  ↺ (shown above)" in out


def test_deploy_needs_a_stage_and_a_valid_one(capsys):
    assert main(["deploy", str(PROJECTS / "hello-world")]) == 2
    assert "--stage" in capsys.readouterr().err
    assert main(["deploy", str(PROJECTS / "hello-world"), "--stage", "Bad_Stage", "--plan"]) == 2
    err = capsys.readouterr().err
    assert "stage 'Bad_Stage' is not a valid name" in err and "Traceback" not in err


def test_python_dash_m_and_version():
    result = subprocess.run(
        [sys.executable, "-m", "refinery_tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("refinery-tui ")
    result = subprocess.run(
        [sys.executable, "-m", "refinery_tui", "validate", "--bogus"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_unreadable_yaml_is_an_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "project.yaml").write_bytes(b"name: \xff\xfe\n")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "Traceback" not in err


def test_odd_inputs_get_messages_not_internal_errors(tmp_path, capsys):
    huge = "9" * 5000
    (tmp_path / "huge").mkdir()
    (tmp_path / "huge" / "project.yaml").write_text(
        f'name: huge\nblocks:\n  a: {{type: code, timeout: {huge}}}\n  s: {{type: schedule, schedule: "rate({huge} minutes)"}}\n'
    )
    assert main(["validate", str(tmp_path / "huge")]) == 1
    err = capsys.readouterr().err
    assert "internal error" not in err and "invalid value" in err and "the rate is too large" in err
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "project.yaml").write_text("name: lists\nblocks: [a, b]\n")
    assert main(["validate", str(tmp_path / "lists")]) == 1
    assert "'blocks' must be a mapping, not a list" in capsys.readouterr().err


def test_a_long_chain_prints_its_tree(tmp_path, capsys):
    count = 1500
    blocks = "".join(f"  b{i}: {{type: topic}}\n" for i in range(count))
    (tmp_path / "project.yaml").write_text("name: long\nblocks:\n" + blocks + "transitions: []\n")
    assert main([str(tmp_path)]) in (0, 2)
    out = capsys.readouterr().out
    assert "b1499  (topic)" in out


def test_new_into_the_current_empty_folder(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "here-it-is"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert main(["new", "."]) == 0
    assert load_project(folder).project.name == "here-it-is"
    assert main(["new", "--list-templates"]) == 0
    assert "hello-world" in capsys.readouterr().out
    assert main(["new"]) == 2


def test_run_and_history_commands(tmp_path, capsys):
    import shutil

    project = tmp_path / "hello"
    shutil.copytree(PROJECTS / "hello-world", project)
    assert main(["run", str(project), "--input", '{"name": "Ada"}']) == 0
    out = capsys.readouterr().out
    assert "sign" in out and '{"message": "HELLO, ADA!", "signed_for": "Ada"}' in out
    assert main(["run", str(project), "--input", '{"name": "Bob"}', "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1] == {
        **events[-1],
        "event": "execution_finished",
        "status": "succeeded",
        "outputs": [{"block": "sign", "output": {"message": "HELLO, BOB!", "signed_for": "Bob"}}],
    }
    second = events[0]["execution_id"]
    assert main(["run", str(project), "--from", "shout", "--input", '"hi"']) == 0
    assert '"HI!"' in capsys.readouterr().out
    assert main(["history", str(project)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3 and "replay of" in listing[0]
    assert main(["history", str(project), second]) == 0
    shown = capsys.readouterr().out
    assert "greet" in shown and "HELLO, BOB!" in shown
    first = listing[2].split()[0]
    assert main(["history", str(project), first, "--compare", second]) == 0
    assert "changed: greet, shout, sign" in capsys.readouterr().out
    assert main(["run", str(project), "--from", "nope"]) == 2
    assert main(["run", str(project), "--input", "{oops"]) == 2
    assert main(["history", str(project), "zzz"]) == 2


def test_run_exit_codes(tmp_path, capsys):
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks/boom.py").write_text("def main(block_input, backpack):\n    raise ValueError('boom')\n")
    (tmp_path / "project.yaml").write_text("name: boom\nblocks:\n  boom: {type: code}\n")
    assert main(["run", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "✗ failed" in out and "ValueError: boom" in out
    (tmp_path / "project.yaml").write_text("name: boom\nblocks:\n  boom: {type: cod}\n")
    assert main(["run", str(tmp_path)]) == 2
    assert "unknown block type 'cod'" in capsys.readouterr().err


BAD_INPUTS = {
    "deep": ("[" * 100_000, "--input:1:201: the input nests deeper than 200 levels; flatten it"),
    "deep-but-readable": ("[" * 300 + "]" * 300, "--input:1:201: the input nests deeper than 200 levels; flatten it"),
    "deep-in-a-file": (None, "input.json:2:229: the input nests deeper than 200 levels; flatten it"),
    "huge-integer": (
        '{"n": 1' + "0" * 100_000 + "}",
        "--input:1:7: an integer of 100001 digits is longer than the 4300 digits allowed; pass it as a string",
    ),
    "nan": ('{"x": NaN}', "--input:1:7: NaN is not JSON (JSON has no NaN or Infinity); use null or a string"),
    "infinity": ("[1, -Infinity]", "--input:1:5: -Infinity is not JSON (JSON has no NaN or Infinity)"),
    "float-overflow": ("[1e999]", "--input:1:2: the number 1e999 is too large for a float; pass it as a string"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_run_refuses_bad_inputs_clearly(name, tmp_path):
    import shutil

    project = tmp_path / "hello"
    shutil.copytree(PROJECTS / "hello-world", project)
    text, message = BAD_INPUTS[name]
    if text is None:
        (tmp_path / "input.json").write_text('[\n  "strings [[[ do not count",' + "[" * 1000)
        given = ["--input-file", str(tmp_path / "input.json")]
        message = message.replace("input.json", str(tmp_path / "input.json"))
    else:
        given = ["--input", text]
    result = subprocess.run(
        [sys.executable, "-m", "refinery_tui", "run", str(project), *given], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert not (project / ".refinery").exists()  # refused before anything ran or was recorded


def test_the_sandbox_help_documents_each_strictness_and_knob():
    done = subprocess.run([sys.executable, "-m", "refinery_tui", "sandbox", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for item in ("InvalidParameterValueException", "10,240 characters", "REFINERY_SANDBOX_FAULTS="):
        assert item in text, item
