"""Rendering console pages: the Jinja2 templates, the headers every page carries, error pages.

A refused form is an exception carrying the page to answer (``FormRefused``, console/forms.py):
the pipeline rolls the unit of work back on it like on any refusal, so nothing a half-done
action wrote is kept, and the page shows what the operator typed with the error beside the
field it concerns.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openbenefits.console.auth import Area, may_change, opens
from openbenefits.console.sessions import SignedIn
from openbenefits.kit.context import request_id_var
from openbenefits.kit.pagination import MAX_PAGE, PageParams

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
class FormState:
    """A form of a page: its name, and when the service refused it, the error (by field, or
    ``form`` for the form as a whole) and what was typed."""

    name: str
    errors: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    area: Area


NAV = (
    NavItem("Home", PREFIX, Area.HOME),
    NavItem("Studios", f"{PREFIX}/studios", Area.STUDIOS),
    NavItem("Modules", f"{PREFIX}/modules", Area.CATALOGUE),
    NavItem("Customers", f"{PREFIX}/customers", Area.STUDIOS),
    NavItem("Amendments", f"{PREFIX}/amendments", Area.STUDIOS),
    NavItem("Loyalty", f"{PREFIX}/loyalty", Area.LOYALTY),
    NavItem("Audit log", f"{PREFIX}/audit", Area.AUDIT),
    NavItem("Operators", f"{PREFIX}/operators", Area.OPERATORS),
)


# What a redirect after a change says on the page it leads to (``?done=<key>``).
NOTICES = {
    "password": "Your password is changed; your other browsers are signed out.",
    "partner": "The partner is registered.",
    "integration": "The partner is active in the studio.",
    "settings": "The integration's settings are saved.",
    "benefit": "The benefit is saved.",
    "grant": "The grant is added.",
    "grant-removed": "The grant is removed: it grants nothing from now on.",
    "key-revoked": "The API key is revoked.",
    "webhook-test": "A test event is on its way.",
    "redelivered": "The delivery is sent again.",
    "module": "The additional module is saved.",
    "rate": "The rate is saved.",
    "reversed": "The use is reversed: it counts no more against its contingent.",
    "approved": "The amendment is approved.",
    "rejected": "The amendment is rejected.",
    "operator": "The operator can sign in now.",
    "operator-removed": "The operator is removed and signed out.",
    "version": "The version is saved.",
    "client-deactivated": "The OAuth client is deactivated: its tokens stop working.",
    "consumer-block": "The consumer is blocked.",
    "consumer-unblock": "The consumer is unblocked.",
    "consumer-remove": "The consumer is removed from the contract.",
}
PER_PAGE = 25
# A list page's number, as every paged console page takes it (``?page=``).
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
# The rows a select or a list of choices offers: all of them, up to the admin API's page size.
CHOICES = PageParams(page=1, per_page=500)


def see_other(path: str, done: str | None = None) -> RedirectResponse:
    """Post/Redirect/Get: the page to show after a change, with what it says about it."""
    if done:
        path, hash_mark, fragment = path.partition("#")
        path = f"{path}{'&' if '?' in path else '?'}done={done}{hash_mark}{fragment}"
    return RedirectResponse(path, status_code=HTTPStatus.SEE_OTHER)


@dataclass(frozen=True)
class Pager:
    """One page of a list, and the links to its neighbours (keeping the other parameters)."""

    request: Request
    page: int
    total: int = 0
    per_page: int = PER_PAGE

    @property
    def params(self) -> PageParams:
        return PageParams(page=self.page, per_page=self.per_page)

    def counted(self, total: int) -> "Pager":
        return Pager(self.request, self.page, total, self.per_page)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def link(self, page: int) -> str:
        query = {**self.request.query_params, "page": str(page)}
        query.pop("done", None)
        return f"{self.request.url.path}?{urlencode(query)}"


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


def _options(rows: Iterable[Any], label: str = "name") -> list[tuple[object, object]]:
    """A select's options from rows: (id, label)."""
    return [(row.id, getattr(row, label)) for row in rows]


_templates.globals["options"] = _options


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
    refused: FormState | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = _templates.get_template(template).render(
        {
            "me": operator,
            "nav": _nav(operator, request.url.path),
            "path": request.url.path,
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "can": lambda area: operator is not None and may_change(operator, Area(area)),
            # A page's forms by name: the refused one (if any) with its error and values.
            "form": lambda name: refused if refused and refused.name == name else FormState(name),
            "refused": refused,
            **context,
        }
    )
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


class FormRefused(Exception):
    """A form the service refused, answered with its page (status 422) showing the error."""

    def __init__(self, response: Response) -> None:
        super().__init__("form refused")
        self.response = response


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
    return render(
        request,
        "error.html",
        None,
        status=status,
        headers=headers,
        status_code=status,
        phrase=HTTPStatus(status).phrase,
        code=code,
        message=message,
        request_id=request_id_var.get(),
    )


async def _form_refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FormRefused)
    return exc.response


def install_pages(app: FastAPI) -> None:
    app.state.error_page = error_page
    app.add_exception_handler(FormRefused, _form_refused)
