"""The project model: load, validate and save project.yaml; graph queries; the safe `if` expression evaluator."""

from refinery_tui.model.diagnostics import Diagnostic, Position, Severity
from refinery_tui.model.graph import ProjectGraph, TreeNode
from refinery_tui.model.loader import LoadResult, ProjectNotFound, load_project, load_project_text
from refinery_tui.model.project import (
    ApiEndpointBlock, ApiResponseBlock, Block, CodeBlock, ModelError, Project, QueueBlock, ScheduleBlock,
    TopicBlock, Transition, make_block,
)
from refinery_tui.model.validator import ValidationResult, validate_loaded, validate_project
from refinery_tui.model.writer import render_project, save_project

__all__ = [
    "ApiEndpointBlock", "ApiResponseBlock", "Block", "CodeBlock", "Diagnostic", "LoadResult", "ModelError",
    "Position", "Project", "ProjectGraph", "ProjectNotFound", "QueueBlock", "ScheduleBlock", "Severity",
    "TopicBlock", "Transition", "TreeNode", "ValidationResult", "load_project", "load_project_text", "make_block",
    "render_project", "save_project", "validate_loaded", "validate_project",
]
