"""OpenTelemetry traces: a span tree per request (the ASGI server span, a span per database
statement, the outgoing webhook requests), continued across the outbox into the webhook
delivery that an event causes.

Tracing is on when a tracer provider is given (the tests' in-memory one) or when the
environment names an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; service name, headers and the rest from the usual
``OTEL_*`` variables). Off, nothing is installed: no middleware, no statement hooks, and the
few places that ask (``current_traceparent``, the log processor, the bare driver) find no
recording span and do nothing more.
"""

import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Tracer, format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.applications import Starlette
from starlette.types import Scope

from openbenefits import __version__
from openbenefits.kit.db import Database

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_PROPAGATOR = TraceContextTextMapPropagator()


def provider_from_environment() -> TracerProvider | None:
    """A provider exporting over OTLP (HTTP/protobuf) in batches, if an endpoint is set."""
    if not any(os.environ.get(name) for name in _ENDPOINTS):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _resource() -> Resource:
    """What the environment says of the service (``OTEL_SERVICE_NAME``,
    ``OTEL_RESOURCE_ATTRIBUTES``), and our name and version where it says nothing."""
    detected = Resource.create()
    said = {
        name
        for name, value in detected.attributes.items()
        if not str(value).startswith("unknown_service")
    }
    ours = {SERVICE_NAME: "openbenefits", "service.version": __version__}
    return detected.merge(Resource({k: v for k, v in ours.items() if k not in said}))


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    # Named by the route's template once it is known (kit/middleware.py), never by the raw
    # path, whose ids would make every span name unique.
    return str(scope.get("method", "HTTP")), {}


def without_query(span: Span) -> None:
    """Keep query strings out of a span, as out of the logs: a download URL's carries the
    signature that opens a customer's document for anyone holding it, a webhook target's may
    carry the partner's token. Under the old HTTP conventions and the stable ones alike."""
    if not span.is_recording():
        return
    recorded = getattr(span, "attributes", None) or {}
    for name in ("http.url", "url.full"):
        if name in recorded:
            span.set_attribute(name, str(recorded[name]).split("?", 1)[0])
    if "url.query" in recorded:
        span.set_attribute("url.query", "REDACTED")


def _request_without_query(span: Span, _scope: Scope) -> None:
    without_query(span)


def add_tracing(app: Starlette, provider: TracerProvider) -> None:
    """A server span around each request, continuing the caller's ``traceparent``; added last,
    it runs first."""
    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        default_span_details=_method_only,
        server_request_hook=_request_without_query,
        exclude_spans=["receive", "send"],
    )


def trace_database(db: Database, provider: TracerProvider) -> None:
    """A span per statement: SQLAlchemy's engines through the instrumentation, the bare
    driver's statements by ``kit/driver.py`` (through ``db.tracer``)."""
    # The instrumentation declares SQLAlchemy < 2.1; the engine events it hooks are unchanged in
    # 2.1, and tests/kit/test_tracing.py shows its spans in every request's tree.
    SQLAlchemyInstrumentor().instrument(
        engines=[db.engine.sync_engine, db.read_engine.sync_engine],
        tracer_provider=provider,
        skip_dep_check=True,
    )
    db.tracer_provider = provider
    db.tracer = provider.get_tracer("openbenefits", __version__)


def untrace_database(db: Database) -> None:
    SQLAlchemyInstrumentor().uninstrument()
    db.tracer_provider, db.tracer = None, None


def recording_span() -> Span | None:
    """The span in progress, if the process traces and one is."""
    span = trace.get_current_span()
    return span if span.is_recording() else None


def trace_id(span: Span) -> str:
    return format_trace_id(span.get_span_context().trace_id)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the span in progress, to be carried with what it causes."""
    if recording_span() is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def continued(tracer: Tracer | None, name: str, traceparent: str | None) -> Iterator[Span | None]:
    """A span ``name`` in the trace ``traceparent`` names (a new trace without one); none when
    tracing is off."""
    if tracer is None:
        yield None
        return
    parent = _PROPAGATOR.extract({"traceparent": traceparent} if traceparent else {})
    with tracer.start_as_current_span(name, context=parent, kind=trace.SpanKind.CONSUMER) as span:
        yield span


def add_trace_ids(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: the trace and span ids of the span in progress, if any."""
    span = recording_span()
    if span is not None:
        context = span.get_span_context()
        event["trace_id"] = trace_id(span)
        event["span_id"] = format_span_id(context.span_id)
    return event
