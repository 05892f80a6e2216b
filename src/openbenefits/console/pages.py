"""Rendering console pages: the Jinja2 templates, the headers every page carries, error pages,
and forms refused with the service's own error shown next to its field.

A refused form is an exception carrying the page to answer (``FormRefused``): the pipeline
rolls the unit of work back on it like on any refusal, so nothing a half-done action wrote is
kept, and the page shows what the operator typed with the error beside the field it concerns.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openbenefits.console.auth import Area, opens
from openbenefits.console.sessions import SignedIn
from openbenefits.kit.context import request_id_var
from openbenefits.kit.errors import AppError

PREFIX = "/console"
SIGN_IN_PATH = f"{PREFIX}/login"
# Everything a page loads comes from the service itself; nothing may frame it.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    area: Area


NAV = (
    NavItem("Home", PREFIX, Area.HOME),
    NavItem("Studios", f"{PREFIX}/studios", Area.STUDIOS),
    NavItem("Modules", f"{PREFIX}/modules", Area.STUDIOS),
    NavItem("Customers", f"{PREFIX}/customers", Area.STUDIOS),
    NavItem("Amendments", f"{PREFIX}/amendments", Area.STUDIOS),
    NavItem("Loyalty", f"{PREFIX}/loyalty", Area.LOYALTY),
    NavItem("Audit log", f"{PREFIX}/audit", Area.AUDIT),
    NavItem("Operators", f"{PREFIX}/operators", Area.OPERATORS),
)


def _words(value: str) -> str:
    """An enum's name as words: ``STUDIO_MANAGER`` → ``studio manager``."""
    return value.replace("_", " ").lower()


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


_templates = Environment(
    loader=PackageLoader("openbenefits.console"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["words"] = _words
_templates.filters["when"] = _when


def _nav(operator: SignedIn | None, path: str) -> list[dict[str, Any]]:
    if operator is None:
        return []
    return [
        {
            "label": item.label,
            "href": item.href,
            "current": path == item.href or path.startswith(f"{item.href}/")
            if item.href != PREFIX
            else path == PREFIX,
        }
        for item in NAV
        if opens(operator, item.area)
    ]


def render(
    request: Request,
    template: str,
    operator: SignedIn | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = _templates.get_template(template).render(
        {
            "me": operator,
            "nav": _nav(operator, request.url.path),
            "path": request.url.path,
            "errors": {},
            "values": {},
            **context,
        }
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


class FormRefused(Exception):
    """A form the service refused, answered with its page (status 422) showing the error."""

    def __init__(self, response: Response) -> None:
        super().__init__("form refused")
        self.response = response


def refuse_form(
    request: Request,
    template: str,
    operator: SignedIn,
    error: AppError,
    values: Mapping[str, str],
    fields: Mapping[str, str],
    **context: Any,
) -> FormRefused:
    """The form's page again with ``error`` beside its field: the one its reference or code
    names through ``fields`` (``reference or code → field``), else above the form."""
    field = fields.get(error.reference or "") or fields.get(error.code) or "form"
    page = render(
        request,
        template,
        operator,
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        **{**context, "errors": {field: f"{error.message} ({error.code})"}, "values": values},
    )
    return FormRefused(page)


def next_page(requested: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if not requested or not requested.startswith(PREFIX):
        return PREFIX
    return PREFIX if "//" in requested or "\\" in requested else requested


def error_page(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None
) -> Response:
    """A console request's error: the sign-in page when it needs a session, else a page with
    the service's message and code."""
    if status == HTTPStatus.UNAUTHORIZED:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"{SIGN_IN_PATH}?next={quote(target)}", status_code=HTTPStatus.SEE_OTHER
        )
    page = _templates.get_template("error.html").render(
        me=None,
        nav=[],
        path=request.url.path,
        status=status,
        phrase=HTTPStatus(status).phrase,
        code=code,
        message=message,
        request_id=request_id_var.get(),
    )
    return HTMLResponse(page, status_code=status, headers={**HEADERS, **(headers or {})})


async def _form_refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FormRefused)
    return exc.response


def install_pages(app: FastAPI) -> None:
    app.state.error_page = error_page
    app.add_exception_handler(FormRefused, _form_refused)
