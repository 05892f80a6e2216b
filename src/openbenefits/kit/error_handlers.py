"""Renders errors per surface: the reference's ``ErrorResponse`` on the studio Open API (``/v1``),
a page on the operator console (``/console``, drawn by the console's ``app.state.error_page``),
RFC 9457 ``application/problem+json`` everywhere else. No stack trace ever reaches a client."""

import re
from http import HTTPStatus
from typing import Any, Protocol

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from openbenefits.kit.context import correlation_id_var, request_id_var
from openbenefits.kit.errors import AppError, Unauthorized

STUDIO_PREFIX = "/v1/"
LOYALTY_PREFIX = "/customers/v2/"
CONSOLE_PREFIX = "/console"
_OWN_CODE = re.compile(r"^[A-Z][A-Z0-9_]+$")
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = structlog.get_logger()

_STATUS_CODES = {
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


def is_studio_path(path: str) -> bool:
    return path.startswith(STUDIO_PREFIX)


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/")


class ErrorPage(Protocol):
    def __call__(
        self, request: Request, status: int, code: str, message: str, headers: dict[str, str] | None
    ) -> Response: ...


def validation_status(path: str) -> int:
    """The status of input that breaks the rules: the studio reference answers every invalid
    request with 400; elsewhere a well-formed request that cannot be taken is 422."""
    return 400 if is_studio_path(path) else 422


def render_error(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    reference: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if is_console_path(request.url.path):
        page: ErrorPage = request.app.state.error_page
        return page(request, status, code, message, headers)
    trace_id = request_id_var.get()
    if is_studio_path(request.url.path):
        body: dict[str, Any] = {"errorMessage": message, "errorCode": code, "traceId": trace_id}
        if reference:
            body["reference"] = reference
        return JSONResponse(body, status_code=status, headers=headers)
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": message,
        "instance": request.url.path,
        "code": code,
        "traceId": trace_id,
    }
    if reference:
        problem["reference"] = reference
    if request.url.path.startswith(LOYALTY_PREFIX):
        # The members the loyalty API's clients read (seed 003's error example), beside RFC 9457's.
        problem.update(
            timestamp=request.app.state.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            error=problem["title"],
            message=message,
            path=request.url.path,
            # The caller's own id when it sent one (seed 003's 401 example), else the trace id.
            correlationId=correlation_id_var.get() or trace_id,
        )
    problem.update(extra or {})
    return JSONResponse(problem, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def handle_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    headers = dict(exc.headers)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = exc.challenge
    return render_error(
        request,
        exc.status_code,
        exc.code,
        exc.message,
        reference=exc.reference,
        extra=exc.extra,
        headers=headers or None,
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Keep only what a client can act on: never echo the input or internal exception objects.
    errors = [
        {"location": _location(e["loc"]), "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return render_error(
            request,
            400,
            "MALFORMED_JSON",
            "The request body is not valid JSON.",
            extra={"errors": errors},
        )
    first = errors[0] if errors else {"location": "", "message": "Invalid request."}
    # Rules with a code of their own (PydanticCustomError types in UPPER_SNAKE) keep it.
    own = first.get("type", "")
    return render_error(
        request,
        validation_status(request.url.path),
        own if _OWN_CODE.match(own) else "VALIDATION_ERROR",
        f"{first['location']}: {first['message']}",
        reference=first["location"] or None,
        extra={"errors": errors},
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_methods_at(request))}
    return render_error(
        request,
        exc.status_code,
        _STATUS_CODES.get(exc.status_code, HTTPStatus(exc.status_code).name),
        message,
        headers=headers,
    )


def _methods_at(request: Request) -> list[str]:
    """The methods served at the request's path by every route declared at it: the router names
    only those of the first route it met, where several routes may share a path (PUT and DELETE
    of one resource). The path is the most specific that matches (the most literal text): a
    more general one (``/v1/customers/{customerId}`` for ``/v1/customers/search``) is not this
    resource."""
    contexts = [
        context
        for context in iter_route_contexts(request.app.routes)
        if context.matches(request.scope)[0] is not Match.NONE
    ]
    if not contexts:
        return []
    path = max((str(context.path) for context in contexts), key=_literal_length)
    return sorted(
        {
            method
            for context in contexts
            if context.path == path
            for method in getattr(context.original_route, "methods", None) or ()
        }
    )


def _literal_length(path: str) -> int:
    return len(re.sub(r"{[^}]*}", "", path))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return render_error(request, 500, "INTERNAL_ERROR", "Unexpected system error.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    # Unexpected exceptions are answered by RequestContextMiddleware (handle_unexpected).
