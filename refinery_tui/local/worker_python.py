"""A warm Python worker: runs block code on request. Started by the executor with `sys.executable`; stdlib only.

Requests and replies are JSON lines on two pipes whose descriptors are given on the command line; the block's
print() output is captured per invocation, and anything written below Python goes to the process's own stdout
and stderr, which the executor watches.
"""

import asyncio
import importlib.util
import inspect
import json
import os
import sys
import traceback

_modules = {}


class OutputFlood(Exception):
    """The block printed more than the output cap."""


class _Capture:
    def __init__(self, cap, shared):
        self.parts = []
        self.cap = cap
        self.shared = shared
        self.encoding = "utf-8"

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.shared["size"] += len(text)
        if self.shared["size"] > self.cap:
            self.shared["flood"] = True
            raise OutputFlood(f"the block printed more than {self.cap} characters")
        self.parts.append(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def getvalue(self):
        return "".join(self.parts)


def _load(path):
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


def _error(exc, skip_frames=0):
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) if frames else ""
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return {"type": type(exc).__name__, "message": str(exc), "traceback": text}


def _run(request):
    shared = {"size": 0, "flood": False}
    cap = int(request.get("cap", 1 << 20))
    out, err = _Capture(cap, shared), _Capture(cap, shared)
    env = {str(k): str(v) for k, v in (request.get("env") or {}).items()}
    saved_env = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    saved_streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    reply = {"id": request["id"]}
    try:
        try:
            module = _load(request["file"])
        except BaseException as exc:  # noqa: BLE001 - any failure to load is the block's error
            reply.update(ok=False, error=_error(exc))
            return reply
        backpack = request.get("backpack") or {}
        try:
            result = module.main(request.get("input"), backpack)
            if inspect.isawaitable(result):
                result = asyncio.run(result) if inspect.iscoroutine(result) else asyncio.run(_await(result))
        except SystemExit as exc:
            reply.update(
                ok=False,
                error={
                    "type": "SystemExit",
                    "message": f"the block called sys.exit({exc.code!r})",
                    "traceback": _error(exc, 1)["traceback"],
                },
            )
            return reply
        except BaseException as exc:  # noqa: BLE001 - the block's own exception is its error
            reply.update(ok=False, error=_error(exc, 1))
            return reply
        if shared["flood"]:
            reply.update(
                ok=False,
                error={
                    "type": "OutputFlood",
                    "message": f"the block printed more than {cap} characters",
                    "traceback": "",
                },
            )
            return reply
        reply.update(ok=True, output=result, backpack=backpack)
        return reply
    finally:
        sys.stdout, sys.stderr = saved_streams
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reply["stdout"] = out.getvalue()
        reply["stderr"] = err.getvalue()


async def _await(awaitable):
    return await awaitable


def _die_with_parent():
    """Exit when the executor dies (this process is then adopted by another), so no orphan keeps running a block.

    A polling thread, not PR_SET_PDEATHSIG: that signal follows the thread that started the worker, and the
    executor starts workers from short-lived threads."""
    import threading
    import time

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main():
    _die_with_parent()
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    if len(sys.argv) > 3:
        import resource

        limit = int(sys.argv[3])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    requests = os.fdopen(int(sys.argv[1]), "rb")
    replies = os.fdopen(int(sys.argv[2]), "wb")
    for line in requests:
        request = json.loads(line)
        reply = _run(request)
        try:
            data = json.dumps(reply, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            shown = type(reply.get("output")).__name__
            data = json.dumps(
                {
                    "id": request["id"],
                    "ok": False,
                    "stdout": reply.get("stdout", ""),
                    "stderr": reply.get("stderr", ""),
                    "error": {
                        "type": "NotJSON",
                        "message": f"the block returned something that is "
                        f"not JSON (output: {shown}; or its backpack): {exc}",
                        "traceback": "",
                    },
                }
            )
        replies.write(data.encode("utf-8") + b"\n")
        replies.flush()


if __name__ == "__main__":
    main()
