"""A key of one tenant finds nothing of another tenant's customers, on every customer route."""

import pytest

from openbenefits.tenancy.scopes import StudioScope
from tests.helpers import admin_headers, create_tenant

STUDIO_ROUTES = [
    ("GET", "/v1/customers/{id}", None),
    ("GET", "/v1/customers/{id}/contracts", None),
    ("GET", "/v1/customers/{id}/activities/checkins", None),
    ("GET", "/v1/customers/{id}/access-code", None),
    ("GET", "/v1/customers/{id}/documents", None),
    ("POST", "/v1/customers/{id}/weighing", {"rawResults": "{}"}),
    ("POST", "/v1/customers/{id}/access-mediums", {"type": "PIN", "value": "1234"}),
    ("PUT", "/v1/customers/{id}/access-medium", {"type": "PIN", "value": "1234"}),
    ("PUT", "/v1/customers/{id}/access-restrictions", {"reason": "x"}),
    ("DELETE", "/v1/customers/{id}/access-restrictions", None),
    ("PUT", "/v1/customers/{id}/additional-information-field-assignments", []),
    ("POST", "/v1/customers/{id}/switch-studio", {"targetStudioId": 1, "switchDate": "2026-01-01"}),
]


@pytest.mark.parametrize(("method", "path", "body"), STUDIO_ROUTES)
async def test_another_tenants_customer_is_not_found(
    chain, client, settings, clock, method, path, body
):
    victim = await chain.customer()
    intruder = await create_tenant(
        client, admin_headers(settings, clock), "Intruder", scopes=_every_scope()
    )
    response = await client.request(
        method, path.format(id=victim["id"]), json=body, headers={"X-API-KEY": intruder.api_key}
    )
    assert response.status_code == 404, response.text
    assert response.json()["errorCode"] == "CUSTOMER_NOT_FOUND"


async def test_another_tenants_identifiers_find_nothing(chain, client, settings, clock):
    victim = await chain.customer(customerNumber="V-1")
    intruder = await create_tenant(
        client, admin_headers(settings, clock), "Intruder", scopes=_every_scope()
    )
    key = {"X-API-KEY": intruder.api_key}
    for path in ("/v1/customers/by", "/v1/customers/contracts/by"):
        response = await client.get(path, params={"customerNumber": "V-1"}, headers=key)
        assert response.status_code == 404, path
    found = await client.post("/v1/customers/search", json={"lastName": "Berg"}, headers=key)
    assert found.json() == []
    listed = await client.get("/v1/customers", headers=key)
    assert listed.json()["result"] == []
    assert victim["id"]


def _every_scope() -> list[str]:
    return [scope.value for scope in StudioScope]
