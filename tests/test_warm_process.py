"""The warm-process layer on its own: a reply, a timeout, a crash, a memory limit, a flood of output, a cancel."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from refinery_tui.processes.warm_process import CappedOutput, ProcessEnded, WarmProcess

# A child that answers each request line with {"echo": request}, or does what the request says first.
CHILD = """
import json, os, sys
requests = os.fdopen(int(os.environ.pop("REFINERY_REQUEST_FD")), "rb")
replies = os.fdopen(int(os.environ.pop("REFINERY_REPLY_FD")), "wb")
for line in requests:
    request = json.loads(line)
    if request == "hang":
        while True:
            pass
    if request == "exit":
        os._exit(3)
    if request == "grow":
        hoard = []
        while True:
            hoard.append(bytearray(10 ** 7))
    if request == "flood":
        while True:
            os.write(1, b"x" * 65536)
    if request == "detach":  # a double fork into a session of its own: its parent is gone at once
        os.system("setsid sh -c 'sleep 30.424242 >/dev/null 2>&1 &'")
    if request == "print":
        os.write(1, b"below python\\n")
        os.write(2, b"to stderr\\n")
    replies.write(json.dumps({"echo": request, "fd_in_env": "REFINERY_REQUEST_FD" in os.environ}).encode() + b"\\n")
    replies.flush()
"""


@pytest.fixture(params=[False, True], ids=["plain", "supervised"])
def child(tmp_path: Path, request):
    output = CappedOutput(1 << 20)
    process = WarmProcess([sys.executable, "-c", CHILD], cwd=tmp_path, output=output, supervised=request.param)
    yield process, output
    process.kill()


def ask(process: WarmProcess, request: str, **limits) -> dict:
    process.send(f'"{request}"'.encode())
    return process.wait_reply(limits.pop("timeout_s", 10), **limits)


def test_a_reply_comes_back_and_the_process_stays_warm(child):
    process, _ = child
    assert ask(process, "one") == {"echo": "one", "fd_in_env": False}
    assert ask(process, "two")["echo"] == "two"
    assert process.alive


class EndedOutput(CappedOutput):
    """CappedOutput that says when both streams have ended."""

    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.both_ended = threading.Barrier(3)

    def ended(self, stream: str) -> None:
        self.both_ended.wait(10)


def test_output_below_the_reply_pipe_is_collected_per_stream(tmp_path):
    output = EndedOutput(1 << 20)
    process = WarmProcess([sys.executable, "-c", CHILD], cwd=tmp_path, output=output)
    ask(process, "print")
    process.kill()  # the reader threads then see the end of both streams
    output.both_ended.wait(10)
    assert output.take() == ("below python\n", "to stderr\n")


@pytest.mark.parametrize(
    "request_, limits, kind",
    [("hang", {"timeout_s": 0.5}, "timeout"), ("exit", {}, "crash"), ("grow", {"memory_mb": 200}, "memory")],
)
def test_a_call_that_does_not_answer_ends_the_process(child, request_, limits, kind):
    process, _ = child
    with pytest.raises(ProcessEnded) as ended:
        ask(process, request_, **limits)
    assert ended.value.kind == kind
    assert not process.alive
    if kind == "crash":
        assert process.returncode == 3


def test_a_flood_of_output_past_the_cap_ends_the_process(tmp_path):
    output = CappedOutput(1 << 16)
    process = WarmProcess([sys.executable, "-c", CHILD], cwd=tmp_path, output=output)
    with pytest.raises(ProcessEnded) as ended:
        ask(process, "flood")
    assert ended.value.kind == "flood" and output.overflowed and not process.alive


def test_a_cancelled_call_ends_the_process(child):
    process, _ = child
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(ProcessEnded) as ended:
        ask(process, "hang", cancelled=cancelled)
    assert ended.value.kind == "cancelled" and not process.alive


def test_sending_to_a_dead_process_is_a_crash(child):
    process, _ = child
    process.kill()
    with pytest.raises(ProcessEnded) as ended:
        process.send(b'"late"')
    assert ended.value.kind == "crash"


def _detached_sleeps() -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if handle.read().split(b"\0")[:2] == [b"sleep", b"30.424242"]:
                    found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a subreaper is Linux's")
@pytest.mark.parametrize("how", ["kill", "crash"])
def test_a_supervised_process_takes_what_it_started_with_it(tmp_path, how):
    output = CappedOutput(1 << 20)
    process = WarmProcess([sys.executable, "-c", CHILD], cwd=tmp_path, output=output, supervised=True)
    try:
        assert ask(process, "detach")["echo"] == "detach"
        assert process.worker_pid != process.pid  # the keeper is the direct child; the command runs below it
        deadline = time.monotonic() + 10
        while not _detached_sleeps() and time.monotonic() < deadline:  # setsid's shell starts it on its own time
            os.sched_yield()
        assert len(_detached_sleeps()) == 1
        if how == "kill":
            process.kill()
        else:
            with pytest.raises(ProcessEnded):
                ask(process, "exit")
            assert process.returncode == 3  # the keeper ends as its command did
        deadline = time.monotonic() + 10
        while _detached_sleeps() and time.monotonic() < deadline:
            os.sched_yield()
        assert _detached_sleeps() == []
    finally:
        process.kill()
        for pid in _detached_sleeps():
            os.kill(pid, 9)
