"""The workbench driven with Pilot: opening, editing and saving, conflicts, structure edits, runs, stepping,
breakpoints, replay, problems, quitting. Assertions on widget state and on the messages posted."""

from __future__ import annotations

import shutil

import pytest

from refinery_tui.model import load_project
from refinery_tui.tui.app import WorkbenchApp
from refinery_tui.tui.editor import CodeEditor
from refinery_tui.tui.messages import FileSaved, FilesChanged, OpenFile, RunFinished
from refinery_tui.tui.modals import Ask, Choose, Confirm
from refinery_tui.tui.palette import workbench_commands
from tests.conftest import PROJECTS

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "all-transitions"
    shutil.copytree(PROJECTS / "all-transitions", root, ignore=shutil.ignore_patterns(".refinery"))
    return root


def make_app(root, messages=None):
    return WorkbenchApp(root, watch=False)


async def run_and_wait(app, pilot, key="r"):
    await pilot.press(key)
    await app.workers.wait_for_complete()
    await pilot.pause()


def status(app) -> str:
    return str(app.run_pane.query_one("#run-status").render())


async def wait_for_status(pilot, text: str, tries: int = 100) -> None:
    """Let the app work until its Run status says `text` (bounded; the assertions after it check)."""
    for _ in range(tries):
        await pilot.pause(0.02)
        if text in status(pilot.app):
            return


async def test_opening_a_block_shows_its_code(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.block_tree.selected_block == "start"
        await pilot.press("j", "enter")
        await pilot.pause()
        editor = app.editor.current
        assert isinstance(editor, CodeEditor) and editor.path == (project / "blocks/split.py").resolve()
        assert editor.language == "python" and "def main" in editor.text


@needs_node
async def test_run_fills_the_table_and_colours_the_tree(project):
    app = make_app(project)
    posted = []
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        app.run_pane.set_input({"numbers": [3, 8, -1]})
        await run_and_wait(app, pilot)
        finished = [m for m in posted if isinstance(m, RunFinished)]
        assert finished and finished[0].result.status == "succeeded"
        assert app.run_pane.table.row_count == 10
        assert app.block_tree.states["square"] == "succeeded" or app.block_tree.states["square"] == "failed"
        assert app.block_tree.states["small"] == "succeeded"
        assert app.block_tree.states["big"] == "skipped"  # the `if` did not fire
        assert "succeeded" in status(app)
        app.run_pane.table.focus()
        await pilot.pause()
        detail = str(app.run_pane.query_one("#run-detail").render())
        assert "input" in detail and "backpack" in detail


@needs_node
async def test_editing_and_saving_reruns_from_the_block(project):
    app = make_app(project)
    posted = []
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        app.run_pane.set_input({"numbers": [3, 8, 12]})
        await run_and_wait(app, pilot)
        app.post_message(OpenFile(project / "blocks/small.py"))
        app.block_tree.select_block("report")
        await pilot.pause()
        editor = await app.editor.open(project / "blocks/report.py")
        editor.load_text(editor.text.replace('"skipped":', '"note": "edited", "skipped":', 1))
        assert editor.dirty
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not editor.dirty
        assert '"note": "edited"' in (project / "blocks/report.py").read_text()
        assert any(isinstance(m, FileSaved) for m in posted)
        runs = [m for m in posted if isinstance(m, RunFinished)]
        assert len(runs) == 2 and runs[1].result.replay_of == runs[0].result.execution_id
        blocks = [r.block for r in app.session.history.invocations(runs[1].result.execution_id)]
        assert blocks == ["report", "big"]  # nothing upstream ran again
        assert "report" in app.run_pane.controller.changed_blocks


async def test_a_file_changed_on_disk_with_unsaved_edits_asks(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        editor = await app.editor.open(project / "blocks/split.py")
        editor.insert("# my edit\n", (0, 0))
        (project / "blocks/split.py").write_text("def main(block_input, backpack):\n    return []\n")
        app.post_message(FilesChanged([project / "blocks/split.py"]))
        await pilot.pause()
        assert isinstance(app.screen, Choose)
        await pilot.press("k")  # keep mine
        await pilot.pause()
        assert editor.text.startswith("# my edit")
        app.post_message(FilesChanged([project / "blocks/split.py"]))  # the same version again: not news
        await pilot.pause()
        assert not isinstance(app.screen, Choose)
        (project / "blocks/split.py").write_text("def main(block_input, backpack):\n    return []\n\n")
        app.post_message(FilesChanged([project / "blocks/split.py"]))
        await pilot.pause()
        await pilot.press("r")  # reload
        await pilot.pause()
        assert editor.text == "def main(block_input, backpack):\n    return []\n\n" and not editor.dirty


async def test_structure_edits_are_validated_and_written(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        app.block_tree.select_block("small")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, Ask)
        await pilot.press(*"audit code python", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        project_model = load_project(project).project
        assert "audit" in project_model.blocks
        assert (project / "blocks/audit.py").is_file()
        assert any(t.source == "small" and t.target == "audit" for t in project_model.transitions)
        assert "# all-transitions: every transition type" in (project / "project.yaml").read_text()
        app.block_tree.select_block("audit")
        await pilot.press("f2")
        await pilot.pause()
        app.screen.query_one("Input").value = ""
        await pilot.press(*"audit-log", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "audit-log" in load_project(project).project.blocks
        app.block_tree.select_block("audit-log")
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"start then", "enter")
        await pilot.pause()
        assert "cannot join" not in "".join(str(n.message) for n in app._notifications)
        app.block_tree.select_block("audit-log")
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"big if return_data[", "enter")  # a broken expression is refused
        await pilot.pause()
        assert any("expression does not work" in str(n.message) for n in app._notifications)
        app.block_tree.select_block("audit-log")
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "audit-log" not in load_project(project).project.blocks


@needs_node
async def test_stepping_and_breakpoints(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_pane.set_input({"numbers": [1]})
        app.block_tree.focus()
        await pilot.press("s")
        await wait_for_status(pilot, "paused", 50)
        assert "paused" in status(app) and "'start'" in status(app)
        await pilot.press("s")
        for _ in range(50):
            await pilot.pause(0.02)
            if "'split'" in status(app) or "'describe'" in status(app):
                break
        assert app.block_tree.states["start"] == "succeeded"
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "succeeded" in status(app)
        app.block_tree.select_block("report")
        await pilot.press("b")
        assert app.run_pane.controller.breakpoints == {"report"}
        await pilot.press("r")
        await wait_for_status(pilot, "paused (breakpoint)", 200)
        assert "before 'report'" in status(app)
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "cancelled" in status(app)


async def test_problems_list_errors_and_enter_opens_the_place(project):
    text = (project / "project.yaml").read_text().replace("type: fan-in}", "type: fan-inn}", 1)
    (project / "project.yaml").write_text(text)
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        problems = app.query_one("#problems")
        assert problems.row_count >= 1
        assert app.session is None  # nothing runs while the project is invalid
        problems.focus()
        row = next(i for i, d in enumerate(problems.diagnostics) if "fan-inn" in d.message)
        problems.move_cursor(row=row)
        await pilot.press("enter")
        await pilot.pause()
        editor = app.editor.current
        assert editor.path == (project / "project.yaml").resolve()
        line = next(i for i, l in enumerate(text.splitlines()) if "fan-inn" in l)
        assert editor.cursor_location[0] == line


async def test_quitting_with_unsaved_edits_asks_first(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        editor = await app.editor.open(project / "blocks/split.py")
        editor.insert("x = 1\n", (0, 0))
        app.block_tree.focus()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and editor.dirty
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_keys_and_palette(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert "Block tree" in str(app.screen.markdown)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause()
        assert "tree.breakpoint" in app.screen.markdown
        await pilot.press("escape")
        titles = [command.title for command in workbench_commands(app, app.focused)]
        assert "Run: Step" in titles and "Block: Rename" in titles and "Transition: Add" in titles


async def test_keys_can_be_remapped(project, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "keymap.toml").write_text('[keymap]\n"run.start" = "f9"\n')
    monkeypatch.setenv("REFINERY_TUI_CONFIG_DIR", str(config))
    app = make_app(project)
    posted = []
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        app.run_pane.set_input({})
        await pilot.press("f9")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any(isinstance(m, RunFinished) for m in posted)


async def test_changing_and_removing_a_transition(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        app.block_tree.select_block("big")
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("Input").value == "big if return_data['sum'] > 100"
        app.screen.query_one("Input").value = "big if return_data['sum'] > 50"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        transition = next(t for t in load_project(project).project.transitions if t.target == "big")
        assert transition.expression == "return_data['sum'] > 50"
        app.block_tree.select_block("big")
        await pilot.press("T")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not [t for t in load_project(project).project.transitions if t.target == "big"]


async def test_tree_refresh_keeps_expansion_and_cursor(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        app.block_tree.select_block("report")
        split = app.block_tree.first_place("describe")
        split.collapse()
        text = (
            (project / "project.yaml")
            .read_text()
            .replace(
                "  small:         {type: code, language: python}",
                "  small:         {type: code, language: python}\n  extra:         {type: topic}",
            )
        )
        (project / "project.yaml").write_text(text + "  - {from: small, to: extra}\n")
        app.post_message(FilesChanged([project / "project.yaml"]))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "extra" in app.block_tree.project.blocks
        assert app.block_tree.selected_block == "report"
        assert not app.block_tree.first_place("describe").is_expanded
        assert app.block_tree.first_place("split").is_expanded


async def test_a_python_syntax_error_shows_in_problems_when_saved(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        editor = await app.editor.open(project / "blocks/total.py")
        editor.load_text("def main(block_input, backpack)\n    return 1\n")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        problems = app.query_one("#problems")
        assert any(d.file == "blocks/total.py" and d.line == 1 and "syntax" in d.message for d in problems.diagnostics)


@needs_node
async def test_replay_from_the_selected_invocation_and_history(project):
    app = make_app(project)
    posted = []
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        app.run_pane.set_input({"numbers": [3, 8, 12]})
        await run_and_wait(app, pilot)
        table = app.run_pane.table
        table.focus()
        row = next(i for i, key in enumerate(table.rows) if app.session.history.invocation(key.value).block == "report")
        table.move_cursor(row=row)
        await pilot.pause()
        await pilot.press("f")
        await app.workers.wait_for_complete()
        await pilot.pause()
        runs = [m.result for m in posted if isinstance(m, RunFinished)]
        assert len(runs) == 2 and runs[1].replay_of == runs[0].execution_id
        assert [r.block for r in app.session.history.invocations(runs[1].execution_id)] == ["report", "big"]
        await pilot.press("H")
        await pilot.pause()
        executions = app.run_pane.query_one("#executions")
        assert executions.display and executions.row_count == 2
        executions.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        assert app.run_pane.controller.last_execution == runs[0].execution_id
        assert app.run_pane.table.row_count == runs[0].invocations == 9


@needs_node
async def test_editing_a_pending_input_while_stepping(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_pane.set_input({"numbers": [1]})
        app.block_tree.focus()
        await pilot.press("s")
        await wait_for_status(pilot, "before 'start'", 100)
        app.run_pane.set_input({"numbers": [10, 20]})
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        run = app.session.history.executions(1)[0]
        assert run.outputs[0]["output"] == {"verdict": "big", "sum": 500}
        assert app.run_pane.input_value() == {"numbers": [1]}  # the user's own input is back


async def test_zoom_and_escape(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("z")
        assert app.screen.maximized is app.block_tree
        await pilot.press("escape")
        assert app.screen.maximized is None


async def test_a_failing_worker_is_a_notification(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:

        def explode(session):
            raise RuntimeError("the backend broke")

        app.run_pane.controller.before_run()
        app.run_pane.controller.execute(explode)
        try:
            await app.workers.wait_for_complete()
        except Exception:  # noqa: BLE001 - the worker's failure is what this test makes
            pass
        await pilot.pause()
        assert any("the backend broke" in str(n.message) for n in app._notifications)
        assert not app.run_pane.controller.running and app.is_running


async def test_the_input_starts_from_the_example_then_the_last_run(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.run_pane.input_value() == {"numbers": [3, 8, -1]}  # projects' input.json
        app.run_pane.set_input({"numbers": [7]})
        await run_and_wait(app, pilot)
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.run_pane.input_value() == {"numbers": [7]}


async def test_saved_inputs(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_pane.set_input({"numbers": [42]})
        app.action_run("save_input")
        await pilot.pause()
        await pilot.press(*"big one", "enter")
        await pilot.pause()
        assert (project / "inputs" / "big-one.json").is_file()
        app.run_pane.set_input({})
        app.action_run("load_input")
        await pilot.pause()
        assert isinstance(app.screen, Choose)
        await pilot.press("2")  # 1: input.json, 2: big-one
        await pilot.pause()
        assert app.run_pane.input_value() == {"numbers": [42]}


@needs_node
async def test_saving_during_a_paused_run_keeps_the_run_under_control(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        app.block_tree.select_block("total")
        await pilot.press("b", "r")
        await wait_for_status(pilot, "before 'total'", 200)
        editor = await app.editor.open(project / "blocks/split.py")
        editor.insert("# a comment\n", (0, 0))
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        app.block_tree.focus()
        await pilot.press("c")
        for _ in range(200):
            await pilot.pause(0.02)
            if not app.run_pane.controller.running:
                break
        assert "succeeded" in status(app)
        assert app.block_tree.states["total"] == "succeeded"
        app.block_tree.select_block("total")
        await pilot.press("b")  # off again
        app.block_tree.select_block("report")
        await pilot.press("b", "r")
        await wait_for_status(pilot, "before 'report'", 200)
        assert app.block_tree.states["report"] == "paused"
        await pilot.press("q")  # quitting while paused cancels the run
    assert app.return_code == 0


async def test_the_highlighted_problem_is_shown_whole(project):
    text = (project / "project.yaml").read_text().replace("on_exception: report-error", "on_exception: report-eror")
    (project / "project.yaml").write_text(text)
    app = make_app(project)
    async with app.run_test(size=(80, 24)) as pilot:
        problems = app.query_one("#problems")
        problems.focus()
        await pilot.pause()
        detail = str(app.query_one("#problem-detail").render())
        assert "on_exception names a block that does not exist: 'report-eror' (did you mean 'report-error'?)" in detail
        assert "hint:" in detail


async def test_the_palette_follows_the_context(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()

        def titles() -> list[str]:
            return [command.title for command in workbench_commands(app, app.focused)]

        assert {"Block: Rename", "Run: Start", "Run: Step"} <= set(titles())
        assert not {"Transition: Change", "File: Save", "Run: Cancel", "Run: Pause"} & set(titles())
        assert titles()[0].startswith("Block")  # the focused pane's commands first
        await pilot.press("j")
        assert {"Transition: Change", "Transition: Remove"} <= set(titles())
        await pilot.press("enter")
        await pilot.pause()
        assert "File: Save" in titles() and titles()[0].startswith("File")
        app.run_pane.set_input({"numbers": [1]})
        app.block_tree.focus()
        await pilot.press("s")
        await wait_for_status(pilot, "paused", 50)
        assert {"Run: Continue", "Run: Step", "Run: Cancel"} <= set(titles()) and "Run: Start" not in titles()
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Run: Start" in titles() and "Run: Cancel" not in titles()


async def test_the_palette_runs_a_command_found_by_its_title(project):
    from textual.command import CommandList, CommandPalette

    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"View: Zoom")
        for _ in range(50):  # the palette searches on a worker
            await pilot.pause(0.02)
            if app.screen.query_one(CommandList).option_count:
                break
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.maximized is app.block_tree


async def test_project_state_is_what_the_panes_read(project):
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        state = app.state
        assert state.ok and state.project is app.session.project and "blocks" in state.manifest
        assert app.query_one("#invoke").project_state is state and app.deploy_pane.project_state is state
        assert app.logs_pane.project_state is state
        good = state.project
        text = (project / "project.yaml").read_text()
        (project / "project.yaml").write_text(text.replace("type: merge}", "type: merj}", 1))
        app.post_message(FilesChanged([project / "project.yaml"]))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not state.ok and state.project is good  # the last good model stays, the problems are new
        assert any("merj" in d.message for d in state.problems)
        assert "✗" in str(app.bottom.get_tab("tab-problems").label)
