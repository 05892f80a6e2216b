"""validate-consumptions (codes 3101-3106), order-line events, the 10-coupon card."""

import asyncio
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from openbenefits.kit.outbox import OutboxEvent
from tests.helpers import expect

COUPON_CARD = {
    "loyaltyProgramType": "COUPONS",
    "productId": "ENT:DiscountProduct:10Days",
    "usageValidityPeriod": "P365D",
    "defaultCouponsLimit": 10,
    "couponValidityPeriod": "P1D",
}
on_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="concurrent writers need PostgreSQL"
)


async def _validate(org, pairs, **body):
    consumptions = [{"contractUUID": uuid, "customerNumber": number} for uuid, number in pairs]
    response = await org.post(
        "/contracts/validate-consumptions", {"consumptions": consumptions, **body}
    )
    return expect(response, 200)


async def test_all_six_codes(org):
    await org.customer(1, "Holder")
    await org.customer(2, "Blocked")
    await org.customer(3, "Stranger")
    timed = await org.program()
    valid = await org.contract(timed["id"], customerNumber=1)
    expect(await org.connect(valid["uuid"], 2), 201)
    expect(
        await org.put(
            f"/contracts/{valid['uuid']}/contract-consumer/{org.tenant_id}/2", {"isBlocked": True}
        ),
        200,
    )
    later = await org.contract(
        timed["id"], customerNumber=1, consumableFrom="2026-12-31T23:30:00.000Z"
    )
    card = await org.program(**COUPON_CARD)
    empty = await org.contract(card["id"], customerNumber=1, couponsLimit=0)
    unknown = "00000000-0000-4000-8000-000000000000"

    all_ok = await _validate(org, [(valid["uuid"], 1)])
    assert (all_ok["code"], all_ok["message"]) == (3101, "Ok. All are valid.")
    some = "Some of the passed contracts are"
    cases = [
        ((unknown, 1), 3102, f"{some} unknown."),
        ((later["uuid"], 1), 3103, f"{some} unavailable on the date of travel."),
        ((valid["uuid"], 3), 3104, f"{some} not available for the customer."),
        ((valid["uuid"], 2), 3105, f"{some} blocked for the customer."),
        (
            (empty["uuid"], 1),
            3106,
            f"{some} out of coupons and no non-coupon contract was found on this date.",
        ),
    ]
    for pair, code, message in cases:
        result = await _validate(org, [(valid["uuid"], 1), pair])
        assert (result["code"], result["message"]) == (code, message)
        assert [c["code"] for c in result["consumptions"]] == [3101, code]
    # A day is read in the organisation's zone: the later contract starts on January 1st there.
    assert (await _validate(org, [(later["uuid"], 1)], travelDate="2026-12-31"))["code"] == 3101
    expect(
        await org.client.patch(
            f"/admin/v1/tenants/{org.tenant_id}",
            json={"timeZone": "Europe/Oslo"},
            headers=org.admin,
        ),
        200,
    )
    assert (await _validate(org, [(later["uuid"], 1)], travelDate="2026-12-31"))["code"] == 3103
    assert (await _validate(org, [(later["uuid"], 1)], travelDate="2027-01-01"))["code"] == 3101
    # Several failures: the code earliest in the documented order wins.
    mixed = await _validate(org, [(empty["uuid"], 1), (valid["uuid"], 2), (unknown, 1)])
    assert mixed["code"] == 3102
    assert [c["code"] for c in mixed["consumptions"]] == [3106, 3105, 3102]


async def test_validation_refuses_an_empty_list(org):
    response = await org.post("/contracts/validate-consumptions", {"consumptions": []})
    assert response.status_code == 422


async def test_timed_contracts_record_discounts_per_order_line(org):
    await org.customer(1, "Holder")
    program = await org.program()
    uuid = (await org.contract(program["id"], customerNumber=1))["uuid"]
    line = {"orderId": "O-1", "orderLineId": "1", "discount": "15.50", "currency": "NOK"}
    first = await org.post(f"/contracts/{uuid}/order-line-events", line)
    event = expect(first, 201)
    assert (event["contractUUID"], event["discount"]) == (uuid, "15.50")
    replay = await org.post(f"/contracts/{uuid}/order-line-events", line)
    assert expect(replay, 200) == event
    shown = expect(await org.get(f"/contracts/{uuid}", includeOrderLineEvents=True), 200)
    assert [e["id"] for e in shown["orderLineEvents"]] == [event["id"]]


async def test_points_contracts_have_no_order_line_events(org):
    gift = await org.program(loyaltyProgramType="POINTS", productId="ENT:GiftCard")
    uuid = (await org.contract(gift["id"]))["uuid"]
    refused = await org.post(
        f"/contracts/{uuid}/order-line-events", {"orderId": "O", "orderLineId": "1"}
    )
    assert expect(refused, 400)["code"] == "WRONG_PROGRAM_TYPE"


async def test_the_ten_coupon_card_across_day_boundaries(org, clock, db):
    await org.customer(1, "Holder")
    card = await org.program(**COUPON_CARD)
    contract = await org.contract(
        card["id"], customerNumber=1, consumableFrom="2026-11-01T00:00:00.000Z", couponsLimit=2
    )
    uuid = contract["uuid"]
    assert contract["remainingCoupons"] == 2

    async def use(order, at):
        body = {"orderId": order, "orderLineId": "1", "occurredAt": at}
        return await org.post(f"/contracts/{uuid}/order-line-events", body)

    first = expect(await use("A", "2026-11-22T08:00:00.000Z"), 201)
    assert (first["couponSpent"], first["remainingCoupons"]) == (True, 1)
    child = first["contractUUID"]
    assert child != uuid
    assert first["couponsContractUUID"] == uuid
    # Within the 24 hours the coupon grants: the same child, no coupon spent.
    same_day = expect(await use("B", "2026-11-23T07:59:59.000Z"), 201)
    assert (same_day["couponSpent"], same_day["contractUUID"]) == (False, child)
    # A retry of an order line spends nothing.
    assert expect(await use("A", "2026-11-25T08:00:00.000Z"), 200) == first
    next_day = expect(await use("C", "2026-11-23T08:00:00.000Z"), 201)
    assert (next_day["couponSpent"], next_day["remainingCoupons"]) == (True, 0)
    assert next_day["contractUUID"] != child
    refused = await use("D", "2026-11-25T08:00:00.000Z")
    problem = expect(refused, 409)
    assert (problem["code"], problem["responseCode"]) == ("OUT_OF_COUPONS", 3106)
    # Still covered while the last coupon's contract runs.
    assert expect(await use("E", "2026-11-24T07:00:00.000Z"), 201)["couponSpent"] is False
    child_contract = expect(await org.get(f"/contracts/{child}"), 200)
    assert child_contract["contractParent"] == uuid
    assert child_contract["loyaltyProgramType"] == "TIMED"
    assert (child_contract["consumableFrom"], child_contract["expirationDate"]) == (
        "2026-11-22T08:00:00.000Z",
        "2026-11-23T08:00:00.000Z",
    )
    # Out of coupons on a day no used coupon covers; valid on one it does.
    assert (await _validate(org, [(uuid, 1)], travelDate="2026-11-26"))["code"] == 3106
    assert (await _validate(org, [(uuid, 1)], travelDate="2026-11-23T12:00:00.000Z"))[
        "code"
    ] == 3101
    async with db.session() as session:
        used = await session.scalars(
            select(OutboxEvent.content).where(OutboxEvent.event_type == "LOYALTY_COUPON_USED")
        )
        assert [c["remainingCoupons"] for c in used] == [1, 0]


async def test_a_use_outside_the_contracts_validity_is_refused(org):
    card = await org.program(**COUPON_CARD)
    uuid = (await org.contract(card["id"], consumableFrom="2027-01-01T00:00:00.000Z"))["uuid"]
    refused = await org.post(
        f"/contracts/{uuid}/order-line-events", {"orderId": "O", "orderLineId": "1"}
    )
    assert expect(refused, 409)["responseCode"] == 3103


@on_postgresql
async def test_fifty_concurrent_coupon_uses_never_exceed_the_limit(org, clock):
    card = await org.program(**COUPON_CARD)
    uuid = (await org.contract(card["id"], couponsLimit=10))["uuid"]
    await org.refresh()

    async def use(n):
        # Each use a day apart, so that every one needs a coupon of its own.
        at = (clock.now() + timedelta(days=n)).isoformat()
        body = {"orderId": f"O-{n}", "orderLineId": "1", "occurredAt": at}
        return await org.post(f"/contracts/{uuid}/order-line-events", body)

    responses = await asyncio.gather(*(use(n) for n in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 40
    contract = expect(await org.get(f"/contracts/{uuid}"), 200)
    assert contract["remainingCoupons"] == 0
    children = expect(await org.get("/contracts", loyaltyProgramId=card["id"], perPage=100), 200)
    assert children["totalItems"] == 11  # the card and one contract per coupon
