"""Check-ins, weighings, measurements, access codes and studio switches."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from openbenefits.customers.models import StudioSwitch
from tests.chain import create_contract, create_rate
from tests.helpers import admin_headers, create_tenant, expect


async def _member(chain, studio=None, **fields):
    customer = await chain.customer(studio=studio, **fields)
    await create_contract(chain, customer, await create_rate(chain), "2026-01-01")
    return customer


async def _check_in(chain, customer, studio, at=None):
    body = {"customerId": customer["id"], "studioId": studio, **({"at": at} if at else {})}
    return await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/check-ins", json=body, headers=chain.admin
    )


async def test_check_ins_need_a_running_contract_and_no_restriction(chain):
    prospect = await chain.customer(status="PROSPECT")
    refused = await _check_in(chain, prospect, chain.studio_a)
    assert refused.status_code == 409
    assert refused.json()["code"] == "CHECKIN_NO_ACTIVE_CONTRACT"
    member = await _member(chain)
    await chain.client.put(
        f"/v1/customers/{member['id']}/access-restrictions",
        json={"reason": "Unpaid"},
        headers=chain.key_a,
    )
    restricted = await _check_in(chain, member, chain.studio_a)
    assert restricted.json()["code"] == "CHECKIN_ACCESS_RESTRICTED"
    assert "Unpaid" in restricted.json()["detail"]
    await chain.client.delete(
        f"/v1/customers/{member['id']}/access-restrictions", headers=chain.key_a
    )
    visit = expect(await _check_in(chain, member, chain.studio_b), 201)
    assert visit["studioId"] == chain.studio_b
    out = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/check-ins/{visit['id']}/check-out",
        json={},
        headers=chain.admin,
    )
    assert expect(out, 200)["checkedOutAt"] is not None
    twice = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/check-ins/{visit['id']}/check-out",
        json={},
        headers=chain.admin,
    )
    assert twice.status_code == 409


async def test_check_in_history_is_sliced_within_the_date_range(chain, clock):
    member = await _member(chain)
    now = clock.now()
    times = [now - timedelta(days=d) for d in (40, 20, 10, 5, 1)]
    for at in times:
        expect(await _check_in(chain, member, chain.studio_a, at.isoformat()), 201)
    path = f"/v1/customers/{member['id']}/activities/checkins"
    first = expect(await chain.client.get(path, params={"sliceSize": 2}, headers=chain.key_a), 200)
    assert len(first["result"]) == 2
    assert first["hasNext"] is True
    assert first["result"][0]["studioName"] == "Chain Studio"
    second = expect(
        await chain.client.get(
            path, params={"sliceSize": 2, "offset": first["offset"]}, headers=chain.key_a
        ),
        200,
    )
    assert len(second["result"]) == 2
    assert second["hasNext"] is False  # the check-in 40 days ago is outside the default month
    everything = expect(
        await chain.client.get(
            path,
            params={"fromDate": str((now - timedelta(days=60)).date()), "sliceSize": 50},
            headers=chain.key_a,
        ),
        200,
    )
    assert len(everything["result"]) == 5
    stamp = everything["result"][0]["checkInDateTime"]
    assert datetime.fromisoformat(stamp) == times[0]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"fromDate": "2026-01-01", "toDate": "2027-01-02"}, "DATE_RANGE_TOO_LONG"),
        ({"fromDate": "2026-05-01", "toDate": "2026-04-01"}, "INVALID_DATE_RANGE"),
        ({"sliceSize": 51}, "VALIDATION_ERROR"),
        ({"offset": "x"}, "INVALID_OFFSET"),
    ],
)
async def test_bad_history_requests_are_400(chain, params, code):
    member = await chain.customer()
    response = await chain.client.get(
        f"/v1/customers/{member['id']}/activities/checkins", params=params, headers=chain.key_a
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_history_needs_checkin_read(chain):
    member = await chain.customer()
    key = await chain.key(chain.studio_a, ["CUSTOMER_READ"])
    response = await chain.client.get(
        f"/v1/customers/{member['id']}/activities/checkins", headers=key
    )
    assert response.status_code == 403


WEIGHING = {
    "weight": 72.5,
    "height": 178,
    "bodyMassIndex": 22.9,
    "visceralFatLevel": 4,
    "rawResults": "{}",
}


async def test_a_weighing_is_stored_and_feeds_the_measurement(chain):
    customer = await chain.customer(dateOfBirth="1990-12-01", gender="MALE")
    medium = {"type": "BARCODE", "value": "M-1"}
    expect(
        await chain.client.post(
            f"/v1/customers/{customer['id']}/access-mediums", json=medium, headers=chain.key_a
        ),
        200,
    )
    before = await chain.client.get(
        "/v1/customers/measurement/latest", params={"barcode": "M-1"}, headers=chain.key_a
    )
    assert expect(before, 200) == {
        "id": customer["id"],
        "firstName": "Anna",
        "lastName": "Berg",
        "age": 35,
        "dateOfBirth": "1990-12-01",
        "gender": "MALE",
    }
    stored = expect(
        await chain.client.post(
            f"/v1/customers/{customer['id']}/weighing", json=WEIGHING, headers=chain.key_a
        ),
        200,
    )
    assert stored == {**WEIGHING, "databaseId": stored["databaseId"], "height": 178.0}
    after = await chain.client.get(
        "/v1/customers/measurement/latest", params={"barcode": "M-1"}, headers=chain.key_a
    )
    assert expect(after, 200)["height"] == 178.0


async def test_a_weighing_keeps_what_the_scale_did_not_measure_as_zero(chain):
    customer = await chain.customer()
    path = f"/v1/customers/{customer['id']}/weighing"
    expect(await chain.client.post(path, json=WEIGHING, headers=chain.key_a), 200)
    unmeasured = {
        "weight": 71.0,
        "height": 0,
        "bodyMassIndex": 0,
        "percentBodyFat": 0,
        "visceralFatLevel": 0,
        "rawResults": "",
    }
    stored = expect(await chain.client.post(path, json=unmeasured, headers=chain.key_a), 200)
    assert stored == {**unmeasured, "databaseId": stored["databaseId"]}
    medium = {"type": "BARCODE", "value": "M-0"}
    media = f"/v1/customers/{customer['id']}/access-mediums"
    expect(await chain.client.post(media, json=medium, headers=chain.key_a), 200)
    latest = await chain.client.get(
        "/v1/customers/measurement/latest", params={"barcode": "M-0"}, headers=chain.key_a
    )
    assert expect(latest, 200)["height"] == 178.0  # the last height measured


@pytest.mark.parametrize(
    ("change", "reference"),
    [
        ({"visceralFatLevel": -1}, "body.visceralFatLevel"),
        ({"visceralFatLevel": 10}, "body.visceralFatLevel"),
        ({"bodyMassIndex": -0.1}, "body.bodyMassIndex"),
        ({"percentBodyFat": 101}, "body.percentBodyFat"),
        ({"weight": -3}, "body.weight"),
        ({"rawResults": None}, "body.rawResults"),
        ({"weight": "71.5"}, "body.weight"),
        ({"visceralFatLevel": True}, "body.visceralFatLevel"),
    ],
)
async def test_weighing_values_are_validated(chain, change, reference):
    customer = await chain.customer()
    body = {k: v for k, v in {**WEIGHING, **change}.items() if v is not None}
    response = await chain.client.post(
        f"/v1/customers/{customer['id']}/weighing", json=body, headers=chain.key_a
    )
    assert response.status_code == 400
    assert response.json()["reference"] == reference


async def test_a_weighing_with_members_the_reference_does_not_know_is_taken(chain):
    """A scale's client generated from a later version of the reference may send them."""
    customer = await chain.customer()
    taken = await chain.client.post(
        f"/v1/customers/{customer['id']}/weighing",
        json={**WEIGHING, "tattoos": 2, "device": {"model": "X-1"}},
        headers=chain.key_a,
    )
    assert expect(taken, 200) == {**WEIGHING, "databaseId": taken.json()["databaseId"]}


async def test_a_whole_number_written_with_a_fraction_is_an_integer(chain):
    """JSON has one number type; JSON Schema takes 3.0 for an integer, and so do we."""
    customer = await chain.customer()
    taken = await chain.client.post(
        f"/v1/customers/{customer['id']}/weighing",
        json={**WEIGHING, "visceralFatLevel": 3.0},
        headers=chain.key_a,
    )
    assert expect(taken, 200)["visceralFatLevel"] == 3
    refused = await chain.client.post(
        f"/v1/customers/{customer['id']}/weighing",
        json={**WEIGHING, "visceralFatLevel": 3.5},
        headers=chain.key_a,
    )
    assert refused.json()["reference"] == "body.visceralFatLevel"


async def test_weighing_with_an_unknown_benefit_stores_nothing(chain):
    customer = await chain.customer()
    refused = await chain.client.post(
        f"/v1/customers/{customer['id']}/weighing",
        params={"benefitKey": "SCAN"},
        json=WEIGHING,
        headers=chain.key_a,
    )
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "BENEFIT_NOT_FOUND"
    measured = await chain.client.get(
        "/v1/customers/measurement/latest",
        params={"qrCodeUuid": customer["uuid"]},
        headers=chain.key_a,
    )
    assert "height" not in expect(measured, 200)


async def test_weighing_scopes(chain):
    customer = await chain.customer()
    for scopes, status in (
        (["CUSTOMER_WEIGHING_WRITE"], 200),
        (["CUSTOMER_WRITE"], 200),
        (["CUSTOMER_READ"], 403),
    ):
        key = await chain.key(chain.studio_a, scopes)
        response = await chain.client.post(
            f"/v1/customers/{customer['id']}/weighing", json=WEIGHING, headers=key
        )
        assert response.status_code == status, scopes


async def test_access_codes_are_signed_expiring_and_verifiable(chain, clock, client, settings):
    customer = await chain.customer()
    code = expect(
        await chain.client.get(f"/v1/customers/{customer['id']}/access-code", headers=chain.key_a),
        200,
    )
    assert code["format"] == "QR_CODE"
    assert datetime.fromisoformat(code["expiresAt"]) == clock.now() + timedelta(minutes=5)
    verify = f"/admin/v1/tenants/{chain.tenant_id}/access-codes/verify"
    verdict = expect(
        await client.post(verify, json={"content": code["content"]}, headers=chain.admin), 200
    )
    assert verdict["valid"] is True
    assert verdict["customerId"] == customer["id"]
    assert verdict["accessRefusal"] is False
    tampered = code["content"][:-2] + ("AA" if not code["content"].endswith("AA") else "BB")
    forged = expect(await client.post(verify, json={"content": tampered}, headers=chain.admin), 200)
    assert forged == {
        "valid": False,
        "reason": "INVALID_TOKEN",
        **{k: None for k in ("customerId", "accessRefusal", "expiresAt")},
    }
    clock.advance(timedelta(minutes=5))
    late = await client.post(
        verify, json={"content": code["content"]}, headers=admin_for(chain, settings, clock)
    )
    assert expect(late, 200)["reason"] == "TOKEN_EXPIRED"


def admin_for(chain, settings, clock):
    from tests.helpers import admin_headers

    return admin_headers(settings, clock)


async def test_switch_studio_moves_the_customer(chain, clock, db):
    customer = await chain.customer()
    path = f"/v1/customers/{customer['id']}/switch-studio"
    today = str(clock.now().date())
    switched = await chain.client.post(
        path,
        json={"targetStudioId": chain.studio_b, "switchDate": today, "description": "Moved"},
        headers=chain.key_a,
    )
    assert switched.status_code == 200
    assert switched.content == b""
    assert (
        await chain.client.get(f"/v1/customers/{customer['id']}", headers=chain.key_a)
    ).status_code == 404
    moved = expect(
        await chain.client.get(f"/v1/customers/{customer['id']}", headers=chain.key_b), 200
    )
    assert moved["studioId"] == chain.studio_b
    back_with_old_key = await chain.client.post(
        path, json={"targetStudioId": chain.studio_a, "switchDate": today}, headers=chain.key_a
    )
    assert back_with_old_key.status_code == 404
    async with db.session() as session:
        history = (await session.scalars(select(StudioSwitch))).all()
    assert [(h.from_studio_id, h.to_studio_id, h.description) for h in history] == [
        (chain.studio_a, chain.studio_b, "Moved")
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"targetStudioId": "B", "switchDate": "2030-01-01"}, "SWITCH_DATE_IN_FUTURE"),
        ({"targetStudioId": "A", "switchDate": "2026-01-01"}, "SAME_STUDIO"),
        ({"targetStudioId": 999_999, "switchDate": "2026-01-01"}, "TARGET_STUDIO_NOT_FOUND"),
        ({"switchDate": "2026-01-01"}, "VALIDATION_ERROR"),
    ],
)
async def test_bad_switches_are_400(chain, body, code):
    customer = await chain.customer()
    target = {"A": chain.studio_a, "B": chain.studio_b}.get(
        body.get("targetStudioId"), body.get("targetStudioId")
    )
    body = {**body, **({"targetStudioId": target} if target is not None else {})}
    response = await chain.client.post(
        f"/v1/customers/{customer['id']}/switch-studio", json=body, headers=chain.key_a
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_switching_to_another_tenants_studio_is_refused(chain, client, settings, clock):
    other = await create_tenant(client, admin_headers(settings, clock), "Other")
    customer = await chain.customer()
    response = await chain.client.post(
        f"/v1/customers/{customer['id']}/switch-studio",
        json={"targetStudioId": other.studio_id, "switchDate": "2026-01-01"},
        headers=chain.key_a,
    )
    assert response.json()["errorCode"] == "TARGET_STUDIO_NOT_FOUND"
