"""The sandbox: a local AWS endpoint (moto for the APIs) that also runs the Lambda functions deployed to it."""

from __future__ import annotations

import errno
import ipaddress
import logging
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

from moto.core.base_backend import BackendDict
from moto.core.models import MockAWS
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server, select_address_family

from refinery_tui.cloud.sandbox_credentials import SandboxCredentials, remove_credentials, write_credentials

from . import moto_hooks, sns_delivery
from .activity import Activity
from .admission import allowed_hosts
from .code_cache import CodeCache
from .credentials import Keys
from .functions import spec_of
from .gateway import Door, Gateway
from .http_api import PATH_PREFIX, HttpApis
from .lambda_host import LambdaHost
from .log_sink import LogSink
from .request_log import RequestLog, ServedRequest
from .schedules import fire_rule
from .sqs_poller import SqsPoller

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
_log = logging.getLogger(__name__)


class PortInUse(OSError):
    """The sandbox's port is taken."""


class NotLoopback(ValueError):
    """The sandbox was asked to listen on an address other machines can reach."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _QuietRequestHandler(MotoRequestHandler):
    """No request lines or tracebacks on stderr: the sandbox keeps its own call log."""

    def log(self, type: str, message: str, *args: Any) -> None:
        _log.debug(message, *args)

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _MotoDeliveries:
    """Where moto_hooks sends the deliveries moto would otherwise make itself."""

    def __init__(self, host: LambdaHost) -> None:
        self._host = host

    def deliver_sns(
        self,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None,
    ) -> None:
        sns_delivery.deliver(self._host, subscription, message, message_id, subject, message_attributes)

    def invoke_for_moto(self, function: Any, event: Any) -> tuple[bytes, bool]:
        result = self._host.invoke(spec_of(function), event)
        return result.payload, result.failed


class Sandbox:
    """A local AWS endpoint on `host:port` (0: any free port; `host` a loopback address). Use as a context manager,
    or `start()`/`stop()`. It answers requests signed with `credentials()` (new at each start; also written for the
    workbench, see cloud/sandbox_credentials.py) or with a function role's credentials, addressed to its own host.

    Moto's state is global to the process: a sandbox started while no other sandbox (and no `mock_aws`) is active
    starts empty.
    """

    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", state_dir: Path | None = None, workers_per_function: int = 4
    ) -> None:
        if not is_loopback(host):
            raise NotLoopback(
                f"{host} is not a loopback address: the sandbox runs code for whoever it answers, so it listens "
                "on this machine only (127.0.0.1, ::1 or localhost)"
            )
        self._keys = Keys()
        self._credentials_written = False
        self._port = port
        self._host_name = host
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._workers_per_function = workers_per_function
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._temp_dir: Path | None = None
        self._activity = Activity()
        self._requests = RequestLog()
        self._lambda: LambdaHost | None = None
        self._poller: SqsPoller | None = None
        self._sink: LogSink | None = None
        self._deliveries: _MotoDeliveries | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        host = f"[{self._host_name}]" if ":" in self._host_name else self._host_name
        return f"http://{host}:{self._server.port}"

    @property
    def faults(self) -> Any:
        """The test knobs that make chosen calls fail (`sandbox/fault_knobs.py`)."""
        return self._gateway.faults

    @property
    def deletion_windows(self) -> Any:
        """AWS's windows after a delete, settable while it runs (`sandbox/deletion_windows.py`)."""
        return self._gateway.deletion_windows

    @property
    def port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[1])

    def environment(self) -> dict[str, str]:
        """The environment that points boto3 and the AWS CLI at the sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self._keys.root.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self._keys.root.secret_access_key,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def api_url(self, api_id: str, stage: str | None = None) -> str:
        """Where an HTTP API is served; with a named stage, the stage's base URL."""
        url = f"{self.endpoint_url}{PATH_PREFIX}{api_id}"
        return f"{url}/{stage}" if stage and stage != "$default" else url

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        dispatcher = DomainDispatcherApplication(create_backend_app)
        try:
            # Bound here, not by werkzeug, which prints to stderr and exits the process when the port is taken.
            listener = socket.create_server(
                (self._host_name, self._port), backlog=128, family=select_address_family(self._host_name, self._port)
            )
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(errno.EADDRINUSE, f"port {self._port} on {self._host_name} is already in use") from None
            raise
        with listener:
            server = make_server(
                self._host_name,
                listener.getsockname()[1],
                self._serve,
                threaded=True,
                request_handler=_QuietRequestHandler,
                fd=listener.fileno(),
            )
        server.handle_error = self._dropped  # type: ignore[method-assign]
        self._server = server
        if not moto_hooks.active() and not MockAWS._nested_count:
            BackendDict.reset()
        if self._state_dir is not None:
            code_dir = self._state_dir / "lambda-code"
        else:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="refinery-sandbox-"))
            code_dir = self._temp_dir / "lambda-code"
        self._sink = LogSink()
        self._lambda = LambdaHost(
            CodeCache(code_dir),
            self._sink,
            self._activity,
            self.endpoint_url,
            self._workers_per_function,
            role_credentials=lambda role: self._keys.for_role(role).environment(),
        )
        door = Door(self._keys, allowed_hosts(self._host_name, server.port), server.port)
        self._gateway = Gateway(dispatcher, self._lambda, HttpApis(self._lambda), self._activity, self._requests, door)
        self._deliveries = _MotoDeliveries(self._lambda)
        moto_hooks.activate(self._deliveries)
        self._poller = SqsPoller(self._lambda, self._activity)
        self._poller.start()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="sandbox-http"
        )
        self._thread.start()
        try:
            write_credentials(server.port, self.endpoint_url, self._login())
            self._credentials_written = True
        except OSError as error:
            _log.warning("cannot write the sandbox's credentials for the workbench: %s", error)
        return self

    def credentials(self) -> SandboxCredentials:
        """The key pair this sandbox printed (made at its start)."""
        return self._login()

    def _login(self) -> SandboxCredentials:
        return SandboxCredentials(self._keys.root.access_key_id, self._keys.root.secret_access_key)

    def stop(self) -> None:
        """Stop serving, end every invocation (a function still running is killed) and clean up; quick even while
        busy."""
        if self._server is None:
            return
        if self._credentials_written:
            remove_credentials(self._server.port, self._login())
            self._credentials_written = False
        if self._lambda is not None:
            self._lambda.shutdown()  # first: a request waiting on a function then ends at once
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server.server_close()
        if self._deliveries is not None:
            moto_hooks.deactivate(self._deliveries)
        if self._poller is not None:
            self._poller.stop()
        if self._sink is not None:
            self._sink.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no invocation is queued or running and no message waits for a mapped function.

        False if `timeout` seconds passed first. Logs of finished invocations are in CloudWatch Logs by then.
        A batch whose invocation failed is hidden until its visibility timeout ends, and not waited for.
        """
        poller = self._poller
        return self._activity.wait_idle(timeout, lambda: poller is None or not poller.has_waiting())

    def fire_rule(
        self, rule_name: str, *, event_bus: str | None = None, region: str = REGION, account_id: str = ACCOUNT_ID
    ) -> list[str]:
        """Invoke every Lambda target of an EventBridge rule, asynchronously; the request ids."""
        if self._lambda is None:
            raise RuntimeError("the sandbox is not running")
        return fire_rule(self._lambda, rule_name, event_bus=event_bus, region=region, account_id=account_id)

    def requests_served(self) -> list[ServedRequest]:
        """The AWS requests served lately, oldest first (a bounded list, for debugging)."""
        return self._requests.snapshot()

    def _dropped(self, request: Any, client_address: Any) -> None:
        _log.debug("request from %s failed outside the app", client_address, exc_info=True)

    def _serve(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._gateway(environ, start_response)
