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
    port: int,
    app: str = "tests.serving_apps.pid_app:app",
    env: dict[str, str] | None = None,
    grace: float = 30,
) -> subprocess.Popen[str]:
    code = (
        "from openbenefits.serving import serve; "
        f"serve({app!r}, host='127.0.0.1', port={port}, workers=2, grace={grace}, "
        "log_level='warning')"
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


class _Request(threading.Thread):
    """A request in a thread of its own: its answer, or the error that ended it."""

    def __init__(self, port: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/?seconds={seconds}"
        self.answer: httpx.Response | None = None
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            self.answer = httpx.get(self.url, timeout=60)
        except httpx.HTTPError as error:
            self.error = error


def _refused(port: int) -> bool:
    """Whether a new connection goes unserved (refused, or reset by a socket closing)."""
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    except httpx.TransportError:
        return True
    return False


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[Callable[[float], subprocess.Popen[str]], Path]]:
    """Start the slow app with a grace period; where its processes mark their lifespan's end."""
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    started: list[subprocess.Popen[str]] = []

    def start(grace: float) -> subprocess.Popen[str]:
        port = _free_port()
        app = "tests.serving_apps.slow_app:app"
        started.append(_start(port, app, {"SERVING_TEST_STOPPED": str(stopped)}, grace))
        started[-1].port = port  # type: ignore[attr-defined]
        return started[-1]

    yield start, stopped
    for supervisor in started:
        _stop(supervisor)


def test_a_stop_refuses_new_connections_and_finishes_the_requests_in_flight(slow):
    start, stopped = slow
    supervisor = start(grace=10)
    port = supervisor.port
    pids = _pids_answering(port, wanted=2)
    in_flight = [_Request(port, seconds=3) for _ in range(4)]
    time.sleep(0.5)  # the requests have reached their processes

    supervisor.send_signal(signal.SIGTERM)
    _eventually(lambda: _refused(port), "new connections were still taken", seconds=2)

    assert supervisor.wait(timeout=30) == 0
    for request in in_flight:
        request.join()
        assert request.error is None
        assert request.answer is not None
        assert request.answer.status_code == 200
    # Each process ran its lifespan's shutdown to the end before it exited.
    assert {int(path.name) for path in stopped.iterdir()} == pids


def test_a_request_outlasting_the_grace_period_is_cut_and_the_server_still_stops(slow):
    start, stopped = slow
    supervisor = start(grace=1)
    port = supervisor.port
    pids = _pids_answering(port, wanted=2)
    stuck = _Request(port, seconds=600)
    time.sleep(0.5)

    began = time.monotonic()
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    stuck.join(timeout=10)

    assert time.monotonic() - began < 10
    assert stuck.answer is None or stuck.answer.status_code >= 500
    assert {int(path.name) for path in stopped.iterdir()} == pids


@pytest.mark.parametrize("workers", ["1", "2"])
def test_openbenefits_serve_stops_cleanly_on_sigterm(tmp_path: Path, workers: str) -> None:
    """The real command on SQLite, one process (uvicorn alone) or two (the supervisor): SIGTERM
    ends it with exit code 0, well within its grace periods, the lifespan's jobs (webhook
    worker, purges) stopped between runs."""
    port = _free_port()
    env = {
        **os.environ,
        "OPENBENEFITS_DATA_DIR": str(tmp_path),
        "OPENBENEFITS_SHUTDOWN_GRACE_SECONDS": "10",
        "OPENBENEFITS_LOG_LEVEL": "WARNING",
    }
    env.pop("OPENBENEFITS_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [
            Path(sys.executable).parent / "openbenefits",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _eventually(lambda: _healthy(port), "the server never answered", seconds=60)
        began = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, server.stderr.read() if server.stderr else ""
        assert time.monotonic() - began < 10
    finally:
        _stop(server)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
