"""Loyalty programs and versions (seed 003): creation, durations, DRAFT overwrite, statuses."""

import re
from datetime import timedelta

import pytest

from tests.helpers import expect
from tests.loyalty.conftest import TIMED_PROGRAM


async def test_create_program_as_in_the_seed(org):
    program = await org.program()
    assert program["organisationId"] == org.tenant_id
    assert program["loyaltyProgramType"] == "TIMED"
    assert program["productId"] == "ENT:DemoProduct:Demo"
    assert program["productVersion"] == "ENT:ProductVersion:V1"
    assert program["usageValidityPeriod"] == "P365D"
    assert program["versionNumber"] == 1
    assert program["status"] == "CURRENT"
    # One format for every instant answered: UTC, `Z`, milliseconds, whatever was stored.
    assert program["startDate"] == "2020-03-13T10:26:44.118Z"
    assert program["endDate"] == "2030-11-22T01:55:56.000Z"  # sent as +00:00, no fraction
    for instant in (program["createdAt"], program["descriptions"][0]["lastChangedAt"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", instant), instant
    assert [d["displayName"] for d in program["descriptions"]] == [
        "Demo Coffee Program",
        "Demo kaffe-program",
    ]
    assert program["descriptions"][0]["createdBy"] == program["createdBy"]
    assert expect(await org.get(f"/loyaltyprograms/{program['id']}"), 200) == program
    listed = expect(await org.get("/loyaltyprograms"), 200)
    assert listed["totalItems"] == 1
    assert listed["items"] == [program]


async def test_program_codes_are_unique_per_organisation(org, other_org):
    await org.program(loyaltyProgramCode="20Coffee")
    taken = await org.post("/loyaltyprograms", {**TIMED_PROGRAM, "loyaltyProgramCode": "20Coffee"})
    assert expect(taken, 409)["code"] == "LOYALTY_PROGRAM_CODE_TAKEN"
    await other_org.program(loyaltyProgramCode="20Coffee")


@pytest.mark.parametrize(
    ("period", "stored"),
    [
        ("P365D", "P365D"),
        ("P3DT12H30M5S", "P3DT12H30M5S"),
        ("PT36H", "P1DT12H"),
        ("PT90M", "PT1H30M"),
    ],
)
async def test_usage_validity_period_takes_days_and_time(org, period, stored):
    program = await org.program(usageValidityPeriod=period)
    assert program["usageValidityPeriod"] == stored


@pytest.mark.parametrize("period", ["P1Y", "P1M", "P1W", "P1Y2D", "P2M1DT1H"])
async def test_usage_validity_period_refuses_calendar_units(org, period):
    response = await org.post("/loyaltyprograms", {**TIMED_PROGRAM, "usageValidityPeriod": period})
    problem = expect(response, 422)
    assert "years, months and weeks are ambiguous" in problem["detail"]
    assert problem["reference"] == "body.usageValidityPeriod"


@pytest.mark.parametrize("period", ["", "P", "PT", "P0D", "365", "P1.5D", "-P1D", "P1DT"])
async def test_usage_validity_period_refuses_what_is_not_a_duration(org, period):
    response = await org.post("/loyaltyprograms", {**TIMED_PROGRAM, "usageValidityPeriod": period})
    assert expect(response, 422)["reference"] == "body.usageValidityPeriod"


async def test_only_coupons_programs_have_coupons(org):
    timed = await org.post("/loyaltyprograms", {**TIMED_PROGRAM, "defaultCouponsLimit": 10})
    assert "only COUPONS programs" in expect(timed, 422)["detail"]
    coupons = await org.post("/loyaltyprograms", {**TIMED_PROGRAM, "loyaltyProgramType": "COUPONS"})
    assert "defaultCouponsLimit" in expect(coupons, 422)["detail"]
    card = await org.program(loyaltyProgramType="COUPONS", defaultCouponsLimit=10)
    assert card["defaultCouponsLimit"] == 10
    assert card["couponValidityPeriod"] == "P1D"


async def test_a_program_needs_a_token_with_the_right_scope(org, client):
    assert expect(await client.get("/customers/v2/benefits/loyaltyprograms"), 401)["code"] == (
        "TOKEN_MISSING"
    )


async def test_an_error_carries_the_callers_correlation_id_or_else_the_trace_id(client):
    path = "/customers/v2/benefits/loyaltyprograms"
    mine = "9d54fd0c-8207-43f7-a4b9-7fb5aa333b46"  # seed 003's 401 example
    answered = expect(await client.get(path, headers={"X-Correlation-Id": mine}), 401)
    assert answered["correlationId"] == mine
    assert answered["traceId"] != mine
    anonymous = expect(await client.get(path), 401)
    assert anonymous["correlationId"] == anonymous["traceId"]


async def test_another_organisations_program_does_not_exist(org, other_org):
    program = await org.program()
    assert expect(await other_org.get(f"/loyaltyprograms/{program['id']}"), 404)["code"] == (
        "LOYALTY_PROGRAM_NOT_FOUND"
    )


async def test_a_new_version_while_a_draft_exists_overwrites_the_draft(org, clock):
    program = await org.program()
    path = f"/loyaltyprograms/{program['id']}/versions"
    draft = expect(
        await org.post(
            path,
            {
                "descriptions": [
                    {"languageCode": "NOB", "description": "Reis Kundekort gir deg 20% rabatt"}
                ],
                "startDate": "2027-01-01T00:00:00+01:00",
                "usageValidityPeriod": "P3DT12H30M5S",
                "productVersion": "ENT:Version:V2",
            },
        ),
        201,
    )
    assert draft["versionNumber"] == 2
    assert draft["status"] == "DRAFT"
    assert draft["internalDescription"] == "Free coffee program"
    assert draft["endDate"] == "2030-11-22T01:55:56.000Z"  # copied
    assert draft["startDate"] == "2026-12-31T23:00:00.000Z"  # sent at +01:00
    assert [d["languageCode"] for d in draft["descriptions"]] == ["NOB"]
    clock.advance(timedelta(hours=1))
    again = expect(await org.post(path, {"productVersion": "ENT:Version:V3"}), 201)
    assert (again["id"], again["versionNumber"]) == (draft["id"], 2)
    assert again["productVersion"] == "ENT:Version:V3"
    assert again["usageValidityPeriod"] == "P3DT12H30M5S"
    # Omitted descriptions stay as they were; an unchanged language keeps its creation stamp.
    assert again["descriptions"] == draft["descriptions"]
    versions = expect(await org.get(path), 200)
    assert [(v["versionNumber"], v["status"]) for v in versions] == [(1, "CURRENT"), (2, "DRAFT")]
    # The program shows its CURRENT version until the draft starts.
    assert expect(await org.get(f"/loyaltyprograms/{program['id']}"), 200)["versionNumber"] == 1


async def test_descriptions_given_again_keep_their_creation_and_record_the_change(org, clock):
    program = await org.program(startDate="2027-01-01T00:00:00.000Z")  # a DRAFT program
    clock.advance(timedelta(days=1))
    changed = expect(
        await org.post(
            f"/loyaltyprograms/{program['id']}/versions",
            {"descriptions": [{"languageCode": "eng", "description": "Coffee, free"}]},
        ),
        201,
    )
    assert changed["versionNumber"] == 1  # the draft overwritten
    [description] = changed["descriptions"]
    assert description["languageCode"] == "ENG"
    assert description["createdAt"] == program["descriptions"][0]["createdAt"]
    assert description["lastChangedAt"] == "2026-11-23T10:00:00.000Z"


async def test_statuses_follow_the_clock(org, clock):
    program = await org.program(
        startDate="2026-12-01T00:00:00.000Z", endDate="2027-01-01T00:00:00.000Z"
    )
    path = f"/loyaltyprograms/{program['id']}"
    assert expect(await org.get(path), 200)["status"] == "DRAFT"
    contract = await org.post(f"{path}/contracts", {"consumableFrom": "2026-12-01T00:00:00.000Z"})
    assert expect(contract, 409)["code"] == "LOYALTY_PROGRAM_NOT_CURRENT"
    clock.set(clock.now().replace(month=12, day=15))
    assert expect(await org.get(path), 200)["status"] == "CURRENT"
    created = await org.contract(program["id"], consumableFrom="2026-12-01T00:00:00.000Z")
    assert created["expirationDate"] == "2027-12-01T00:00:00.000Z"  # consumableFrom + P365D
    clock.set(clock.now().replace(year=2027, month=1, day=2))
    assert expect(await org.get(path), 200)["status"] == "DEPRECATED"
    # Every version DEPRECATED: the program's contracts are inaccessible.
    gone = await org.get(f"/contracts/{created['uuid']}")
    assert expect(gone, 404)["code"] == "CONTRACT_NOT_FOUND"
    again = await org.post(f"{path}/contracts", {"consumableFrom": "2027-01-02T00:00:00.000Z"})
    assert expect(again, 409)["code"] == "LOYALTY_PROGRAM_NOT_CURRENT"


async def test_a_newer_version_in_force_is_current_and_supersedes_the_older(org):
    program = await org.program()
    newer = expect(
        await org.post(
            f"/loyaltyprograms/{program['id']}/versions",
            {"startDate": "2026-06-01T00:00:00.000Z", "productVersion": "ENT:Version:V2"},
        ),
        201,
    )
    assert newer["status"] == "CURRENT"
    versions = expect(await org.get(f"/loyaltyprograms/{program['id']}/versions"), 200)
    assert [v["status"] for v in versions] == ["DEPRECATED", "CURRENT"]
    assert expect(await org.get(f"/loyaltyprograms/{program['id']}"), 200)["productVersion"] == (
        "ENT:Version:V2"
    )


async def test_a_version_with_its_end_before_its_start_is_refused(org):
    program = await org.program()
    response = await org.post(
        f"/loyaltyprograms/{program['id']}/versions", {"startDate": "2031-01-01T00:00:00.000Z"}
    )
    assert expect(response, 400)["code"] == "INVALID_DATES"  # the copied end is before it
