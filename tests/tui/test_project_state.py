"""ProjectState without Textual: the last good model, the problems, the manifest, the chosen deploy target."""

from __future__ import annotations

import shutil

from refinery_tui.cloud.stage import StageTarget
from refinery_tui.model.validator import validate_project
from refinery_tui.tui.project_state import ProjectState
from tests.conftest import PROJECTS


def test_the_last_good_model_stays_through_errors_and_listeners_hear_of_each_change(tmp_path):
    root = tmp_path / "hello-world"
    shutil.copytree(PROJECTS / "hello-world", root, ignore=shutil.ignore_patterns(".refinery"))
    state = ProjectState(root)
    heard = []
    state.subscribe(heard.append)
    assert state.project is None and state.manifest is None and not state.ok
    state.update(validate_project(root))
    good = state.project
    assert state.ok and good is not None and set(state.manifest["blocks"]) == set(good.blocks)
    (root / "project.yaml").write_text((root / "project.yaml").read_text() + "\nnot: [valid\n")
    state.update(validate_project(root))
    assert not state.ok and state.project is good and state.problems and state.manifest is not None
    assert heard == [{"project"}, {"project"}]


def test_the_chosen_target_is_remembered_for_the_next_start(tmp_path):
    state = ProjectState(tmp_path)
    heard = []
    state.subscribe(heard.append)
    assert state.target is None and state.deploy_target().stage == "dev"  # nothing chosen: the default is offered
    chosen = StageTarget("sandbox", "http://127.0.0.1:4566", "", "", "qa")
    state.choose_target(chosen)
    state.choose_target(chosen)
    assert heard == [{"target"}] and state.deploy_target() == chosen
    assert ProjectState(tmp_path).target == chosen
