"""A real HTTP receiver on loopback, in the test process: records every request and answers
with the statuses it is told to (then 200), as slowly as it is told to."""

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    # How long it takes to answer; set once a request has arrived.
    delay: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Received(headers, body))
        self.arrived.set()
        await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        answer = b"ok" if status < 300 else b"nope"
        reply = f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\nConnection: close"
        writer.write(f"{reply}\r\n\r\n".encode() + answer)
        await writer.drain()
        writer.close()


@asynccontextmanager
async def running_receiver(tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """A receiver speaking HTTP, or HTTPS with ``tls``."""
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    receiver.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/hooks"
    async with server:
        yield receiver
        server.close()
