"""Entitlements (seed 003, "Fetching entitlements"), personnel tickets, program codes, age
bands."""

from datetime import date

from tests.helpers import expect
from tests.loyalty.test_usage import COUPON_CARD


async def _personnel_tickets(personnel):
    """The personnel ticket system's organisation: Anders' two entitlements and his
    daughter's, each held by a profile the system administers."""
    leisure = await personnel.program(
        productId="ENT:EntitlementProduct:levelA2",
        productVersion="ENT:Version:1",
        allowOtherOrganisations=True,
        usageValidityPeriod="P3650D",
    )
    work = await personnel.program(
        productId="ENT:EntitlementProduct:levelA4",
        productVersion="ENT:Version:1",
        allowOtherOrganisations=True,
        usageValidityPeriod="P3650D",
    )
    await personnel.customer(4567891, "Anders", date(1986, 11, 23))
    await personnel.customer(4567892, "Anders", date(1986, 11, 23))
    await personnel.customer(4585692, "Josefine", date(2006, 3, 2))
    start = "2020-01-01T00:00:00.000Z"
    anders_leisure = await personnel.contract(
        leisure["id"], consumableFrom=start, customerNumber=4567891, externalRef="ABCD-DEFG-GH12"
    )
    anders_work = await personnel.contract(
        work["id"], consumableFrom=start, customerNumber=4567892, externalRef="ABCD-DEFG-GH12"
    )
    josefine = await personnel.contract(
        leisure["id"], consumableFrom=start, customerNumber=4585692, externalRef="1234-ABCF-3456"
    )
    return anders_leisure, anders_work, josefine


async def test_the_seeds_entitlement_example(org, other_org):
    personnel = other_org
    anders_leisure, anders_work, josefine = await _personnel_tickets(personnel)
    await org.customer(1234567, "Anders", date(1986, 11, 23))
    claim = {"externalReference": "ABCD-DEFG-GH12", "customerNumber": 1234567}
    claimed = expect(await org.post("/contracts/claim-personnel-ticket", claim), 200)
    assert sorted(claimed["contractUUIDs"]) == sorted([anders_leisure["uuid"], anders_work["uuid"]])
    again = await org.post("/contracts/claim-personnel-ticket", claim)
    assert expect(again, 409)["code"] == "ALREADY_CLAIMED"
    daughter = {"externalReference": "1234-ABCF-3456", "customerNumber": 1234567}
    expect(await org.post("/contracts/claim-personnel-ticket", daughter), 200)
    unknown = {"externalReference": "NOPE", "customerNumber": 1234567}
    assert (await org.post("/contracts/claim-personnel-ticket", unknown)).status_code == 404

    entitlements = expect(await org.get("/entitlements/1234567/by-customer-number"), 200)
    assert [
        (
            e["productId"],
            e["contractUUID"],
            e["contractExternalRef"],
            e["contractOwnerCustomerNumber"],
            e["contractOwnerDisplayName"],
            e["contractOwnerBirthDate"],
        )
        for e in entitlements
    ] == [
        (
            "ENT:EntitlementProduct:levelA2",
            anders_leisure["uuid"],
            "ABCD-DEFG-GH12",
            4567891,
            "Anders",
            {"year": 1986, "month": 11, "day": 23},
        ),
        (
            "ENT:EntitlementProduct:levelA4",
            anders_work["uuid"],
            "ABCD-DEFG-GH12",
            4567892,
            "Anders",
            {"year": 1986, "month": 11, "day": 23},
        ),
        (
            "ENT:EntitlementProduct:levelA2",
            josefine["uuid"],
            "1234-ABCF-3456",
            4585692,
            "Josefine",
            {"year": 2006, "month": 3, "day": 2},
        ),
    ]
    first = entitlements[0]
    assert first["productVersion"] == "ENT:Version:1"
    assert first["contractValidFrom"] == "2020-01-01T00:00:00.000Z"
    assert first["contractValidTo"] == "2029-12-29T00:00:00.000Z"  # P3650D
    # On 2026-11-22 Anders is 39 (his birthday is tomorrow) and Josefine 20.
    assert [(e["passengerCategory"], e["isSeniorCitizen"]) for e in entitlements] == [
        ("ADULT", False),
        ("ADULT", False),
        ("ADULT", False),
    ]
    # Filtered by the travel date: in 2019 none was valid yet.
    before = await org.get("/entitlements/1234567/by-customer-number", travelDate="2019-06-01")
    assert expect(before, 200) == []
    # A blocked consumer's contract never appears.
    block = f"/contracts/{josefine['uuid']}/contract-consumer/{org.tenant_id}/1234567"
    expect(await personnel.put(block, {"isBlocked": True}), 200)
    after = expect(await org.get("/entitlements/1234567/by-customer-number"), 200)
    assert [e["contractUUID"] for e in after] == [anders_leisure["uuid"], anders_work["uuid"]]


async def test_a_coupon_card_and_its_used_coupon(org):
    await org.customer(7, "Kari", date(1950, 5, 1))
    card = await org.program(**COUPON_CARD)
    contract = await org.contract(card["id"], customerNumber=7, couponsLimit=10)
    uuid = contract["uuid"]
    use = {"orderId": "O-1", "orderLineId": "1", "occurredAt": "2026-11-22T09:00:00.000Z"}
    child = expect(await org.post(f"/contracts/{uuid}/order-line-events", use), 201)
    entitlements = expect(await org.get("/entitlements/7/by-customer-number"), 200)
    assert [(e["contractUUID"], e["contractParent"]) for e in entitlements] == [
        (uuid, None),
        (child["contractUUID"], uuid),
    ]
    parent, used = entitlements
    assert (parent["couponsLimit"], parent["remainingCoupons"]) == (10, 9)
    assert used["contractValidTo"] == "2026-11-23T09:00:00.000Z"
    assert used["contractOwnerCustomerNumber"] == 7
    assert (parent["passengerCategory"], parent["isSeniorCitizen"]) == ("SENIOR", True)
    alone = await org.get("/entitlements/7/by-customer-number", excludeSubContracts="true")
    assert [e["contractUUID"] for e in expect(alone, 200)] == [uuid]
    next_week = await org.get("/entitlements/7/by-customer-number", travelDate="2026-11-29")
    assert [e["contractUUID"] for e in expect(next_week, 200)] == [uuid]


async def test_age_bands_are_the_organisations_own(org):
    defaults = expect(await org.get("/age-bands"), 200)
    assert defaults["seniorCitizenFromAge"] == 67
    bands = {
        "bands": [
            {"passengerCategory": "CHILD", "fromAge": 0},
            {"passengerCategory": "YOUTH", "fromAge": 16},
            {"passengerCategory": "ADULT", "fromAge": 20},
        ],
        "seniorCitizenFromAge": 60,
    }
    assert expect(await org.put("/age-bands", bands), 200) == bands
    assert expect(await org.get("/age-bands"), 200) == bands
    unordered = {**bands, "bands": list(reversed(bands["bands"]))}
    assert (await org.put("/age-bands", unordered)).status_code == 422
    await org.customer(8, "Ola", date(2010, 11, 22))
    program = await org.program()
    await org.contract(program["id"], customerNumber=8)
    [entitlement] = expect(await org.get("/entitlements/8/by-customer-number"), 200)
    assert (entitlement["passengerCategory"], entitlement["isSeniorCitizen"]) == ("YOUTH", False)
    unknown = await org.get("/entitlements/9/by-customer-number")
    assert expect(unknown, 404)["code"] == "CUSTOMER_NOT_FOUND"


async def test_redeeming_a_program_code(org, clock):
    await org.customer(5, "Kari")
    program = await org.program(loyaltyProgramCode="20Coffee")
    redeem = {"loyaltyProgramCode": "20Coffee", "customerNumber": 5}
    contract = expect(await org.post("/loyaltyprograms/redeem", redeem), 201)
    assert contract["loyaltyProgramId"] == program["id"]
    assert contract["consumableFrom"] == "2026-11-22T10:00:00.000Z"
    assert contract["contractConsumers"][0]["customerNumber"] == 5
    twice = await org.post("/loyaltyprograms/redeem", redeem)
    assert expect(twice, 409)["code"] == "LOYALTY_PROGRAM_ALREADY_REDEEMED"
    unknown = await org.post("/loyaltyprograms/redeem", {**redeem, "loyaltyProgramCode": "Nope"})
    assert expect(unknown, 404)["code"] == "LOYALTY_PROGRAM_CODE_NOT_FOUND"
    await org.program(loyaltyProgramCode="Old", endDate="2026-01-01T00:00:00.000Z")
    expired = await org.post("/loyaltyprograms/redeem", {**redeem, "loyaltyProgramCode": "Old"})
    assert expect(expired, 400)["code"] == "LOYALTY_PROGRAM_CODE_EXPIRED"


async def test_entitlements_carry_the_product_version_of_the_current_version(org):
    """A version that is no longer in force (seed 003's own example: started and ended in 2007)
    is DEPRECATED however high its number; entitlements keep the CURRENT version's product
    version, and take a newer one once it is in force."""
    program = await org.program(productVersion="ENT:Version:1")
    await org.customer(7654321)
    await org.contract(program["id"], customerNumber=7654321)
    versions = f"/loyaltyprograms/{program['id']}/versions"
    ended = {
        "startDate": "2007-12-03T10:15:30+01:00",
        "endDate": "2007-12-03T10:15:30+01:00",
        "productVersion": "ENT:Version:2007",
    }
    assert expect(await org.post(versions, ended), 201)["status"] == "DEPRECATED"
    path = "/entitlements/7654321/by-customer-number"
    assert [e["productVersion"] for e in expect(await org.get(path), 200)] == ["ENT:Version:1"]

    newer = {
        "startDate": "2026-06-01T00:00:00.000Z",
        "endDate": "2030-11-22T00:00:00.000Z",
        "productVersion": "ENT:Version:3",
    }
    assert expect(await org.post(versions, newer), 201)["status"] == "CURRENT"
    assert [e["productVersion"] for e in expect(await org.get(path), 200)] == ["ENT:Version:3"]
