"""An oversized or hostile project.yaml is refused quickly, in bounded memory, with a clear error and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from refinery_tui.model.loader import load_project_text
from refinery_tui.model.yaml_limits import MAX_DEPTH, MAX_NODES, GuardedLoader, LimitExceeded

MEASURE = """
import json, resource, subprocess, sys, time
start = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "out": done.stdout[-2000:], "err": done.stderr[-2000:],
                  "seconds": time.monotonic() - start,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def validate_measured(project) -> dict:
    """`refinery-tui validate` in a real process, with its wall time and peak memory."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "refinery_tui", "validate", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_60_mb_million_key_project_yaml_is_refused_in_seconds_and_bounded_memory(tmp_path):
    project = tmp_path / "huge"
    project.mkdir()
    with (project / "project.yaml").open("w") as handle:
        handle.write("name: huge\nblocks:\n")
        line = "  block-{:07d}: {{type: code, language: python, note: " + "x" * 14 + "}}\n"
        for index in range(1_000_000):
            handle.write(line.format(index))
    assert (project / "project.yaml").stat().st_size > 60_000_000
    result = validate_measured(project)
    assert result["rc"] == 1, result
    assert "project.yaml is 6" in result["err"] and "the limit is 4 MB" in result["err"]
    assert "alias" not in result["err"] and "Traceback" not in result["err"]
    assert result["seconds"] < 10 and result["max_rss_mb"] < 700, result


def test_too_many_values_under_the_size_limit_are_refused_while_parsing(tmp_path):
    project = tmp_path / "many"
    project.mkdir()
    (project / "project.yaml").write_text("name: many\nblocks: {}\nnotes: [" + "1," * 1_500_000 + "]\n")
    result = validate_measured(project)
    assert result["rc"] == 1, result
    assert f"writes more than {MAX_NODES:,} values" in result["err"] and "project.yaml:3:" in result["err"]
    assert "Traceback" not in result["err"]
    assert result["seconds"] < 10 and result["max_rss_mb"] < 700, result


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_a_clear_error_not_a_recursion_error(tmp_path, opening):
    project = tmp_path / "deep"
    project.mkdir()
    closing = "]" if opening == "[" else "}"
    (project / "project.yaml").write_text("name: deep\nblocks: " + opening * 5000 + "1" + closing * 5000 + "\n")
    result = validate_measured(project)
    assert result["rc"] == 1, result
    assert f"nested too deeply (more than {MAX_DEPTH} levels)" in result["err"] and "project.yaml:2:" in result["err"]
    assert "RecursionError" not in result["err"] and "internal error" not in result["err"]


def test_the_pure_python_composer_enforces_the_limits_itself():
    """Without libyaml there is no prescan: the composer counts as it goes, and stops at the limit."""
    loader = GuardedLoader("a: " + "[" * 60 + "]" * 60, "project.yaml", max_depth=50)
    with pytest.raises(LimitExceeded, match=r"nested too deeply \(more than 50 levels\)") as deep:
        loader.get_single_node()
    assert deep.value.diagnostic.position.line == 1 and deep.value.diagnostic.position.col == 53
    loader = GuardedLoader("[" + "1, " * 1000 + "]", "project.yaml", max_nodes=100)
    with pytest.raises(LimitExceeded, match="more than 100 values") as many:
        loader.get_single_node()
    assert many.value.diagnostic.position.col == 1 + 3 * 99 + 1  # the 101st value: the 100th item


def test_a_normal_project_with_aliases_still_loads():
    text = "name: ok\nblocks:\n  a: &code {type: code, language: python}\n  b: *code\ntransitions: [{from: a, to: b}]\n"
    result = load_project_text(text)
    assert result.project is not None and set(result.project.blocks) == {"a", "b"}
    assert not [d for d in result.diagnostics if d.code in ("too-large", "too-deep")]
    assert yaml.safe_load(text)["blocks"]["b"] == {"type": "code", "language": "python"}
