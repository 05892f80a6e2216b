"""Traces (kit/tracing.py), read from the SDK's in-memory exporter: one span tree per request on
every operation (generated from the route table), fast paths with their statements, the caller's
traceparent continued, the trace id in error bodies and logs, the trace carried by the outbox
into the webhook delivery, OTLP export when an endpoint is configured, nothing when it is not."""

import json
import re
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id
from sqlalchemy import select

from openbenefits import __version__
from openbenefits.app import create_app
from openbenefits.config import Settings
from openbenefits.kit import tracing
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.kit.outbox import OutboxEvent
from openbenefits.webhooks import worker
from tests.chain import Chain
from tests.security.matrix import Filler, call, components, operations, send
from tests.security.world import TenantWorld, build_tenant
from tests.tracing import Traced, traceparent
from tests.webhooks.receiver import running_receiver
from tests.webhooks.subscriptions import subscribe


def _tree_problem(spans: list[ReadableSpan], parent_id: str, name: str) -> str | None:
    """What is wrong with ``spans`` as one request's tree under the caller's span."""
    servers = [span for span in spans if span.kind == SpanKind.SERVER]
    if len(servers) != 1:
        return f"{len(servers)} server spans"
    [server] = servers
    if server.parent is None or format_span_id(server.parent.span_id) != parent_id:
        return "the server span does not continue the caller's"
    if server.name != name:
        return f"the server span is named {server.name!r}"
    ids = {span.context.span_id for span in spans}
    orphans = [
        s.name
        for s in spans
        if s is not server and (s.parent is None or s.parent.span_id not in ids)
    ]
    return f"spans outside the tree: {orphans}" if orphans else None


@pytest.fixture
async def world(
    plain_client: httpx.AsyncClient, settings: Settings, clock: FixedClock
) -> TenantWorld:
    return await build_tenant(plain_client, settings, clock, "traced")


async def test_every_operation_answers_in_one_span_tree_continuing_the_callers_trace(
    app: FastAPI, traced: Traced, world: TenantWorld
) -> None:
    filler = Filler(components(app), world.ids)
    # Documented as {path}, routed as {path:path}: spans name the route's own template.
    routes = [context.path for context in iter_route_contexts(app.routes)]
    templates = {re.sub(r":\w+}", "}", path): path for path in routes}
    failures: list[str] = []
    checked = with_statements = 0
    for op in operations(app):
        credentials = {} if op.surface == "public" else world.credentials(op.path)
        trace_id, parent_id, header = traceparent()
        answer = await send(traced.client, call(op, filler), {**credentials, "traceparent": header})
        if answer.headers.get("x-request-id") != trace_id:
            failures.append(f"{op.name}: X-Request-Id is not the trace id")
        errs = answer.status_code >= 400 and answer.request.method != "HEAD"
        if errs and answer.json().get("traceId") != trace_id:
            failures.append(f"{op.name}: the error's traceId is not the trace id")
        name = f"{op.method} {templates.get(op.path, op.path)}"
        if problem := _tree_problem(traced.spans(trace_id), parent_id, name):
            failures.append(f"{op.name}: {problem}")
        checked += 1
        with_statements += any(s.kind == SpanKind.CLIENT for s in traced.spans(trace_id))
    assert not failures, "\n".join(failures)
    assert checked > 120
    # Nearly every operation reads the database; each statement is a span of its request's.
    assert with_statements > checked * 0.8


async def test_an_event_carries_its_trace_into_the_webhook_delivery(
    traced: Traced, chain: Chain, db: Database, clock: FixedClock, settings: Settings
) -> None:
    async with running_receiver() as receiver:
        await subscribe(chain, f"{receiver.url}?token=partner-secret", chain.studio_a)
        trace_id, _, header = traceparent()
        created = await traced.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/customers",
            json={"studioId": chain.studio_a, "firstName": "Anna", "lastName": "Berg"},
            headers={**chain.admin, "traceparent": header},
        )
        assert created.status_code == 201
        [server] = [s for s in traced.spans(trace_id) if s.kind == SpanKind.SERVER]
        async with db.session() as session:
            carried = await session.scalar(select(OutboxEvent.traceparent))
        assert carried is not None
        assert carried.split("-")[1] == trace_id

        await worker.deliver_due(db, clock, settings.keyring, settings.webhook_allowed_networks)

    [delivery] = [s for s in traced.spans(trace_id) if s.name == "webhook delivery"]
    assert delivery.parent is not None
    assert delivery.parent.span_id == server.context.span_id
    assert delivery.attributes is not None
    posts = [s for s in traced.spans(trace_id) if s.kind == SpanKind.CLIENT and s.name == "POST"]
    assert [p.parent.span_id for p in posts if p.parent] == [delivery.context.span_id]
    # The receiver may continue the trace: the request carried it.
    [request] = receiver.requests
    assert request.headers["traceparent"].split("-")[1] == trace_id
    assert "partner-secret" not in _every_value(traced.spans(trace_id))


def _every_value(spans: list[ReadableSpan]) -> str:
    return " ".join(f"{span.name} {dict(span.attributes or {})}" for span in spans)


@pytest.mark.parametrize("conventions", ["", "http", "http/dup"])
async def test_query_strings_stay_out_of_the_spans(
    conventions: str,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    db: Database,
    clock: FixedClock,
    blobs: Any,
) -> None:
    """A signed download URL's signature opens a document for anyone holding it: under the old
    HTTP conventions, the stable ones and both (the instrumentations read the choice once per
    process, so it is read again here, and put back afterwards)."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", conventions)
    stability = _OpenTelemetrySemanticConventionStability
    monkeypatch.setattr(stability, "_initialized", False)
    mapping = dict(stability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING)
    monkeypatch.setattr(stability, "_OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING", mapping)
    traced = Traced()
    app = create_app(settings, db=db, clock=clock, blobs=blobs, tracer_provider=traced.provider)
    trace_id, _, header = traceparent()
    try:
        async with traced.serve(app) as client:
            await client.get(
                "/files/documents/x?expires=1&signature=opens-the-door",
                headers={"traceparent": header},
            )
    finally:
        tracing.untrace_database(db)
    [server] = traced.spans(trace_id)
    assert ("url.path" in (server.attributes or {})) == (conventions != "")
    assert "opens-the-door" not in _every_value([server])


async def test_a_fast_path_is_traced_with_its_statements(traced: Traced, chain: Chain) -> None:
    customer = await chain.customer()
    trace_id, parent_id, header = traceparent()

    answer = await traced.client.get(
        f"/v1/customers/{customer['id']}/benefits",
        params={"key": "SAUNA"},
        headers={**chain.key_a, "traceparent": header},
    )

    assert answer.status_code == 200
    spans = traced.spans(trace_id)
    route = "/v1/customers/{customerId}/benefits"
    assert _tree_problem(spans, parent_id, f"GET {route}") is None
    statements = [s.attributes or {} for s in spans if s.kind == SpanKind.CLIENT]
    # The api key's lookup through SQLAlchemy, then the standing: on PostgreSQL by the bare
    # driver, which SQLAlchemy's instrumentation never sees.
    read = [a["db.statement"] for a in statements if "db.statement" in a]
    assert any("FROM api_keys" in text for text in read)
    assert any("FROM customers JOIN studios" in text for text in read)


def test_the_logs_carry_the_trace_and_span_ids(traced: Traced) -> None:
    render = structlog.get_config()["processors"]
    with traced.provider.get_tracer("test").start_as_current_span("logged") as span:
        event: Any = {"event": "something happened"}
        for processor in render:
            event = processor(None, "info", event)
    line = json.loads(event)
    assert line["trace_id"] == format_trace_id(span.get_span_context().trace_id)
    assert line["span_id"] == format_span_id(span.get_span_context().span_id)


async def test_off_nothing_is_traced_and_the_callers_trace_is_not_adopted(
    app: FastAPI, plain_client: httpx.AsyncClient, db: Database, chain: Chain
) -> None:
    assert tracing.provider_from_environment() is None
    assert not any(m.cls is OpenTelemetryMiddleware for m in app.user_middleware)
    assert db.tracer is None
    trace_id, _, header = traceparent()

    answer = await plain_client.get("/v1/customers/0", headers={"traceparent": header})
    await chain.customer()

    assert answer.headers["x-request-id"] != trace_id
    assert answer.json()["traceId"] == answer.headers["x-request-id"]
    async with db.session() as session:
        assert await session.scalar(select(OutboxEvent.traceparent)) is None


async def test_an_otlp_endpoint_in_the_environment_gets_the_spans(
    collector: list[tuple[str, str, bytes]],
    settings: Settings,
    db: Database,
    clock: FixedClock,
    blobs: Any,
) -> None:
    app = create_app(settings, db=db, clock=clock, blobs=blobs)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/healthz")).status_code == 200
        # The lifespan's end flushed the batch.
    finally:
        tracing.untrace_database(db)
    paths = {path for path, _, _ in collector}
    assert paths == {"/v1/traces"}
    assert all(kind == "application/x-protobuf" for _, kind, _ in collector)
    assert any(b"GET /healthz" in body for _, _, body in collector)


@pytest.mark.parametrize(
    ("environment", "name", "version"),
    [
        ({}, "openbenefits", __version__),
        ({"OTEL_SERVICE_NAME": "benefits-eu"}, "benefits-eu", __version__),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=b,service.version=7"}, "b", "7"),
    ],
)
def test_the_environment_names_the_service_before_we_do(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], name: str, version: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    for variable in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    provider = tracing.provider_from_environment()
    assert provider is not None
    try:
        attributes = provider.resource.attributes
        assert (attributes["service.name"], attributes["service.version"]) == (name, version)
    finally:
        provider.shutdown()
