"""Serving an ASGI app from several processes, each with a listening socket of its own.

uvicorn's own workers share one socket, and whichever process wakes first accepts a burst of new
connections: under keep-alive clients one process ends up with most of them while the other
idles. Here every process gets its own socket on the same address (``SO_REUSEPORT``), and the
kernel spreads new connections across them.

The supervisor stops them all on SIGINT or SIGTERM. A process that dies before it ever served,
during the server's start, stops the server: an import error or a bad setting, which its
replacement would meet again. A process that dies later is replaced while the others serve on;
its socket goes with it, and its replacement listens only once it serves, so that no connection
waits for a process that is not there yet. While replacements keep dying young each waits twice
as long as the one before, so that a process failing at once again and again does not spin the
CPU. A process whose supervisor dies (killed, say) stops too: left running, it would keep the port
from the next server.
"""

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger(__name__)

# uvicorn's default backlog.
BACKLOG = 2048
# On a stop, how long the supervisor waits for its processes beyond their own shutdown time
# before it kills them.
STOP_MARGIN_SECONDS = 5
# A replacement waits RESTART_SECONDS, and twice as long as the one before when that one died
# young too, up to MAX_RESTART_SECONDS. A process that lived STEADY_SECONDS did not die young.
RESTART_SECONDS = 0.5
MAX_RESTART_SECONDS = 30
STEADY_SECONDS = 60
# How long a process whose supervisor died has to finish the requests it holds.
ORPHAN_STOP_SECONDS = 5
# What a process tells its supervisor once it serves.
_SERVING = b"serving"


def serve(app: str, *, host: str, port: int, workers: int, grace: float, **options: Any) -> None:
    """Serve ``app`` (an import string, as uvicorn takes it) with ``workers`` processes;
    ``options`` go to ``uvicorn.Config``.

    On SIGTERM or SIGINT every process stops accepting at once, gives the requests in flight up
    to ``grace`` seconds to finish (then cuts them), and runs the app's lifespan shutdown, which
    has ``grace`` again for its background jobs; the supervisor kills a process still running
    after both, and a margin."""
    options["timeout_graceful_shutdown"] = grace
    stop_seconds = 2 * grace + STOP_MARGIN_SECONDS
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **options)
        return
    try:
        _refuse_if_taken(host, port)
        sockets = [_listening_socket(host, port) for _ in range(workers)]
    except OSError as error:
        raise SystemExit(f"cannot listen on {host}:{port}: {error.strerror}") from error
    failure = _Supervisor(app, host, port, options, stop_seconds).run(sockets)
    if failure:
        raise SystemExit(failure)


@dataclass
class _Running:
    process: SpawnProcess
    sock: socket.socket
    # The process says on this line when it serves.
    line: Connection
    started: float


@dataclass
class _Slot:
    """A place for one server process, held across its replacements."""

    running: _Running | None = None
    # Until its first process served, a death is the server's failure to start.
    first: bool = True
    restart_at: float = 0.0
    delay: float = RESTART_SECONDS


class _Supervisor:
    def __init__(
        self, app: str, host: str, port: int, options: dict[str, Any], stop_seconds: float
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.options = options
        self.stop_seconds = stop_seconds
        self.slots: list[_Slot] = []
        self.context = multiprocessing.get_context("spawn")
        self.stopping = False

    def run(self, sockets: list[socket.socket]) -> str | None:
        """Serve on ``sockets``, a process each, until told to stop; the reason the server failed
        to start, if it did."""
        # A signal writes to this socket, so that a wait for the processes ends at once.
        wakeup, wakeup_writer = socket.socketpair()
        wakeup.setblocking(False)
        wakeup_writer.setblocking(False)
        previous_wakeup = signal.set_wakeup_fd(wakeup_writer.fileno())
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        try:
            for sock in sockets:
                self.slots.append(slot := _Slot())
                self._start(slot, sock)
            return self._supervise(wakeup)
        finally:
            self._stop_processes()
            signal.set_wakeup_fd(previous_wakeup)
            wakeup.close()
            wakeup_writer.close()

    def _stop(self, _signal: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def _supervise(self, wakeup: socket.socket) -> str | None:
        while not self.stopping:
            now = time.monotonic()
            for slot in self.slots:
                if slot.running is None and slot.restart_at <= now:
                    self._start(slot)
            waiting = [slot.restart_at for slot in self.slots if slot.running is None]
            timeout = max(min(waiting) - now, 0) if waiting else None
            running = [(slot, slot.running) for slot in self.slots if slot.running is not None]
            ready = wait([*(current.process.sentinel for _, current in running), wakeup], timeout)
            if wakeup in ready:
                with contextlib.suppress(BlockingIOError):
                    wakeup.recv(64)
            for slot, current in running:
                if current.process.sentinel in ready and (failure := self._ended(slot, current)):
                    return failure
        return None

    def _start(self, slot: _Slot, sock: socket.socket | None = None) -> None:
        """Start a process for ``slot`` on ``sock``; a replacement, on a socket of its own that is
        bound but listens only once the process serves (asyncio listens as uvicorn starts)."""
        if sock is None:
            try:
                sock = self._fresh_socket()
            except OSError as error:
                delay = self._later(slot, young=True)
                log.warning("cannot bind again: %s; trying in %.1f s", error.strerror, delay)
                return
        line, process_line = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_serve_one, args=(sock, self.app, self.options, process_line)
        )
        process.start()
        process_line.close()
        slot.running = _Running(process, sock, line, time.monotonic())

    def _fresh_socket(self) -> socket.socket:
        # While none of ours listens, the port is free to others: see that none took it.
        if not any(_listens(slot.running.sock) for slot in self.slots if slot.running):
            _refuse_if_taken(self.host, self.port)
        return _bound_socket(self.host, self.port, reuse_port=True)

    def _ended(self, slot: _Slot, ended: _Running) -> str | None:
        """Schedule the replacement of the slot's process, which has just ended; or, when it
        ended before the server ever served on the slot, the reason the server failed to start."""
        process, served = ended.process, _served(ended.line)
        ended.line.close()
        # Connections the process had not accepted yet are reset; new ones go to the others.
        ended.sock.close()
        slot.running = None
        if slot.first and not served:
            process.join()
            return f"a server process exited during start-up ({_exit_status(process.exitcode)})"
        slot.first = False
        delay = self._later(slot, young=time.monotonic() - ended.started < STEADY_SECONDS)
        process.join()
        log.warning(
            "server process %d exited (%s); replacing it in %.1f s",
            process.pid,
            _exit_status(process.exitcode),
            delay,
        )
        return None

    def _later(self, slot: _Slot, *, young: bool) -> float:
        """Schedule the slot's next start; the delay until then."""
        if not young:
            slot.delay = RESTART_SECONDS
        delay = slot.delay
        slot.restart_at = time.monotonic() + delay
        slot.delay = min(delay * 2, MAX_RESTART_SECONDS)
        return delay

    def _stop_processes(self) -> None:
        processes = [slot.running.process for slot in self.slots if slot.running is not None]
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + self.stop_seconds
        for process in processes:
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                process.kill()
                process.join()


def _served(line: Connection) -> bool:
    """Whether a process that has ended said it served. Its end of the line is closed, and the
    supervisor holds none that writes, so reading cannot block."""
    try:
        return line.poll() and line.recv_bytes() == _SERVING
    except EOFError:
        return False


def _listens(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) != 0


def _exit_status(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"


def _refuse_if_taken(host: str, port: int) -> None:
    """Without ``SO_REUSEPORT`` a bind fails if anything listens there; with it, our sockets
    would silently share the port with another server started the same way."""
    _bound_socket(host, port, reuse_port=False).close()


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = _bound_socket(host, port, reuse_port=True)
    sock.listen(BACKLOG)
    return sock


def _bound_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _serve_one(sock: socket.socket, app: str, options: dict[str, Any], line: Connection) -> None:
    server = _Server(uvicorn.Config(app, **options), line)
    threading.Thread(target=_stop_when_orphaned, args=(server,), daemon=True).start()
    server.run(sockets=[sock])


class _Server(uvicorn.Server):
    """A uvicorn server that tells its supervisor once it serves."""

    def __init__(self, config: uvicorn.Config, line: Connection) -> None:
        super().__init__(config)
        self.line = line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            # The supervisor may be gone: _stop_when_orphaned stops the server then.
            with contextlib.suppress(OSError):
                self.line.send_bytes(_SERVING)


def _stop_when_orphaned(server: uvicorn.Server) -> None:
    """Stop the server once its supervisor has gone, however it went, so that the port is free
    for the next one. A spawned process reads its start from a pipe whose other end only the
    supervisor holds, and ``parent_process()`` waits on that pipe: no polling, and no window
    between the process's start and this thread's."""
    supervisor = multiprocessing.parent_process()
    if supervisor is None:
        return
    supervisor.join()
    log.warning("the supervisor has gone: stopping")
    server.should_exit = True
    time.sleep(ORPHAN_STOP_SECONDS)
    log.warning("still busy %d s after the supervisor went: exiting", ORPHAN_STOP_SECONDS)
    os._exit(1)
