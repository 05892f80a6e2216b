"""Main contracts through the studio Open API, set up through the admin API."""

from datetime import UTC, datetime

import pytest

from tests.chain import MONTHLY_RATE, create_contract, create_rate
from tests.helpers import expect, without_nulls


async def _contracts(chain, customer_id, **params):
    response = await chain.client.get(
        f"/v1/customers/{customer_id}/contracts", params=params, headers=chain.key_a
    )
    return expect(response, 200)


async def test_a_running_contract_shows_its_term_price_and_cancellation_deadline(chain):
    customer = await chain.customer(status="PROSPECT", customerNumber="C-1")
    rate = await create_rate(chain)
    created = await create_contract(chain, customer, rate, "2026-01-01")
    (contract,) = await _contracts(chain, customer["id"])
    assert contract == without_nulls(created)
    assert contract["startDate"] == "2026-01-01"
    assert contract["endDate"] == "2026-12-31"
    assert contract["createdDate"] == "2026-11-22"
    assert contract["contractStatus"] == "ACTIVE"
    assert contract["cancelled"] is False
    assert contract["lastPossibleCancellationDate"] == "2026-11-30"
    assert contract["term"] == {"periodValue": 12, "periodUnit": "MONTH"}
    assert contract["extensionTerm"] == {"periodValue": 1, "periodUnit": "MONTH"}
    assert contract["cancellationPeriod"] == {"periodValue": 1, "periodUnit": "MONTH"}
    assert contract["price"] == 29.9
    assert contract["priceDetails"]["currentPrice"] == {"amount": 29.9, "currency": "EUR"}
    assert contract["priceDetails"]["paymentFrequency"]["type"] == "RECURRING"
    assert contract["moduleContracts"] == []
    assert contract["rateName"] == "Premium 12"
    shown = expect(
        await chain.client.get(f"/v1/customers/{customer['id']}", headers=chain.key_a), 200
    )
    assert shown["status"] == "MEMBER"
    by = await chain.client.get(
        "/v1/customers/contracts/by", params={"customerNumber": "C-1"}, headers=chain.key_a
    )
    assert expect(by, 200) == [contract]


async def test_contracts_extend_and_filter_by_status(chain, clock):
    customer = await chain.customer()
    rate = await create_rate(chain)
    await create_contract(chain, customer, rate, "2026-01-01")
    await create_contract(chain, customer, rate, "2027-06-01")
    assert [c["contractStatus"] for c in await _contracts(chain, customer["id"])] == [
        "ACTIVE",
        "INACTIVE",
    ]
    assert len(await _contracts(chain, customer["id"], status="ACTIVE")) == 1
    clock.set(datetime(2027, 1, 15, 12, tzinfo=UTC))
    first, _ = await _contracts(chain, customer["id"])
    assert first["endDate"] == "2027-01-31"  # extended by a month
    assert first["lastPossibleCancellationDate"] == "2027-01-31"  # for the end of February
    assert first["contractStatus"] == "ACTIVE"


async def test_cancellation_ends_the_contract_at_the_earliest_possible_date(chain, clock):
    customer = await chain.customer()
    rate = await create_rate(chain)
    created = await create_contract(chain, customer, rate, "2026-01-01")
    cancel = f"/admin/v1/tenants/{chain.tenant_id}/contracts/{created['id']}/cancel"
    cancelled = expect(
        await chain.client.post(cancel, json={"reason": "Moving"}, headers=chain.admin), 200
    )
    assert cancelled["cancelled"] is True
    assert cancelled["cancellationDate"] == "2026-12-31"
    assert cancelled["cancellationReceiptDate"] == "2026-11-22"
    assert cancelled["cancellationReason"] == "Moving"
    assert cancelled["endDate"] == "2026-12-31"
    again = await chain.client.post(cancel, json={"reason": "Again"}, headers=chain.admin)
    assert again.status_code == 409
    assert again.json()["code"] == "CONTRACT_ALREADY_CANCELLED"
    clock.set(datetime(2027, 1, 1, 12, tzinfo=UTC))
    (contract,) = await _contracts(chain, customer["id"])
    assert contract["contractStatus"] == "INACTIVE"
    assert contract["endDate"] == "2026-12-31"


async def test_a_late_cancellation_waits_for_the_next_term_end(chain):
    customer = await chain.customer()
    rate = await create_rate(chain, cancellationPeriod={"value": 3, "unit": "MONTH"})
    created = await create_contract(chain, customer, rate, "2026-01-01")
    cancelled = expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/contracts/{created['id']}/cancel",
            json={"reason": "Late", "receiptDate": "2026-10-01"},
            headers=chain.admin,
        ),
        200,
    )
    assert cancelled["cancellationDate"] == "2027-01-31"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (
            {"paymentFrequencies": [{"type": "RECURRING", "price": "10", "currency": "EUR"}]},
            "PAYMENT_TERM_REQUIRED",
        ),
        (
            {"paymentFrequencies": [{"type": "FREE", "price": "10", "currency": "EUR"}]},
            "FREE_WITH_PRICE",
        ),
        ({"paymentFrequencies": []}, "VALIDATION_ERROR"),
        ({"term": {"value": 0, "unit": "MONTH"}}, "VALIDATION_ERROR"),
        ({"term": {"value": 1, "unit": "DECADE"}}, "VALIDATION_ERROR"),
    ],
)
async def test_rate_validation(chain, changes, code):
    response = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/rates",
        json={**MONTHLY_RATE, **changes},
        headers=chain.admin,
    )
    assert response.status_code in (400, 422)
    assert response.json()["code"] == code


async def test_contract_creation_checks_its_references(chain):
    customer = await chain.customer()
    rate = await create_rate(chain)
    other_rate = await create_rate(chain, name="Other")
    base = f"/admin/v1/tenants/{chain.tenant_id}/contracts"
    body = {
        "customerId": customer["id"],
        "rateId": rate["id"],
        "paymentFrequencyId": other_rate["paymentFrequencies"][0]["id"],
        "startDate": "2026-01-01",
    }
    wrong_frequency = await chain.client.post(base, json=body, headers=chain.admin)
    assert wrong_frequency.json()["code"] == "PAYMENT_FREQUENCY_NOT_FOUND"
    unknown_customer = await chain.client.post(
        base, json={**body, "customerId": 999}, headers=chain.admin
    )
    assert unknown_customer.status_code == 404
    unknown_rate = await chain.client.post(base, json={**body, "rateId": 999}, headers=chain.admin)
    assert unknown_rate.json()["code"] == "RATE_NOT_FOUND"


async def test_contract_reads_need_one_of_two_scopes_and_the_customers_studio(chain):
    customer = await chain.customer()
    await create_contract(chain, customer, await create_rate(chain), "2026-01-01")
    path = f"/v1/customers/{customer['id']}/contracts"
    for scopes, status in (
        (["CUSTOMER_CONTRACT_READ"], 200),
        (["CUSTOMER_READ"], 200),
        (["CHECKIN_READ"], 403),
    ):
        key = await chain.key(chain.studio_a, scopes)
        assert (await chain.client.get(path, headers=key)).status_code == status, scopes
    assert (await chain.client.get(path, headers=chain.key_b)).status_code == 404


async def test_price_tables_for_term_based_and_month_day_payments(chain):
    frequencies = [
        {
            "type": "TERM_BASED",
            "price": "0",
            "currency": "EUR",
            "termsToPrices": [{"term": {"value": 6, "unit": "MONTH"}, "price": "150.00"}],
        },
        {
            "type": "MONTH_DAY",
            "price": "0",
            "currency": "EUR",
            "monthDaysToPrices": [{"month": 2, "dayOfMonth": 29, "price": "12.50"}],
        },
    ]
    rate = await create_rate(chain, paymentFrequencies=frequencies)
    term_based, month_day = rate["paymentFrequencies"]
    assert term_based["termsToPrices"] == [
        {"term": {"value": 6, "unit": "MONTH"}, "price": {"amount": 150.0, "currency": "EUR"}}
    ]
    assert month_day["monthDaysToPrices"] == [
        {
            "monthDay": {"month": "FEBRUARY", "monthValue": 2, "dayOfMonth": 29},
            "price": {"amount": 12.5, "currency": "EUR"},
        }
    ]
    customer = await chain.customer()
    created = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/contracts",
        json={
            "customerId": customer["id"],
            "rateId": rate["id"],
            "paymentFrequencyId": month_day["id"],
            "startDate": "2026-01-01",
        },
        headers=chain.admin,
    )
    expect(created, 201)
    (contract,) = await _contracts(chain, customer["id"])
    assert (
        contract["priceDetails"]["paymentFrequency"]["monthDaysToPrices"][0]["price"]["amount"]
        == 12.5
    )


@pytest.mark.parametrize(
    ("frequency", "code"),
    [
        ({"type": "TERM_BASED", "price": "0", "currency": "EUR"}, "PRICE_TABLE_MISMATCH"),
        (
            {
                "type": "RECURRING",
                "term": {"value": 1, "unit": "MONTH"},
                "price": "1",
                "currency": "EUR",
                "monthDaysToPrices": [{"month": 1, "dayOfMonth": 1, "price": "1"}],
            },
            "PRICE_TABLE_MISMATCH",
        ),
        (
            {
                "type": "MONTH_DAY",
                "price": "0",
                "currency": "EUR",
                "monthDaysToPrices": [{"month": 4, "dayOfMonth": 31, "price": "1"}],
            },
            "INVALID_MONTH_DAY",
        ),
    ],
)
async def test_price_table_validation(chain, frequency, code):
    response = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/rates",
        json={**MONTHLY_RATE, "paymentFrequencies": [frequency]},
        headers=chain.admin,
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
