"""Warm processes: the parent side shared by the local block workers and the sandbox's function workers."""
