"""The fast dispatch: routes whose endpoint is declared ``@fast`` (kit/routing.py) are served
without the framework's per-request machinery — the walk over every route, dependency
resolution — and still through everything else a request passes.

A fast route is an ordinary route: one definition gives its OpenAPI entry, its parameters, its
answer and its guard. The dispatch sits right inside the app's exception handling (after every
middleware, so its errors render as every other route's), matches the fast routes by method and
path pattern as the router would, reads the parameters with the framework's own validators and,
when they are valid, runs the route's ``pipeline`` — the same guards, idempotency and unit of
work as a request the router brings — around a direct call of the endpoint, whose answer it
renders with the route's own response field. Parameters that do not validate, and bodies it
does not read (not declared JSON, chunked, malformed), go on to the router, which answers them
as it answers any request.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi._compat import ModelField, Undefined, field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _validate_value_with_model_field,
)
from fastapi.routing import APIRouter, iter_route_contexts
from starlette.datastructures import Headers, QueryParams
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbenefits.kit.routing import (
    PRINCIPAL,
    WORK,
    Guard,
    TransactionalRoute,
    get_clock,
    provide_clock,
    provide_work,
)

_JSON = "application/json"
Provider = Callable[[Request], Any]


def _principal(request: Request) -> Any:
    # The guards ran first in the pipeline; authentication keeps its principal on the request
    # (routing.authenticated), and the guard's dependency would hand the endpoint that one.
    return request.scope[PRINCIPAL]


_PROVIDERS: dict[Any, Provider] = {
    provide_work: lambda request: request.scope[WORK],
    provide_clock: get_clock,
}


def _provider(dependency: Dependant) -> tuple[str, Provider]:
    assert dependency.name is not None
    if isinstance(dependency.call, Guard):
        return dependency.name, _principal
    provider = _PROVIDERS.get(dependency.call)
    if provider is None:
        raise TypeError(
            f"a fast endpoint depends only on the pipeline's own values, not {dependency.call}"
        )
    return dependency.name, provider


_NO_QUERY = QueryParams()
_SOURCES: dict[str, Callable[[Request], Any]] = {
    "path": lambda request: request.path_params,
    # Most fast requests have no query: nothing to parse then.
    "query": lambda request: request.query_params if request.scope["query_string"] else _NO_QUERY,
    "header": lambda request: request.headers,
}


_IMMUTABLE = (type(None), bool, int, float, str, Enum)


@dataclass(frozen=True)
class _Param:
    """A path, query or header parameter, read and validated as the framework does it (its
    request key, a list for a sequence, the default when absent); what the framework works out
    on every request is worked out here once."""

    field: ModelField
    source: Callable[[Request], Any]
    key: str
    loc: tuple[str, str]
    sequence: bool
    # An optional parameter's immutable default, answered as it is when the parameter is
    # absent (the framework would copy it twice); Undefined: the framework's own way.
    absent: Any

    @classmethod
    def of(cls, field: ModelField, source: str) -> "_Param":
        aliases = _get_param_aliases(field, convert_underscores=source == "header")
        if len(aliases) != 1 or _get_param_model(field) is not None:
            raise TypeError(f"{field.name}: a fast parameter has one name and is no model")
        key = aliases[0][1]
        sequence = source != "path" and field_annotation_is_sequence(field.field_info.annotation)
        info = field.field_info
        plain_default = (
            not info.is_required()
            and not info.validate_default
            and info.default_factory is None
            and isinstance(info.default, _IMMUTABLE)
        )
        absent = info.default if plain_default else Undefined
        return cls(field, _SOURCES[source], key, (source, key), sequence, absent)

    def read(self, request: Request, values: dict[str, Any]) -> tuple[bool, Any]:
        received = self.source(request)
        value = received.getlist(self.key) if self.sequence else received.get(self.key)
        if value is None or (self.sequence and not value):
            if self.absent is not Undefined:
                return True, self.absent
            value = Undefined
        found, errors = _validate_value_with_model_field(
            field=self.field, value=value, values=values, loc=self.loc
        )
        return not errors, found


class FastCall:
    """A fast route's parameters and endpoint, read from the route's own declaration."""

    def __init__(self, route: TransactionalRoute) -> None:
        dependant = route.dependant
        unsupported = (
            dependant.cookie_params,
            dependant.request_param_name,
            dependant.background_tasks_param_name,
        )
        if any(unsupported):
            raise TypeError(f"{route.path}: a fast endpoint takes no cookies, request or tasks")
        if len(dependant.body_params) > 1 or route._embed_body_fields:
            raise TypeError(f"{route.path}: a fast endpoint's body is one model, not embedded")
        # Validated as the framework validates a single body that is not embedded.
        self.body = dependant.body_params[0] if dependant.body_params else None
        self.route = route
        self.dependant = dependant
        self.params = [
            _Param.of(field, source)
            for source, fields in (
                ("path", dependant.path_params),
                ("query", dependant.query_params),
                ("header", dependant.header_params),
            )
            for field in fields
        ]
        self.providers = [_provider(dependency) for dependency in dependant.dependencies]
        self.status_code = route.status_code
        # The answer serialized as the framework serializes it, without validating the
        # endpoint's own typed answer again on its way out. Without a response model the
        # endpoint answers a Response itself.
        field = route.response_field
        self.render = (
            None
            if field is None
            else partial(
                field.serialize_json,
                by_alias=route.response_model_by_alias,
                exclude_none=route.response_model_exclude_none,
            )
        )

    def arguments(self, request: Request, body: bytes | None) -> dict[str, Any] | None:
        """The endpoint's parameters from the request and its JSON ``body`` (None: not read),
        or None when the router is to answer the request."""
        values: dict[str, Any] = {}
        for param in self.params:
            valid, value = param.read(request, values)
            if not valid:
                return None
            values[param.field.name] = value
        if self.body is not None:
            try:
                received = json.loads(body) if body is not None else None
            except ValueError:
                return None
            if received is None:
                return None
            value, errors = _validate_value_with_model_field(
                field=self.body, value=received, values=values, loc=("body",)
            )
            if errors:
                return None
            values[self.body.name] = value
        return values

    async def __call__(self, values: dict[str, Any], request: Request) -> Response:
        """The endpoint called with ``values`` and the pipeline's own, its answer rendered as
        the framework renders it."""
        arguments = dict(values)
        for name, provider in self.providers:
            arguments[name] = provider(request)
        # The endpoint may set the status on a Response it takes, as under the framework.
        sub_response = None
        if self.dependant.response_param_name:
            sub_response = Response()
            sub_response.status_code = None  # type: ignore[assignment]
            arguments[self.dependant.response_param_name] = sub_response
        assert self.dependant.call is not None
        answer = await self.dependant.call(**arguments)
        if isinstance(answer, Response):
            return answer
        if self.render is None:
            raise TypeError(f"{self.route.path}: no response model, and no Response answered")
        status = (sub_response and sub_response.status_code) or self.status_code or 200
        return Response(self.render(answer), status_code=status, media_type=_JSON)


async def _declared_json(scope: Scope, receive: Receive) -> bytes | None:
    """The body, if it is declared JSON and of declared length (a chunked body could overrun
    the size limit while this reads it; the router reads those)."""
    headers = Headers(scope=scope)
    content_type = headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != _JSON or "content-length" not in headers:
        return None
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The ``receive`` for the router: the body the dispatch read, then the rest."""
    replayed = False

    async def replay_body() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay_body


class FastRoutes:
    """Installed as the router's innermost layer (``install``)."""

    def __init__(self, app: ASGIApp, routes: Sequence[TransactionalRoute]) -> None:
        self.app = app
        self.calls = [(route, FastCall(route)) for route in routes]
        self.by_method: dict[str, list[tuple[TransactionalRoute, FastCall]]] = {}
        for route, call in self.calls:
            for method in route.methods or ():
                self.by_method.setdefault(method, []).append((route, call))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route, call in self.by_method.get(scope["method"], ()):
                match = route.path_regex.match(scope["path"])
                if match is None:
                    continue
                # What the route's own full match puts into the scope (fast_routes made sure
                # it is served at its own path, under no mount).
                convertors = route.param_convertors
                path_params = {
                    name: convertors[name].convert(value)
                    for name, value in match.groupdict().items()
                }
                scope.update(endpoint=route.endpoint, path_params=path_params, route=route)
                body = await _declared_json(scope, receive) if call.body is not None else None
                if body is not None:
                    receive = _replay(body, receive)
                request = Request(scope, receive, send)
                values = call.arguments(request, body)
                if values is None:
                    break
                response = await route.pipeline(request, partial(call, values))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def fast_routes(router: APIRouter) -> list[TransactionalRoute]:
    """The router's fast routes, in its order. Routers are included without a prefix or
    dependencies of their own, so a route's own path and guards are the ones it serves with."""
    found = []
    for context in iter_route_contexts(router.routes):
        route = context.original_route
        if isinstance(route, TransactionalRoute) and route.fast:
            if context.path != route.path:
                raise TypeError(f"{route.path} is served at {context.path}: not fast-servable")
            found.append(route)
    return found


def exception_handling(stack: ASGIApp) -> ExceptionMiddleware:
    """The layer of an app's middleware ``stack`` that renders errors as answers."""
    layer: Any = stack
    while not isinstance(layer, ExceptionMiddleware):
        layer = layer.app
    return layer


class FastDispatchApp(FastAPI):
    """The application, with the fast dispatch for its router's fast routes installed right
    inside its exception handling: after every middleware, like the routes themselves, and in
    front of FastAPI's exit stack (which closes uploaded files: no fast route takes any) and the
    router's walk, which serve every request the dispatch does not."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        handling = exception_handling(stack)
        handling.app = FastRoutes(handling.app, fast_routes(self.router))
        return stack
