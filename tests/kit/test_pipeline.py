"""One request pipeline (kit/routing.py): every route of every surface, fast or not, passes the
same steps, generated from the route table so that a route added later is covered too.

The structure makes a step that applies to one path and not the other impossible: every route
is a ``TransactionalRoute`` whose handler is the one ``pipeline`` (guards, ``Idempotency-Key``,
the unit of work), the fast dispatch (kit/fast.py) has no step of its own and calls that same
``pipeline``, and the rest (request ids, logs and metrics, rate limits, input limits, error
rendering) are layers around both. The behaviour shows it on every operation: each answers a
request without credentials with 401 in its surface's error shape, carrying its request id and
counted in the metrics under its route; each POST runs the ``Idempotency-Key`` check; each is
refused once over its rate limit."""

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.routing import iter_route_contexts
from prometheus_client import REGISTRY
from starlette.routing import Match

from openbenefits.app import create_app
from openbenefits.config import Settings
from openbenefits.kit.db import Database
from openbenefits.kit.fast import fast_routes
from openbenefits.kit.idempotency import MAX_KEY_LENGTH
from openbenefits.kit.routing import TransactionalRoute
from tests.fast_dispatch import dispatch_of
from tests.helpers import admin_headers
from tests.security.matrix import PUBLIC_PATHS, Filler, call, components, operations, send
from tests.security.world import TenantWorld, build_tenant

# Served by the framework alone: the OpenAPI document, its viewers and the error catalogue, the
# console's assets,
# operations, downloads.
OUTSIDE_THE_PIPELINE = {
    "/openapi.json",
    "/docs",
    "/docs/assets",
    "/errors",
    "/redoc",
    "/healthz",
    "/readyz",
    "/metrics",
    "/files/{key:path}",
    "/console/static",
}
# The hot paths (PRODUCT.md, ENGINEERING.md): these and only these are declared fast.
HOT = {
    ("GET", "/v1/customers/benefits"),
    ("GET", "/v1/customers/{customerId}/benefits"),
    ("POST", "/v1/customers/{customerId}/benefits/{benefitKey}/use"),
    # The dry run of a use is read as often as the check it refines.
    ("GET", "/v1/customers/{customerId}/benefits/{benefitKey}/check"),
    ("POST", "/customers/v2/benefits/contracts/validate-consumptions"),
    ("GET", "/customers/v2/benefits/entitlements/{customerNumber}/by-customer-number"),
    ("POST", "/customers/v2/benefits/contracts/{uuid}/points-transactions"),
}
STEPS = ("get_route_handler", "pipeline", "_unit_of_work")


def _routes(app: FastAPI) -> list[TransactionalRoute]:
    found = []
    for context in iter_route_contexts(app.routes):
        if context.path in OUTSIDE_THE_PIPELINE:
            continue
        route = context.original_route
        assert isinstance(route, TransactionalRoute), context.path
        assert context.path == route.path
        found.append(route)
    return found


def test_every_route_runs_the_one_pipeline(app: FastAPI) -> None:
    routes = _routes(app)
    assert len(routes) > 100
    for route in routes:
        for step in STEPS:
            assert getattr(type(route), step) is getattr(TransactionalRoute, step), route.path
        if route.path not in PUBLIC_PATHS:
            assert route.guards, f"{route.path}: no guard"


def test_the_fast_dispatch_calls_the_pipeline_of_the_routes_declared_fast(app: FastAPI) -> None:
    dispatch = dispatch_of(app)
    # Nothing between it and the router's walk but FastAPI's exit stack for uploaded files.
    assert isinstance(dispatch.app, AsyncExitStackMiddleware)
    assert dispatch.app.app is app.router
    declared = [route for route in _routes(app) if route.fast]
    assert [route for route, _ in dispatch.calls] == declared == fast_routes(app.router)
    assert {(method, route.path) for route in declared for method in route.methods} == HOT


def test_the_dispatch_takes_only_requests_the_router_would_give_the_same_route(
    app: FastAPI,
) -> None:
    routes = _routes(app)
    for route in fast_routes(app.router):
        path = route.path
        for name in route.param_convertors:
            path = path.replace(f"{{{name}}}", "1")
        for method in route.methods:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            first = next(r for r in routes if r.matches(scope)[0] is Match.FULL)
            assert first is route, (method, path, first.path)


@pytest.fixture
async def world(plain_client, settings, clock) -> TenantWorld:
    return await build_tenant(plain_client, settings, clock, "pipeline")


def _requests(route: str, method: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("openbenefits_http_requests_total", labels) or 0.0


def _error_shape(response: httpx.Response, path: str) -> str | None:
    """What is wrong with an error answer's shape on ``path``'s surface, if anything."""
    request_id = response.headers.get("x-request-id")
    if response.request.method == "HEAD":  # no body to shape
        return None if request_id else "no request id"
    body = response.json()
    if request_id is None or body.get("traceId") != request_id:
        return "no request id"
    if path.startswith("/v1/"):
        return None if "errorCode" in body else "not the studio ErrorResponse"
    if response.headers["content-type"] != "application/problem+json" or "code" not in body:
        return "not application/problem+json"
    return None


async def test_every_operation_passes_authentication_metrics_error_rendering_and_idempotency(
    app: FastAPI, plain_client: httpx.AsyncClient, world: TenantWorld, settings, clock
) -> None:
    filler = Filler(components(app), world.ids)
    admin = admin_headers(settings, clock)  # global: every admin operation is open to it
    # Documented as {path}, routed as {path:path}: metrics name the route's own template.
    templates = {re.sub(r":\w+}", "}", route.path): route.path for route in _routes(app)}
    failures: list[str] = []
    checked = posts = 0
    for op in operations(app):
        if op.surface == "public":
            continue
        request = call(op, filler)
        route = templates[op.path]
        counted = _requests(route, op.method, 401)
        anonymous = await send(plain_client, request, {})
        if anonymous.status_code != 401:
            failures.append(f"{op.name}: {anonymous.status_code} without credentials")
            continue
        if (wrong := _error_shape(anonymous, op.path)) is not None:
            failures.append(f"{op.name}: {wrong}")
        if _requests(route, op.method, 401) != counted + 1:
            failures.append(f"{op.name}: not counted under its route")
        checked += 1
        if op.method == "POST":
            credentials = admin if op.surface == "admin" else world.credentials(op.path)
            key = {"Idempotency-Key": "k" * (MAX_KEY_LENGTH + 1)}
            answer = await send(plain_client, request, {**credentials, **key})
            body = answer.json() if answer.content else {}
            if (body.get("errorCode") or body.get("code")) != "INVALID_IDEMPOTENCY_KEY":
                failures.append(f"{op.name}: the Idempotency-Key was not checked")
            posts += 1
    assert not failures, "\n".join(failures)
    assert checked > 100
    assert posts > 40


async def test_every_operation_is_rate_limited(
    app: FastAPI,
    world: TenantWorld,
    settings: Settings,
    db: Database,
    clock,
    blobs,
) -> None:
    once = {
        f"rate_limit_{surface}_per_credential": "1/hour"
        for surface in ("studio", "loyalty", "admin")
    }
    limited = create_app(settings.model_copy(update=once), db=db, clock=clock, blobs=blobs)
    filler = Filler(components(app), world.ids)
    admin = admin_headers(settings, clock)
    transport = httpx.ASGITransport(app=limited, raise_app_exceptions=False)
    failures: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ops = [op for op in operations(app) if op.surface != "public"]
        for surface in {op.surface for op in ops}:  # each credential's one request
            first = next(op for op in ops if op.surface == surface)
            credentials = admin if surface == "admin" else world.credentials(first.path)
            await send(client, call(first, filler), credentials)
        for op in ops:
            credentials = admin if op.surface == "admin" else world.credentials(op.path)
            answer = await send(client, call(op, filler), credentials)
            if answer.status_code != 429 or "retry-after" not in answer.headers:
                failures.append(f"{op.name}: {answer.status_code} over the limit")
    assert not failures, "\n".join(failures)
