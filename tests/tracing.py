"""The app traced into the SDK's in-memory exporter, for the tracing tests (kit/tracing.py)."""

import secrets
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_trace_id


class Traced:
    """What the traced app recorded, and a client of it (server errors answered, not raised)."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def serve(self, app: FastAPI) -> httpx.AsyncClient:
        self.app = app
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        return self.client

    def spans(self, trace_id: str) -> list[ReadableSpan]:
        return [
            span
            for span in self.exporter.get_finished_spans()
            if format_trace_id(span.context.trace_id) == trace_id
        ]


def traceparent() -> tuple[str, str, str]:
    """A caller's trace: its id, its span's id, and the header naming both."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint on loopback: what was posted to it (path, content type, body)."""

    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, self.headers["content-type"], body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass
