"""The Logs pane with Pilot: against a real sandbox (the merged stream of a deployed stage, filter by block, pause
and the "+N new lines" badge, a line's JSON, the jump to its execution), and fed synthetic lines without AWS (the
50,000-line cap, wrap, a bad regex, the level filter, keys, help and palette)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys

import pytest

from refinery_tui.cloud.logfilter import FilterError
from refinery_tui.cloud.loglines import make_line
from refinery_tui.cloud.stage import StageTarget
from refinery_tui.tui.app import WorkbenchApp
from refinery_tui.tui.deploy_target import save_target
from refinery_tui.tui.log_screens import ExecutionScreen, LineDetail
from refinery_tui.tui.log_status import HOW_TO_DEPLOY
from refinery_tui.tui.logbuffer import EVENT_ID, EXECUTION, KIND, MAX_LINES, LogBuffer, line_of, prepare
from refinery_tui.tui.logquery import parse_filter
from refinery_tui.tui.logs_pane import LogsPane
from refinery_tui.tui.messages import CloudExecutionSelected
from refinery_tui.tui.palette import workbench_commands
from tests.cloud.cloud_helpers import deploy, run_deployed, running_sandbox
from tests.conftest import PROJECTS

SIZE = (80, 24)  # everything here works at the smallest size the workbench supports
BLOCKS = ("greet", "shout", "sign")
EXECUTION_ID = "20260101-120000-abc123"


@pytest.fixture
def project(tmp_path):
    """hello-world, each block printing a line, so the stream has user output between the runtime's lines."""
    root = tmp_path / "hello-world"
    shutil.copytree(PROJECTS / "hello-world", root, ignore=shutil.ignore_patterns(".refinery"))
    for block in BLOCKS:
        path = root / "blocks" / f"{block}.py"
        path.write_text(
            path.read_text().replace(
                "def main(block_input, backpack):\n",
                f"def main(block_input, backpack):\n    print('{block} got', block_input)\n",
            )
        )
    return root


async def until(pilot, condition, what: str, rounds: int = 600) -> None:
    """Pause (letting workers' messages in) until `condition()` holds; at most `rounds` short pauses."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def visible_text(pane: LogsPane) -> list[str]:
    view = pane.view
    return [view.render_line(y).text.rstrip() for y in range(view.scrollable_content_region.height)]


def shown_lines(pane: LogsPane) -> list:
    """The LogLines the pane shows (with the filter), oldest first."""
    return [line_of(entry) for entry in pane.buffer.shown_entries()]


def of_type(posted, kind):
    return [message for message in posted if isinstance(message, kind)]


# -- against the sandbox ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("sandbox-state")) as running:
        yield running


def records_of(pane: LogsPane, execution_id: str) -> list[tuple[str, str]]:
    """(block, start|end) of the execution's runtime lines, in the order the pane shows them."""
    return [
        (line.record.get("block"), line.kind)
        for line in shown_lines(pane)
        if line.execution_id == execution_id and line.kind in ("start", "end")
    ]


IN_ORDER = [(block, kind) for block in BLOCKS for kind in ("start", "end")]


async def test_a_deployed_stage_tails_filters_pauses_opens_and_jumps(sandbox, project):
    deployer = deploy(sandbox, project, "logs")
    save_target(project, StageTarget("sandbox", sandbox.endpoint_url, "", "", "logs"))  # as the Deploy pane does
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.press("7")
        assert app.query_one("#bottom").active == "tab-logs" and app.focused is pane.view
        await until(pilot, lambda: pane.state == "tailing", "the tail to connect")
        assert pane.blocks == list(BLOCKS) and pane.missing == set() and pane.mode == "poll"
        assert "logs @ sandbox" in pane.status_text()

        first = await asyncio.to_thread(run_deployed, sandbox, deployer, "greet", {"name": "logs"})
        assert first.status == "succeeded"
        await until(pilot, lambda: records_of(pane, first.execution_id) == IN_ORDER, "every block's start and end")
        assert pane.view.following
        user = [line for line in shown_lines(pane) if line.record is None and line.execution_id == first.execution_id]
        assert {line.block for line in user} == set(BLOCKS)  # each block's print, attributed
        shown = "\n".join(visible_text(pane))
        assert first.execution_id[-6:] in shown and "sign" in shown  # the last lines are on screen

        await pilot.press("slash", *"block:shout", "enter")
        await pilot.pause()
        assert app.focused is pane.view and not pane.filter_box.display
        blocks = {line.block for line in shown_lines(pane)}
        assert blocks == {"shout"} and pane.buffer.shown_count < len(pane.buffer)
        assert all(line.split()[1] == "shout" for line in visible_text(pane) if line[:2].isdigit())
        assert "filter: block shout" in pane.status_text()
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert pane.buffer.filter.empty and pane.buffer.shown_count == len(pane.buffer)

        await pilot.press("f")
        assert not pane.view.following and "paused" in pane.status_text()
        before = len(pane.buffer)
        second = await asyncio.to_thread(run_deployed, sandbox, deployer, "greet", {"name": "again"})
        await until(pilot, lambda: records_of(pane, second.execution_id) == IN_ORDER, "the second execution")
        new = len(pane.buffer) - before
        assert pane.view.new_lines == new > 0
        assert f"+{new:,} new lines" in pane.badge_text()
        assert pane.view.cursor == before - 1  # the view stayed where it was

        ends = [
            index
            for index, entry in enumerate(pane.buffer.shown_entries())
            if entry[KIND] == "end" and entry[EXECUTION] == first.execution_id
        ]
        pane.view.select(ends[0])
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LineDetail)
        detail = json.loads(app.screen.text)
        assert detail["refinery"] == "end" and detail["block"] == "greet" and detail["output"] == "Hello, logs"
        await pilot.press("escape")

        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExecutionScreen) and screen.run.execution_id == first.execution_id
        assert screen.run.status == "succeeded"
        assert {invocation.block: invocation.status for invocation in screen.run.invocations.values()} == {
            block: "succeeded" for block in BLOCKS
        }
        labels = [str(node.label) for node in screen.query_one("Tree").root.children]
        assert len(labels) == 1 and labels[0].startswith("✓ greet succeeded")  # shout under greet, sign under it
        nodes, node = [], screen.query_one("Tree").root
        while node.children:
            node = node.children[0]
            nodes.append(str(node.label).split(" ms")[0])
        assert [label.split()[1:3] for label in nodes] == [[block, "succeeded"] for block in BLOCKS]
        assert "Hello, logs" in str(screen.query_one("#logs-execution-detail").render())
        await pilot.press("o")  # opens it in the Run pane
        await pilot.pause()
        selected = of_type(posted, CloudExecutionSelected)[-1]
        assert selected.run.execution_id == first.execution_id and selected.stage == "logs"

        await pilot.press("7", "f")
        assert pane.view.following and pane.badge_text() == ""
        assert pane.view.cursor == pane.buffer.shown_count - 1


async def test_a_stage_not_deployed_says_how_to_deploy(sandbox, project):
    save_target(project, StageTarget("sandbox", sandbox.endpoint_url, "", "", "nothing"))
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.press("7")
        await until(pilot, lambda: pane.state == "tailing", "the tail to connect")
        assert pane.missing == set(pane.groups) and len(pane.groups) == 3
        assert "Nothing of stage nothing" in pane.view.placeholder and "Deploy tab (5, then a)" in pane.view.placeholder
        assert "3 of 3 blocks not deployed" in pane.status_text()


async def test_an_unreachable_endpoint_is_a_readable_error(project):
    save_target(project, StageTarget("sandbox", "http://127.0.0.1:9", "", "", "dev"))
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.press("7")
        await until(pilot, lambda: pane.state == "failed", "the tail to fail")
        assert pane.status_text().startswith("✗ cannot tail the logs: cannot reach sandbox http://127.0.0.1:9")
        assert "R retries" in pane.status_text() and app.is_running


# -- without AWS: synthetic lines ---------------------------------------------------------------------------------


def synthetic(count: int, start: int = 0, execution: str = EXECUTION_ID) -> list:
    """`count` lines of a three-block chain: start and end records, a print, and an ERROR every tenth line."""
    lines = []
    for number in range(start, start + count):
        block = BLOCKS[number % 3]
        if number % 10 == 0:
            message = f"[ERROR]\t2026-01-01T12:00:00.000Z\treq-{number}\tline {number} failed badly"
        elif number % 10 == 1:
            message = json.dumps(
                {
                    "refinery": "start",
                    "execution_id": execution,
                    "block": block,
                    "invocation_id": f"{execution}.{number}",
                    "input": {"n": number},
                }
            )
        elif number % 10 == 2:
            message = json.dumps(
                {
                    "refinery": "end",
                    "execution_id": execution,
                    "block": block,
                    "invocation_id": f"{execution}.{number - 1}",
                    "status": "succeeded",
                    "duration_ms": 3.5,
                    "output": number,
                    "output_preview": str(number),
                }
            )
        else:
            message = f"line {number} from {block}"
        line = make_line(
            f"/aws/lambda/hw-dev-{block}", "stream", 1_767_268_800_000 + number, str(number), message, block
        )
        line.execution_id = line.execution_id or execution
        lines.append(line)
    return lines


async def open_logs(pilot) -> LogsPane:
    await pilot.press("7")
    await pilot.pause()
    return pilot.app.query_one(LogsPane)


async def test_nothing_deployed_says_how_to_deploy(project):
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_logs(pilot)
        assert pane.state == "unconfigured" and pane.driver is None
        assert pane.view.placeholder == HOW_TO_DEPLOY
        assert any("Nothing deployed from here yet" in line for line in visible_text(pane))
        assert "deploy in the Deploy tab (5)" in pane.status_text()


async def test_at_most_50000_lines_are_kept_and_the_pane_says_so(project):
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_logs(pilot)
        for start in range(0, 60_000, 5_000):
            pane.add_lines(synthetic(5_000, start))
        await pilot.pause()
        assert len(pane.buffer) == MAX_LINES == 50_000 and pane.buffer.dropped == 10_000
        assert pane.buffer.entries()[0][EVENT_ID] == "10000"  # the oldest went
        assert pane.buffer.entries()[-1][EVENT_ID] == "59999"
        assert "50,000 lines" in pane.status_text() and "showing the last 50,000 lines" in pane.status_text()
        assert visible_text(pane)[-1].endswith("line 59999 from sign")  # following: the newest at the bottom

        await pilot.press("g")  # paused at the first kept line; more lines push the oldest out under it
        assert pane.view.cursor == 0 and not pane.view.following
        pane.add_lines(synthetic(100, 60_000))
        await pilot.pause()
        assert pane.buffer.entries()[0][EVENT_ID] == "10100" and pane.view.cursor == 0
        assert "+100 new lines" in pane.badge_text()


async def test_wrap_shows_a_long_line_whole(project):
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_logs(pilot)
        long = "word " * 40 + "THE-END"
        pane.add_lines(
            [
                make_line("/aws/lambda/hw-dev-greet", "s", 1_767_268_800_000, "1", long, "greet"),
                make_line(
                    "/aws/lambda/hw-dev-greet",
                    "s",
                    1_767_268_800_001,
                    "2",
                    'Traceback (most recent call last):\n  File "x.py"\nValueError: no',
                    "greet",
                ),
            ]
        )
        await pilot.pause()
        assert not any("THE-END" in line for line in visible_text(pane))
        await pilot.press("w")
        await pilot.pause()
        assert pane.view.wrap and "wrap" in pane.status_text()
        assert pane.buffer.total_rows == pane.buffer.rows_at(0) + 3 and pane.buffer.rows_at(0) > 1
        text = visible_text(pane)
        assert any("THE-END" in line for line in text)
        assert any(line.strip() == "ValueError: no" for line in text)  # a multi-line message, a row a line
        await pilot.press("w")
        await pilot.pause()
        assert not pane.view.wrap and pane.buffer.total_rows == 2
        assert any("Traceback (most recent call last): ⏎" in line for line in visible_text(pane))


async def test_filters_a_bad_regex_and_the_level(project):
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_logs(pilot)
        pane.add_lines(synthetic(200))
        await pilot.press("slash")
        assert pane.filter_box.display and pane.filter_box.has_focus
        await pilot.press(*"re:line (")
        await pilot.pause(0.3)
        assert "/line (/ is not a regular expression" in pane.status_text()
        assert pane.buffer.filter.empty and pane.buffer.shown_count == 200  # the bad one is not applied
        await pilot.press("enter")  # Enter does not accept it: the box stays open
        assert pane.filter_box.display
        await pilot.press("escape")
        await pilot.pause()
        assert not pane.filter_box.display and "regular expression" not in pane.status_text()
        assert app.focused is pane.view

        await pilot.press("slash", *"level:error", "enter")
        await pilot.pause()
        assert pane.buffer.shown_count == 20
        assert {line.level for line in shown_lines(pane)} == {"ERROR"}
        assert all(" ERROR " in line for line in visible_text(pane) if line)
        assert "20 of 200 lines · filter: level ERROR" in pane.status_text()
        pane.add_lines(synthetic(100, 200))  # new lines are filtered as they come
        await pilot.pause()
        assert pane.buffer.shown_count == 30

        await pilot.press("slash")
        assert pane.filter_box.value == "level:error"
        pane.filter_box.value = ""
        await pilot.press(*"re:line \\d+5 fwx")  # f, w and x type into the box: no follow, wrap or jump
        await pilot.press("enter")
        await pilot.pause()
        assert not pane.view.wrap and not isinstance(app.screen, ExecutionScreen)
        assert pane.buffer.shown_count == 0 and "matches the filter" in pane.view.placeholder
        await pilot.press("slash")
        pane.filter_box.value = "block:nope"
        await pilot.press("enter")
        assert "no block named 'nope'" in pane.status_text() or pane.blocks == []


async def test_pause_badge_json_and_execution_without_aws(project):
    app = WorkbenchApp(project, watch=False)
    posted = []
    async with app.run_test(size=SIZE, message_hook=posted.append) as pilot:
        pane = await open_logs(pilot)
        pane.add_lines(synthetic(30))
        await pilot.press("f")
        assert not pane.view.following
        pane.add_lines(synthetic(12, 30))
        await pilot.pause()
        assert "+12 new lines · f" in pane.badge_text() and pane.view.cursor == 29
        await pilot.press("k")
        assert pane.view.cursor == 28
        pane.view.select(1)  # a start record
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LineDetail) and json.loads(app.screen.text)["input"] == {"n": 1}
        await pilot.press("escape", "x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExecutionScreen) and screen.run.execution_id == EXECUTION_ID
        assert len(screen.run.invocations) == 5  # lines 1, 11, 21, 31, 41 start invocations
        labels = [str(node.label) for node in screen.query_one("Tree").root.children]
        assert all(label.startswith("✓ ") and " succeeded" in label for label in labels[:4])
        assert labels[4].startswith("… ") and " running" in labels[4]  # line 41 started it; its end is line 42
        pane.add_lines(synthetic(10, 42))  # the open view follows its execution
        await pilot.pause(0.7)
        assert len(app.screen.run.invocations) == 6
        await pilot.press("escape", "G")
        assert pane.view.following and pane.badge_text() == ""
        pane.view.select(0)  # an ERROR line of no invocation: it still has its execution
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ExecutionScreen)
        await pilot.press("o")
        await pilot.pause()
        assert of_type(posted, CloudExecutionSelected)[-1].run.execution_id == EXECUTION_ID


async def test_keys_help_palette_and_remapping(project, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "keymap.toml").write_text('[keymap]\n"logs.follow" = "F"\n')
    monkeypatch.setenv("REFINERY_TUI_CONFIG_DIR", str(config))
    app = WorkbenchApp(project, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_logs(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert "## Logs" in app.screen.markdown and "showing the last 50,000 lines" in app.screen.markdown
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        for binding_id in ("logs.follow", "logs.filter", "logs.wrap", "logs.open", "logs.execution"):
            assert binding_id in app.screen.markdown
        assert "| `F` | Follow |" in app.screen.markdown
        await pilot.press("escape")
        pane.add_lines(synthetic(5))
        await pilot.press("F")
        assert not pane.view.following
        titles = {command.title for command in workbench_commands(app, app.focused)}
        assert {"Logs: Follow", "Logs: Filter", "Logs: Wrap", "Logs: Open line", "Logs: Execution"} <= titles
        await pilot.press("z")
        assert app.screen.maximized is pane
        await pilot.press("escape")
        assert app.screen.maximized is None


# -- the parts without Textual ------------------------------------------------------------------------------------


def test_the_filter_box_syntax():
    parsed = parse_filter("block:greet,sign level:warning exec:abc123 took 12", ["greet", "shout", "sign"])
    assert parsed.blocks == {"greet", "sign"} and parsed.levels == {"WARN"} and parsed.execution == "abc123"
    assert parsed.text == "took 12" and not parsed.regex
    parsed = parse_filter("level:ERROR re:took \\d+ ms block:x")  # the regex takes the rest of the box
    assert parsed.levels == {"ERROR"} and parsed.regex and parsed.text == "took \\d+ ms block:x"
    assert parse_filter("").empty
    for bad, words in (
        ("re:(", "is not a regular expression"),
        ("level:loud", "no level 'LOUD'"),
        ("block:nope", "no block named 'nope'"),
        ("block:", "needs a value"),
        ("re:", "needs a"),
    ):
        with pytest.raises(FilterError, match=words):
            parse_filter(bad, ["greet"])


def test_the_buffer_drops_the_oldest_and_keeps_the_filtered_view_in_step():
    buffer = LogBuffer(limit=100)
    buffer.set_filter(parse_filter("level:ERROR"))
    added = [buffer.add(prepare(synthetic(30, start))) for start in range(0, 150, 30)]
    assert len(buffer) == 100 and buffer.dropped == 50 and buffer.received == 150
    assert [entry[EVENT_ID] for entry in buffer.shown_entries()] == [str(n) for n in range(50, 150, 10)]
    assert added[-1] == (3, 3, 3)  # 3 ERROR lines came; lines 20-49 went, 3 of them shown (a row each)
    buffer.set_layout(True, 40, 30, 4)
    assert buffer.total_rows == sum(buffer.rows_at(index) for index in range(buffer.shown_count)) > 10
    assert buffer.index_at_row(buffer.total_rows - 1) == buffer.shown_count - 1


def test_the_log_modules_import_no_textual():
    code = "import sys, refinery_tui.tui.logbuffer, refinery_tui.tui.logquery\nprint('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False"], result.stderr
