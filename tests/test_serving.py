"""The multi-process supervisor (openbenefits/serving.py), run as `openbenefits serve` runs it."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(
    port: int, app: str = "tests.serving_apps.pid_app:app", env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    code = (
        "from openbenefits.serving import serve; "
        f"serve({app!r}, host='127.0.0.1', port={port}, workers=2, log_level='warning')"
    )
    # A session of its own, so that the test can stop the supervisor and its processes at once.
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _stop(supervisor: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(supervisor.pid, signal.SIGKILL)
    supervisor.wait()


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


def _new_pid(port: int, known: set[int], seconds: float = 30) -> int:
    """The first process to answer that is not one of ``known``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid = _pid_answering(port)
        if pid is not None and pid not in known:
            return pid
        time.sleep(0.1)
    raise AssertionError(f"no process but {known} answered")


def _eventually(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _exited(pid: int) -> bool:
    """A process whose parent died may stay a zombie until something reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _stderr(process: subprocess.Popen[str]) -> list[str]:
    """The lines ``process`` writes to stderr, as they come."""
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _replacement_delays(stderr: list[str]) -> list[float]:
    return [float(m[1]) for line in stderr if (m := re.search(r"replacing it in ([\d.]+) s", line))]


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    supervisor = _start(port)
    try:
        yield supervisor, port
    finally:
        _stop(supervisor)


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
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    after = _pids_answering(port, wanted=2)
    while len(after) < 2 or victim in after:
        assert time.monotonic() < deadline, f"answering {after} after killing {victim}"
        after = _pids_answering(port, wanted=2)
    assert len(after - before) == 1


def test_a_replacement_that_dies_young_is_replaced_again(served):
    supervisor, port = served
    first = _pids_answering(port, wanted=2)
    survivor, victim = sorted(first)
    os.kill(victim, signal.SIGKILL)
    replacement = _new_pid(port, known=first)
    os.kill(replacement, signal.SIGKILL)
    again = _new_pid(port, known=first | {replacement})
    assert _pids_answering(port, wanted=2) == {survivor, again}
    assert supervisor.poll() is None


def test_replacements_failing_to_start_wait_longer_each_time_while_the_others_serve(tmp_path):
    broken = tmp_path / "broken"
    port = _free_port()
    supervisor = _start(
        port, "tests.serving_apps.breakable_app:app", env={"SERVING_TEST_BROKEN": str(broken)}
    )
    stderr = _stderr(supervisor)
    try:
        first = _pids_answering(port, wanted=2)
        survivor, victim = sorted(first)
        broken.touch()
        os.kill(victim, signal.SIGKILL)
        # The victim and two replacements that failed to start.
        _eventually(lambda: len(_replacement_delays(stderr)) >= 3, "no replacement failed")
        assert supervisor.poll() is None
        assert [_pid_answering(port) for _ in range(10)] == [survivor] * 10
        broken.unlink()
        assert _new_pid(port, known=first)
        assert _replacement_delays(stderr)[:3] == [0.5, 1.0, 2.0]
    finally:
        _stop(supervisor)


def test_the_processes_stop_when_the_supervisor_is_killed(served):
    supervisor, port = served
    pids = _pids_answering(port, wanted=2)
    supervisor.kill()
    supervisor.wait()
    _eventually(lambda: all(map(_exited, pids)), "a process outlived its supervisor")
    successor = _start(port)
    try:
        assert len(_pids_answering(port, wanted=2) - pids) == 2
        assert successor.poll() is None
    finally:
        _stop(successor)


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
