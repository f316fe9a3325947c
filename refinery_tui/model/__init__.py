"""The project model: load, validate and save project.yaml; graph queries; building the manifest.

Names are imported lazily, so that importing one module (the writer, the graph) does not load all the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Diagnostic": "diagnostics",
    "Position": "diagnostics",
    "Severity": "diagnostics",
    "ProjectGraph": "graph",
    "TreeNode": "graph",
    "LoadResult": "loader",
    "ProjectNotFound": "loader",
    "load_project": "loader",
    "load_project_text": "loader",
    "ApiEndpointBlock": "project",
    "ApiResponseBlock": "project",
    "Block": "project",
    "CodeBlock": "project",
    "ModelError": "project",
    "Project": "project",
    "QueueBlock": "project",
    "ScheduleBlock": "project",
    "TopicBlock": "project",
    "Transition": "project",
    "make_block": "project",
    "ValidationResult": "validator",
    "validate_loaded": "validator",
    "validate_project": "validator",
    "render_project": "writer",
    "save_project": "writer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
