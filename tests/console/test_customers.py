"""Customers, amendments and the home page in the console: a customer's contingent now and the
usage ledger with reversal (through the benefits service, so the counter gives the use back),
the amendments to decide, and the home page's counts, chart and upsell leads."""

import re

from openbenefits.console.models import OperatorRole
from tests.helpers import expect


async def test_finding_a_customer_by_name_number_or_card(signed_in, chain, member):
    admin = await signed_in(tenant_id=chain.tenant_id)
    customer = member["customer"]
    expect(
        await chain.client.post(
            f"/v1/customers/{customer['id']}/access-mediums",
            json={"type": "CARD_NUMBER", "value": "4711"},
            headers=chain.key_a,
        ),
        200,
    )
    for query in ("ber", customer["customerNumber"], "4711"):
        found = await admin.client.get("/console/customers", params={"q": query})
        assert f'href="/console/customers/{customer["id"]}"' in found.text, query
    nobody = await admin.client.get("/console/customers", params={"q": "Zimmermann"})
    assert "No customer matches" in nobody.text


async def test_the_contingent_now_and_a_reversal_that_gives_a_use_back(signed_in, chain, member):
    admin = await signed_in(tenant_id=chain.tenant_id)
    url = f"/console/customers/{member['customer']['id']}"
    page = (await admin.client.get(url)).text
    assert "exhausted" in page
    assert re.search(r'<td class="num">3</td>\s*<td class="num">3</td>', page)
    usage_ids = re.findall(rf"{url}/usages/(\d+)/reverse", page)
    assert len(usage_ids) == 3

    reverse = f"{url}/usages/{usage_ids[0]}/reverse"
    without_reason = await admin.post(reverse, reason="")
    assert without_reason.status_code == 422
    assert f'id="reverse-{usage_ids[0]}-reason-error"' in without_reason.text
    assert (await admin.post(reverse, reason="Sauna closed for cleaning")).status_code == 303
    again = await admin.post(reverse, reason="twice")
    assert "BENEFIT_USAGE_ALREADY_REVERSED" in again.text

    page = (await admin.client.get(url)).text
    assert "Sauna closed for cleaning" in page
    assert re.search(r'<td class="num">2</td>\s*<td class="num">3</td>', page)
    # The partner sees it too: one use left.
    customer_id = member["customer"]["id"]
    check = await chain.client.get(
        f"/v1/customers/{customer_id}/benefits", params={"key": "SAUNA"}, headers=member["partner"]
    )
    assert expect(check, 200)
    assert (
        await chain.client.post(
            f"/v1/customers/{customer_id}/benefits/SAUNA/use", headers=member["partner"]
        )
    ).status_code == 200


async def test_the_home_page_counts_charts_and_leads(signed_in, chain, member):
    admin = await signed_in(tenant_id=chain.tenant_id)
    home = (await admin.client.get("/console")).text
    assert re.search(r"<td>Chain Studio</td><td>Sauna App</td><td class=\"num\">3</td>", home)
    assert "<title>2026-11-22: 3 uses</title>" in home
    assert f'href="/console/customers/{member["customer"]["id"]}">Anna Berg</a>' in home
    ninety = (await admin.client.get("/console", params={"days": "90"})).text
    assert ninety.count('<rect class="bar"') == 90
    assert (await admin.client.get("/console", params={"days": "7"})).status_code == 422


async def test_approving_a_pending_cancelation(signed_in, chain, member):
    path = (
        f"/v1/memberships/{member['contract']['id']}/self-service"
        f"/additional-module-contracts/{member['module_contract']}"
    )
    dates = expect(await chain.client.get(path, headers=member["partner"]), 200)[
        "availableCancelationDates"
    ]
    reason = expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/cancelation-reasons",
            json={"name": "Moving away"},
            headers=chain.admin,
        ),
        201,
    )
    expect(
        await chain.client.post(
            f"{path}/ordinary-cancelation",
            json={
                "cancelationDate": dates[0],
                "cancelationReasonId": reason["cancelationReasonId"],
            },
            headers=member["partner"],
        ),
        200,
    )
    manager = await signed_in(
        OperatorRole.STUDIO_MANAGER, studio_ids=[chain.studio_a], tenant_id=chain.tenant_id
    )
    elsewhere = await signed_in(
        OperatorRole.STUDIO_MANAGER, studio_ids=[chain.studio_b], tenant_id=chain.tenant_id
    )
    assert "Nothing is waiting" in (await elsewhere.client.get("/console/amendments")).text
    decide = f"/console/amendments/{member['module_contract']}"
    assert (await elsewhere.post(decide, decision="approve")).status_code == 404
    listed = (await manager.client.get("/console/amendments")).text
    assert 'action="/console/amendments/' in listed
    undecided = await manager.post(decide)
    assert "DECISION_REQUIRED" in undecided.text
    assert (await manager.post(decide, decision="approve")).status_code == 303
    status = expect(await chain.client.get(path, headers=member["partner"]), 200)
    assert status["contractCancelationStatus"] == "CANCELED"
    assert "NO_PENDING_AMENDMENT" in (await manager.post(decide, decision="reject")).text


async def test_a_studio_manager_sees_only_their_studios_customers(signed_in, chain, member):
    other = await signed_in(
        OperatorRole.STUDIO_MANAGER, studio_ids=[chain.studio_b], tenant_id=chain.tenant_id
    )
    customer_id = member["customer"]["id"]
    assert (await other.client.get(f"/console/customers/{customer_id}")).status_code == 404
    listed = await other.client.get("/console/customers", params={"q": "Berg"})
    assert f"/console/customers/{customer_id}" not in listed.text
    home = (await other.client.get("/console")).text
    assert "No use this month" in home
    assert "Anna Berg" not in home
