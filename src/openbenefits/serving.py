"""Serving an ASGI app from several processes, each with a listening socket of its own.

uvicorn's own workers share one socket, and whichever process wakes first accepts a burst of new
connections: under keep-alive clients one process ends up with most of them while the other
idles. Here every process gets its own socket on the same address (``SO_REUSEPORT``), and the
kernel spreads new connections across them. The supervisor replaces a process that dies, gives
up when one dies during start-up (a replacement would fail the same way), and stops them all on
SIGINT or SIGTERM.
"""

import multiprocessing
import signal
import socket
import time
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

import uvicorn

# uvicorn's default backlog.
BACKLOG = 2048
STOP_SECONDS = 30
# A process that dies sooner than this after its start is taken to have failed to start.
START_SECONDS = 10


def serve(
    app: str,
    *,
    host: str,
    port: int,
    workers: int,
    start_seconds: float = START_SECONDS,
    **options: Any,
) -> None:
    """Serve ``app`` (an import string, as uvicorn takes it) with ``workers`` processes;
    ``options`` go to ``uvicorn.Config``. A process that dies within ``start_seconds`` of its
    start failed to start."""
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **options)
        return
    try:
        _refuse_if_taken(host, port)
        sockets = [_listening_socket(host, port) for _ in range(workers)]
    except OSError as error:
        raise SystemExit(f"cannot listen on {host}:{port}: {error.strerror}") from error
    context = multiprocessing.get_context("spawn")
    started: dict[SpawnProcess, float] = {}

    def start(sock: socket.socket) -> SpawnProcess:
        process = context.Process(target=_serve_one, args=(sock, app, options))
        process.start()
        started[process] = time.monotonic()
        return process

    processes = {sock: start(sock) for sock in sockets}
    stopping = False
    failed = False

    def stop(_signal: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        for sock, process in processes.items():
            process.join(timeout=0.5 / workers)
            if process.is_alive() or stopping:
                continue
            if time.monotonic() - started.pop(process) < start_seconds:
                stopping = failed = True
                break
            processes[sock] = start(sock)
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
    if failed:
        raise SystemExit("a server process exited during start-up")


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


def _serve_one(sock: socket.socket, app: str, options: dict[str, Any]) -> None:
    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
