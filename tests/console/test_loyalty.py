"""Loyalty in the console, as a loyalty manager: versions on a timeline and a new one, a
contract found and its consumers blocked, unblocked and removed, OAuth clients created (secret
shown once) and deactivated — each through the loyalty services."""

import re

import pytest

from openbenefits.console.models import OperatorRole
from tests.helpers import expect
from tests.loyalty.conftest import Org, make_org


@pytest.fixture
async def organisation(client, settings, clock) -> Org:
    return await make_org(client, settings, clock, "Entur")


async def test_a_new_version_on_the_timeline(signed_in, organisation):
    program = await organisation.program()
    manager = await signed_in(OperatorRole.LOYALTY_MANAGER, tenant_id=organisation.tenant_id)
    page = (await manager.client.get("/console/loyalty")).text
    assert re.search(r'badge current">current</span>\s*<strong>Version 1</strong>', page)
    url = f"/console/loyalty/programs/{program['id']}/versions"
    backwards = await manager.post(
        url, product_version="ENT:Version:2", start_day="2027-02-01", end_day="2027-01-01"
    )
    assert backwards.status_code == 422
    # The request model's own rule, above the form it concerns.
    assert re.search(
        rf'id="version-{program["id"]}-error"[^>]*>[^<]*endDate must not be before startDate',
        backwards.text,
    )
    created = await manager.post(url, product_version="ENT:Version:2", start_day="2027-01-01")
    assert created.status_code == 303
    page = (await manager.client.get("/console/loyalty")).text
    assert re.search(r'badge draft">draft</span>\s*<strong>Version 2</strong>', page)
    versions = expect(await organisation.get(f"/loyaltyprograms/{program['id']}/versions"), 200)
    (second,) = [v for v in versions if v["versionNumber"] == 2]
    assert second["productVersion"] == "ENT:Version:2"
    assert second["startDate"].startswith("2027-01-01T00:00:00")


async def test_finding_a_contract_and_changing_its_consumers(signed_in, organisation):
    program = await organisation.program()
    contract = await organisation.contract(program["id"], externalRef="CARD-1")
    await organisation.customer(4700)
    await organisation.customer(4711)
    expect(await organisation.connect(contract["uuid"], 4700, isContractHolder=True), 201)
    expect(await organisation.connect(contract["uuid"], 4711), 201)
    manager = await signed_in(OperatorRole.LOYALTY_MANAGER, tenant_id=organisation.tenant_id)
    for query in ("4711", contract["uuid"], "CARD-1"):
        found = await manager.client.get("/console/loyalty/contracts", params={"q": query})
        assert f"/console/loyalty/contracts/{contract['uuid']}" in found.text, query
    consumer = (
        f"/console/loyalty/contracts/{contract['uuid']}/consumers/{organisation.tenant_id}/4711"
    )
    assert (await manager.post(f"{consumer}/block")).status_code == 303
    page = (await manager.client.get(f"/console/loyalty/contracts/{contract['uuid']}")).text
    assert "blocked" in page
    connected = await organisation.connect(contract["uuid"], 4711)
    assert connected.status_code in {400, 401, 403, 409, 422}  # a blocked customer stays out
    assert (await manager.post(f"{consumer}/unblock")).status_code == 303
    assert (await manager.post(f"{consumer}/remove")).status_code == 303
    assert (await manager.post(f"{consumer}/remove")).status_code == 422  # no longer a consumer


async def test_oauth_clients_created_and_deactivated(signed_in, organisation, client):
    manager = await signed_in(OperatorRole.LOYALTY_MANAGER, tenant_id=organisation.tenant_id)
    created = await manager.client.post(
        "/console/loyalty/oauth-clients",
        data={"csrf": manager.csrf, "name": "ticket machine", "scopes": ["", "LOYALTY_READ"]},
    )
    assert created.status_code == 201
    secret = re.search(r'<code id="secret">([^<]+)</code>', created.text).group(1)
    client_id = re.search(r"The client&#39;s id is ([^;]+);", created.text).group(1)
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    assert (await client.post("/oauth/token", data=form)).status_code == 200
    page = (await manager.client.get("/console/loyalty")).text
    assert secret not in page
    row = re.search(
        r"/console/loyalty/oauth-clients/(\d+)/deactivate\" class=\"inline\" "
        r"data-confirm=\"Deactivate ticket machine",
        page,
    )
    assert row
    assert (
        await manager.post(f"/console/loyalty/oauth-clients/{row.group(1)}/deactivate")
    ).status_code == 303
    assert (await client.post("/oauth/token", data=form)).status_code == 401


async def test_a_studio_manager_does_not_work_in_loyalty(signed_in):
    manager = await signed_in(OperatorRole.STUDIO_MANAGER)
    assert (await manager.client.get("/console/loyalty")).status_code == 403
