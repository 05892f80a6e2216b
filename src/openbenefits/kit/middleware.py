"""ASGI middleware: request ids and access logging with metrics, and the limits input meets
before anything parses it: the body's size, the nesting depth of JSON, no NUL in the URL."""

import re
import time
import uuid
from collections.abc import Sequence

import structlog
from opentelemetry.trace import Span
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbenefits.kit.context import correlation_id_var, request_id_var
from openbenefits.kit.error_handlers import (
    handle_app_error,
    handle_http_exception,
    handle_unexpected,
    render_error,
    validation_status,
)
from openbenefits.kit.errors import PayloadTooLarge
from openbenefits.kit.metrics import observe_request
from openbenefits.kit.tracing import recording_span, trace_id

log = structlog.get_logger()

# A client's correlation id is echoed and logged, so it must be short and harmless.
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    """Gives each request an id, echoes ``X-Correlation-Id``, logs and measures the request.

    When the request is traced, its id is the trace's id (so ``X-Request-Id``, the logs and the
    ``traceId`` of an error body all name the trace) and its span is named by the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        span = recording_span()
        request_id = trace_id(span) if span else uuid.uuid4().hex
        offered = headers.get("x-correlation-id", "")
        correlation_id = offered if _CORRELATION_ID.match(offered) else request_id
        request_id_var.set(request_id)
        correlation_id_var.set(correlation_id)
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
                if span:  # before the response ends it
                    _name_by_route(span, scope)
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


def _name_by_route(span: Span, scope: Scope) -> None:
    template = getattr(scope.get("route"), "path", "<unmatched>")
    span.update_name(f"{scope['method']} {template}")
    span.set_attribute("http.route", template)


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


# Far deeper than any request body we take (five levels), far shallower than the stack the
# parsers (Python's json module, pydantic) recurse on.
MAX_JSON_DEPTH = 32
_JSON_TOKENS = re.compile(rb'[\[\]{}"\\]')
_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


class JsonNesting:
    """The nesting depth of a JSON text read chunk by chunk: brackets outside strings count."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        # A backslash in a string ended the previous chunk: this chunk's first byte is escaped.
        self.escaped = False

    def feed(self, chunk: bytes) -> int:
        """The deepest nesting reached so far within ``chunk``."""
        deepest = self.depth
        skipped = 0 if self.escaped else -1
        self.escaped = False
        for token in _JSON_TOKENS.finditer(chunk):
            at = token.start()
            if at == skipped:
                continue
            byte = chunk[at]
            if self.in_string:
                if byte == _BACKSLASH:
                    skipped = at + 1
                    self.escaped = skipped == len(chunk)
                elif byte == _QUOTE:
                    self.in_string = False
            elif byte == _QUOTE:
                self.in_string = True
            elif byte in _OPENERS:
                self.depth += 1
                deepest = max(deepest, self.depth)
            elif byte in _CLOSERS:
                self.depth -= 1
        return deepest


def _is_json(scope: Scope) -> bool:
    """Whether the body is one the framework parses as JSON (as FastAPI decides it: no content
    type, or application/json or application/*+json) and there is one. Runs for every request:
    one pass over the raw headers (the server gives their names in lower case)."""
    length, chunked, media_type = b"0", False, None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"content-type" and media_type is None:
            media_type = value
    if length == b"0" and not chunked:
        return False
    media = (media_type or b"").split(b";")[0].strip().lower()
    return media in (b"", b"application/json") or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class JsonDepthMiddleware:
    """Refuses a JSON body nested deeper than ``max_depth`` before anything parses it: the
    parsers recurse once per level, so a deep enough document would exhaust the stack in any
    of them (the framework's, the token endpoint's, the fast dispatch's). The body is read ahead
    and checked as it arrives, so a refusal does not wait for the rest; the app then reads it
    unchanged. Installed inside the size limit, which bounds what is read ahead."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        # Nesting deeper than the limit needs more opening brackets than the limit, and counting
        # them runs at C speed: only a body with that many is scanned, from its start.
        openers = 0
        nesting: JsonNesting | None = None
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                body = message.get("body", b"")
                openers += body.count(b"[") + body.count(b"{")
                if openers > self.max_depth:
                    unread = [body] if nesting else [m.get("body", b"") for m in messages]
                    nesting = nesting or JsonNesting()
                    if any(nesting.feed(chunk) > self.max_depth for chunk in unread):
                        await self._refuse(scope, receive, send)
                        return
                if not message.get("more_body"):
                    break
        except HTTPException as error:
            # The size limit, counting a chunked body.
            response = await handle_http_exception(Request(scope), error)
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # 400 on every surface, as JSON that does not parse (MALFORMED_JSON) is.
        response = render_error(
            Request(scope),
            400,
            "JSON_TOO_DEEP",
            f"The JSON body nests deeper than {self.max_depth} levels.",
        )
        await response(scope, receive, send)


class NulMiddleware:
    """Refuses a path or query string holding a NUL character (``%00``), as the surface
    answers invalid input: no text the service keeps or looks up may hold one (PostgreSQL
    cannot store it), and any path or query parameter of any route could carry it there. Bodies
    are held to the same rule by the request models (kit/schemas.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            request = Request(scope)
            response = render_error(
                request,
                validation_status(request.url.path),
                "NUL_CHARACTER",
                "The path and the query must not contain NUL characters.",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
