"""The multi-process supervisor (openbenefits/serving.py), run as `openbenefits serve` runs it."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# Processes that live longer than this have started (the tests kill one after that long).
START_SECONDS = 1


def _start(port: int, app: str = "tests.serving_apps.pid_app:app") -> subprocess.Popen[str]:
    code = (
        "from openbenefits.serving import serve; "
        f"serve({app!r}, host='127.0.0.1', port={port}, workers=2, "
        f"start_seconds={START_SECONDS}, log_level='warning')"
    )
    # A session of its own, so that the test can stop the supervisor and its processes at once.
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _pid_answering(port: int) -> int | None:
    """The process that answers a new connection, or None while nothing listens."""
    try:
        # A new client each time: the kernel picks a process per connection.
        return int(httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text)
    except httpx.TransportError:
        return None


def _pids_answering(port: int, wanted: int, seconds: float = 30) -> set[int]:
    seen: set[int] = set()
    deadline = time.monotonic() + seconds
    while len(seen) < wanted and time.monotonic() < deadline:
        pid = _pid_answering(port)
        if pid is None:
            time.sleep(0.1)
        else:
            seen.add(pid)
    return seen


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    supervisor = _start(port)
    try:
        yield supervisor, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait()


def test_each_process_takes_connections_of_its_own(served):
    supervisor, port = served
    pids = _pids_answering(port, wanted=2)
    assert len(pids) == 2
    assert supervisor.pid not in pids


def test_a_second_server_on_the_same_port_is_refused(served):
    _supervisor, port = served
    assert _pids_answering(port, wanted=1)
    second = _start(port)
    assert second.wait(timeout=30) != 0
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr.read()


def test_a_process_that_dies_is_replaced(served):
    _supervisor, port = served
    before = _pids_answering(port, wanted=2)
    time.sleep(START_SECONDS)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    after = _pids_answering(port, wanted=2)
    while len(after) < 2 or victim in after:
        assert time.monotonic() < deadline, f"answering {after} after killing {victim}"
        after = _pids_answering(port, wanted=2)
    assert len(after - before) == 1


def test_a_process_failing_to_start_stops_the_server():
    supervisor = _start(_free_port(), app="tests.serving_apps.pid_app:missing")
    assert supervisor.wait(timeout=60) == 1
    assert "a server process exited during start-up" in supervisor.stderr.read()


def test_sigterm_stops_every_process(served):
    supervisor, port = served
    pids = _pids_answering(port, wanted=2)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=60) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    assert _pid_answering(port) is None
