"""Additional modules through the studio Open API (seed 002), configured through the admin API."""

import asyncio

import pytest

from tests.chain import create_contract, create_module, create_rate
from tests.helpers import expect

MODULE_SCOPES = [
    "MEMBERSHIP_SELF_SERVICE_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_WRITE",
]


@pytest.fixture
async def shop(chain):
    """A member's running contract in Studio A, the modules on offer and a cancelation reason."""
    rate = await create_rate(chain)
    other_rate = await create_rate(chain, name="Basic")
    customer = await chain.customer()
    contract = await create_contract(chain, customer, rate, "2026-01-01")
    sauna = await create_module(chain, [rate["id"]])
    towel = await create_module(chain, [rate["id"]], name="Towel", onlineBookable=False)
    unpriced = await create_module(chain, [rate["id"]], name="Unpriced", paymentFrequencies=[])
    basic_only = await create_module(chain, [other_rate["id"]], name="Basic only", trialPeriod=None)
    no_trial = await create_module(chain, [rate["id"]], name="No trial", trialPeriod=None)
    reason = expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/cancelation-reasons",
            json={"name": "Too expensive"},
            headers=chain.admin,
        ),
        201,
    )
    return {
        "contract": contract,
        "customer": customer,
        "sauna": sauna,
        "towel": towel,
        "unpriced": unpriced,
        "basic_only": basic_only,
        "no_trial": no_trial,
        "reason": reason["cancelationReasonId"],
        "base": f"/v1/memberships/{contract['id']}/self-service",
    }


def _request(module, *, trial=False, frequency=None):
    frequency = frequency or module["module"]["paymentFrequencies"][0]["id"]
    return {
        "additionalModuleId": module["id"],
        "paymentFrequencyId": frequency,
        "bookTrialPeriod": trial,
    }


async def test_only_complete_online_modules_are_listed(chain, shop):
    listed = expect(
        await chain.client.get(
            "/v1/memberships/self-service/additional-modules", headers=chain.key_a
        ),
        200,
    )
    assert [m["name"] for m in listed] == ["Sauna", "Basic only", "No trial"]
    sauna = listed[0]
    assert sauna["termInformation"]["term"] == {"value": 1, "unit": "MONTH"}
    assert sauna["trialPeriodConfig"] == {"term": {"value": 7, "unit": "DAY"}}
    assert sauna["paymentFrequencies"][0]["price"] == {"amount": 9.9, "currency": "EUR"}
    assert shop["towel"]["visible"] is False
    assert shop["unpriced"]["visible"] is False
    purchasable = expect(
        await chain.client.get(
            f"{shop['base']}/additional-modules/purchasable", headers=chain.key_a
        ),
        200,
    )
    assert [m["name"] for m in purchasable] == ["Sauna", "No trial"]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown module", "ADDITIONAL_MODULE_NOT_FOUND"),
        ("foreign frequency", "ADDITIONAL_MODULE_NOT_FOUND"),
        ("not online", "ADDITIONAL_MODULE_NOT_ONLINE_PURCHASABLE"),
        ("other rate", "ADDITIONAL_MODULE_NOT_ONLINE_PURCHASABLE"),
        ("trial not offered", "ADDITIONAL_MODULE_TRIAL_PERIOD_NOT_BOOKABLE"),
        ("fine", "ADDITIONAL_MODULE_PURCHASABLE"),
        ("fine with trial", "ADDITIONAL_MODULE_PURCHASABLE"),
    ],
)
async def test_validation_statuses(chain, shop, case, status):
    sauna = shop["sauna"]
    requests = {
        "unknown module": {**_request(sauna), "additionalModuleId": 999_999},
        "foreign frequency": _request(
            sauna, frequency=shop["no_trial"]["module"]["paymentFrequencies"][0]["id"]
        ),
        "not online": {
            "additionalModuleId": shop["towel"]["id"],
            "paymentFrequencyId": 0,
            "bookTrialPeriod": False,
        },
        "other rate": _request(shop["basic_only"]),
        "trial not offered": _request(shop["no_trial"], trial=True),
        "fine": _request(sauna),
        "fine with trial": _request(sauna, trial=True),
    }
    if case == "not online":
        towel = expect(
            await chain.client.get(
                f"/admin/v1/tenants/{chain.tenant_id}/additional-modules/{shop['towel']['id']}",
                headers=chain.admin,
            ),
            200,
        )
        assert towel["module"] is None
        requests[case]["paymentFrequencyId"] = await _first_frequency_id(chain, shop["towel"]["id"])
    response = await chain.client.post(
        f"{shop['base']}/additional-modules/validate", json=requests[case], headers=chain.key_a
    )
    assert expect(response, 200) == {"validationStatus": status}


async def _first_frequency_id(chain, module_id):
    """A hidden module's frequency id, read through the admin API after making it visible."""
    path = f"/admin/v1/tenants/{chain.tenant_id}/additional-modules/{module_id}"
    shown = expect(
        await chain.client.patch(path, json={"onlineBookable": True}, headers=chain.admin), 200
    )
    expect(await chain.client.patch(path, json={"onlineBookable": False}, headers=chain.admin), 200)
    return shown["module"]["paymentFrequencies"][0]["id"]


async def test_already_purchased_and_inactive_contracts(chain, shop):
    purchase = f"{shop['base']}/additional-modules/purchase"
    bought = expect(
        await chain.client.post(purchase, json=_request(shop["sauna"]), headers=chain.key_a), 200
    )
    assert set(bought) == {"id"}
    again = await chain.client.post(purchase, json=_request(shop["sauna"]), headers=chain.key_a)
    assert again.status_code == 400
    assert again.json()["errorCode"] == "ADDITIONAL_MODULE_CONTRACT_ALREADY_PURCHASED"
    future = await create_contract(
        chain, shop["customer"], await create_rate(chain, name="Later"), "2027-06-01"
    )
    validate = f"/v1/memberships/{future['id']}/self-service/additional-modules/validate"
    response = await chain.client.post(validate, json=_request(shop["sauna"]), headers=chain.key_a)
    assert response.json() == {"validationStatus": "ADDITIONAL_MODULE_CONTRACT_INVALID_STATUS"}


async def test_a_purchase_becomes_a_module_contract_of_the_main_contract(chain, shop, clock):
    bought = expect(
        await chain.client.post(
            f"{shop['base']}/additional-modules/purchase",
            json=_request(shop["sauna"], trial=True),
            headers=chain.key_a,
        ),
        200,
    )
    path = f"{shop['base']}/additional-module-contracts/{bought['id']}"
    module_contract = expect(await chain.client.get(path, headers=chain.key_a), 200)
    assert module_contract["name"] == "Sauna"
    assert module_contract["price"] == {"amount": 9.9, "currency": "EUR"}
    assert module_contract["startDate"] == "2026-11-22"
    assert module_contract["endDate"] == "2026-12-21"
    assert module_contract["trialPeriod"] == {
        "term": {"value": 7, "unit": "DAY"},
        "startDate": "2026-11-22",
    }
    assert module_contract["availableCancelationDates"][:3] == [
        "2026-12-21",
        "2027-01-21",
        "2027-02-21",
    ]
    assert module_contract["lastPossibleCancelationDate"] == "2026-12-07"
    assert module_contract["contractCancelationCanBeWithdrawn"] is False
    contracts = expect(
        await chain.client.get(
            f"/v1/customers/{shop['customer']['id']}/contracts", headers=chain.key_a
        ),
        200,
    )
    (sub,) = contracts[0]["moduleContracts"]
    assert (sub["id"], sub["rateName"], sub["contractStatus"], sub["paymentFrequency"]) == (
        bought["id"],
        "Sauna",
        "ACTIVE",
        "RECURRING",
    )


async def test_concurrent_duplicate_purchases_create_one_contract(chain, shop):
    purchase = f"{shop['base']}/additional-modules/purchase"
    responses = await asyncio.gather(
        *(
            chain.client.post(purchase, json=_request(shop["sauna"]), headers=chain.key_a)
            for _ in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [400] * 9
    contracts = expect(
        await chain.client.get(
            f"/v1/customers/{shop['customer']['id']}/contracts", headers=chain.key_a
        ),
        200,
    )
    assert len(contracts[0]["moduleContracts"]) == 1


async def _buy(chain, shop, key):
    bought = expect(
        await chain.client.post(
            f"{shop['base']}/additional-modules/purchase", json=_request(shop["sauna"]), headers=key
        ),
        200,
    )
    return f"{shop['base']}/additional-module-contracts/{bought['id']}", bought["id"]


async def test_direct_cancelation_and_withdrawal(chain, shop):
    path, _ = await _buy(chain, shop, chain.key_a)
    dates = expect(await chain.client.get(path, headers=chain.key_a), 200)[
        "availableCancelationDates"
    ]
    cancel = {"cancelationDate": dates[1], "cancelationReasonId": shop["reason"]}
    assert expect(
        await chain.client.post(f"{path}/ordinary-cancelation", json=cancel, headers=chain.key_a),
        200,
    ) == {"success": "true"}
    cancelled = expect(await chain.client.get(path, headers=chain.key_a), 200)
    assert cancelled["contractCancelationStatus"] == "CANCELED"
    assert cancelled["cancelationDate"] == dates[1]
    assert cancelled["cancelationReason"] == "Too expensive"
    assert cancelled["endDate"] == dates[1]
    assert cancelled["contractCancelationCanBeWithdrawn"] is True
    twice = await chain.client.post(
        f"{path}/ordinary-cancelation", json=cancel, headers=chain.key_a
    )
    assert twice.status_code == 409
    assert twice.json()["errorCode"] == "ALREADY_CANCELED"
    expect(await chain.client.post(f"{path}/withdraw-cancelation", headers=chain.key_a), 200)
    withdrawn = expect(await chain.client.get(path, headers=chain.key_a), 200)
    assert "contractCancelationStatus" not in withdrawn
    assert "cancelationDate" not in withdrawn
    nothing = await chain.client.post(f"{path}/withdraw-cancelation", headers=chain.key_a)
    assert nothing.json()["errorCode"] == "CANCELATION_NOT_WITHDRAWABLE"


async def test_cancelation_and_withdrawal_by_amendment(chain, shop):
    partner = await chain.key(chain.studio_a, MODULE_SCOPES, integration=chain.integration_a)
    path, module_contract_id = await _buy(chain, shop, partner)
    dates = expect(await chain.client.get(path, headers=partner), 200)["availableCancelationDates"]
    cancel = {"cancelationDate": dates[0], "cancelationReasonId": shop["reason"]}
    expect(
        await chain.client.post(f"{path}/ordinary-cancelation", json=cancel, headers=partner), 200
    )
    assert (
        expect(await chain.client.get(path, headers=partner), 200)["contractCancelationStatus"]
        == "PENDING_VERIFICATION"
    )
    decide = f"/admin/v1/tenants/{chain.tenant_id}/module-contracts/{module_contract_id}/amendment"
    approved = expect(
        await chain.client.post(decide, json={"approve": True}, headers=chain.admin), 200
    )
    assert approved["contractCancelationStatus"] == "CANCELED"
    expect(await chain.client.post(f"{path}/withdraw-cancelation", headers=partner), 200)
    pending = expect(await chain.client.get(path, headers=partner), 200)
    assert pending["contractCancelationStatus"] == "PENDING_WITHDRAWAL_VERIFICATION"
    rejected = expect(
        await chain.client.post(decide, json={"approve": False}, headers=chain.admin), 200
    )
    assert rejected["contractCancelationStatus"] == "CANCELED"
    idle = await chain.client.post(decide, json={"approve": True}, headers=chain.admin)
    assert idle.status_code == 409


async def test_integration_configured_for_direct_cancelation(chain, shop):
    expect(
        await chain.client.patch(
            f"/admin/v1/tenants/{chain.tenant_id}/partner-integrations/{chain.integration_a}",
            json={"directCancelation": True},
            headers=chain.admin,
        ),
        200,
    )
    partner = await chain.key(chain.studio_a, MODULE_SCOPES, integration=chain.integration_a)
    path, _ = await _buy(chain, shop, partner)
    dates = expect(await chain.client.get(path, headers=partner), 200)["availableCancelationDates"]
    cancel = {"cancelationDate": dates[0], "cancelationReasonId": shop["reason"]}
    expect(
        await chain.client.post(f"{path}/ordinary-cancelation", json=cancel, headers=partner), 200
    )
    assert (
        expect(await chain.client.get(path, headers=partner), 200)["contractCancelationStatus"]
        == "CANCELED"
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"cancelationDate": "2026-12-20"}, "CANCELATION_DATE_NOT_AVAILABLE"),
        ({"cancelationReasonId": 999_999}, "CANCELATION_REASON_NOT_FOUND"),
    ],
)
async def test_bad_cancelations_change_nothing(chain, shop, change, code):
    path, _ = await _buy(chain, shop, chain.key_a)
    dates = expect(await chain.client.get(path, headers=chain.key_a), 200)[
        "availableCancelationDates"
    ]
    body = {"cancelationDate": dates[0], "cancelationReasonId": shop["reason"], **change}
    response = await chain.client.post(
        f"{path}/ordinary-cancelation", json=body, headers=chain.key_a
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == code
    assert "contractCancelationStatus" not in expect(
        await chain.client.get(path, headers=chain.key_a), 200
    )


async def test_another_studios_contract_and_missing_scopes(chain, shop):
    for path in (f"{shop['base']}/additional-modules/purchasable",):
        assert (await chain.client.get(path, headers=chain.key_b)).status_code == 404
    purchase = await chain.client.post(
        f"{shop['base']}/additional-modules/purchase",
        json=_request(shop["sauna"]),
        headers=chain.key_b,
    )
    assert purchase.status_code == 404
    assert purchase.json()["errorCode"] == "CONTRACT_NOT_FOUND"
    reader = await chain.key(chain.studio_a, ["MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_READ"])
    refused = await chain.client.post(
        f"{shop['base']}/additional-modules/purchase", json=_request(shop["sauna"]), headers=reader
    )
    assert refused.status_code == 403
    unknown = await chain.client.get(
        f"{shop['base']}/additional-module-contracts/999999", headers=chain.key_a
    )
    assert unknown.json()["errorCode"] == "ADDITIONAL_MODULE_CONTRACT_NOT_FOUND"


async def test_cancelation_reasons_are_listed(chain, shop):
    reasons = expect(
        await chain.client.get(
            "/v1/memberships/self-service/contract-cancelation-reasons", headers=chain.key_a
        ),
        200,
    )
    assert reasons == [
        {"cancelationReasonId": shop["reason"], "cancelationReasonName": "Too expensive"}
    ]
