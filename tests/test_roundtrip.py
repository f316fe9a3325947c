"""Load, edit, save, load: the model survives, comments and key order are kept, and unknown fields are not lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refinery_tui.model import (
    CodeBlock,
    ModelError,
    Transition,
    load_project,
    load_project_text,
    make_block,
    render_project,
    save_project,
    validate_project,
)
from tests.conftest import BUNDLED


def _comments(text: str) -> list[str]:
    return [line[line.index("#") :].strip() for line in text.splitlines() if "#" in line]


@pytest.mark.parametrize("name", BUNDLED)
def test_unchanged_model_saves_byte_for_byte(name, copy_project):
    root = copy_project(name)
    before = (root / "project.yaml").read_text()
    project = load_project(root).project
    save_project(project)
    assert (root / "project.yaml").read_text() == before


@pytest.mark.parametrize("name", BUNDLED)
def test_load_save_load_gives_the_same_model(name, copy_project):
    root = copy_project(name)
    project = load_project(root).project
    project.description = "edited by a test"
    save_project(project)
    again = load_project(root)
    assert again.diagnostics == []
    assert again.project == project


def test_edits_keep_comments_order_and_spacing(copy_project):
    root = copy_project("all-transitions")
    path = root / "project.yaml"
    before = path.read_text()
    project = load_project(root).project
    project.blocks["total"].timeout = 12
    project.rename_block("square", "square-number")
    project.add_block(make_block("audit", "queue", batch_size=5))
    project.add_transition(Transition("report", "audit", type_written=False))
    save_project(project)
    after = path.read_text()
    assert _comments(after) == _comments(before)
    assert after.splitlines()[0] == before.splitlines()[0]
    assert "  start:         {type: code, language: python}" in after  # the user's alignment
    assert after.index("square-number:") < after.index("square-failed:")  # renamed in place
    assert "timeout: 12" in after
    reloaded = load_project(root).project
    assert reloaded == project
    assert list(reloaded.blocks) == list(project.blocks)
    assert validate_project(root).ok


def test_rename_follows_transitions_and_handler(copy_project):
    root = copy_project("all-transitions")
    project = load_project(root).project
    project.rename_block("report-error", "on-failure")
    project.rename_block("square", "sq")
    assert project.on_exception == "on-failure"
    assert all("square" != t.source and "square" != t.target for t in project.transitions)
    assert isinstance(project.blocks["sq"], CodeBlock) and project.blocks["sq"].code_file == "blocks/square.js"
    save_project(project)
    assert validate_project(root).ok
    with pytest.raises(ModelError):
        project.rename_block("sq", "split")
    with pytest.raises(ModelError):
        project.rename_block("sq", "Not Valid")


def test_remove_block_removes_its_transitions(copy_project):
    root = copy_project("hello-world")
    project = load_project(root).project
    project.remove_block("shout")
    save_project(project)
    text = (root / "project.yaml").read_text()
    assert "shout" not in text
    assert "# hello-world: three Python blocks chained with `then`." in text
    assert load_project(root).project == project


def test_unknown_fields_are_not_lost_on_save(tmp_path):
    (tmp_path / "project.yaml").write_text(
        "name: keep\nx-owner: team-a   # a field we do not know\nblocks:\n"
        "  a: {type: code, colour: blue}\n  b: {type: code}\ntransitions:\n  - {from: a, to: b, note: hi}\n"
    )
    project = load_project(tmp_path).project
    project.blocks["b"].memory = 512
    save_project(project)
    text = (tmp_path / "project.yaml").read_text()
    assert "x-owner: team-a   # a field we do not know" in text
    assert "colour: blue" in text and "note: hi" in text and "memory: 512" in text


def test_text_that_yaml_would_misread_is_quoted(tmp_path):
    (tmp_path / "project.yaml").write_text("name: quoting\nblocks:\n  a: {type: code}\ntransitions: []\n")
    project = load_project(tmp_path).project
    project.blocks["a"].env = {"FLAG": "yes", "COUNT": "10", "NULLISH": "null", "PLAIN": "hello"}
    save_project(project)
    assert load_project(tmp_path).project.blocks["a"].env == {
        "FLAG": "yes",
        "COUNT": "10",
        "NULLISH": "null",
        "PLAIN": "hello",
    }


def test_fresh_project_renders_in_the_documented_layout():
    project = load_project_text("name: fresh\nblocks: {}\n").project
    project.add_block(make_block("one", "code", language="python"))
    project.add_block(make_block("two", "code", language="node"))
    project.add_transition(Transition("one", "two", type="if", expression="return_data['ok']"))
    text = render_project(project)
    assert "  one: {type: code, language: python}" in text
    assert """  - {from: one, to: two, type: if, expression: "return_data['ok']"}""" in text
    assert load_project_text(text).project == project


def test_save_is_atomic_and_keeps_the_file_mode(copy_project):
    root = copy_project("hello-world")
    path = root / "project.yaml"
    path.chmod(0o640)
    project = load_project(root).project
    project.description = "mode kept"
    save_project(project)
    assert path.stat().st_mode & 0o777 == 0o640
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


EDITS = st.lists(
    st.tuples(
        st.sampled_from(
            ["timeout", "rename", "remove-transition", "add-transition", "add-block", "remove-block", "describe"]
        ),
        st.integers(min_value=0, max_value=1000),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(EDITS)
def test_any_sequence_of_edits_round_trips(tmp_path_factory, edits):
    source = Path(__file__).resolve().parent.parent / "projects" / "all-transitions" / "project.yaml"
    root = tmp_path_factory.mktemp("edits")
    text = source.read_text()
    (root / "project.yaml").write_text(text)
    project = load_project(root).project
    for kind, number in edits:
        names = list(project.blocks)
        if kind == "timeout" and names:
            block = project.blocks[names[number % len(names)]]
            if isinstance(block, CodeBlock):
                block.timeout = 1 + number % 900
        elif kind == "rename" and names:
            old = names[number % len(names)]
            new = f"renamed-{number}"
            if new not in project.blocks:
                project.rename_block(old, new)
        elif kind == "remove-transition" and project.transitions:
            project.remove_transition(number % len(project.transitions))
        elif kind == "add-transition" and len(names) > 1:
            project.add_transition(
                Transition(
                    names[number % len(names)],
                    names[(number + 1) % len(names)],
                    type="then",
                    type_written=number % 2 == 0,
                )
            )
        elif kind == "add-block" and f"new-{number}" not in project.blocks:
            project.add_block(make_block(f"new-{number}", "topic"))
        elif kind == "remove-block" and names:
            project.remove_block(names[number % len(names)])
        elif kind == "describe":
            project.description = f"description {number}: with a colon"
    save_project(project)
    saved = (root / "project.yaml").read_text()
    reloaded = load_project(root)
    assert reloaded.diagnostics == []
    assert reloaded.project == project
    assert saved.startswith("# all-transitions: every transition type")


def test_changing_a_block_type_drops_the_old_types_fields_only(tmp_path):
    (tmp_path / "project.yaml").write_text(
        "name: retype\nblocks:\n  a: {type: code, language: python, timeout: 5, owner: me}\n  b: {type: code}\n"
        "transitions:\n  - {from: a, to: b}\n"
    )
    project = load_project(tmp_path).project
    project.blocks["a"] = make_block("a", "queue", batch_size=3)
    save_project(project)
    text = (tmp_path / "project.yaml").read_text()
    assert "a: {type: queue, owner: me, batch_size: 3}" in text


def test_a_file_the_loader_could_not_read_in_full_is_not_overwritten(tmp_path):
    text = (
        "name: broken\nblocks:\n  a: {type: lamda, file: blocks/a.py, timeout: 10}\n"
        '  b: {type: code, timeout: "30"}\ntransitions:\n  - {from: b}\n'
    )
    (tmp_path / "project.yaml").write_text(text)
    project = load_project(tmp_path).project
    project.description = "an edit"
    with pytest.raises(ModelError, match="fix them in the editor"):
        save_project(project)
    assert (tmp_path / "project.yaml").read_text() == text


def test_anchors_and_aliases_are_not_edited_behind_the_users_back(tmp_path):
    text = "name: shared\nblocks:\n  a: &base {type: code, timeout: 10}\n  b: *base\n"
    (tmp_path / "project.yaml").write_text(text)
    project = load_project(tmp_path).project
    project.blocks["a"].timeout = 20
    with pytest.raises(ModelError, match="anchors or aliases"):
        save_project(project)
    assert (tmp_path / "project.yaml").read_text() == text


def test_several_renames_in_one_save_keep_comments_and_transitions(copy_project):
    root = copy_project("all-transitions")
    before = (root / "project.yaml").read_text()
    project = load_project(root).project
    project.rename_block("square", "sq")
    project.rename_block("total", "sum-up")
    project.rename_block("sq", "square-it")
    project.remove_block("big")
    save_project(project)
    after = (root / "project.yaml").read_text()
    line = next(line for line in after.splitlines() if "to: square-it, type: fan-out" in line)
    assert line.startswith("  - {from: split, to: square-it, type: fan-out}") and line.endswith(
        "# one square per number"
    )
    assert line.index("#") == before.splitlines()[18].index("#")  # the comment stays in its column
    assert "  - {from: square-it, to: sum-up, type: fan-in}" in after
    assert len(_comments(after)) == len(_comments(before))
    assert load_project(root).project == project


def test_yaml_11_spellings_on_untouched_lines_are_kept(tmp_path):
    text = (
        "name: spelled\nblocks:\n    a: {type: code, timeout: 010, env: {A: yes}}   # octal and yes\n"
        "    b: {type: code}\ntransitions:\n    -   {from: a, to: b, type: if, expression: yes}\n"
    )
    (tmp_path / "project.yaml").write_bytes(("\ufeff" + text).replace("\n", "\r\n").encode())
    project = load_project(tmp_path).project
    assert project.blocks["a"].timeout == 8 and project.blocks["a"].env == {"A": True}
    project.blocks["b"].description = "touched"
    save_project(project)
    raw = (tmp_path / "project.yaml").read_bytes().decode()
    assert raw.startswith("\ufeff") and "\r\n" in raw and "\n" not in raw.replace("\r\n", "")
    lines = raw.lstrip("\ufeff").split("\r\n")
    assert lines[2] == "    a: {type: code, timeout: 010, env: {A: yes}}   # octal and yes"
    assert lines[3] == "    b: {type: code, description: touched}"
    assert lines[5] == "    -   {from: a, to: b, type: if, expression: yes}"


COMMENTED = """\
name: commented
blocks:
  a: {type: code}  # a's note
  b: {type: code}
  c: {type: code}  # c goes away

# --- the wiring: a to b to c ---
transitions:
  - {from: a, to: b}
  - {from: b, to: c}  # removed with c

  # a footer about the transitions
# end of file
"""


def test_removing_the_last_block_and_transition_keeps_the_comments_around_them(tmp_path):
    (tmp_path / "project.yaml").write_text(COMMENTED)
    project = load_project(tmp_path).project
    project.remove_block("c")
    save_project(project)
    text = (tmp_path / "project.yaml").read_text()
    assert "c goes away" not in text and "removed with c" not in text
    assert _comments(text) == [
        "# a's note",
        "# --- the wiring: a to b to c ---",
        "# a footer about the transitions",
        "# end of file",
    ]
    assert text.index("# --- the wiring") < text.index("transitions:") < text.index("# a footer")
    assert load_project(tmp_path).project == project


def test_removing_every_transition_keeps_the_footer(tmp_path):
    (tmp_path / "project.yaml").write_text(COMMENTED)
    project = load_project(tmp_path).project
    while project.transitions:
        project.remove_transition(len(project.transitions) - 1)
    save_project(project)
    text = (tmp_path / "project.yaml").read_text()
    assert "# a footer about the transitions" in text and text.rstrip().endswith("# end of file")
    assert load_project(tmp_path).project == project
