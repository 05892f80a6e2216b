"""Checking and using partner benefits through the studio Open API (seeds 000, 001)."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from openbenefits.benefits.models import BenefitCounter, BenefitUsage
from openbenefits.customers.models import Weighing
from openbenefits.kit.outbox import OutboxEvent
from tests.benefits.conftest import Scene
from tests.helpers import expect

# 23:30 in Berlin on the last day of November; an hour later it is December there, but not in UTC.
LAST_HALF_HOUR_OF_NOVEMBER = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


def used(response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b""


def code(response) -> str:
    assert response.status_code == 400, response.text
    return response.json()["errorCode"]


async def _usages(db, **where) -> int:
    async with db.session() as session:
        statement = select(func.count()).select_from(BenefitUsage).filter_by(**where)
        return int(await session.scalar(statement) or 0)


async def test_the_seed_scenario_across_studios_and_months(scene: Scene, clock):
    clock.set(LAST_HALF_HOUR_OF_NOVEMBER)
    assert await scene.check("SAUNA", studio="b") == {"SAUNA": True}
    for studio in "aabab":
        used(await scene.use("SAUNA", studio=studio))
    assert code(await scene.use("SAUNA", studio="b")) == "BENEFIT_CONTINGENT_EXHAUSTED"
    assert code(await scene.use("SAUNA", studio="a")) == "BENEFIT_CONTINGENT_EXHAUSTED"
    assert await scene.check("SAUNA") == {"SAUNA": False}
    assert await scene.check("SAUNA", studio="b") == {"SAUNA": False}

    history = expect(
        await scene.chain.client.get(
            f"/v1/customers/{scene.customer['id']}/benefit-usages", headers=scene.key_a
        ),
        200,
    )
    places = [u["studioId"] for u in history["result"]]
    a, b = scene.chain.studio_a, scene.chain.studio_b
    assert places == [a, a, b, a, b]

    clock.advance(timedelta(hours=1))  # 00:30 on December 1 in Berlin
    assert await scene.check("SAUNA", studio="b") == {"SAUNA": True}
    for _ in range(5):
        used(await scene.use("SAUNA", studio="b"))
    assert code(await scene.use("SAUNA")) == "BENEFIT_CONTINGENT_EXHAUSTED"


async def test_the_contingent_view_and_reversal(scene: Scene, clock, db):
    for _ in range(5):
        used(await scene.use("SAUNA", studio="b"))
    view = await scene.contingent()
    assert (view["limit"], view["used"], view["remaining"]) == (5, 5, 0)
    # November in Berlin: from Nov 1 00:00 CET to Dec 1 00:00 CET.
    assert view["periodStart"] == "2026-10-31T23:00:00Z"
    assert view["periodEnd"] == "2026-11-30T23:00:00Z"
    assert [g["source"] for g in view["grants"]] == ["ADDITIONAL_MODULE"]

    client, customer = scene.chain.client, scene.customer
    history = expect(
        await client.get(f"/v1/customers/{customer['id']}/benefit-usages", headers=scene.key_a),
        200,
    )
    first = history["result"][0]["id"]
    path = f"/v1/customers/{customer['id']}/benefit-usages/{first}/reversal"
    no_reason = await client.post(path, json={}, headers=scene.key_a)
    assert no_reason.status_code == 400
    reversed_ = expect(
        await client.post(path, json={"reason": "Sauna was closed"}, headers=scene.key_a), 200
    )
    assert reversed_["reversal"]["reason"] == "Sauna was closed"
    again = await client.post(path, json={"reason": "twice"}, headers=scene.key_a)
    assert again.status_code == 409
    assert again.json()["errorCode"] == "BENEFIT_USAGE_ALREADY_REVERSED"
    assert (await scene.contingent())["remaining"] == 1
    used(await scene.use("SAUNA"))
    assert code(await scene.use("SAUNA")) == "BENEFIT_CONTINGENT_EXHAUSTED"
    assert await _usages(db) == 6  # the ledger keeps the reversed use

    async with db.session() as session:
        events = (
            await session.scalars(
                select(OutboxEvent.event_type).where(OutboxEvent.event_type.like("BENEFIT_%"))
            )
        ).all()
    assert sorted(set(events)) == [
        "BENEFIT_CONTINGENT_EXHAUSTED",
        "BENEFIT_USAGE_REVERSED",
        "BENEFIT_USED",
    ]
    assert events.count("BENEFIT_USED") == 6
    # The fifth use took the last one, and so did the use after the reversal.
    assert events.count("BENEFIT_CONTINGENT_EXHAUSTED") == 2


async def test_refusals_name_their_reason(scene: Scene):
    chain = scene.chain
    assert code(await scene.use("UNKNOWN")) == "BENEFIT_NOT_FOUND"
    local = await scene.benefit("LOCAL_ONLY")
    await scene.grant(local, rateId=scene.rate["id"])
    used(await scene.use("LOCAL_ONLY"))
    assert code(await scene.use("LOCAL_ONLY", studio="b")) == "BENEFIT_NOT_AVAILABLE_IN_STUDIO"
    assert await scene.check("LOCAL_ONLY", "SAUNA", studio="b") == {
        "LOCAL_ONLY": False,
        "SAUNA": True,
    }

    stranger = await chain.customer()  # no contract
    assert code(await scene.use("SAUNA", customer=stranger)) == "BENEFIT_NOT_GRANTED"
    assert await scene.check(customer=stranger) == {"LOCAL_ONLY": False, "SAUNA": False}
    nothing = expect(
        await chain.client.get(
            f"/v1/customers/{stranger['id']}/benefits/SAUNA/contingent", headers=scene.key_a
        ),
        200,
    )
    assert (nothing["limit"], nothing["used"], nothing["remaining"], nothing["grants"]) == (
        0,
        0,
        0,
        [],
    )

    restriction = f"/v1/customers/{scene.customer['id']}/access-restrictions"
    expect(await chain.client.put(restriction, json={"reason": "Unpaid"}, headers=chain.key_a), 200)
    assert code(await scene.use("SAUNA")) == "CUSTOMER_ACCESS_RESTRICTED"
    assert await scene.check("SAUNA") == {"SAUNA": False}
    await chain.client.delete(restriction, headers=chain.key_a)
    assert await scene.check("SAUNA") == {"SAUNA": True}


async def test_the_integration_must_be_active_where_used_and_at_home(scene: Scene):
    chain = scene.chain
    base = f"{scene.admin_base}/partner-integrations"
    expect(
        await chain.client.patch(
            f"{base}/{scene.integration_b}", json={"active": False}, headers=chain.admin
        ),
        200,
    )
    assert code(await scene.use("SAUNA", studio="b")) == "BENEFIT_NOT_AVAILABLE_IN_STUDIO"
    used(await scene.use("SAUNA", studio="a"))
    await chain.client.patch(
        f"{base}/{scene.integration_b}", json={"active": True}, headers=chain.admin
    )
    await chain.client.patch(
        f"{base}/{chain.integration_a}", json={"active": False}, headers=chain.admin
    )
    assert code(await scene.use("SAUNA", studio="b")) == "BENEFIT_NOT_AVAILABLE_IN_STUDIO"


async def test_a_customer_of_a_studio_without_the_partner_does_not_exist(scene: Scene):
    chain = scene.chain
    studio_c = expect(
        await chain.client.post(
            f"{scene.admin_base}/studios",
            json={"name": "C", "timeZone": "Europe/Berlin", "currency": "EUR", "locale": "de-DE"},
            headers=chain.admin,
        ),
        201,
    )["id"]
    elsewhere = await chain.customer(studio=studio_c)
    response = await chain.client.get(
        f"/v1/customers/{elsewhere['id']}/benefits", headers=scene.key_a
    )
    assert response.status_code == 404


async def test_grants_add_up(scene: Scene, clock):
    await scene.grant(
        scene.sauna, rateId=scene.rate["id"], contingent={"uses": 2, "period": "WEEK"}
    )
    view = await scene.contingent()
    assert (view["limit"], view["remaining"]) == (7, 7)
    # Sunday Nov 22: the week ends tonight, before the month does.
    assert view["periodEnd"] == "2026-11-22T23:00:00Z"
    for _ in range(7):
        used(await scene.use("SAUNA"))
    assert code(await scene.use("SAUNA")) == "BENEFIT_CONTINGENT_EXHAUSTED"
    clock.advance(timedelta(days=1))  # a new week: the rate's 2 come back, the module's do not
    view = await scene.contingent()
    assert (view["used"], view["remaining"]) == (5, 2)


async def test_unlimited_grants_never_run_out(scene: Scene, db):
    await scene.grant(scene.sauna, rateId=scene.rate["id"])
    for _ in range(8):
        used(await scene.use("SAUNA"))
    view = await scene.contingent()
    assert "limit" not in view  # unlimited
    assert "remaining" not in view
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(BenefitCounter)) == 0


async def test_grants_end_with_the_module_contract(scene: Scene, clock):
    chain = scene.chain
    path = (
        f"/v1/memberships/{scene.contract['id']}/self-service/additional-module-contracts/"
        f"{scene.module_contract_id}"
    )
    dates = expect(await chain.client.get(path, headers=chain.key_a), 200)[
        "availableCancelationDates"
    ]
    reasons = expect(
        await chain.client.post(
            f"{scene.admin_base}/cancelation-reasons", json={"name": "Moving"}, headers=chain.admin
        ),
        201,
    )
    expect(
        await chain.client.post(
            f"{path}/ordinary-cancelation",
            json={
                "cancelationDate": dates[0],
                "cancelationReasonId": reasons["cancelationReasonId"],
            },
            headers=chain.key_a,
        ),
        200,
    )
    last_day = datetime.fromisoformat(dates[0]).replace(hour=12, tzinfo=UTC)
    clock.set(last_day)
    assert await scene.check("SAUNA") == {"SAUNA": True}
    clock.set(last_day + timedelta(days=1))
    assert await scene.check("SAUNA") == {"SAUNA": False}
    assert code(await scene.use("SAUNA")) == "BENEFIT_NOT_GRANTED"


async def test_an_idempotent_retry_counts_once(scene: Scene, db):
    keyed = {"Idempotency-Key": "sauna-visit-1"}
    first = await scene.use("SAUNA", headers=keyed)
    again = await scene.use("SAUNA", headers=keyed)
    assert (first.status_code, again.status_code) == (200, 200)
    assert await _usages(db) == 1
    assert (await scene.contingent())["used"] == 1


async def test_concurrent_uses_take_exactly_the_contingent(scene: Scene, db):
    responses = await asyncio.gather(*(scene.use("SAUNA") for _ in range(200)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5
    assert statuses.count(400) == 195
    assert {r.json()["errorCode"] for r in responses if r.status_code == 400} == {
        "BENEFIT_CONTINGENT_EXHAUSTED"
    }
    assert await _usages(db) == 5


async def test_weighing_with_a_benefit_key_uses_it_in_the_same_transaction(scene: Scene, db):
    scan = await scene.benefit("BODY_SCAN")
    await scene.grant(scan, rateId=scene.rate["id"], contingent={"uses": 1, "period": "MONTH"})
    path = f"/v1/customers/{scene.customer['id']}/weighing"
    weighing = {"weight": 72.5, "height": 178, "rawResults": "{}"}
    stored = await scene.chain.client.post(
        path, params={"benefitKey": "BODY_SCAN"}, json=weighing, headers=scene.key_a
    )
    assert stored.status_code == 200, stored.text
    refused = await scene.chain.client.post(
        path, params={"benefitKey": "BODY_SCAN"}, json=weighing, headers=scene.key_a
    )
    assert code(refused) == "BENEFIT_CONTINGENT_EXHAUSTED"
    unknown = await scene.chain.client.post(
        path, params={"benefitKey": "NOPE"}, json=weighing, headers=scene.key_a
    )
    assert code(unknown) == "BENEFIT_NOT_FOUND"
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Weighing)) == 1
    assert await _usages(db, channel="WEIGHING") == 1
