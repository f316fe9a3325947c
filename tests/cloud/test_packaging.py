"""Lambda packaging: reproducible zips, the cache, the layouts, library installs and their errors."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import stat
import zipfile
from pathlib import Path

import pytest

from refinery_tui.cloud import packaging
from refinery_tui.cloud.block_manifest import block_manifest
from refinery_tui.cloud.naming import Names
from refinery_tui.cloud.packaging import PackageSpec, PackagingError, build_package, package_all
from refinery_tui.model import load_project
from refinery_tui.model.manifest import build_manifest
from tests.conftest import PROJECTS

PACKAGE_DIR = Path(packaging.__file__).resolve().parent.parent
LAMBDA_RUNTIME = PACKAGE_DIR / "lambda_runtime"


def reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=5).close()
        return True
    except OSError:
        return False


needs_pypi = pytest.mark.skipif(not reachable("pypi.org"), reason="PyPI (pypi.org:443) is not reachable")
needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None or not reachable("registry.npmjs.org"),
    reason="npm is not installed or registry.npmjs.org:443 is not reachable",
)


def spec_of(root: Path, block: str, libraries: list[str] | None = None) -> PackageSpec:
    project = load_project(root).project
    code = project.blocks[block]
    return PackageSpec(
        project_root=root,
        block=block,
        language=code.language_name,
        code_file=code.code_file,
        libraries=libraries if libraries is not None else list(code.libraries or []),
        manifest=block_manifest(build_manifest(project), block, Names(project.name, "dev", "us-east-1")),
    )


def packages_of(root: Path, cache: Path) -> dict:
    project = load_project(root).project
    return package_all(project, build_manifest(project), Names(project.name, "dev", "us-east-1"), root, cache)


def names_in(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_two_builds_give_the_same_bytes(tmp_path):
    spec = spec_of(PROJECTS / "all-transitions", "start")
    first = build_package(spec, tmp_path / "one")
    second = build_package(spec, tmp_path / "two")
    assert not first.cached and not second.cached
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()


def test_a_second_build_is_a_cache_hit(tmp_path):
    spec = spec_of(PROJECTS / "all-transitions", "square")
    first = build_package(spec, tmp_path)
    before, built = os.stat(first.path), packaging.stats["zips_built"]
    second = build_package(spec, tmp_path)
    after = os.stat(second.path)
    assert second.cached and second.path == first.path and second.sha256 == first.sha256
    assert packaging.stats["zips_built"] == built
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_code_sha256_is_what_lambda_reports(tmp_path):
    package = build_package(spec_of(PROJECTS / "hello-world", "greet"), tmp_path)
    data = package.path.read_bytes()
    assert package.code_sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert package.size == len(data)


def test_editing_one_block_changes_only_its_zip(copy_project, tmp_path):
    root = copy_project("all-transitions")
    before = {block: p.sha256 for block, p in packages_of(root, tmp_path / "cache").items()}
    with (root / "blocks" / "total.py").open("a") as stream:
        stream.write("\n# edited\n")
    after = {block: p.sha256 for block, p in packages_of(root, tmp_path / "cache").items()}
    assert (
        set(before)
        == set(after)
        == {"start", "split", "describe", "square", "square-failed", "total", "report", "big", "small", "report-error"}
    )
    assert [block for block in before if before[block] != after[block]] == ["total"]


def test_python_zip_layout(tmp_path):
    package = build_package(spec_of(PROJECTS / "all-transitions", "start"), tmp_path)
    names = names_in(package.path)
    required = {
        "refinery_tui/__init__.py",
        "refinery_tui/runtime/expressions.py",
        "refinery_tui/runtime/__init__.py",
        "refinery_tui/runtime/engine.py",
        "refinery_tui/runtime/joins.py",
        "refinery_tui/runtime/resources.py",
        "manifest.json",
        "blocks/start.py",
    }
    required |= {f"refinery_tui/lambda_runtime/{p.name}" for p in LAMBDA_RUNTIME.glob("*.py")}
    allowed = required | {f"refinery_tui/runtime/{p.name}" for p in (PACKAGE_DIR / "runtime").glob("*.py")}
    assert required <= set(names) <= allowed
    assert not any(name.startswith("refinery_tui/model/") for name in names)
    assert names == sorted(names)
    assert package.runtime == "python3.12" and package.handler == "refinery_tui.lambda_runtime.handler.handler"
    with zipfile.ZipFile(package.path) as archive:
        assert archive.read("refinery_tui/__init__.py") == b""
        assert archive.read("refinery_tui/runtime/engine.py") == (PACKAGE_DIR / "runtime/engine.py").read_bytes()
        assert json.loads(archive.read("manifest.json"))["self"] == "start"
        assert archive.read("blocks/start.py") == (PROJECTS / "all-transitions/blocks/start.py").read_bytes()


def test_node_zip_layout(tmp_path):
    package = build_package(spec_of(PROJECTS / "all-transitions", "square"), tmp_path)
    expected = (
        {"manifest.json", "blocks/square.js"}
        | {f"refinery_tui/lambda_runtime/node/{p.name}" for p in (LAMBDA_RUNTIME / "node").glob("*.js")}
        | {f"refinery_tui/runtime/node/{p.name}" for p in (PACKAGE_DIR / "runtime" / "node").glob("*.js")}
    )
    assert set(names_in(package.path)) == expected
    assert package.runtime == "nodejs22.x" and package.handler == "refinery_tui/lambda_runtime/node/handler.handler"


def test_entries_have_fixed_metadata(tmp_path):
    spec = spec_of(PROJECTS / "all-transitions", "start")
    with zipfile.ZipFile(build_package(spec, tmp_path).path) as archive:
        manifest_text = archive.read("manifest.json")
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == stat.S_IFREG | 0o644
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert not info.is_dir() and "__pycache__" not in info.filename
    assert manifest_text == json.dumps(spec.manifest, sort_keys=True, separators=(",", ":")).encode()


def test_a_missing_code_file_is_named(tmp_path):
    spec = spec_of(PROJECTS / "hello-world", "greet")
    spec.code_file = "blocks/nowhere.py"
    with pytest.raises(PackagingError, match="blocks/nowhere.py") as error:
        build_package(spec, tmp_path)
    assert "greet" in str(error.value)


def test_a_cached_library_tree_is_cleaned_and_keeps_executables(tmp_path):
    """A tree already in cache_dir/libs is used as is (no install), minus what must not ship."""
    spec = spec_of(PROJECTS / "all-transitions", "square", libraries=["tool@1.0.0"])
    tree = tmp_path / "libs" / packaging.libraries_key("node", ["tool@1.0.0"]) / "node_modules"
    (tree / "tool" / "bin").mkdir(parents=True)
    (tree / "tool" / "index.js").write_text("module.exports = 1;\n")
    (tree / "tool" / "bin" / "tool.js").write_text("#!/usr/bin/env node\n")
    (tree / "tool" / "bin" / "tool.js").chmod(0o755)
    (tree / ".bin").mkdir()
    (tree / ".bin" / "tool").symlink_to("../tool/bin/tool.js")
    (tree / "tool" / ".DS_Store").write_text("")
    installed = packaging.stats["libraries_installed"]
    with zipfile.ZipFile(build_package(spec, tmp_path).path) as archive:
        modes = {info.filename: info.external_attr >> 16 & 0o777 for info in archive.infolist()}
        assert archive.read("node_modules/.bin/tool") == b"#!/usr/bin/env node\n"
    assert packaging.stats["libraries_installed"] == installed
    assert modes["node_modules/tool/index.js"] == 0o644
    assert modes["node_modules/tool/bin/tool.js"] == modes["node_modules/.bin/tool"] == 0o755
    assert "node_modules/tool/.DS_Store" not in modes


@needs_pypi
def test_a_python_library_is_installed_reproducibly(tmp_path):
    spec = spec_of(PROJECTS / "hello-world", "greet", libraries=["six==1.16.0"])
    first = build_package(spec, tmp_path / "cache")
    names = names_in(first.path)
    assert "six.py" in names and "blocks/greet.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n or n.startswith("bin/")]
    shutil.rmtree(tmp_path / "cache")
    second = build_package(spec, tmp_path / "cache")
    assert not second.cached and second.sha256 == first.sha256


@needs_pypi
def test_libraries_are_installed_once_per_set(tmp_path):
    build_package(spec_of(PROJECTS / "hello-world", "greet", libraries=["six==1.16.0"]), tmp_path)
    installed = packaging.stats["libraries_installed"]
    other = build_package(spec_of(PROJECTS / "hello-world", "shout", libraries=["six==1.16.0"]), tmp_path)
    assert not other.cached and "six.py" in names_in(other.path)
    assert packaging.stats["libraries_installed"] == installed


@needs_pypi
def test_a_nonexistent_python_library_is_a_clear_error(tmp_path):
    library = "refinery-tui-no-such-library-7f3a==1.0"
    with pytest.raises(PackagingError) as error:
        build_package(spec_of(PROJECTS / "hello-world", "greet", libraries=[library]), tmp_path)
    message = str(error.value)
    assert library in message and "'greet'" in message and "manylinux" in message
    assert "Traceback" not in message
    assert not (tmp_path / "packages").exists() or not list((tmp_path / "packages").iterdir())


@needs_npm
def test_a_node_library_lands_in_node_modules(tmp_path):
    spec = spec_of(PROJECTS / "all-transitions", "square", libraries=["is-number@7.0.0"])
    names = names_in(build_package(spec, tmp_path).path)
    assert "node_modules/is-number/index.js" in names and "node_modules/is-number/package.json" in names
    assert "node_modules/.package-lock.json" not in names


@needs_npm
def test_a_nonexistent_node_library_is_a_clear_error(tmp_path):
    library = "refinery-tui-no-such-library-7f3a@1.0.0"
    with pytest.raises(PackagingError) as error:
        build_package(spec_of(PROJECTS / "all-transitions", "square", libraries=[library]), tmp_path)
    assert library in str(error.value) and "Traceback" not in str(error.value)


def test_package_all_reports_every_failed_block(copy_project, tmp_path):
    root = copy_project("hello-world")
    (root / "blocks" / "greet.py").unlink()
    (root / "blocks" / "sign.py").unlink()
    with pytest.raises(PackagingError) as error:
        packages_of(root, tmp_path / "cache")
    assert "blocks/greet.py" in str(error.value) and "blocks/sign.py" in str(error.value)
