"""Per-request values that logging, error rendering and the audit log need without HTTP access."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
