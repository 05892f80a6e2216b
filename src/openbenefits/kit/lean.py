"""The lean lane: the hottest studio routes served on PostgreSQL without the framework's
per-request machinery (dependency resolution, response models, the ORM session).

A lean route answers the common case only: a well-formed request whose API key this process
already knows and whose scopes suffice. It returns ``None`` for anything else (an unknown key,
a parameter to validate, an ``Idempotency-Key``), and the request goes on to the framework's
route at the same path, which is documented in the OpenAPI description, validates and answers
it. Both call the same service functions, so the rules have one implementation; only the
request plumbing differs. Installed inside the request-context middleware, so lean answers carry
request ids and are logged and measured like any other.
"""

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbenefits.kit import driver
from openbenefits.kit.driver import Fetch
from openbenefits.kit.error_handlers import handle_app_error
from openbenefits.kit.errors import AppError
from openbenefits.kit.security import hash_secret
from openbenefits.tenancy.principals import StudioPrincipal

# The largest id a BIGINT column holds has 19 digits; longer ones are left to the framework.
MAX_ID_DIGITS = 18


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    media_type: str | None = None


def json_answer(content: Any) -> Answer:
    # Rendered as the framework's JSONResponse renders.
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Answer(200, body.encode(), "application/json")


class LeanRequest:
    def __init__(self, scope: Scope, receive: Receive, match: re.Match[str]) -> None:
        self.scope = scope
        self.match = match
        self.state: State = scope["app"].state
        self._receive = receive
        self._body: bytes | None = None

    async def body(self) -> bytes:
        """The request body (read once; a deferred request gets it again, ``replay``)."""
        if self._body is None:
            chunks = []
            while True:
                message = await self._receive()
                chunks.append(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            self._body = b"".join(chunks)
        return self._body

    def replay(self) -> Receive:
        """The ``receive`` for the framework's route: the body again, if the lane read it."""
        if self._body is None:
            return self._receive
        body, receive = self._body, self._receive
        replayed = False

        async def replay_body() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay_body

    @asynccontextmanager
    async def fetch(self) -> AsyncIterator[Fetch]:
        """Statements on a bare driver connection of the pool, in autocommit."""
        db = self.state.db
        async with db.driver_connection() as connection:
            yield driver.on_driver(connection, db.read_engine.dialect)

    def header(self, name: bytes) -> str | None:
        return next(
            (value.decode("latin-1") for key, value in self.scope["headers"] if key == name),
            None,
        )

    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.scope["query_string"].decode("latin-1"), keep_blank_values=True)

    def bearer_token(self) -> str | None:
        """The credentials of an ``Authorization: Bearer`` header, read as the framework's
        ``HTTPBearer`` reads them."""
        scheme, credentials = get_authorization_scheme_param(self.header(b"authorization"))
        return credentials if scheme.lower() == "bearer" and credentials else None

    def principal(self, *scopes: str) -> StudioPrincipal | None:
        """The API key's principal if this process knows it and it holds one of ``scopes``."""
        key = self.header(b"x-api-key")
        if not key:
            return None
        principal: StudioPrincipal | None = self.state.principals.get(
            hash_secret(self.state.settings.signing_key, key)
        )
        if principal is None or principal.scopes.isdisjoint(scopes):
            return None
        return principal


@dataclass(frozen=True)
class LeanRoute:
    method: str
    path: str  # the framework route's template: logs and metrics name the route by it
    pattern: re.Pattern[str]
    handler: Callable[[LeanRequest], Awaitable[Answer | None]]


class LeanRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[LeanRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match = route.pattern.match(scope["path"])
                if match is None or scope["method"] != route.method:
                    continue
                request = LeanRequest(scope, receive, match)
                try:
                    answer = await route.handler(request)
                except AppError as error:
                    scope["route"] = route
                    response = await handle_app_error(Request(scope), error)
                    await response(scope, receive, send)
                    return
                if answer is not None:
                    scope["route"] = route
                    await _send(answer, send)
                    return
                receive = request.replay()
        await self.app(scope, receive, send)


async def _send(answer: Answer, send: Send) -> None:
    headers = [(b"content-length", str(len(answer.body)).encode())]
    if answer.media_type is not None:
        headers.append((b"content-type", answer.media_type.encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
