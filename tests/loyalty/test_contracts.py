"""Contracts, policies and consumers (seed 003, "Contracts and their customers")."""

from datetime import timedelta

from sqlalchemy import select

from openbenefits.kit.outbox import OutboxEvent
from openbenefits.loyalty.models import LoyaltyContractPolicy
from tests.helpers import expect

POLICY_MESSAGE = (
    "Add contract consumer for contract {uuid} failed. "
    "The contract policies didn't match the policies provided in the request."
)


async def test_a_minimal_contract_is_open_to_all_and_has_nobody(org):
    program = await org.program()
    contract = await org.contract(program["id"], consumableFrom="2020-01-01T00:00:00+01:00")
    assert contract["consumableFrom"] == "2019-12-31T23:00:00.000Z"
    assert contract["expirationDate"] == "2020-12-30T23:00:00.000Z"  # P365D
    assert contract["contractConsumers"] is None
    assert contract["policies"] == []
    assert contract["loyaltyProgramType"] == "TIMED"
    assert contract["remainingCoupons"] is None
    assert expect(await org.get(f"/contracts/{contract['uuid']}"), 200) == contract


async def test_a_contract_with_a_holder_policies_and_an_external_reference(org, db):
    program = await org.program()
    await org.customer(12341567, "Kari")
    contract = await org.contract(
        program["id"],
        consumableFrom="2020-01-01T00:00:00+01:00",
        customerNumber=12341567,
        customerRef="SomeCustomer",
        externalRef="ABCD-EFGH-1234",
        policies=[{"key": "email", "value": "kari.normann@example.com"}],
        expirationDate="2020-12-31T23:59:59+01:00",
    )
    assert contract["externalRef"] == "ABCD-EFGH-1234"
    assert contract["expirationDate"] == "2020-12-31T22:59:59.000Z"
    [policy] = contract["policies"]
    assert set(policy) == {"id", "key"}
    assert policy["key"] == "email"
    [holder] = contract["contractConsumers"]
    assert holder["customerNumber"] == 12341567
    assert holder["customerRef"] == "SomeCustomer"
    assert holder["isContractHolder"] is True
    assert holder["isBlocked"] is False
    async with db.session() as session:
        stored = await session.scalar(select(LoyaltyContractPolicy.value_hash))
    assert stored
    assert "kari" not in stored
    assert len(stored) == 64
    found = expect(await org.get("/contracts", externalRef="ABCD-EFGH-1234"), 200)
    assert [c["uuid"] for c in found["items"]] == [contract["uuid"]]
    by_holder = expect(await org.get("/contracts", customerNumber=12341567), 200)
    assert by_holder["totalItems"] == 1


async def test_the_anders_and_benny_policy_example(org):
    program = await org.program()
    await org.customer(1234567, "Anders")
    contract = await org.contract(
        program["id"],
        consumableFrom="2019-11-01T10:15:30+01:00",
        policies=[{"key": "name", "value": "Anders"}],
        expirationDate="2040-11-01T10:15:30+01:00",
    )
    uuid = contract["uuid"]
    assert contract["contractConsumers"] is None
    body = {
        "customerNumber": 1234567,
        "customerRef": "1234567",
        "customerOrganisationId": org.tenant_id,
        "isContractHolder": True,
    }
    wrong = await org.post(
        f"/contracts/{uuid}/contract-consumer",
        {**body, "policyValidationProperties": {"name": "Benny"}},
    )
    problem = expect(wrong, 401)
    assert problem["message"] == problem["detail"] == POLICY_MESSAGE.format(uuid=uuid)
    assert problem["status"] == 401
    assert problem["error"] == "Unauthorized"
    assert problem["path"] == f"/customers/v2/benefits/contracts/{uuid}/contract-consumer"
    missing = await org.post(f"/contracts/{uuid}/contract-consumer", body)
    assert expect(missing, 401)["code"] == "POLICY_MISMATCH"
    right = await org.post(
        f"/contracts/{uuid}/contract-consumer",
        {**body, "policyValidationProperties": {"name": "Anders"}},
    )
    consumer = expect(right, 201)
    assert consumer == {
        "customerOrganisationId": org.tenant_id,
        "customerNumber": 1234567,
        "customerRef": "1234567",
        "isBlocked": False,
        "isContractHolder": True,
        "createdAt": "2026-11-22T10:00:00.000Z",
        "createdBy": consumer["createdBy"],
        "lastChangedAt": "2026-11-22T10:00:00.000Z",
        "lastChangedBy": consumer["createdBy"],
    }
    assert consumer["createdBy"].startswith("oc_") or consumer["createdBy"]


async def test_consumer_rules(org, other_org):
    program = await org.program()
    contract = await org.contract(program["id"])
    uuid = contract["uuid"]
    await org.customer(1, "Holder")
    await org.customer(2, "Friend")
    await other_org.customer(3, "Stranger")
    # No consumer before a holder.
    early = await org.connect(uuid, 2)
    assert expect(early, 409)["code"] == "CONTRACT_HOLDER_MISSING"
    # The owner connects only its own customers (tests/loyalty/test_organisations.py).
    foreign_holder = await org.connect(
        uuid, 3, customerOrganisationId=other_org.tenant_id, isContractHolder=True
    )
    assert expect(foreign_holder, 403)["code"] == "FOREIGN_CUSTOMER"
    expect(await org.connect(uuid, 1, isContractHolder=True), 201)
    second_holder = await org.connect(uuid, 2, isContractHolder=True)
    assert expect(second_holder, 409)["code"] == "CONTRACT_HOLDER_EXISTS"
    expect(await org.connect(uuid, 2), 201)
    twice = await org.connect(uuid, 2)
    assert expect(twice, 409)["code"] == "CONSUMER_EXISTS"
    unknown = await org.connect(uuid, 99)
    assert expect(unknown, 404)["code"] == "CUSTOMER_NOT_FOUND"
    # The program does not allow other organisations: their customers cannot connect.
    closed = await other_org.connect(uuid, 3, customerOrganisationId=other_org.tenant_id)
    assert expect(closed, 404)["code"] == "CONTRACT_NOT_FOUND"
    everybody = expect(await org.get(f"/contracts/{uuid}", includeConsumers="all"), 200)
    assert [c["customerNumber"] for c in everybody["contractConsumers"]] == [1, 2]
    holder_only = expect(await org.get(f"/contracts/{uuid}"), 200)
    assert [c["customerNumber"] for c in holder_only["contractConsumers"]] == [1]
    nobody = expect(await org.get(f"/contracts/{uuid}", includeConsumers="none"), 200)
    assert nobody["contractConsumers"] is None


async def test_other_organisations_connect_when_the_program_allows_it(org, other_org):
    program = await org.program(allowOtherOrganisations=True)
    contract = await org.contract(program["id"])
    uuid = contract["uuid"]
    await org.customer(1, "Holder")
    await other_org.customer(3, "Stranger")
    expect(await org.connect(uuid, 1, isContractHolder=True), 201)
    holder_elsewhere = await other_org.connect(
        uuid, 3, customerOrganisationId=other_org.tenant_id, isContractHolder=True
    )
    assert expect(holder_elsewhere, 400)["code"] == "HOLDER_OF_OTHER_ORGANISATION"
    added = await other_org.connect(uuid, 3, customerOrganisationId=other_org.tenant_id)
    assert expect(added, 201)["customerOrganisationId"] == other_org.tenant_id
    # The other organisation cannot read or search the contract; its customer sees it.
    assert (await other_org.get(f"/contracts/{uuid}")).status_code == 404
    mine = expect(await other_org.get("/contract-consumers/3/contracts"), 200)
    assert [c["uuid"] for c in mine["items"]] == [uuid]


async def test_blocking_hides_the_contract_and_keeps_the_customer_out(org, other_org):
    program = await org.program()
    uuid = (await org.contract(program["id"]))["uuid"]
    await org.customer(1, "Holder")
    await org.customer(2, "Friend")
    expect(await org.connect(uuid, 1, isContractHolder=True), 201)
    expect(await org.connect(uuid, 2), 201)
    path = f"/contracts/{uuid}/contract-consumer/{org.tenant_id}/2"
    blocked = expect(await org.put(path, {"isBlocked": True}), 200)
    assert blocked["isBlocked"] is True
    assert expect(await org.get("/contract-consumers/2/contracts"), 200)["items"] == []
    assert expect(await org.get("/contracts", customerNumber=2), 200)["totalItems"] == 0
    assert expect(await org.connect(uuid, 2), 409)["code"] == "CONSUMER_EXISTS"
    assert (await other_org.put(path, {"isBlocked": False})).status_code == 404
    expect(await org.put(path, {"isBlocked": False}), 200)
    assert expect(await org.get("/contract-consumers/2/contracts"), 200)["totalItems"] == 1


async def test_removing_the_holder_makes_the_contract_inaccessible(org):
    program = await org.program()
    uuid = (await org.contract(program["id"]))["uuid"]
    await org.customer(1, "Holder")
    await org.customer(2, "Friend")
    expect(await org.connect(uuid, 1, isContractHolder=True), 201)
    expect(await org.connect(uuid, 2), 201)
    friend = await org.delete(f"/contracts/{uuid}/contract-consumer/{org.tenant_id}/2")
    assert friend.status_code == 204
    assert expect(await org.get(f"/contracts/{uuid}"), 200)["uuid"] == uuid
    holder = await org.delete(f"/contracts/{uuid}/contract-consumer/{org.tenant_id}/1")
    assert holder.status_code == 204
    assert (await org.get(f"/contracts/{uuid}")).status_code == 404
    assert expect(await org.get("/contracts"), 200)["totalItems"] == 0
    assert (await org.connect(uuid, 1, isContractHolder=True)).status_code == 404


async def test_search_filters_sorts_and_pages(org, clock):
    coffee = await org.program()
    other = await org.program(productId="ENT:Other")
    await org.customer(1, "Holder")
    first = await org.contract(coffee["id"], consumableFrom="2026-03-01T00:00:00.000Z")
    clock.advance(timedelta(minutes=1))
    second = await org.contract(
        coffee["id"], consumableFrom="2026-01-01T00:00:00.000Z", customerNumber=1
    )
    clock.advance(timedelta(minutes=1))
    third = await org.contract(other["id"], consumableFrom="2026-02-01T00:00:00.000Z")

    async def uuids(**params):
        return [c["uuid"] for c in expect(await org.get("/contracts", **params), 200)["items"]]

    assert await uuids() == [first["uuid"], second["uuid"], third["uuid"]]
    assert await uuids(sortBy="consumableFrom") == [second["uuid"], third["uuid"], first["uuid"]]
    assert await uuids(sortBy="consumableFrom", sortOrder="DESC") == [
        first["uuid"],
        third["uuid"],
        second["uuid"],
    ]
    assert await uuids(loyaltyProgramId=coffee["id"]) == [first["uuid"], second["uuid"]]
    assert await uuids(
        consumableAfter="2026-01-15T00:00:00.000Z", consumableBefore="2026-02-15T00:00:00.000Z"
    ) == [third["uuid"]]
    assert await uuids(contractHolder=True) == [second["uuid"]]
    assert await uuids(contractHolder=False) == [first["uuid"], third["uuid"]]
    assert await uuids(customerNumber=1, contractHolder=True) == [second["uuid"]]
    assert await uuids(uuid=third["uuid"]) == [third["uuid"]]
    page = expect(await org.get("/contracts", page=2, perPage=2), 200)
    assert (page["page"], page["perPage"], page["totalItems"]) == (2, 2, 3)
    assert [c["uuid"] for c in page["items"]] == [third["uuid"]]
    bad = await org.get("/contracts", includeConsumers="some")
    assert bad.status_code == 422


async def test_contract_events_go_through_the_outbox(org, db):
    program = await org.program()
    await org.customer(1, "Holder")
    await org.customer(2, "Friend")
    uuid = (await org.contract(program["id"], customerNumber=1))["uuid"]
    expect(await org.connect(uuid, 2), 201)
    path = f"/contracts/{uuid}/contract-consumer/{org.tenant_id}/2"
    expect(await org.put(path, {"isBlocked": True}), 200)
    async with db.session() as session:
        events = list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    loyalty = [e for e in events if e.event_type.startswith("LOYALTY_")]
    assert [e.event_type for e in loyalty] == [
        "LOYALTY_CONTRACT_CREATED",
        "LOYALTY_CONSUMER_ADDED",
        "LOYALTY_CONSUMER_BLOCKED",
    ]
    assert {e.content["contractUUID"] for e in loyalty} == {uuid}
    assert loyalty[1].content["customerNumber"] == 2
