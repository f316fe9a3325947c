"""Load a block's file and call its `main(block_input, backpack)`: the one loader of the local worker and the Lambda.

Standard library only: it runs inside the local worker process and ships inside every deployed function. A block is
loaded again when its file changed; its prints can be captured up to a cap; an async main is awaited; whatever the
block does wrong comes back as an error {type, message, traceback}, never as an exception.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import inspect
import json
import os
import sys
import threading
import traceback
from typing import Any

_modules: dict[str, tuple[tuple[int, int], Any]] = {}


class OutputFlood(Exception):
    """The block printed more than the output cap."""


class CapturedOutput:
    """A stand-in for sys.stdout or sys.stderr that keeps what the block prints; `shared` counts both against `cap`."""

    def __init__(self, cap: int, shared: dict[str, Any]) -> None:
        self.parts: list[str] = []
        self.cap = cap
        self.shared = shared
        self.encoding = "utf-8"

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.shared["size"] += len(text)
        if self.shared["size"] > self.cap:
            self.shared["flood"] = True
            raise OutputFlood(f"the block printed more than {self.cap} characters")
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def getvalue(self) -> str:
        return "".join(self.parts)


def load(path: str) -> Any:
    """The block's module, executed again when its file changed (its folder is put on sys.path for its imports)."""
    stat = os.stat(path)
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _modules.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    name = "refinery_block_" + str(abs(hash(path)))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "main", None)):
        raise AttributeError(f"{os.path.basename(path)} defines no main(block_input, backpack) function")
    _modules[path] = (stamp, module)
    return module


def error_of(exc: BaseException, skip_frames: int = 0) -> dict[str, str]:
    """The block's error: its type, message and traceback, without the loader's own `skip_frames` frames."""
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) if frames else ""
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return {"type": type(exc).__name__, "message": str(exc), "traceback": text}


def not_json_error(output: Any, exc: BaseException) -> dict[str, str]:
    """The error of a block whose output (or backpack) cannot be written as JSON."""
    return {
        "type": "NotJSON",
        "message": "the block returned something that is not "
        f"JSON (output: {type(output).__name__}; or its backpack): {exc}",
        "traceback": "",
    }


def call_main(path: str, block_input: Any, backpack: dict[str, Any]) -> dict[str, Any]:
    """{"ok": True, "output", "backpack"} or {"ok": False, "error"}: load the block, run `main` (awaiting it when
    it is async); the backpack is the block's to change in place."""
    try:
        module = load(path)
    except BaseException as exc:  # noqa: BLE001 - a block that fails to load fails its invocation
        return {"ok": False, "error": error_of(exc)}
    try:
        output = module.main(block_input, backpack)
        if inspect.isawaitable(output):
            output = asyncio.run(output) if inspect.iscoroutine(output) else asyncio.run(_await(output))
    except SystemExit as exc:
        message = f"the block called sys.exit({exc.code!r})"
        return {
            "ok": False,
            "error": {"type": "SystemExit", "message": message, "traceback": error_of(exc, 1)["traceback"]},
        }
    except BaseException as exc:  # noqa: BLE001 - the block's own exception is its error
        return {"ok": False, "error": error_of(exc, 1)}
    return {"ok": True, "output": output, "backpack": backpack}


def call_captured(path: str, block_input: Any, backpack: dict[str, Any], cap: int) -> dict[str, Any]:
    """`call_main` with the block's prints kept (up to `cap` characters in all) as "stdout" and "stderr"."""
    shared = {"size": 0, "flood": False}
    out, err = CapturedOutput(cap, shared), CapturedOutput(cap, shared)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        result = call_main(path, block_input, backpack)
    finally:
        sys.stdout, sys.stderr = saved
    if shared["flood"] and result["ok"]:
        message = f"the block printed more than {cap} characters"
        result = {"ok": False, "error": {"type": "OutputFlood", "message": message, "traceback": ""}}
    result["stdout"] = out.getvalue()
    result["stderr"] = err.getvalue()
    return result


def call_with_deadline(path: str, block_input: Any, backpack: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """`call_main` on copies of the input and backpack in a thread of its own, given up after `timeout_s`; the
    output must be JSON. For the Lambda, where no parent process can stop the block."""
    result: dict[str, Any] = {}

    def run() -> None:
        called = call_main(path, copy.deepcopy(block_input), copy.deepcopy(backpack))
        if called["ok"]:
            try:
                json.dumps([called["output"], called["backpack"]], allow_nan=False)
            except (TypeError, ValueError, RecursionError) as exc:
                called = {"ok": False, "error": not_json_error(called["output"], exc)}
        result.update(called)

    worker = threading.Thread(target=run, daemon=True, name="refinery-block")
    worker.start()
    worker.join(max(0.05, timeout_s))
    if worker.is_alive():
        message = f"the block ran longer than its timeout of {timeout_s:g} s"
        return {"ok": False, "error": {"type": "Timeout", "message": message, "traceback": ""}}
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable
