"""One reproducible Lambda zip per code block (code, runtime, manifest slice, libraries), cached by content hash."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refinery_tui.cloud.block_manifest import block_manifest
from refinery_tui.cloud.naming import Names
from refinery_tui.cloud.npm_platform import NPM_PLATFORM, native_addon_problems
from refinery_tui.cloud.runtimes import CHOSEN
from refinery_tui.model.project import CodeBlock, Project
from refinery_tui.model.project_paths import OutsideProject, inside_project

# Bump when the zip layout or the install commands change: every cached zip and library tree is then rebuilt.
FORMAT_VERSION = "3"
RUNTIMES = CHOSEN
HANDLERS = {
    "python": "refinery_tui.lambda_runtime.handler.handler",
    "node": "refinery_tui/lambda_runtime/node/handler.handler",
}
PIP_PLATFORM = ("--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.12")
INSTALL_TIMEOUT_S = 900
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
COMPRESSLEVEL = 9
SKIPPED_NAMES = {"__pycache__", ".DS_Store"}

_PACKAGE_DIR = Path(__file__).resolve().parent.parent

# How many zips were built and library trees installed (not served from the cache) in this process.
stats: Counter[str] = Counter()
_stats_lock = threading.Lock()
_install_locks: dict[str, threading.Lock] = {}
_install_locks_guard = threading.Lock()


class PackagingError(Exception):
    """A block's zip could not be built; the message says which block, what failed and how to fix it."""


@dataclass
class PackageSpec:
    project_root: Path
    block: str
    language: str
    code_file: str
    libraries: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass
class Package:
    path: Path
    sha256: str
    code_sha256: str
    size: int
    runtime: str
    handler: str
    cached: bool = False


def _count(what: str) -> None:
    with _stats_lock:
        stats[what] += 1


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def runtime_files(language: str) -> dict[str, bytes]:
    """The shipped runtime, arcname → content: runtime/ (the ground floor) and lambda_runtime/ (the handler)."""
    # The real refinery_tui/__init__.py is replaced by an empty one: nothing in the Lambda needs what it does.
    files = {"refinery_tui/__init__.py": b""}
    pattern, subfolder = ("*.js", "node") if language == "node" else ("*.py", "")
    for package in ("runtime", "lambda_runtime"):
        folder = _PACKAGE_DIR / package / subfolder
        for path in _sorted_glob(folder, pattern):
            files[path.relative_to(_PACKAGE_DIR.parent).as_posix()] = path.read_bytes()
    if language == "node":
        del files["refinery_tui/__init__.py"]
    return files


def _sorted_glob(directory: Path, pattern: str) -> list[Path]:
    return sorted(p for p in directory.glob(pattern) if p.is_file()) if directory.is_dir() else []


def _code_arcname(spec: PackageSpec) -> str:
    arcname = Path(spec.code_file).as_posix()
    if Path(spec.code_file).is_absolute() or ".." in Path(arcname).parts:
        raise PackagingError(
            f"block {spec.block!r}: its code file {spec.code_file!r} must be a path inside the project folder"
        )
    return arcname


def _read_code(spec: PackageSpec) -> bytes:
    try:
        path = inside_project(spec.project_root, _code_arcname(spec))
    except OutsideProject as error:
        raise PackagingError(f"block {spec.block!r}: its code file leads outside the project: {error}") from None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PackagingError(
            f"block {spec.block!r}: its code file {spec.code_file} is missing ({path}); "
            "create it or fix `file:` in project.yaml"
        ) from None
    except OSError as error:
        raise PackagingError(
            f"block {spec.block!r}: cannot read its code file {spec.code_file}: {error.strerror or error}"
        ) from None


def _check_language(spec: PackageSpec) -> None:
    if spec.language not in RUNTIMES:
        raise PackagingError(
            f"block {spec.block!r}: language {spec.language!r} cannot be deployed (use one of: {', '.join(RUNTIMES)})"
        )


def package_key(spec: PackageSpec, runtime: dict[str, bytes], code: bytes) -> str:
    """The cache key of a block's zip: it changes whenever anything that goes into the zip may change."""
    runtime_digest = _sha256(*(name.encode() + b"\0" + data for name, data in sorted(runtime.items())))
    header = {
        "format": FORMAT_VERSION,
        "language": spec.language,
        "code_file": _code_arcname(spec),
        "libraries": sorted(spec.libraries),
        "runtime": runtime_digest,
    }
    return _sha256(_canonical(header), _canonical(spec.manifest), code)


def build_package(spec: PackageSpec, cache_dir: Path) -> Package:
    """The zip of one code block, reused from `cache_dir` when its inputs have not changed."""
    _check_language(spec)
    code = _read_code(spec)
    runtime = runtime_files(spec.language)
    key = package_key(spec, runtime, code)
    target = Path(cache_dir) / "packages" / f"{spec.block}-{key[:32]}.zip"
    cached = target.is_file()
    if not cached:
        entries = _library_files(spec, Path(cache_dir))
        entries.update((name, (data, False)) for name, data in runtime.items())
        entries["manifest.json"] = (_canonical(spec.manifest), False)
        entries[_code_arcname(spec)] = (code, False)
        _write_atomically(target, entries)
        _count("zips_built")
    return _package(spec, target, cached)


def _package(spec: PackageSpec, path: Path, cached: bool) -> Package:
    data = path.read_bytes()
    digest = hashlib.sha256(data)
    return Package(
        path=path,
        sha256=digest.hexdigest(),
        code_sha256=base64.b64encode(digest.digest()).decode(),
        size=len(data),
        runtime=RUNTIMES[spec.language],
        handler=HANDLERS[spec.language],
        cached=cached,
    )


def _write_zip(stream: Any, entries: dict[str, tuple[bytes, bool]]) -> None:
    """A zip of `entries` (arcname → (content, executable)) that depends on nothing else."""
    with zipfile.ZipFile(stream, "w") as archive:
        for arcname in sorted(entries):
            data, executable = entries[arcname]
            archive.writestr(
                _zip_info(arcname, executable), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL
            )


def _zip_info(arcname: str, executable: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_TIME)
    info.create_system = 3  # Unix, so that unzip and Lambda honour the permission bits below
    info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
    return info


def _write_atomically(target: Path, entries: dict[str, tuple[bytes, bool]]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            _write_zip(stream, entries)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# --- libraries ----------------------------------------------------------------------------------------------------


def libraries_key(language: str, libraries: list[str]) -> str:
    return _sha256(
        _canonical(
            {
                "format": FORMAT_VERSION,
                "language": language,
                "libraries": sorted(libraries),
                "pip": PIP_PLATFORM if language == "python" else None,
            }
        )
    )


def _library_files(spec: PackageSpec, cache_dir: Path) -> dict[str, tuple[bytes, bool]]:
    """The installed libraries of `spec`, arcname → (content, executable)."""
    if not spec.libraries:
        return {}
    return _tree_files(library_tree(spec.block, spec.language, spec.libraries, cache_dir))


def library_tree(block: str, language: str, libraries: list[str], cache_dir: Path) -> Path:
    """The folder holding `libraries` installed for Lambda (its contents go to the zip root), installed once."""
    key = libraries_key(language, libraries)
    target = Path(cache_dir) / "libs" / key
    with _install_lock(key):
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{key[:12]}.") as work:
                tree = _install(block, language, libraries, Path(work))
                _publish_tree(tree, target)
            _count("libraries_installed")
    return target


def _install_lock(key: str) -> threading.Lock:
    with _install_locks_guard:
        return _install_locks.setdefault(key, threading.Lock())


def _publish_tree(tree: Path, target: Path) -> None:
    try:
        os.replace(tree, target)
    except OSError:
        if not target.is_dir():  # else another process installed the same libraries first: theirs is as good
            raise


def _install(block: str, language: str, libraries: list[str], work: Path) -> Path:
    tree = work / "tree"
    tree.mkdir()
    if language == "python":
        _check_requirements(block, libraries)
        _run(block, language, libraries, _pip_command(libraries, tree), cwd=work)
        shutil.rmtree(tree / "bin", ignore_errors=True)  # console scripts: shebangs pointing at this machine
    else:
        build = work / "npm"
        build.mkdir()
        (build / "package.json").write_text(json.dumps(_package_json(libraries), indent=2))
        _run(block, language, libraries, _npm_command(), cwd=build)
        _refuse_native_addons(block, build / "node_modules")
        if (build / "node_modules").is_dir():
            os.replace(build / "node_modules", tree / "node_modules")
        # npm's hidden lockfile is a cache of its own, not needed at run time.
        (tree / "node_modules" / ".package-lock.json").unlink(missing_ok=True)
    return tree


def _refuse_native_addons(block: str, node_modules: Path) -> None:
    problems = native_addon_problems(node_modules)
    if problems:
        raise PackagingError(
            f"block {block!r}: these libraries have native code that cannot be built for Lambda (Linux x86-64) here:\n"
            + "\n".join(f"  {problem.line()}" for problem in problems)
            + f"\nFix `libraries:` of {block!r} in project.yaml: use a pure-JavaScript library instead, or a version "
            "that ships prebuilt Linux x64 binaries (in its package or as a `linux-x64` optional dependency)"
        )


def _check_requirements(block: str, libraries: list[str]) -> None:
    """A library is a requirement (`name`, `name==1.2`), never a pip option smuggled onto its command line."""
    for library in libraries:
        if not library.strip() or library.strip().startswith("-"):
            raise PackagingError(
                f"block {block!r}: {library!r} is not a library requirement; "
                "write a name such as `requests` or `requests==2.32.3` in `libraries:`"
            )


def _pip_command(libraries: list[str], target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        *PIP_PLATFORM,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        *libraries,
    ]


def _npm_command() -> list[str]:
    return ["npm", "install", *NPM_PLATFORM, "--omit=dev", "--no-audit", "--no-fund", "--no-package-lock"]


_NPM_SPEC = re.compile(r"^(@?[^@]+)(?:@(.+))?$")


def _package_json(libraries: list[str]) -> dict[str, Any]:
    dependencies = {}
    for library in libraries:
        match = _NPM_SPEC.match(library.strip())
        if not match:
            raise PackagingError(f"{library!r} is not an npm library name (use name or name@version)")
        dependencies[match.group(1)] = match.group(2) or "latest"
    return {"name": "refinery-block", "version": "0.0.0", "private": True, "dependencies": dependencies}


def _run(block: str, language: str, libraries: list[str], command: list[str], cwd: Path) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "PIP_NO_WARN_SCRIPT_LOCATION": "1"}
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise PackagingError(
            f"block {block!r}: cannot install its libraries: {command[0]} is not installed "
            f"(install {'Node.js and npm' if language == 'node' else 'pip'} and retry)"
        ) from None
    except subprocess.TimeoutExpired:
        raise PackagingError(
            f"block {block!r}: installing {', '.join(libraries)} took longer than "
            f"{INSTALL_TIMEOUT_S} s; check the network and retry"
        ) from None
    if result.returncode != 0:
        raise PackagingError(_install_failure(block, language, libraries, result.stderr or result.stdout))


def _install_failure(block: str, language: str, libraries: list[str], output: str) -> str:
    culprits = [lib for lib in libraries if _library_name(lib).lower() in output.lower()] or libraries
    tool, hint = (
        (
            "pip",
            "is the name right? does the version exist? does it have a manylinux wheel for "
            "Python 3.12 (source-only packages cannot be installed for Lambda)?",
        )
        if language == "python"
        else ("npm", "is the name right? does the version exist? is the registry reachable?")
    )
    return (
        f"block {block!r}: {tool} could not install {', '.join(culprits)}\n"
        f"{_tail(output)}\n"
        f"Fix `libraries:` of {block!r} in project.yaml: {hint}"
    )


def _library_name(library: str) -> str:
    """The bare package name of a requirement (`six==1.16.0` → `six`, `@scope/x@1` → `@scope/x`)."""
    match = re.match(r"^\s*(@?[A-Za-z0-9._/-]+?)(?:\[.*\])?\s*(?:[=<>!~@;].*)?$", library)
    return match.group(1) if match else library.strip()


def _tail(output: str, lines: int = 6) -> str:
    """The last lines of pip's or npm's output worth showing: its errors, without tracebacks or log pointers."""
    kept = [
        line.strip()
        for line in output.splitlines()
        if line.strip()
        and not line.startswith((" ", "\t", "Traceback"))
        and "complete log" not in line
        and not re.fullmatch(r"npm (error|ERR!)( \d+)?", line.strip())
    ]
    errors = [line for line in kept if "error" in line.lower()]
    return "\n".join(f"  {line}" for line in (errors or kept)[-lines:]) or "  (no output)"


def _tree_files(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under `root`, arcname → (content, executable); symlinks are stored as what they point to."""
    files: dict[str, tuple[bytes, bool]] = {}
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_NAMES]
        for name in names:
            path = Path(directory, name)
            arcname = path.relative_to(root).as_posix()
            if _skipped(name) or not path.is_file():
                continue
            files[arcname] = (path.read_bytes(), _executable(path, arcname))
    return files


def _skipped(name: str) -> bool:
    return name in SKIPPED_NAMES or name.endswith((".pyc", ".pyo"))


def _executable(path: Path, arcname: str) -> bool:
    return "/.bin/" in f"/{arcname}" or bool(path.stat().st_mode & 0o111)


# --- every block --------------------------------------------------------------------------------------------------


def block_spec(project: Project, manifest: dict[str, Any], names: Names, root: Path, block: str) -> PackageSpec:
    code_block = project.blocks[block]
    assert isinstance(code_block, CodeBlock)
    return PackageSpec(
        project_root=Path(root),
        block=block,
        language=code_block.language_name,
        code_file=code_block.code_file,
        libraries=list(code_block.libraries or []),
        manifest=block_manifest(manifest, block, names),
    )


def package_all(
    project: Project, manifest: dict[str, Any], names: Names, root: Path, cache_dir: Path, max_workers: int = 4
) -> dict[str, Package]:
    """The package of every code block, built in parallel; one PackagingError lists every block that failed."""
    blocks = [name for name, block in project.blocks.items() if isinstance(block, CodeBlock)]
    specs = [block_spec(project, manifest, names, root, name) for name in blocks]
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures = {spec.block: pool.submit(build_package, spec, Path(cache_dir)) for spec in specs}
    failures = [f.exception() for f in futures.values() if f.exception() is not None]
    for failure in failures:
        if not isinstance(failure, PackagingError):
            raise failure
    errors = [str(failure) for failure in failures]
    if errors:
        raise PackagingError("\n".join(errors))
    return {name: future.result() for name, future in futures.items()}
