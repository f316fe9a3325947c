"""A process and everything it started: becoming a subreaper, finding descendants in /proc, freezing and killing them.

A keeper (`supervisor.py`) is made a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`, Linux 3.4+), so a process
its worker starts stays in the keeper's subtree even when it calls `setsid` and its own parent exits (a double
fork): orphans are adopted by the keeper, not by init. Killing the tree then finds every descendant by walking
/proc. Standard library only: the keeper imports this file by path.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36
STOP_ROUNDS = 50


def become_subreaper() -> bool:
    """Make this process adopt its orphaned descendants; False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children(pid: int) -> list[int]:
    """The direct children of `pid` (every thread's), from /proc; [] when it is gone or /proc cannot say."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return _children_by_scan(pid)
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except FileNotFoundError:
            continue  # the thread ended
        except OSError:
            return _children_by_scan(pid)
    return found


def _children_by_scan(pid: int) -> list[int]:
    """Children found by reading every process's parent id (kernels without /proc/PID/task/TID/children)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if entry.isdigit():
            stat = _stat_fields(int(entry))
            if stat and int(stat[1]) == pid:
                found.append(int(entry))
    return found


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from the state on (the name, in parentheses, may hold spaces): [state, ppid, pgrp, ...]."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot: with the pid, it names one process (pids are reused)."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before their children."""
    found: list[int] = []
    seen = {pid}
    frontier = [pid]
    while frontier:
        parent = frontier.pop(0)
        for child in children(parent):
            if child not in seen:
                seen.add(child)
                found.append(child)
                frontier.append(child)
    return found


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid: int, *, include_root: bool = True) -> int:
    """SIGKILL everything below `pid` (and `pid` itself unless `include_root` is False); returns how many.

    The tree is frozen first (SIGSTOP, round after round until no new process appears), so nothing in it can start
    another process while it is being killed; then every frozen process is killed at once."""
    frozen: list[int] = []
    if include_root:
        _signal(pid, signal.SIGSTOP)
    seen: set[int] = set()
    for _ in range(STOP_ROUNDS):
        fresh = [p for p in descendants(pid) if p not in seen]
        if not fresh:
            break
        for child in fresh:
            _signal(child, signal.SIGSTOP)
            seen.add(child)
            frozen.append(child)
    for child in frozen:
        _signal(child, signal.SIGKILL)
    if include_root:
        _signal(pid, signal.SIGKILL)
    return len(frozen)
