"""Upsell offers (issue 18, item 4): the additional modules a customer's contract could book
now that grant the benefit, by seed 002's purchasability rules, with price, term and what each
would grant."""

import pytest

from tests.chain import (
    PARTNER_SCOPES,
    Chain,
    create_contract,
    create_module,
    create_rate,
    grant_by_module,
    partner_benefit,
)
from tests.helpers import expect


@pytest.fixture
async def shop(chain: Chain) -> dict:
    rate = await create_rate(chain)
    other_rate = await create_rate(chain, name="Basic")
    customer = await chain.customer()
    contract = await create_contract(chain, customer, rate, "2026-01-01")
    sauna = await create_module(chain, [rate["id"]])
    hidden = await create_module(
        chain, [rate["id"]], name="Sauna at the desk", onlineBookable=False
    )
    elsewhere = await create_module(chain, [other_rate["id"]], name="Sauna for Basic")
    towels = await create_module(chain, [rate["id"]], name="Towels")
    benefit = await partner_benefit(chain)
    await grant_by_module(chain, benefit, sauna, uses=3, period="WEEK")
    await grant_by_module(chain, benefit, hidden)
    await grant_by_module(chain, benefit, elsewhere)
    partner = await chain.key(chain.studio_a, PARTNER_SCOPES, integration=chain.integration_a)
    return {
        "customer": customer,
        "contract": contract,
        "sauna": sauna,
        "towels": towels,
        "partner": partner,
    }


async def test_the_modules_that_would_grant_the_benefit(chain, shop):
    customer, sauna = shop["customer"], shop["sauna"]
    # As the Open API shows it to the same contract: bookable, not hidden, for its rate.
    purchasable = expect(
        await chain.client.get(
            f"/v1/memberships/{shop['contract']['id']}/self-service/additional-modules/purchasable",
            headers=shop["partner"],
        ),
        200,
    )
    shown = next(module for module in purchasable if module["id"] == sauna["id"])
    answer = expect(
        await chain.client.get(
            f"/v1/customers/{customer['id']}/benefits/SAUNA/offers", headers=shop["partner"]
        ),
        200,
    )
    assert answer == [
        {
            "contractId": shop["contract"]["id"],
            "additionalModule": shown,
            "grants": [{"key": "SAUNA", "limits": [{"limit": 3, "period": "WEEK"}]}],
        }
    ]


async def test_a_module_booked_is_no_longer_offered(chain, shop):
    customer, sauna = shop["customer"], shop["sauna"]
    expect(
        await chain.client.post(
            f"/v1/memberships/{shop['contract']['id']}/self-service/additional-modules/purchase",
            json={
                "additionalModuleId": sauna["id"],
                "paymentFrequencyId": sauna["module"]["paymentFrequencies"][0]["id"],
                "bookTrialPeriod": False,
            },
            headers=shop["partner"],
        ),
        200,
    )
    offers = f"/v1/customers/{customer['id']}/benefits/SAUNA/offers"
    assert expect(await chain.client.get(offers, headers=shop["partner"]), 200) == []


async def test_offers_answer_as_the_benefit_rules_do(chain, shop):
    customer = shop["customer"]
    unknown = await chain.client.get(
        f"/v1/customers/{customer['id']}/benefits/STEAM/offers", headers=shop["partner"]
    )
    assert unknown.status_code == 400
    assert unknown.json()["errorCode"] == "BENEFIT_NOT_FOUND"
    nobody = await chain.client.get(
        "/v1/customers/987654321/benefits/SAUNA/offers", headers=shop["partner"]
    )
    assert nobody.status_code == 404
    # A customer without a contract could book nothing.
    prospect = await chain.customer(firstName="Clara")
    none = await chain.client.get(
        f"/v1/customers/{prospect['id']}/benefits/SAUNA/offers", headers=shop["partner"]
    )
    assert expect(none, 200) == []
