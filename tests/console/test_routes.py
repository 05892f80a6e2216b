"""Every console route, generated from the route table so that pages added later are covered:
each runs the one pipeline behind a console guard; without a session it leads to the sign-in
page; a posted form without its CSRF token is refused; each role sees only its areas and changes
only some of them (read-only nothing but their own password)."""

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from openbenefits.benefits.models import BenefitUsage
from openbenefits.console.auth import ROLE_CHANGES, ROLE_SEES, Area, ConsoleGuard, SignInGuard
from openbenefits.console.models import OperatorRole
from openbenefits.kit.routing import TransactionalRoute
from tests.chain import Chain, create_module, create_rate
from tests.console.conftest import add_operator
from tests.helpers import expect
from tests.loyalty.conftest import Org

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
    # Signing out last, so that a walk goes on signed in.
    return sorted(found, key=lambda item: item[1] == "/console/logout")


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
        altered = admin.csrf[:-1] + ("1" if admin.csrf.endswith("0") else "0")
        for data in ({}, {"csrf": ""}, {"csrf": other.csrf}, {"csrf": altered}):
            _refused(await admin.client.post(path, data=data), 403, "CSRF_TOKEN_INVALID")
    # The session still works: the refusals changed nothing.
    assert (await admin.client.get("/console")).status_code == 200


@pytest.mark.parametrize("role", list(OperatorRole))
async def test_each_role_sees_and_changes_only_its_areas(app, signed_in, role):
    operator = await signed_in(role)
    for method, path, route in console_routes(app):
        area = area_of(route)
        if area is None:
            continue
        answer = await (
            operator.post(path) if method == "POST" else operator.client.request(method, path)
        )
        if area not in ROLE_SEES[role]:
            _refused(answer, 403, "CONSOLE_AREA_CLOSED")
        elif method == "POST" and area not in ROLE_CHANGES[role]:
            _refused(answer, 403, "CHANGE_NOT_ALLOWED")
        else:
            # Past the guard: the page, a redirect, or the service's own refusal of an empty
            # form or an id nothing has.
            assert answer.status_code in {200, 303, 404, 422}, (method, path, answer.text)
            if answer.status_code >= 400:
                assert "CONSOLE_AREA_CLOSED" not in answer.text
                assert "CHANGE_NOT_ALLOWED" not in answer.text


async def _another_tenants_loyalty(chain: Chain, clock) -> dict[str, object]:
    oauth = expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/oauth-clients",
            json={"name": "loyalty", "scopes": ["LOYALTY_READ", "LOYALTY_WRITE"]},
            headers=chain.admin,
        ),
        201,
    )
    org = Org(
        chain.client,
        chain.admin,
        chain.tenant_id,
        chain.studio_a,
        str(oauth["clientId"]),
        str(oauth["clientSecret"]),
        clock,
    )
    program = await org.program()
    contract = await org.contract(program["id"])
    await org.customer(4700)
    expect(await org.connect(contract["uuid"], 4700, isContractHolder=True), 201)
    return {
        "program_id": program["id"],
        "client_row_id": oauth["id"],
        "uuid": contract["uuid"],
        "organisation_id": chain.tenant_id,
        "number": 4700,
        "action": "block",
    }


async def _another_tenants_ids(chain: Chain, member: dict, db, clock) -> dict[str, object]:
    """An id of every kind a console path names, all of another tenant (the chain)."""
    base = f"/admin/v1/tenants/{chain.tenant_id}"
    rate = await create_rate(chain)
    module = await create_module(chain, [rate["id"]])
    benefit = expect(
        await chain.client.post(
            f"{base}/partners/{await _partner_of(chain)}/benefits",
            json={"key": "STEAM", "name": "Steam bath"},
            headers=chain.admin,
        ),
        201,
    )
    grant = expect(
        await chain.client.post(
            f"{base}/benefits/{benefit['id']}/grants",
            json={"additionalModuleId": module["id"]},
            headers=chain.admin,
        ),
        201,
    )
    key = expect(
        await chain.client.post(
            f"{base}/api-keys",
            json={
                "studioId": chain.studio_a,
                "partnerIntegrationId": chain.integration_a,
                "name": "k",
                "scopes": ["CUSTOMER_READ"],
            },
            headers=chain.admin,
        ),
        201,
    )
    subscription = expect(
        await chain.client.post(
            f"{base}/webhook-subscriptions",
            json={
                "partnerIntegrationId": chain.integration_a,
                "url": "https://hooks.example.org/other",
                "eventTypes": ["TEST"],
            },
            headers=chain.admin,
        ),
        201,
    )
    delivery = expect(
        await chain.client.post(
            f"{base}/webhook-subscriptions/{subscription['id']}/test", headers=chain.admin
        ),
        202,
    )
    async with db.session() as session:
        usage = await session.scalar(select(func.min(BenefitUsage.id)))
    return {
        "studio_id": chain.studio_a,
        "integration_id": chain.integration_a,
        "benefit_id": benefit["id"],
        "grant_id": grant["id"],
        "key_id": key["id"],
        "subscription_id": subscription["id"],
        "delivery_id": delivery["id"],
        "module_id": module["id"],
        "customer_id": member["customer"]["id"],
        "usage_id": usage,
        "module_contract_id": member["module_contract"],
        "operator_id": await add_operator(db, chain.tenant_id, "other@chain.example"),
        **await _another_tenants_loyalty(chain, clock),
    }


async def _partner_of(chain: Chain) -> int:
    integration = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/partner-integrations/{chain.integration_a}",
            headers=chain.admin,
        ),
        200,
    )
    return int(str(integration["partnerId"]))


async def test_another_tenants_ids_answer_404_on_every_console_route(
    app, signed_in, chain, member, db, clock
):
    """Generated from the route table: every path that names ids, filled with another
    tenant's real ones, is answered as if they did not exist — for a tenant admin, who sees
    everything of their own tenant."""
    ids = await _another_tenants_ids(chain, member, db, clock)
    admin = await signed_in(OperatorRole.TENANT_ADMIN)
    checked = 0
    for context in iter_route_contexts(app.routes):
        names = re.findall(r"{(\w+)}", context.path)
        if not context.path.startswith("/console") or not names:
            continue
        missing = [name for name in names if name not in ids]
        assert not missing, f"{context.path}: give the test an id for {missing}"
        path = context.path.format(**ids)
        for method in context.original_route.methods:
            answer = await (
                admin.post(path) if method == "POST" else admin.client.request(method, path)
            )
            assert answer.status_code == 404, (method, path, answer.text)
            assert "NOT_FOUND" in answer.text
            checked += 1
    assert checked >= 10
