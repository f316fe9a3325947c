"""This function: the manifest it was deployed with, the block it serves, and the folder its files are in."""

from __future__ import annotations

import json
import os
from typing import Any

from refinery_tui.runtime.engine import Manifest

ROOT = os.environ.get("LAMBDA_TASK_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_manifest() -> dict[str, Any]:
    with open(os.path.join(ROOT, "manifest.json"), encoding="utf-8") as handle:
        return json.load(handle)


DATA = _load_manifest()
MANIFEST = Manifest(DATA)
SELF: str = DATA["self"]
