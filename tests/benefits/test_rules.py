"""Benefit rules beyond the seed (PRODUCT.md §3): stacked limits, time windows, freezes, the
upsell link and event, answers as of an instant and dry runs, through the Studio Open API."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from openbenefits.benefits.models import BenefitCounter, BenefitUsage
from openbenefits.kit.outbox import OutboxEvent
from tests.benefits.conftest import Scene
from tests.benefits.test_use import code, used
from tests.helpers import expect

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
DAY_AND_MONTH = [{"uses": 8, "period": "MONTH"}, {"uses": 1, "period": "DAY"}]


async def _granted_by_rate(scene: Scene, key: str = "STEAM", **grant: Any) -> dict[str, Any]:
    benefit = await scene.benefit(key, cross_facility=True)
    return await scene.grant(benefit, rateId=scene.rate["id"], **grant)


def _limits(view: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [
        (limit["period"], limit["limit"], limit["used"], limit["remaining"])
        for grant in view["grants"]
        for limit in grant["limits"]
    ]


def _offers_link(scene: Scene, key: str) -> str:
    return f'</v1/customers/{scene.customer["id"]}/benefits/{key}/offers>; rel="offers"'


async def test_a_stacked_grant_is_stored_and_shown_shortest_period_first(scene: Scene):
    grant = await _granted_by_rate(
        scene,
        contingents=DAY_AND_MONTH,
        timeWindows=[{"days": WEEKDAYS, "start": "10:00", "end": "16:00"}],
    )
    assert grant["contingents"] == [
        {"uses": 1, "period": "DAY"},
        {"uses": 8, "period": "MONTH"},
    ]
    assert grant["timeWindows"] == [{"days": WEEKDAYS, "start": "10:00:00", "end": "16:00:00"}]


async def test_grants_refuse_contradictory_rules(scene: Scene):
    benefit = await scene.benefit("STEAM")
    path = f"{scene.admin_base}/benefits/{benefit['id']}/grants"
    for rules in (
        {"contingents": [{"uses": 1, "period": "DAY"}, {"uses": 2, "period": "DAY"}]},
        {"contingent": {"uses": 1, "period": "DAY"}, "contingents": DAY_AND_MONTH},
        {"timeWindows": [{"days": ["MONDAY"], "start": "16:00", "end": "10:00"}]},
        {"timeWindows": [{"days": [], "start": "10:00", "end": "16:00"}]},
        {"timeWindows": [{"days": ["MONDAY", "MONDAY"], "start": "10:00", "end": "16:00"}]},
        {"timeWindows": [{"days": ["MONDAY"], "start": "10:00+01:00", "end": "16:00"}]},
        {"timeWindows": [{"days": ["SOMEDAY"], "start": "10:00", "end": "16:00"}]},
    ):
        response = await scene.chain.client.post(
            path, json={"rateId": scene.rate["id"], **rules}, headers=scene.chain.admin
        )
        assert response.status_code == 422, (rules, response.text)
    # A window may run to the day's end.
    expect(
        await scene.chain.client.post(
            path,
            json={
                "rateId": scene.rate["id"],
                "timeWindows": [{"days": ["SUNDAY"], "start": "18:00", "end": "00:00"}],
            },
            headers=scene.chain.admin,
        ),
        201,
    )


async def test_a_use_must_fit_every_limit_and_the_refusal_names_the_full_one(scene: Scene, clock):
    await _granted_by_rate(scene, contingents=DAY_AND_MONTH)
    used(await scene.use("STEAM"))
    refused = await scene.use("STEAM")
    assert code(refused) == "BENEFIT_CONTINGENT_EXHAUSTED"
    assert "1 per DAY" in refused.json()["errorMessage"]
    assert refused.headers["Link"] == _offers_link(scene, "STEAM")
    view = await scene.contingent("STEAM")
    # The refused use took nothing from the month.
    assert _limits(view) == [("DAY", 1, 1, 0), ("MONTH", 8, 1, 7)]
    grant = view["grants"][0]
    assert (grant["limit"], grant["period"], grant["used"], grant["remaining"]) == (
        1,
        "DAY",
        1,
        0,
    )
    assert (view["limit"], view["remaining"]) == (1, 0)
    # November 22 is a Sunday: one use a day up to the 29th fills the month's eight.
    for _ in range(7):
        clock.advance(timedelta(days=1))
        used(await scene.use("STEAM"))
    clock.advance(timedelta(days=1))
    refused = await scene.use("STEAM")
    assert code(refused) == "BENEFIT_CONTINGENT_EXHAUSTED"
    assert "8 per MONTH" in refused.json()["errorMessage"]
    assert _limits(await scene.contingent("STEAM")) == [("DAY", 1, 0, 1), ("MONTH", 8, 8, 0)]
    clock.advance(timedelta(days=1))  # December
    used(await scene.use("STEAM"))


async def test_grants_add_up_and_a_use_draws_on_one_that_fits(scene: Scene):
    # The module grants SAUNA 5 a month; the rate adds 1 a day on top.
    await scene.grant(
        scene.sauna, rateId=scene.rate["id"], contingents=[{"uses": 1, "period": "DAY"}]
    )
    for _ in range(6):
        used(await scene.use("SAUNA"))
    assert code(await scene.use("SAUNA")) == "BENEFIT_CONTINGENT_EXHAUSTED"


async def test_the_use_that_fills_a_limit_announces_it(scene: Scene, db):
    await _granted_by_rate(scene, contingents=DAY_AND_MONTH)
    used(await scene.use("STEAM"))
    async with db.session() as session:
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.event_type == "BENEFIT_CONTINGENT_EXHAUSTED")
            )
        ).all()
        usage_id = await session.scalar(select(func.max(BenefitUsage.id)))
    assert len(events) == 1
    content = events[0].content
    if isinstance(content, str):
        content = json.loads(content)
    assert events[0].entity_id == usage_id
    assert content == {
        "customerId": scene.customer["id"],
        "benefitKey": "STEAM",
        "studioId": scene.chain.studio_a,
        "period": "DAY",
        "limit": 1,
        # November 22 in Berlin.
        "periodStart": "2026-11-21T23:00:00+00:00",
        "periodEnd": "2026-11-22T23:00:00+00:00",
    }


async def test_refusals_an_upsell_could_lift_link_to_the_offers(scene: Scene):
    await scene.benefit("STEAM")
    not_granted = await scene.use("STEAM")
    assert code(not_granted) == "BENEFIT_NOT_GRANTED"
    assert not_granted.headers["Link"] == _offers_link(scene, "STEAM")
    offers = await scene.chain.client.get(
        f"/v1/customers/{scene.customer['id']}/benefits/STEAM/offers", headers=scene.key_a
    )
    assert expect(offers, 200) == []
    unknown = await scene.use("NOPE")
    assert code(unknown) == "BENEFIT_NOT_FOUND"
    assert "Link" not in unknown.headers


async def test_stacked_limits_hold_under_concurrent_uses(scene: Scene, db):
    await _granted_by_rate(scene, contingents=DAY_AND_MONTH)
    responses = await asyncio.gather(*(scene.use("STEAM") for _ in range(200)))
    statuses = [r.status_code for r in responses]
    assert (statuses.count(200), statuses.count(400)) == (1, 199)
    assert {r.json()["errorCode"] for r in responses if r.status_code == 400} == {
        "BENEFIT_CONTINGENT_EXHAUSTED"
    }
    async with db.session() as session:
        counters = (await session.execute(select(BenefitCounter.period, BenefitCounter.used))).all()
        uses = await session.scalar(
            select(func.count())
            .select_from(BenefitUsage)
            .where(BenefitUsage.benefit_key == "STEAM")
        )
    assert uses == 1
    # No refused use left anything behind in the other limit.
    assert sorted((str(period), count) for period, count in counters) == [("DAY", 1), ("MONTH", 1)]


async def test_concurrent_weighings_take_a_stacked_limit_once(scene: Scene, db):
    # A weighing uses its benefit in the request's transaction: a full limit met under a race
    # must leave that transaction usable for the refusal.
    await _granted_by_rate(scene, "BODY_SCAN", contingents=DAY_AND_MONTH)
    path = f"/v1/customers/{scene.customer['id']}/weighing"
    weighing = {"weight": 72.5, "height": 178, "rawResults": "{}"}
    responses = await asyncio.gather(
        *(
            scene.chain.client.post(
                path, params={"benefitKey": "BODY_SCAN"}, json=weighing, headers=scene.key_a
            )
            for _ in range(40)
        )
    )
    statuses = [r.status_code for r in responses]
    assert (statuses.count(200), statuses.count(400)) == (1, 39)
    async with db.session() as session:
        counters = (await session.execute(select(BenefitCounter.used))).scalars().all()
    assert counters == [1, 1]


# Time windows


async def _check_at(scene: Scene, key: str, instant: datetime, clock, studio: str = "a") -> bool:
    clock.set(instant)
    return (await scene.check(key, studio=studio))[key]


async def test_time_windows_follow_the_studios_local_time_across_daylight_saving(
    scene: Scene, clock
):
    await _granted_by_rate(
        scene, timeWindows=[{"days": WEEKDAYS, "start": "10:00", "end": "16:00"}]
    )
    cases = [
        # Friday before the change to summer time (CET, UTC+1).
        (datetime(2026, 3, 27, 8, 59, tzinfo=UTC), False),  # 09:59
        (datetime(2026, 3, 27, 9, 0, tzinfo=UTC), True),  # 10:00
        (datetime(2026, 3, 27, 14, 59, tzinfo=UTC), True),  # 15:59
        (datetime(2026, 3, 27, 15, 0, tzinfo=UTC), False),  # 16:00: the end is not in
        (datetime(2026, 3, 28, 10, 0, tzinfo=UTC), False),  # Saturday
        # Monday after it (CEST, UTC+2): the same local hours are an hour earlier in UTC.
        (datetime(2026, 3, 30, 7, 59, tzinfo=UTC), False),  # 09:59
        (datetime(2026, 3, 30, 8, 0, tzinfo=UTC), True),  # 10:00
        (datetime(2026, 3, 30, 14, 0, tzinfo=UTC), False),  # 16:00
        # Monday after the change back (CET).
        (datetime(2026, 10, 26, 8, 59, tzinfo=UTC), False),  # 09:59
        (datetime(2026, 10, 26, 14, 59, tzinfo=UTC), True),  # 15:59
    ]
    answers = [(instant, await _check_at(scene, "STEAM", instant, clock)) for instant, _ in cases]
    assert answers == cases
    clock.set(datetime(2026, 3, 30, 7, 30, tzinfo=UTC))
    refused = await scene.use("STEAM")
    assert code(refused) == "BENEFIT_OUTSIDE_TIME_WINDOW"
    assert "MONDAY" in refused.json()["errorMessage"]
    assert refused.headers["Link"] == _offers_link(scene, "STEAM")
    clock.set(datetime(2026, 3, 30, 8, 30, tzinfo=UTC))
    used(await scene.use("STEAM"))


async def test_several_ranges_a_day_and_one_to_midnight(scene: Scene, clock):
    await _granted_by_rate(
        scene,
        timeWindows=[
            {"days": ["MONDAY"], "start": "07:00", "end": "09:00"},
            {"days": ["MONDAY"], "start": "20:00", "end": "00:00"},
        ],
    )
    monday = datetime(2026, 11, 23, tzinfo=UTC)  # CET: local = UTC + 1
    for hour, valid in ((6, True), (8, False), (12, False), (19, True), (22, True), (23, False)):
        assert await _check_at(scene, "STEAM", monday + timedelta(hours=hour), clock) is valid


async def test_time_windows_are_the_hours_of_the_studio_of_use(scene: Scene, clock):
    expect(
        await scene.chain.client.patch(
            f"{scene.admin_base}/studios/{scene.chain.studio_b}",
            json={"timeZone": "America/New_York"},
            headers=scene.chain.admin,
        ),
        200,
    )
    await _granted_by_rate(
        scene, timeWindows=[{"days": WEEKDAYS, "start": "10:00", "end": "16:00"}]
    )
    # Monday 15:30 UTC: 16:30 in Berlin (the home studio, closed), 10:30 in New York (open).
    instant = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    assert await _check_at(scene, "STEAM", instant, clock, studio="a") is False
    assert await _check_at(scene, "STEAM", instant, clock, studio="b") is True
    used(await scene.use("STEAM", studio="b"))
    assert code(await scene.use("STEAM", studio="a")) == "BENEFIT_OUTSIDE_TIME_WINDOW"


# Freezes


async def test_an_idle_period_rests_the_grants_from_its_first_to_its_last_local_day(
    scene: Scene, clock
):
    await scene.benefit("STEAM")
    expect(
        await scene.chain.client.post(
            f"{scene.admin_base}/customers/{scene.customer['id']}/idle-periods",
            json={"startDate": "2026-12-10", "endDate": "2026-12-20", "reason": "Travelling"},
            headers=scene.chain.admin,
        ),
        201,
    )
    # Berlin is UTC+1 in December: its days start at 23:00 UTC the day before.
    cases = [
        (datetime(2026, 12, 9, 22, 59, tzinfo=UTC), True),
        (datetime(2026, 12, 9, 23, 0, tzinfo=UTC), False),
        (datetime(2026, 12, 20, 22, 59, tzinfo=UTC), False),
        (datetime(2026, 12, 20, 23, 0, tzinfo=UTC), True),
    ]
    answers = [(instant, await _check_at(scene, "SAUNA", instant, clock)) for instant, _ in cases]
    assert answers == cases
    clock.set(datetime(2026, 12, 15, 12, tzinfo=UTC))
    refused = await scene.use("SAUNA")
    assert code(refused) == "BENEFIT_CONTRACT_IDLE"
    assert "2026-12-10" in refused.json()["errorMessage"]
    # A benefit nothing grants is still "not granted" while the membership rests.
    assert code(await scene.use("STEAM")) == "BENEFIT_NOT_GRANTED"


# As of an instant, and dry runs


async def _contingent_at(scene: Scene, at: datetime, key: str = "SAUNA") -> dict[str, Any]:
    response = await scene.chain.client.get(
        f"/v1/customers/{scene.customer['id']}/benefits/{key}/contingent",
        params={"at": at.isoformat()},
        headers=scene.key_a,
    )
    return expect(response, 200)


async def _dry_run(scene: Scene, key: str = "SAUNA", at: datetime | None = None) -> dict:
    response = await scene.chain.client.get(
        f"/v1/customers/{scene.customer['id']}/benefits/{key}/check",
        params={"at": at.isoformat()} if at else {},
        headers=scene.key_a,
    )
    return expect(response, 200)


async def test_the_contingent_and_the_verdict_as_of_an_instant(scene: Scene, clock):
    start = clock.now()  # the scene's grant (5 a month) was made at this instant
    minute = timedelta(minutes=1)
    used(await scene.use("SAUNA"))
    clock.advance(10 * minute)
    used(await scene.use("SAUNA"))
    clock.advance(10 * minute)
    history = expect(
        await scene.chain.client.get(
            f"/v1/customers/{scene.customer['id']}/benefit-usages", headers=scene.key_a
        ),
        200,
    )["result"]
    expect(
        await scene.chain.client.post(
            f"/v1/customers/{scene.customer['id']}/benefit-usages/{history[0]['id']}/reversal",
            json={"reason": "Closed"},
            headers=scene.key_a,
        ),
        200,
    )
    # The module's grant is replaced by one of 3 a week.
    clock.advance(10 * minute)
    grant = (
        expect(
            await scene.chain.client.get(
                f"{scene.admin_base}/benefits/{scene.sauna['id']}", headers=scene.chain.admin
            ),
            200,
        )
    )["grants"][0]
    replaced_at = clock.now()
    response = await scene.chain.client.delete(
        f"{scene.admin_base}/benefits/{scene.sauna['id']}/grants/{grant['id']}",
        headers=scene.chain.admin,
    )
    assert response.status_code == 204
    await scene.grant(
        scene.sauna,
        additionalModuleId=scene.module["id"],
        contingents=[{"uses": 3, "period": "WEEK"}],
    )
    clock.advance(10 * minute)

    before_the_grant = await _contingent_at(scene, start - timedelta(seconds=1))
    assert before_the_grant["grants"] == []
    assert _limits(await _contingent_at(scene, start)) == [("MONTH", 5, 1, 4)]
    # Before the reversal both uses count; after it, one.
    assert _limits(await _contingent_at(scene, start + 15 * minute)) == [("MONTH", 5, 2, 3)]
    assert _limits(await _contingent_at(scene, start + 25 * minute)) == [("MONTH", 5, 1, 4)]
    # The old grant stops when it is removed; its successor counts from zero.
    assert _limits(await _contingent_at(scene, replaced_at - timedelta(seconds=1))) == [
        ("MONTH", 5, 1, 4)
    ]
    assert _limits(await _contingent_at(scene, replaced_at)) == [("WEEK", 3, 0, 3)]
    # Now, from the counters, is what the ledger says as of now.
    assert _limits(await scene.contingent()) == _limits(await _contingent_at(scene, clock.now()))
    # A future instant: the grant standing then, nothing used yet in that week.
    assert _limits(await _contingent_at(scene, datetime(2027, 1, 5, tzinfo=UTC))) == [
        ("WEEK", 3, 0, 3)
    ]

    assert (await _dry_run(scene, at=start - timedelta(seconds=1)))["errorCode"] == (
        "BENEFIT_NOT_GRANTED"
    )
    verdicts = expect(
        await scene.chain.client.get(
            f"/v1/customers/{scene.customer['id']}/benefits",
            params={"key": "SAUNA", "at": (start - timedelta(days=1)).isoformat()},
            headers=scene.key_a,
        ),
        200,
    )
    assert verdicts == [{"key": "SAUNA", "valid": False}]


async def test_a_dry_run_answers_the_verdict_and_uses_nothing(scene: Scene):
    await _granted_by_rate(scene, contingents=[{"uses": 1, "period": "DAY"}])
    for _ in range(3):
        assert await _dry_run(scene, "STEAM") == {
            "key": "STEAM",
            "at": "2026-11-22T10:00:00Z",
            "valid": True,
        }
    assert _limits(await scene.contingent("STEAM")) == [("DAY", 1, 0, 1)]
    used(await scene.use("STEAM"))
    refused = await _dry_run(scene, "STEAM")
    assert refused["valid"] is False
    assert refused["errorCode"] == "BENEFIT_CONTINGENT_EXHAUSTED"
    assert "1 per DAY" in refused["errorMessage"]
    assert (await _dry_run(scene, "NOPE"))["errorCode"] == "BENEFIT_NOT_FOUND"
    tomorrow = await _dry_run(scene, "STEAM", at=datetime(2026, 11, 23, 10, tzinfo=UTC))
    assert tomorrow["valid"] is True


async def test_an_instant_must_carry_its_offset(scene: Scene):
    path = f"/v1/customers/{scene.customer['id']}/benefits/SAUNA/contingent"
    for at in ("2026-11-22T10:00:00", "yesterday", "3000-01-01T00:00:00Z"):
        response = await scene.chain.client.get(path, params={"at": at}, headers=scene.key_a)
        assert response.status_code == 400, at
