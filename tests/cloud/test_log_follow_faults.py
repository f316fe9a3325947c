"""Following logs while AWS fails: a live tail that errors hands over to polling, throttled polls lose no line."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading

import pytest

from refinery_tui.cloud.logtail import LogTail, stage_groups
from tests.cloud.cloud_helpers import deploy, run_deployed
from tests.conftest import PROJECTS

WAIT_S = 180  # a bound for a lost line, not a speed: throttled polls on 2 busy cores are slow


@pytest.fixture(scope="module")
def hello(sandbox, tmp_path_factory):
    root = tmp_path_factory.mktemp("projects") / "hello"
    shutil.copytree(PROJECTS / "hello-world", root, ignore=shutil.ignore_patterns(".refinery"))
    return root, deploy(sandbox, root, "faults")


@pytest.fixture(autouse=True)
def no_faults(sandbox):
    sandbox.faults.clear()
    yield
    sandbox.faults.clear()


def followed(sandbox, root, **env: str) -> tuple[subprocess.Popen, queue.Queue]:
    command = [sys.executable, "-m", "refinery_tui", "logs", str(root), "--stage", "faults"]
    command += ["--endpoint-url", sandbox.endpoint_url, "--follow", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(json.loads(line))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def wait_for(lines: queue.Queue, ids: set[str], execution_ids: set[str]) -> dict[str, dict]:
    """The followed lines until every id in `ids` arrived (None ends: the follow stopped)."""
    got: dict[str, dict] = {}
    while not ids <= set(got):
        line = lines.get(timeout=WAIT_S)
        assert line is not None, f"the follow ended with {len(ids - set(got))} lines missing"
        if line["execution_id"] in execution_ids or line["id"] in ids:
            got[line["id"]] = line
    return got


def written(deployer, execution_ids: set[str]) -> set[str]:
    """Every line of those executions, read afterwards with nothing failing."""
    tail = LogTail(deployer.aws, stage_groups(deployer.names, deployer.target.manifest), 0, mode="poll")
    return {line.event_id for line in tail.poll() if line.execution_id in execution_ids}


def test_a_live_tail_that_fails_is_closed_and_polling_keeps_the_follow_going(sandbox, hello):
    _, deployer = hello
    sandbox.faults.add("logs", "StartLiveTail", "LimitExceededException")
    tail = LogTail(deployer.aws, stage_groups(deployer.names, deployer.target.manifest), mode="live", interval_s=0.2)
    got: queue.Queue = queue.Queue()
    stop = threading.Event()
    follower = threading.Thread(target=tail.follow, args=(got.put, stop), daemon=True)
    follower.start()
    result = run_deployed(sandbox, deployer, "greet", {"name": "Ada"})
    assert sandbox.wait_idle(30)
    wanted = written(deployer, {result.execution_id})
    seen: set[str] = set()
    while not wanted <= seen:
        seen |= {line.event_id for line in got.get(timeout=WAIT_S)}
    assert follower.is_alive() and not stop.is_set(), "the caller's stop is the caller's"
    assert tail.mode == "poll" and "LimitExceededException" in str(tail.live_error)
    stop.set()
    follower.join(10)
    assert not follower.is_alive()


def test_logs_follow_goes_on_after_the_live_tail_fails(sandbox, hello):
    root, deployer = hello
    sandbox.faults.add("logs", "StartLiveTail", "AccessDeniedException")
    process, lines = followed(sandbox, root, REFINERY_LOG_TAIL="live")
    try:
        for name in ("Ada", "Grace"):  # the second is written well after the live tail failed
            result = run_deployed(sandbox, deployer, "greet", {"name": name})
            assert sandbox.wait_idle(30)
            wait_for(lines, written(deployer, {result.execution_id}), {result.execution_id})
            assert process.poll() is None, "logs --follow still follows"
    finally:
        process.terminate()
        process.wait(10)


def test_logs_follow_loses_no_line_when_polls_are_throttled(sandbox, hello):
    root, deployer = hello
    process, lines = followed(sandbox, root)
    try:
        # 9 calls in 10 throttled: more in a row than botocore's 8 attempts, so some rounds fail outright
        sandbox.faults.add("logs", "FilterLogEvents", "ThrottlingException", every=10, burst=9)
        executions = {run_deployed(sandbox, deployer, "greet", {"name": f"n{n}"}).execution_id for n in range(4)}
        assert sandbox.wait_idle(30)
        sandbox.faults.clear()
        wanted = written(deployer, executions)
        throttled = sandbox.faults.add("logs", "FilterLogEvents", "ThrottlingException", every=10, burst=9)
        assert throttled.wait_calls(20, WAIT_S), "the follow's polls were throttled"
        sandbox.faults.clear()  # AWS stops throttling: the lines of the throttled rounds must still come
        got = wait_for(lines, wanted, executions)
        assert set(got) == wanted, "every line written was received, once"
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(10)


def test_start_live_tail_goes_to_the_stream_host_on_aws_and_to_the_endpoint_url_elsewhere(sandbox):
    from botocore.awsrequest import AWSResponse

    from refinery_tui.cloud.aws import Aws

    sent: list[str] = []

    def capture(request, **_):
        sent.append(request.url)
        return AWSResponse(request.url, 400, {}, None)

    for aws in (Aws(region="eu-west-1"), Aws(region="eu-west-1", endpoint_url=sandbox.endpoint_url)):
        client = aws.client("logs")
        client.meta.events.register("before-send.cloudwatch-logs.StartLiveTail", capture)
        with pytest.raises(Exception):  # noqa: B017 - the captured request is what counts
            client.start_live_tail(logGroupIdentifiers=["arn:aws:logs:eu-west-1:123456789012:log-group:g"])
    assert sent[0].startswith("https://stream-logs.eu-west-1.amazonaws.com")
    assert sent[1].startswith(sandbox.endpoint_url)
