"""A warm Python Lambda worker: imports the handler once, then serves invocations as JSON lines over two pipes.

It stands in for Lambda's own runtime, so it loads a handler by Lambda's contract (the handler name, the context
object, the event, Lambda's error shapes); a refinery function's handler then loads its block with
runtime/blockload.py, the loader the local worker uses.
"""

# Standard library only, and nothing of refinery_tui: it runs as a script, with the function's code (which may carry
# its own refinery_tui package) first on sys.path. The pipes' descriptors are named as processes/ names them.

import decimal
import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback

# Written to stdout after an invocation's output, so the sandbox knows it has read all of it.
END_OF_OUTPUT = b"\x1e\x1esandbox-invocation-end "

_current_request = {"id": ""}


class LambdaContext:
    """The context object Lambda's Python runtime passes to a handler."""

    def __init__(self, request):
        self.aws_request_id = request["requestId"]
        self.invoked_function_arn = request["invokedFunctionArn"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = request.get("clientContext")
        self.identity = request.get("identity")
        self._deadline_ms = request["deadlineMs"]

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
            f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])"
        )


class HandlerError(Exception):
    """The handler cannot be loaded; `info` is the error Lambda would report."""

    def __init__(self, error_type, message, stack=None):
        super().__init__(message)
        self.info = {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": stack or []}


class _LambdaLogFormatter(logging.Formatter):
    def format(self, record):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        text = super().format(record).replace("\n", "\r")
        return f"[{record.levelname}]\t{stamp}\t{_current_request['id']}\t{text}"


def load_handler(handler):
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise HandlerError(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)"
        )
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as error:
        raise HandlerError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {error}",
            traceback.format_exception_only(type(error), error),
        ) from None
    except ImportError as error:
        raise HandlerError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from None
    except Exception as error:
        raise HandlerError(type(error).__name__, str(error), _stack(error)) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise HandlerError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function


def _stack(error):
    return traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])


def _error_info(error, request_id):
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": _stack(error),
    }


def _log_error(info):
    text = f"[ERROR] {info['errorType']}: {info['errorMessage']}"
    if info.get("stackTrace"):
        text += "\rTraceback (most recent call last):\r" + "".join(info["stackTrace"]).replace("\n", "\r")
    sys.stderr.write(text.rstrip("\r") + "\n")


def _json_default(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _end_output(request_id):
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    os.write(1, END_OF_OUTPUT + request_id.encode() + b"\n")


def _send(fd, message):
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _invoke(function, request):
    request_id = request["requestId"]
    _current_request["id"] = request_id
    try:
        result = function(request["event"], LambdaContext(request))
    except Exception as error:
        info = _error_info(error, request_id)
        _log_error(info)
        return {"requestId": request_id, "ok": False, "error": info}
    try:
        payload = json.dumps(result, default=_json_default)
    except (TypeError, ValueError) as error:
        info = {
            "errorMessage": f"Unable to marshal response: {error}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        _log_error(info)
        return {"requestId": request_id, "ok": False, "error": info}
    return {"requestId": request_id, "ok": True, "payload": payload}


def main():
    request_fd = int(os.environ.pop("REFINERY_REQUEST_FD"))
    reply_fd = int(os.environ.pop("REFINERY_REPLY_FD"))
    address_space = os.environ.pop("_SANDBOX_ADDRESS_SPACE", "")
    extra_path = [p for p in os.environ.pop("_SANDBOX_PYTHONPATH", "").split(os.pathsep) if p]
    if address_space:
        resource.setrlimit(resource.RLIMIT_AS, (int(address_space), int(address_space)))
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.environ["LAMBDA_TASK_ROOT"], *extra_path] + [p for p in sys.path if p and p != here]
    os.chdir(os.environ["LAMBDA_TASK_ROOT"])
    log_handler = logging.StreamHandler(sys.stderr)
    log_handler.setFormatter(_LambdaLogFormatter("%(message)s"))
    logging.getLogger().addHandler(log_handler)

    try:
        function, init_error = load_handler(os.environ["_HANDLER"]), None
    except HandlerError as error:
        function, init_error = None, error.info
        _log_error(init_error)
    _send(reply_fd, {"ready": True})
    with os.fdopen(request_fd, "rb") as requests:
        for line in requests:
            request = json.loads(line)
            if init_error is not None:
                reply = {
                    "requestId": request["requestId"],
                    "ok": False,
                    "fatal": True,
                    "error": dict(init_error, requestId=request["requestId"]),
                }
            else:
                reply = _invoke(function, request)
            _end_output(request["requestId"])
            _send(reply_fd, reply)
            if init_error is not None:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
