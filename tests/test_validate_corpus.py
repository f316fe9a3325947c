"""A corpus of broken projects, one mistake each: `validate` exits 1 and names the right file:line:col."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from refinery_tui.cli import main

MARK = "@@"  # where the error is expected; removed before the file is written

BASE_FILES = {
    "blocks/start.py": "def main(block_input, backpack):\n    return block_input\n",
    "blocks/split.py": "def main(block_input, backpack):\n    return [1, 2, 3]\n",
    "blocks/worker.js": "exports.main = async (blockInput, backpack) => blockInput * 2;\n",
    "blocks/finish.py": "def main(block_input, backpack):\n    return sum(block_input)\n",
}

BASE_BLOCKS = """\
  start: {type: code, language: python}
  split: {type: code, language: python}
  worker: {type: code, language: node, file: blocks/worker.js}
  finish: {type: code, language: python}
"""
BASE_TRANSITIONS = """\
  - {from: start, to: split}
  - {from: split, to: worker, type: fan-out}
  - {from: worker, to: finish, type: fan-in}
"""


def project(blocks: str = BASE_BLOCKS, transitions: str = BASE_TRANSITIONS, head: str = "name: corpus\n") -> str:
    return f"{head}blocks:\n{blocks}transitions:\n{transitions}"


@dataclass
class Case:
    name: str
    yaml: str
    message: str  # a fragment the error message must contain
    file: str = "project.yaml"  # the file that holds the MARK
    files: dict[str, str | None] = field(default_factory=dict)  # overrides of BASE_FILES (None deletes)


CASES = [
    Case(
        "yaml-syntax",
        project(blocks=BASE_BLOCKS + "  broken: {type: code, language: python\n").replace(
            "transitions:", "transitions@@:"
        ),
        "YAML syntax error: expected ',' or '}'",
    ),
    Case("duplicate-block", project(blocks=BASE_BLOCKS + "  @@start: {type: code}\n"), "duplicate key 'start'"),
    Case(
        "duplicate-field",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, language: python, @@language: node}"
            )
        ),
        "duplicate key 'language'",
    ),
    Case(
        "unknown-block-type",
        project(blocks=BASE_BLOCKS + "  jobs: {type: @@qeue}\n"),
        "unknown block type 'qeue' (did you mean 'queue'?)",
    ),
    Case(
        "unknown-field",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, language: python, @@timout: 5}"
            )
        ),
        "unknown field 'timout' in code block 'finish' (did you mean 'timeout'?)",
    ),
    Case(
        "field-of-other-type",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, @@batch_size: 5}"
            )
        ),
        "unknown field 'batch_size'",
    ),
    Case(
        "unknown-transition-type",
        project(transitions=BASE_TRANSITIONS.replace("type: fan-out}", "type: @@fanout}")),
        "unknown transition type 'fanout' (did you mean 'fan-out'?)",
    ),
    Case(
        "missing-target",
        project(transitions=BASE_TRANSITIONS + "  - {from: finish, to: @@finsh}\n"),
        "does not exist: 'finsh' (did you mean 'finish'?)",
    ),
    Case(
        "missing-source",
        project(transitions=BASE_TRANSITIONS + "  - {from: @@strat, to: finish}\n"),
        "does not exist: 'strat' (did you mean 'start'?)",
    ),
    Case(
        "invalid-block-name",
        project(
            blocks=BASE_BLOCKS + "  @@Start_Block: {type: topic}\n",
            transitions=BASE_TRANSITIONS + "  - {from: finish, to: Start_Block}\n",
        ),
        "invalid block name 'Start_Block'",
    ),
    Case("invalid-project-name", project(head="name: @@My Project\n"), "invalid project name 'My Project'"),
    Case(
        "missing-default-file",
        project(blocks=BASE_BLOCKS.replace("  finish:", "  @@finish:")),
        "code file 'blocks/finish.py' (the default for block 'finish') does not exist",
        files={"blocks/finish.py": None},
    ),
    Case(
        "missing-explicit-file",
        project(blocks=BASE_BLOCKS.replace("file: blocks/worker.js", "file: @@blocks/wroker.js")),
        "code file 'blocks/wroker.js' does not exist",
    ),
    Case(
        "python-no-main",
        project(),
        "defines no `main` function",
        file="blocks/finish.py",
        files={"blocks/finish.py": "@@def handler(event, context):\n    return event\n"},
    ),
    Case(
        "python-syntax-error",
        project(),
        "Python syntax error",
        file="blocks/finish.py",
        files={"blocks/finish.py": "def main(block_input, backpack):\n    return sum@@(block_input\n"},
    ),
    Case(
        "python-indentation-error",
        project(),
        "Python syntax error",
        file="blocks/start.py",
        files={"blocks/start.py": "def main(block_input, backpack):\n@@x = 1\n  return x\n"},
    ),
    Case(
        "node-no-main",
        project(),
        "does not export `main`",
        file="blocks/worker.js",
        files={"blocks/worker.js": "@@// exports.main = commented out\nfunction main(x) { return x; }\n"},
    ),
    Case(
        "expression-syntax",
        project(
            transitions=BASE_TRANSITIONS + '  - {from: finish, to: start, type: if, expression: "return_data >@@ "}\n'
        ),
        "syntax error",
    ),
    Case(
        "expression-refused-import",
        project(
            transitions=BASE_TRANSITIONS
            + "  - {from: finish, to: start, type: if, expression: \"@@__import__('os').system('id')\"}\n"
        ),
        "'__import__' cannot be called",
    ),
    Case(
        "expression-dunder",
        project(
            transitions=BASE_TRANSITIONS
            + '  - {from: finish, to: start, type: if, expression: "@@return_data.__class__"}\n'
        ),
        "attribute '__class__' is not allowed",
    ),
    Case(
        "expression-unknown-name",
        project(
            transitions=BASE_TRANSITIONS + "  - {from: finish, to: start, type: if, expression: \"@@data['x'] > 1\"}\n"
        ),
        "unknown name 'data'",
    ),
    Case(
        "if-without-expression",
        project(transitions=BASE_TRANSITIONS + "  - @@{from: finish, to: start, type: if}\n"),
        "has no expression",
    ),
    Case(
        "else-without-if",
        project(transitions=BASE_TRANSITIONS + "  - {from: finish, to: start, type: @@else}\n"),
        "'else' transition #4 from 'finish' has no 'if'",
    ),
    Case(
        "fan-in-without-fan-out",
        project(
            transitions="  - {from: start, to: split}\n"
            "  - {from: split, to: worker}\n"
            "  - {from: worker, to: finish, type: @@fan-in}\n"
        ),
        "has no enclosing fan-out",
    ),
    Case(
        "single-merge",
        project(transitions=BASE_TRANSITIONS + "  - {from: finish, to: start, type: @@merge}\n"),
        "single merge source",
    ),
    Case(
        "into-schedule",
        project(
            blocks=BASE_BLOCKS + "  nightly: {type: schedule, schedule: rate(1 day)}\n",
            transitions=BASE_TRANSITIONS + "  - @@{from: finish, to: nightly}\n  - {from: nightly, to: start}\n",
        ),
        "cannot join code block 'finish' to schedule block 'nightly'",
    ),
    Case(
        "into-api-endpoint",
        project(
            blocks=BASE_BLOCKS + "  hook: {type: api_endpoint, path: /hook}\n",
            transitions=BASE_TRANSITIONS + "  - {from: hook, to: start}\n"
            "  - {from: finish, to: hook, type: @@exception}\n",
        ),
        "cannot join code block 'finish' to api_endpoint block 'hook'",
    ),
    Case(
        "out-of-api-response",
        project(
            blocks=BASE_BLOCKS + "  reply: {type: api_response}\n",
            transitions=BASE_TRANSITIONS + "  - {from: finish, to: reply}\n  - @@{from: reply, to: start}\n",
        ),
        "cannot join api_response block 'reply' to code block 'start'",
    ),
    Case(
        "fan-out-from-queue",
        project(
            blocks=BASE_BLOCKS + "  jobs: {type: queue}\n",
            transitions=BASE_TRANSITIONS + "  - {from: finish, to: jobs}\n"
            "  - {from: jobs, to: start, type: @@fan-out}\n",
        ),
        "a 'fan-out' transition cannot join queue block 'jobs'",
    ),
    Case(
        "memory-too-small",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, language: python, memory: @@64}"
            )
        ),
        "'memory' is 64, outside 128–10240 MB",
    ),
    Case(
        "timeout-too-long",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, language: python, timeout: @@901}"
            )
        ),
        "'timeout' is 901, outside 1–900 s",
    ),
    Case(
        "batch-size-zero",
        project(
            blocks=BASE_BLOCKS + "  jobs: {type: queue, batch_size: @@0}\n",
            transitions=BASE_TRANSITIONS + "  - {from: finish, to: jobs}\n  - {from: jobs, to: start}\n",
        ),
        "'batch_size' is 0, outside 1–10000",
    ),
    Case(
        "batch-size-huge",
        project(
            blocks=BASE_BLOCKS + "  jobs: {type: queue, batch_size: @@20000}\n",
            transitions=BASE_TRANSITIONS + "  - {from: finish, to: jobs}\n  - {from: jobs, to: start}\n",
        ),
        "'batch_size' is 20000",
    ),
    Case(
        "schedule-free-text",
        project(
            blocks=BASE_BLOCKS + "  nightly: {type: schedule, schedule: @@every night}\n",
            transitions=BASE_TRANSITIONS + "  - {from: nightly, to: start}\n",
        ),
        "neither rate(...) nor cron(...)",
    ),
    Case(
        "schedule-rate-plural",
        project(
            blocks=BASE_BLOCKS + '  nightly: {type: schedule, schedule: @@"rate(1 days)"}\n',
            transitions=BASE_TRANSITIONS + "  - {from: nightly, to: start}\n",
        ),
        "should say 'day'",
    ),
    Case(
        "schedule-cron-fields",
        project(
            blocks=BASE_BLOCKS + '  nightly: {type: schedule, schedule: @@"cron(0 8 * * *)"}\n',
            transitions=BASE_TRANSITIONS + "  - {from: nightly, to: start}\n",
        ),
        "a cron expression has 6 fields",
    ),
    Case(
        "unknown-top-level",
        project() + "@@transitons: []\n",
        "unknown field 'transitons' in the project (did you mean 'transitions'?)",
    ),
    Case(
        "handler-missing",
        project(head="name: corpus\non_exception: @@report-eror\n"),
        "on_exception names a block that does not exist: 'report-eror'",
    ),
    Case(
        "timeout-as-text",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, language: python, timeout: @@10s}"
            )
        ),
        "'timeout' must be a whole number",
    ),
    Case(
        "unknown-language",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, language: @@pyhton}"
            )
        ),
        "unknown language 'pyhton' (did you mean 'python'?)",
    ),
    Case(
        "stray-expression",
        project(transitions=BASE_TRANSITIONS + '  - {from: finish, to: start, expression: @@"True"}\n'),
        "only 'if' transitions take an expression",
    ),
    Case(
        "block-without-type",
        project(
            blocks=BASE_BLOCKS + "  @@orphan: {language: python}\n",
            transitions=BASE_TRANSITIONS + "  - {from: finish, to: orphan}\n",
        ),
        "block 'orphan' has no type",
    ),
    Case(
        "file-outside-project",
        project(blocks=BASE_BLOCKS.replace("file: blocks/worker.js", "file: @@../worker.js")),
        "must be a relative path inside the project",
    ),
    Case(
        "endpoint-path-no-slash",
        project(
            blocks=BASE_BLOCKS + "  hook: {type: api_endpoint, path: @@hook}\n",
            transitions=BASE_TRANSITIONS + "  - {from: hook, to: start}\n",
        ),
        "must start with '/'",
    ),
    Case(
        "unknown-transition-field",
        project(transitions=BASE_TRANSITIONS + "  - {from: finish, to: start, @@condition: x}\n"),
        "unknown field 'condition' in transition #4",
    ),
    Case(
        "reserved-env",
        project(
            blocks=BASE_BLOCKS.replace(
                "finish: {type: code, language: python}", "finish: {type: code, env: @@{AWS_REGION: eu-west-1}}"
            )
        ),
        "is reserved by AWS",
    ),
    Case(
        "wrong-extension",
        project(blocks=BASE_BLOCKS.replace("file: blocks/worker.js", "file: @@blocks/worker.py")),
        "does not look like node code",
    ),
]


def _locate(text: str) -> tuple[str, int, int]:
    index = text.index(MARK)
    before = text[:index]
    line = before.count("\n") + 1
    col = index - (before.rfind("\n") + 1) + 1
    return text.replace(MARK, "", 1), line, col


def _write_files(root: Path, files: dict[str, str]) -> Path:
    """The base block files plus files, written under root."""
    for relative, text in {**BASE_FILES, **files}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def _write_case(case: Case, root: Path) -> tuple[str, int, int]:
    root.mkdir(parents=True)
    files = {**BASE_FILES, **case.files, "project.yaml": case.yaml}
    expected = None
    for relative, text in files.items():
        if text is None:
            continue
        if MARK in text:
            assert relative == case.file, f"the mark is in {relative}, the case says {case.file}"
            text, line, col = _locate(text)
            expected = (relative, line, col)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert expected is not None, f"case {case.name} has no {MARK} mark"
    return expected


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


def test_base_project_is_valid(tmp_path, capsys):
    root = _write_files(tmp_path / "base", {"project.yaml": project()})
    assert main(["validate", str(root)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_project(case: Case, tmp_path, capsys):
    root = tmp_path / case.name
    file, line, col = _write_case(case, root)
    code = main(["validate", str(root)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    errors = [l for l in err.splitlines() if re.match(r"^\S.*:\d+:\d+: error: ", l)]
    assert len(errors) == 1, f"expected exactly one error, got:\n{err}"
    assert errors[0].startswith(f"{root}/{file}:{line}:{col}: error: "), f"expected {file}:{line}:{col}, got:\n{err}"
    assert case.message in errors[0], err
    assert "hint:" in err


def test_every_case_through_a_real_process(tmp_path):
    """The installed command, in a subprocess: exit 1, all the cases' errors at once, no traceback."""
    for case in CASES[:8]:
        _write_case(case, tmp_path / case.name)
        result = subprocess.run(
            [sys.executable, "-m", "refinery_tui", "validate", str(tmp_path / case.name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert case.message.split(" (")[0] in result.stderr


def test_all_errors_reported_at_once(tmp_path, capsys):
    """Several mistakes in one project are all reported, not just the first."""
    yaml = project(
        blocks=BASE_BLOCKS.replace(
            "finish: {type: code, language: python}", "finish: {type: code, language: python, memory: 1, timout: 3}"
        )
        + "  jobs: {type: qeue}\n",
        transitions=BASE_TRANSITIONS + "  - {from: finish, to: nowhere}\n"
        "  - {from: start, to: finish, type: if, expression: 'import os'}\n",
    )
    root = _write_files(tmp_path / "many", {"project.yaml": yaml, "blocks/split.py": "def main(:\n"})
    assert main(["validate", str(root)]) == 1
    err = capsys.readouterr().err
    for fragment in (
        "'memory' is 1",
        "'timout'",
        "'qeue'",
        "'nowhere'",
        "expression of transition #5",
        "blocks/split.py:1:",
    ):
        assert fragment in err, fragment


WARNING_CASES = [
    (
        "merge-behind-if",
        project(
            blocks=BASE_BLOCKS + "  other: {type: code, language: python}\n",
            transitions=BASE_TRANSITIONS + "  - {from: start, to: other, type: if, "
            'expression: "True"}\n  - {from: other, to: finish, type: merge}\n'
            "  - {from: split, to: finish, type: merge}\n",
        ),
        {"blocks/other.py": BASE_FILES["blocks/start.py"]},
        "merge into 'finish' may never complete: 'other'",
    ),
    (
        "branch-dead-end",
        project(
            blocks=BASE_BLOCKS + "  side: {type: code, language: python}\n",
            transitions=BASE_TRANSITIONS + "  - {from: worker, to: side, type: exception}\n",
        ),
        {"blocks/side.py": BASE_FILES["blocks/start.py"]},
        "can end at 'side' without reaching its fan-in",
    ),
    (
        "endless-loop",
        project(transitions=BASE_TRANSITIONS + "  - {from: finish, to: start}\n"),
        {},
        "form a loop with no condition to leave it",
    ),
]


@pytest.mark.parametrize("name, yaml, files, message", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_static_warnings(name, yaml, files, message, tmp_path, capsys):
    root = _write_files(tmp_path / name, {**files, "project.yaml": yaml})
    assert main(["validate", str(root)]) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and message in captured.err, captured.err
    assert "1 warning" in captured.out


def test_alias_bombs_are_refused_quickly(tmp_path, capsys):
    lines = ["name: bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    lines.append("blocks: {}")
    (tmp_path / "project.yaml").write_text("\n".join(lines) + "\n")
    assert main(["validate", str(tmp_path)]) == 1
    assert "expands to more than" in capsys.readouterr().err


def test_refinery_type_names_get_a_suggestion(tmp_path, capsys):
    (tmp_path / "project.yaml").write_text("name: habits\nblocks:\n  a: {type: lambda}\n  b: {type: sqs_queue}\n")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "unknown block type 'lambda' (did you mean 'code'?)" in err
    assert "unknown block type 'sqs_queue' (did you mean 'queue'?)" in err


def test_boolean_expression_is_the_python_constant(tmp_path, capsys):
    yaml = project(transitions=BASE_TRANSITIONS + "  - {from: finish, to: start, type: if, expression: true}\n")
    root = _write_files(tmp_path / "bool", {"project.yaml": yaml})
    assert main(["validate", str(root)]) == 0, capsys.readouterr().err
