"""Load the block's code and call its `main(block_input, backpack)` within the block's deadline."""

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

_module = None


def _load(path: str):
    global _module
    if _module is None:
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location("refinery_block", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["refinery_block"] = module
        spec.loader.exec_module(module)
        if not callable(getattr(module, "main", None)):
            raise AttributeError(f"{os.path.basename(path)} defines no main(block_input, backpack) function")
        _module = module
    return _module


def _error(exc: BaseException, skip: int = 0) -> dict[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)[skip:]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) if frames else ""
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return {"type": type(exc).__name__, "message": str(exc), "traceback": text}


def call(path: str, block_input: Any, backpack: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """{"ok": True, "output", "backpack"} or {"ok": False, "error"}; never raises for the block's mistakes."""
    result: dict[str, Any] = {}
    own_backpack = copy.deepcopy(backpack)

    def run() -> None:
        try:
            module = _load(path)
        except BaseException as exc:  # noqa: BLE001 - a block that fails to load fails its invocation
            result.update(ok=False, error=_error(exc))
            return
        try:
            output = module.main(copy.deepcopy(block_input), own_backpack)
            if inspect.isawaitable(output):
                output = asyncio.run(_await(output))
        except SystemExit as exc:
            result.update(
                ok=False,
                error={
                    "type": "SystemExit",
                    "message": f"the block called sys.exit({exc.code!r})",
                    "traceback": _error(exc, 1)["traceback"],
                },
            )
            return
        except BaseException as exc:  # noqa: BLE001 - the block's own exception is its error
            result.update(ok=False, error=_error(exc, 1))
            return
        try:
            json.dumps([output, own_backpack], allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            result.update(
                ok=False,
                error={
                    "type": "NotJSON",
                    "message": "the block returned something that is not "
                    f"JSON (output: {type(output).__name__}; or its backpack): {exc}",
                    "traceback": "",
                },
            )
            return
        result.update(ok=True, output=output, backpack=own_backpack)

    worker = threading.Thread(target=run, daemon=True, name="refinery-block")
    worker.start()
    worker.join(max(0.05, timeout_s))
    if worker.is_alive():
        message = f"the block ran longer than its timeout of {timeout_s:g} s"
        return {"ok": False, "error": {"type": "Timeout", "message": message, "traceback": ""}}
    return result


async def _await(awaitable):
    return await awaitable
