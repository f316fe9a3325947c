"""A warm Python worker: runs block code on request. Started by the pool with `sys.executable`; stdlib only.

Requests and replies are JSON lines on two pipes whose descriptors are in the environment (see processes/); the
block is loaded and called by runtime/blockload.py, its print() output captured per invocation; anything written
below Python goes to the process's own stdout and stderr, which the pool watches.
"""

import json
import os
import sys
import threading
import time

REQUEST_FD_VARIABLE = "REFINERY_REQUEST_FD"  # as processes/warm_process.py names them
REPLY_FD_VARIABLE = "REFINERY_REPLY_FD"


def _import_blockload():
    """runtime/blockload.py from this checkout, without leaving this worker's folder or the checkout on sys.path."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0]) == here:
        sys.path.pop(0)
    root = os.path.dirname(os.path.dirname(here))
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        from refinery_tui.runtime import blockload
    finally:
        if added:
            sys.path.remove(root)
    return blockload


blockload = _import_blockload()


def _run(request):
    env = {str(k): str(v) for k, v in (request.get("env") or {}).items()}
    saved_env = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        reply = blockload.call_captured(
            request["file"], request.get("input"), request.get("backpack") or {}, int(request.get("cap", 1 << 20))
        )
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"id": request["id"], **reply}


def _encode(request, reply):
    try:
        return json.dumps(reply, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return json.dumps(
            {
                "id": request["id"],
                "ok": False,
                "stdout": reply.get("stdout", ""),
                "stderr": reply.get("stderr", ""),
                "error": blockload.not_json_error(reply.get("output"), exc),
            }
        )


def _die_with_parent():
    """Exit when the pool's process dies (this process is then adopted by another), so no orphan keeps running a
    block. A polling thread, not PR_SET_PDEATHSIG: that signal follows the thread that started the worker, and the
    executor starts workers from short-lived threads."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main():
    _die_with_parent()
    if len(sys.argv) > 1:
        import resource

        limit = int(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    request_fd, reply_fd = int(os.environ.pop(REQUEST_FD_VARIABLE)), int(os.environ.pop(REPLY_FD_VARIABLE))
    for fd in (request_fd, reply_fd):
        os.set_inheritable(fd, False)  # what a block starts (os.system, close_fds=False) must not hold them
    requests = os.fdopen(request_fd, "rb")
    replies = os.fdopen(reply_fd, "wb")
    for line in requests:
        request = json.loads(line)
        replies.write(_encode(request, _run(request)).encode("utf-8") + b"\n")
        replies.flush()


if __name__ == "__main__":
    main()
