"""Every console route, generated from the route table so that pages added later are covered:
each runs the one pipeline behind a console guard; without a session it leads to the sign-in
page; a posted form without its CSRF token is refused; read-only operators change nothing but
their own password; each role reaches only its areas."""

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from openbenefits.console.auth import ROLE_AREAS, Area, ConsoleGuard, SignInGuard
from openbenefits.console.models import OperatorRole
from openbenefits.kit.routing import TransactionalRoute

SIGN_IN = "/console/login"


def console_routes(app: FastAPI) -> list[tuple[str, str, TransactionalRoute]]:
    """(method, path with ids filled, route) of every console route."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not context.path.startswith("/console") or context.path.startswith("/console/static"):
            continue
        assert isinstance(route, TransactionalRoute), context.path
        path = re.sub(r"{[^}]+}", "1", context.path)
        found += [(method, path, route) for method in sorted(route.methods)]
    return found


def area_of(route: TransactionalRoute) -> Area | None:
    (guard,) = route.guards
    return guard.area if isinstance(guard, ConsoleGuard) else None


def _refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert code in answer.text


def test_every_console_route_has_one_console_guard(app: FastAPI) -> None:
    routes = console_routes(app)
    assert len(routes) >= 5
    for _method, path, route in routes:
        (guard,) = route.guards
        assert isinstance(guard, ConsoleGuard) or (
            isinstance(guard, SignInGuard) and path == SIGN_IN
        ), path


async def test_without_a_session_every_page_leads_to_the_sign_in_page(app, open_browser):
    client = open_browser()
    for method, path, route in console_routes(app):
        if area_of(route) is None:
            continue
        answer = await client.request(
            method, path, data={"csrf": "x"} if method == "POST" else None
        )
        assert answer.status_code == 303, (method, path, answer.text)
        assert answer.headers["location"].startswith(f"{SIGN_IN}?next=/console")


async def test_every_form_without_its_csrf_token_is_refused(app, signed_in, open_browser):
    admin = await signed_in(OperatorRole.TENANT_ADMIN)
    other = await signed_in(OperatorRole.TENANT_ADMIN)
    posts = [(path, route) for method, path, route in console_routes(app) if method == "POST"]
    assert posts
    for path, route in posts:
        if area_of(route) is None:
            stranger = open_browser()
            await stranger.get(SIGN_IN)
            _refused(await stranger.post(path, data={}), 403, "CSRF_TOKEN_INVALID")
            continue
        for data in ({}, {"csrf": ""}, {"csrf": other.csrf}, {"csrf": admin.csrf[:-1] + "0"}):
            _refused(await admin.client.post(path, data=data), 403, "CSRF_TOKEN_INVALID")
    # The session still works: the refusals changed nothing.
    assert (await admin.client.get("/console")).status_code == 200


@pytest.mark.parametrize("role", list(OperatorRole))
async def test_each_role_reaches_only_its_areas_and_read_only_changes_nothing(app, signed_in, role):
    operator = await signed_in(role)
    for method, path, route in console_routes(app):
        area = area_of(route)
        if area is None:
            continue
        answer = await (
            operator.post(path) if method == "POST" else operator.client.request(method, path)
        )
        if area not in ROLE_AREAS[role]:
            _refused(answer, 403, "CONSOLE_AREA_CLOSED")
        elif method == "POST" and role is OperatorRole.READ_ONLY and area is not Area.ACCOUNT:
            _refused(answer, 403, "READ_ONLY")
        else:
            # Past the guard: the page, a redirect, or the service's own refusal of an empty
            # form or an id nothing has.
            assert answer.status_code in {200, 303, 404, 422}, (method, path, answer.text)
            if answer.status_code >= 400:
                assert "CONSOLE_AREA_CLOSED" not in answer.text
                assert "READ_ONLY" not in answer.text
