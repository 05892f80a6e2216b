"""An app for the shutdown tests (tests/test_serving.py): a request sleeps as many seconds as
its query says, then answers with its process id; the lifespan's shutdown takes a moment, like
background jobs finishing, then leaves a file named after the process in SERVING_TEST_STOPPED."""

import asyncio
import os
from pathlib import Path
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

SHUTDOWN_SECONDS = 0.5


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.sleep(SHUTDOWN_SECONDS)
                (Path(os.environ["SERVING_TEST_STOPPED"]) / str(os.getpid())).touch()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    query = parse_qs(scope["query_string"].decode())
    await asyncio.sleep(float(query.get("seconds", ["0"])[0]))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
