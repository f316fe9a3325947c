"""docs/architecture.md matches the code: every module it names exists, and every module is named there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "refinery_tui"
DOC = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
NAMED = set(re.findall(r"`([a-z_/]+\.(?:py|js))`", DOC))


def modules() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*"):
        if path.suffix in (".py", ".js") and path.name not in ("__init__.py", "__main__.py"):
            found.add(path.relative_to(PACKAGE).as_posix())
    return found


def test_every_module_named_in_the_architecture_exists():
    missing = sorted(
        name
        for name in NAMED
        if "/" in name and not (REPO / name if name.startswith("tests/") else PACKAGE / name).exists()
    )
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_module_is_named_in_the_architecture():
    unnamed = sorted(modules() - NAMED)
    assert not unnamed, f"docs/architecture.md does not say what these modules do: {unnamed}"
