"""refinery-tui: a keyboard-driven terminal workbench for serverless workflows."""

__version__ = "0.1.0"
