"""Benefits and grants through the admin API."""

from tests.benefits.conftest import Scene
from tests.helpers import expect


async def test_benefits_are_listed_with_their_grants_and_can_be_changed(scene: Scene):
    client, admin = scene.chain.client, scene.chain.admin
    listed = expect(
        await client.get(f"{scene.admin_base}/partners/{scene.partner_id}/benefits", headers=admin),
        200,
    )
    assert [(b["key"], b["crossFacility"]) for b in listed] == [("SAUNA", True)]
    (grant,) = listed[0]["grants"]
    assert grant["additionalModuleId"] == scene.module["id"]
    assert grant["contingents"] == [{"uses": 5, "period": "MONTH"}]
    changed = expect(
        await client.patch(
            f"{scene.admin_base}/benefits/{scene.sauna['id']}",
            json={"crossFacility": False},
            headers=admin,
        ),
        200,
    )
    assert changed["crossFacility"] is False
    assert await scene.check("SAUNA", studio="b") == {"SAUNA": False}


async def test_definition_errors(scene: Scene):
    client, admin = scene.chain.client, scene.chain.admin
    benefits = f"{scene.admin_base}/partners/{scene.partner_id}/benefits"
    twice = await client.post(benefits, json={"key": "SAUNA", "name": "Again"}, headers=admin)
    assert (twice.status_code, twice.json()["code"]) == (409, "BENEFIT_KEY_TAKEN")
    bad_key = await client.post(benefits, json={"key": "has space", "name": "x"}, headers=admin)
    assert bad_key.status_code == 422
    grants = f"{scene.admin_base}/benefits/{scene.sauna['id']}/grants"
    both = await client.post(
        grants,
        json={"rateId": scene.rate["id"], "additionalModuleId": scene.module["id"]},
        headers=admin,
    )
    assert both.status_code == 422
    zero = await client.post(
        grants,
        json={"rateId": scene.rate["id"], "contingent": {"uses": 0, "period": "DAY"}},
        headers=admin,
    )
    assert zero.status_code == 422
    again = await client.post(
        grants, json={"additionalModuleId": scene.module["id"]}, headers=admin
    )
    assert (again.status_code, again.json()["code"]) == (409, "GRANT_EXISTS")
    unknown_rate = await client.post(grants, json={"rateId": 999999}, headers=admin)
    assert unknown_rate.status_code == 404
    other_partner = await client.post(
        f"{scene.admin_base}/partners/999999/benefits",
        json={"key": "X", "name": "x"},
        headers=admin,
    )
    assert other_partner.status_code == 404


async def test_a_removed_grant_grants_nothing_and_can_be_given_again(scene: Scene):
    client, admin = scene.chain.client, scene.chain.admin
    (grant,) = expect(
        await client.get(f"{scene.admin_base}/benefits/{scene.sauna['id']}", headers=admin), 200
    )["grants"]
    assert (await scene.use("SAUNA")).status_code == 200
    path = f"{scene.admin_base}/benefits/{scene.sauna['id']}/grants/{grant['id']}"
    assert (await client.delete(path, headers=admin)).status_code == 204
    assert (await client.delete(path, headers=admin)).status_code == 404
    refused = await scene.use("SAUNA")
    assert refused.json()["errorCode"] == "BENEFIT_NOT_GRANTED"
    await scene.grant(scene.sauna, additionalModuleId=scene.module["id"])  # unlimited now
    assert (await scene.use("SAUNA")).status_code == 200
    history = expect(
        await client.get(
            f"/v1/customers/{scene.customer['id']}/benefit-usages", headers=scene.key_a
        ),
        200,
    )
    assert len(history["result"]) == 2  # the use under the removed grant stays in the ledger


async def test_a_key_without_a_partner_sees_no_benefits(scene: Scene):
    chain = scene.chain
    response = await chain.client.get(
        f"/v1/customers/{scene.customer['id']}/benefits", headers=chain.key_a
    )
    assert expect(response, 200) == []
    refused = await chain.client.post(
        f"/v1/customers/{scene.customer['id']}/benefits/SAUNA/use", headers=chain.key_a
    )
    assert refused.json()["errorCode"] == "BENEFIT_NOT_FOUND"
