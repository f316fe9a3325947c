"""A synchronous Invoke waits longer than the function may run and is never retried (a retry is a second run)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from refinery_tui.cloud.aws import Aws
from refinery_tui.cloud.desired import Placement
from refinery_tui.cloud.executions import Executions, entry_invoke_client
from refinery_tui.cloud.naming import Names
from refinery_tui.model import load_project
from refinery_tui.model.manifest import build_manifest


def long_project(root: Path) -> Path:
    (root / "blocks").mkdir(parents=True)
    (root / "project.yaml").write_text(
        "name: slow\nblocks:\n  crunch: {type: code, language: python, timeout: 70}\n"
        "  route: {type: api_endpoint, method: GET, path: /r}\n  answer: {type: code, language: python, timeout: 5}\n"
        "transitions:\n  - {from: route, to: answer}\n"
    )
    for block in ("crunch", "answer"):
        (root / "blocks" / f"{block}.py").write_text("def main(block_input, backpack):\n    return block_input\n")
    return root


def placement_of(root: Path) -> Placement:
    project = load_project(root).project
    return Placement(
        Names(project.name, "dev", "us-east-1"), "123456789012", "us-east-1", "aws", build_manifest(project)
    )


class FailingLambda(BaseHTTPRequestHandler):
    """Answers every request with a 500 (which botocore retries), counting them."""

    received: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        FailingLambda.received.append(self.path)
        body = b'{"Type": "Service", "message": "boom"}'
        self.send_response(500)
        self.send_header("x-amzn-ErrorType", "ServiceException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_lambda():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FailingLambda)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FailingLambda.received.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_invoke_client_waits_longer_than_the_function_may_run(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    placement, aws = placement_of(long_project(tmp_path / "slow")), Aws(region="us-east-1")
    crunch = entry_invoke_client(aws, placement, "crunch").meta.config
    assert crunch.read_timeout > 70 + 10 > 60  # the function may run 80 s; botocore's default gives up at 60
    assert crunch.retries["total_max_attempts"] == 1
    # An API's function runs at least 40 s, whatever its block's timeout.
    assert entry_invoke_client(aws, placement, "route").meta.config.read_timeout > 40


def test_a_failed_synchronous_invoke_is_sent_once(tmp_path, monkeypatch, failing_lambda):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    aws = Aws(region="us-east-1", endpoint_url=failing_lambda)
    executions = Executions(aws, placement_of(long_project(tmp_path / "slow")))
    with pytest.raises(Exception, match="boom"):
        executions.start("crunch", {"n": 1}, wait_for_start=True)
    assert FailingLambda.received == ["/2015-03-31/functions/slow_dev_crunch/invocations"]
