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
    return _explain_memory_error({"id": request["id"], **reply})


def returned_too_much(block, size, cap):
    """The error of a block whose output and backpack, as JSON, are larger than its `max_return` (the Node worker
    words it the same)."""
    message = (
        f"block '{block}' returned {size / (1 << 20):.1f} MB (its output and backpack as JSON), more than its limit "
        f"of {cap >> 20} MB; return less (large data can go to a file, returning its path), or raise `max_return` "
        "in project.yaml"
    )
    return {"type": "ReturnTooLarge", "message": message, "traceback": ""}


def _encode(request, reply):
    try:
        line = json.dumps(reply, allow_nan=False)
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
    cap = int(request.get("max_return") or 0)
    if cap and reply.get("ok") and len(line) > cap:  # (escaped, the line is never shorter than its UTF-8)
        size = sum(
            len(json.dumps(reply.get(part), ensure_ascii=False).encode("utf-8", "surrogatepass"))
            for part in ("output", "backpack")
        )
        if size > cap:
            error = returned_too_much(request.get("block", "?"), size, cap)
            stdout, stderr = reply.get("stdout", ""), reply.get("stderr", "")
            return json.dumps({"id": request["id"], "ok": False, "stdout": stdout, "stderr": stderr, "error": error})
    return line


_ADDRESS_SPACE = {"wanted": 0, "limit": 0}  # set when the environment's own limit (`ulimit -v`) is the lower one


def _limit_address_space(wanted):
    """The backstop address-space limit; an environment that allows less keeps its own limit (it cannot be
    raised), and a block that runs out of memory is then told which limit it met."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if limit < wanted:
        _ADDRESS_SPACE.update(wanted=wanted, limit=limit)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _explain_memory_error(reply):
    error = reply.get("error") or {}
    if _ADDRESS_SPACE["limit"] and error.get("type") == "MemoryError":
        limit_mb, wanted_mb = _ADDRESS_SPACE["limit"] >> 20, _ADDRESS_SPACE["wanted"] >> 20
        error["message"] = (
            f"{error.get('message') or 'out of memory'} (the address space is limited to {limit_mb} MB by the "
            f"environment, `ulimit -v`, below the {wanted_mb} MB this worker would allow; raise that limit)"
        )
    return reply


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
        _limit_address_space(int(sys.argv[1]))
    request_fd, reply_fd = int(os.environ.pop(REQUEST_FD_VARIABLE)), int(os.environ.pop(REPLY_FD_VARIABLE))
    for fd in (request_fd, reply_fd):
        os.set_inheritable(fd, False)  # what a block starts (os.system, close_fds=False) must not hold them
    requests = os.fdopen(request_fd, "rb")
    replies = os.fdopen(reply_fd, "wb")
    for line in requests:
        request = json.loads(line)
        replies.write(_encode(request, _run(request)).encode("utf-8") + b"\n")
        replies.flush()
    # No more requests: end now, without waiting for threads a block left running (its keeper ends the processes).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
