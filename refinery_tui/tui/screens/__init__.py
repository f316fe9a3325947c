"""Screens and the flows that use them: structure editing, block settings."""
