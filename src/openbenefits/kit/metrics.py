"""Prometheus metrics: request counts and latency by route template (never by raw path, which
would make one time series per customer id)."""

import os
from functools import cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "openbenefits_http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "openbenefits_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    _requests(method, route, status).inc()
    _latency(method, route).observe(seconds)


# A series per label set, looked up once: ``labels()`` takes a lock and builds a key on every
# call. Bounded: methods are those the HTTP parser accepts, routes are templates.
@cache
def _requests(method: str, route: str, status: int) -> Counter:
    return REQUESTS.labels(method, route, str(status))


@cache
def _latency(method: str, route: str) -> Histogram:
    return LATENCY.labels(method, route)


def render_metrics() -> tuple[bytes, str]:
    """Expose this process's metrics, or all workers' when serving with several processes."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
