"""Node libraries are installed for Lambda (Linux x86-64) and a native addon not built for it is refused, by name."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from refinery_tui.cloud.packaging import PackagingError, build_package
from tests.cloud.cloud_helpers import running_sandbox
from tests.cloud.test_packaging import spec_of
from tests.conftest import PROJECTS

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")

# The first 20 bytes of a compiled addon's header: enough for the platform check, never loaded.
ELF_X86_64 = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x03\x00" + b"\x3e\x00"
ELF_ARM64 = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x03\x00" + b"\xb7\x00"
MACH_O = b"\xcf\xfa\xed\xfe" + b"\0" * 16
MARKER = "install-script-ran"


def tarball(folder: Path, name: str, files: dict[str, bytes], **manifest) -> str:
    """A local npm package tarball (`file:` library spec): package.json plus `files`."""
    path = folder / f"{name}.tgz"
    contents = {"package.json": json.dumps({"name": name, "version": "1.0.0", "main": "index.js", **manifest})}
    contents.update({"index.js": "module.exports = 1;\n"}, **{k: v for k, v in files.items()})
    with tarfile.open(path, "w:gz") as archive:
        for arcname, data in contents.items():
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(f"package/{arcname}")
            info.size, info.mode = len(raw), 0o644
            archive.addfile(info, io.BytesIO(raw))
    return f"{name}@file:{path}"


def build(tmp_path: Path, library: str) -> list[str]:
    spec = spec_of(PROJECTS / "all-transitions", "square", libraries=[library])
    with zipfile.ZipFile(build_package(spec, tmp_path / "cache").path) as archive:
        return archive.namelist()


def refusal(tmp_path: Path, library: str) -> str:
    with pytest.raises(PackagingError) as error:
        build(tmp_path, library)
    return str(error.value)


def test_a_library_that_compiles_a_native_addon_is_refused_by_name(tmp_path):
    library = tarball(tmp_path, "gyp-addon", {"binding.gyp": "{'targets': [{'target_name': 'x'}]}", "x.cc": ""})
    message = refusal(tmp_path, library)
    assert "block 'square'" in message and "gyp-addon" in message
    assert "cannot be built for Lambda (Linux x86-64)" in message and "binding.gyp" in message
    assert "Fix `libraries:` of 'square'" in message and "Traceback" not in message


def test_gypfile_true_counts_as_a_native_build(tmp_path):
    message = refusal(tmp_path, tarball(tmp_path, "gypfile-addon", {}, gypfile=True))
    assert "gypfile-addon" in message and "cannot be built for Lambda" in message


@pytest.mark.parametrize(
    ("header", "platform"), [(MACH_O, "macOS"), (ELF_ARM64, "Linux arm64")], ids=["macos", "arm64"]
)
def test_an_addon_compiled_for_another_platform_is_refused(tmp_path, header, platform):
    library = tarball(tmp_path, "foreign-addon", {"build/Release/addon.node": header})
    message = refusal(tmp_path, library)
    assert "foreign-addon" in message and f"build/Release/addon.node ({platform})" in message


def test_a_prebuilt_linux_x64_addon_is_kept_and_no_install_script_runs(tmp_path):
    script = f"node -e \"require('fs').writeFileSync('{MARKER}', 'host build')\""
    library = tarball(
        tmp_path,
        "prebuilt-addon",
        {
            "binding.gyp": "{}",
            "prebuilds/linux-x64/addon.node": ELF_X86_64,
            "prebuilds/darwin-arm64/addon.node": MACH_O,
        },
        scripts={"install": script, "postinstall": script},
    )
    names = build(tmp_path, library)
    assert "node_modules/prebuilt-addon/prebuilds/linux-x64/addon.node" in names
    assert f"node_modules/prebuilt-addon/{MARKER}" not in names, "an install script ran on the host"


def test_deploy_names_the_native_library_without_a_traceback(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(PROJECTS / "all-transitions", root, ignore=shutil.ignore_patterns(".refinery"))
    library = tarball(tmp_path, "gyp-addon", {"binding.gyp": "{}"})
    config = (root / "project.yaml").read_text()
    old = "square:        {type: code, language: node, file: blocks/square.js, timeout: 5}"
    assert old in config
    new = f"square:        {{type: code, language: node, file: blocks/square.js, timeout: 5, libraries: ['{library}']}}"
    (root / "project.yaml").write_text(config.replace(old, new))
    with running_sandbox(tmp_path / "sandbox") as sandbox:
        result = subprocess.run(
            [sys.executable, "-m", "refinery_tui", "deploy", str(root), "--stage", "native", "--yes"]
            + ["--endpoint-url", sandbox.endpoint_url],
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "gyp-addon" in output and "cannot be built for Lambda" in output and "Traceback" not in output
