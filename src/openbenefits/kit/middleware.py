"""ASGI middleware: request ids and access logging with metrics, and the request body limit."""

import re
import time
import uuid
from collections.abc import Sequence

import structlog
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbenefits.kit.context import request_id_var
from openbenefits.kit.error_handlers import handle_app_error, handle_unexpected
from openbenefits.kit.errors import PayloadTooLarge
from openbenefits.kit.metrics import observe_request

log = structlog.get_logger()

# A client's correlation id is echoed and logged, so it must be short and harmless.
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    """Gives each request an id, echoes ``X-Correlation-Id``, logs and measures the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = uuid.uuid4().hex
        offered = headers.get("x-correlation-id", "")
        correlation_id = offered if _CORRELATION_ID.match(offered) else request_id
        request_id_var.set(request_id)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id,
            correlation_id=correlation_id,
            client_name=headers.get("et-client-name"),
        )
        status = 500
        status_sent = False
        started = time.perf_counter()

        async def send_with_ids(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception as error:
            # Answer here rather than in Starlette's outer error middleware, so that the 500
            # carries the request's ids like every other response.
            if status_sent:
                raise
            response = await handle_unexpected(Request(scope), error)
            await response(scope, receive, send_with_ids)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "<unmatched>")
            observe_request(scope["method"], template, status, elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413: by ``Content-Length`` up front, and by counting
    for chunked uploads, so a client can never make the server buffer an unbounded body.

    The limit is ``max_bytes``, or that of the first of ``larger`` whose pattern matches the path
    (file uploads), so only the routes that need big bodies accept them.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger

    def limit(self, path: str) -> int:
        return next(
            (limit for pattern, limit in self.larger if pattern.match(path)), self.max_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Refused before the app runs, so render here in the surface's error shape.
            error = PayloadTooLarge(f"The request body exceeds {limit} bytes.")
            response = await handle_app_error(Request(scope), error)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException, because FastAPI turns any other error raised while it
                    # reads the body into a generic 400.
                    raise HTTPException(413, f"The request body exceeds {limit} bytes.")
            return message

        await self.app(scope, limited_receive, send)
