"""Node libraries installed for Lambda's platform (Linux, x86-64, glibc), not the host's, and the native addons that
cannot be: a package that needs a native build, or ships compiled `.node` files for another platform only."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

# npm picks platform-specific optional dependencies (`@img/sharp-linux-x64`, `@esbuild/linux-x64`, ...) for these
# instead of the host's (npm >= 10 reads them); no install script runs, so nothing is compiled for the host.
NPM_PLATFORM = ("--os=linux", "--cpu=x64", "--libc=glibc", "--ignore-scripts")

_ELF_MACHINES = {3: "x86 (32-bit)", 40: "ARM (32-bit)", 62: "x86-64", 183: "arm64"}
_LAMBDA_MACHINE = 62


@dataclass(frozen=True)
class NativeAddonProblem:
    """A package whose native code would not load on Lambda, with why."""

    package: str
    path: str
    reason: str

    def line(self) -> str:
        return f"{self.package} ({self.path}): {self.reason}"


def native_addon_problems(node_modules: Path) -> list[NativeAddonProblem]:
    """Every installed package under `node_modules` that has no native code built for Linux x86-64 but needs some:
    a `binding.gyp` (or `gypfile: true`) to compile, or `.node` binaries for other platforms only."""
    problems = []
    for root in sorted(_package_roots(node_modules)):
        binaries = {path: _platform(path) for path in _node_binaries(root)}
        if any(platform == "Linux x86-64" for platform in binaries.values()):
            continue
        where = root.relative_to(node_modules.parent).as_posix()
        name = _package_name(root)
        if binaries:
            found = ", ".join(
                f"{path.relative_to(root).as_posix()} ({platform})" for path, platform in sorted(binaries.items())
            )
            problems.append(NativeAddonProblem(name, where, f"its compiled addon is not for Linux x86-64: {found}"))
        elif (root / "binding.gyp").is_file() or _manifest(root).get("gypfile") is True:
            problems.append(
                NativeAddonProblem(name, where, "it compiles a native addon (binding.gyp) on install, for the host")
            )
    return problems


def _package_roots(node_modules: Path) -> list[Path]:
    """Every package folder: `node_modules/x`, `node_modules/@scope/x`, and those nested in their `node_modules`."""
    roots = []
    if not node_modules.is_dir():
        return roots
    for entry in node_modules.iterdir():
        if entry.name.startswith("."):
            continue
        candidates = [child for child in entry.iterdir() if child.is_dir()] if entry.name.startswith("@") else [entry]
        for package in candidates:
            if package.is_dir() and (package / "package.json").is_file():
                roots.append(package)
                roots.extend(_package_roots(package / "node_modules"))
    return roots


def _node_binaries(root: Path) -> list[Path]:
    """The `.node` files of one package, not of the packages nested in its `node_modules`."""
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d != "node_modules"]
        found.extend(Path(directory, name) for name in names if name.endswith(".node"))
    return found


def _platform(path: Path) -> str:
    """The platform a compiled addon is for, read from its header."""
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return "unreadable"
    if header[:4] == b"\x7fELF" and len(header) >= 20:
        machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
        if machine == _LAMBDA_MACHINE:
            return "Linux x86-64"
        return f"Linux {_ELF_MACHINES.get(machine, f'machine {machine}')}"
    if header[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xcf"):
        return "macOS"
    if header[:2] == b"MZ":
        return "Windows"
    return "not a compiled addon"


def _manifest(root: Path) -> dict[str, object]:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _package_name(root: Path) -> str:
    name = _manifest(root).get("name")
    if isinstance(name, str) and name:
        return name
    return f"{root.parent.name}/{root.name}" if root.parent.name.startswith("@") else root.name
