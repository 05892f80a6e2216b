"""Per-request values that logging, error rendering and the audit log need without HTTP access."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# The caller's ``X-Correlation-Id`` when it sent a usable one, else the request id.
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
