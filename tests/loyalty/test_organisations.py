"""Organisations (PRODUCT.md §6): a caller connects only its own organisation's customers, and a
contract it may not see answers exactly as one that does not exist. ``org`` owns the contracts;
``other_org`` is the other organisation. validate-consumptions, entitlements and points
deposits are fast routes (kit/fast.py)."""

import json
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from openbenefits.customers.models import Customer
from openbenefits.kit.db import Database
from openbenefits.kit.outbox import OutboxEvent
from openbenefits.loyalty.models import (
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyOrderLineEvent,
    LoyaltyPointsTransaction,
)
from tests.helpers import expect
from tests.loyalty.conftest import Org
from tests.loyalty.test_points import GIFT_CARD, _transaction

UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
# Customer numbers: the owner's holder, a customer of the other organisation, and a number
# no organisation has.
HOLDER = 1010101
THEIRS = 4040401
NOBODY = 9090909
_VARYING = ("traceId", "correlationId", "timestamp")


def _answer(response: httpx.Response, named: object = None) -> tuple[int, Any]:
    """Status and body without the members that differ per request, with the value the
    request named (a uuid, a customer number) replaced by a placeholder."""
    text = response.text if named is None else response.text.replace(str(named), "<named>")
    body = json.loads(text)
    if isinstance(body, dict):
        for member in _VARYING:
            body.pop(member, None)
    return response.status_code, body


async def _rows(db: Database) -> dict[str, list[Any]]:
    """Every row the loyalty API could change, and the events it could send."""
    tables = (
        Customer,
        LoyaltyContract,
        LoyaltyContractConsumer,
        LoyaltyPointsTransaction,
        LoyaltyOrderLineEvent,
        OutboxEvent,
    )
    async with db.session() as session:
        return {
            table.__tablename__: list(
                (await session.execute(select(table.__table__).order_by(table.id))).all()
            )
            for table in tables
        }


@dataclass
class Contracts:
    closed: str  # a TIMED contract whose program does not allow other organisations
    open: str  # a TIMED contract whose program allows other organisations
    gift_card: str  # a POINTS contract whose program does not allow other organisations


async def _contracts(org: Org, other_org: Org) -> Contracts:
    await org.customer(HOLDER, "Holder")
    await other_org.customer(THEIRS, "Stranger")
    closed = await org.contract((await org.program())["id"], customerNumber=HOLDER)
    open_program = await org.program(allowOtherOrganisations=True)
    open_contract = await org.contract(open_program["id"], customerNumber=HOLDER)
    gift_card = await org.contract((await org.program(**GIFT_CARD))["id"])
    deposit = _transaction("DEPOSIT", "100", "d1")
    expect(await org.post(f"/contracts/{gift_card['uuid']}/points-transactions", deposit), 201)
    return Contracts(closed["uuid"], open_contract["uuid"], gift_card["uuid"])


async def test_the_owner_cannot_connect_another_organisations_customer(org, other_org, db):
    contracts = await _contracts(org, other_org)
    before = await _rows(db)
    for uuid in (contracts.open, contracts.closed):
        for holder in (False, True):
            fields = {"customerOrganisationId": other_org.tenant_id, "isContractHolder": holder}
            existing = await org.connect(uuid, THEIRS, **fields)
            unknown = await org.connect(uuid, NOBODY, **fields)
            assert expect(existing, 403)["code"] == "FOREIGN_CUSTOMER"
            assert _answer(existing) == _answer(unknown)
    assert await _rows(db) == before
    # Nothing reached the other organisation's customer.
    assert expect(await other_org.get(f"/entitlements/{THEIRS}/by-customer-number"), 200) == []
    theirs = expect(await other_org.get(f"/contract-consumers/{THEIRS}/contracts"), 200)
    assert theirs["items"] == []


async def test_another_organisation_connects_only_its_own_customers(org, other_org, db):
    contracts = await _contracts(org, other_org)
    before = await _rows(db)
    # The owner's customer, named by the other organisation on a contract open to it.
    existing = await other_org.connect(contracts.open, HOLDER, customerOrganisationId=org.tenant_id)
    unknown = await other_org.connect(contracts.open, NOBODY, customerOrganisationId=org.tenant_id)
    assert expect(existing, 403)["code"] == "FOREIGN_CUSTOMER"
    assert _answer(existing) == _answer(unknown)
    assert await _rows(db) == before
    expect(await other_org.connect(contracts.open, THEIRS), 201)


async def test_every_path_that_connects_looks_up_the_callers_own_customers(org, other_org, db):
    """Creating a contract with a holder, redeeming a program code and claiming a personnel
    ticket name a customer by number: another organisation's customer is unknown there."""
    contracts = await _contracts(org, other_org)
    await org.program(loyaltyProgramCode="20Coffee")
    claimable = await org.program(allowOtherOrganisations=True)
    await org.contract(claimable["id"], customerNumber=HOLDER, externalRef="ABCD-EF12")
    program = expect(await org.get(f"/contracts/{contracts.closed}"), 200)["loyaltyProgramId"]
    before = await _rows(db)
    requests = [
        (org, f"/loyaltyprograms/{program}/contracts", {"consumableFrom": "2026-01-01T00:00:00Z"}),
        (org, "/loyaltyprograms/redeem", {"loyaltyProgramCode": "20Coffee"}),
        (other_org, "/contracts/claim-personnel-ticket", {"externalReference": "ABCD-EF12"}),
    ]
    for caller, path, body in requests:
        foreign = THEIRS if caller is org else HOLDER
        existing = await caller.post(path, {**body, "customerNumber": foreign})
        unknown = await caller.post(path, {**body, "customerNumber": NOBODY})
        assert expect(existing, 404)["code"] == "CUSTOMER_NOT_FOUND", path
        assert _answer(existing, foreign) == _answer(unknown, NOBODY), path
    assert await _rows(db) == before


def _uses_of(uuid: str, organisation_id: int, owner_id: int) -> list[tuple[str, str, Any]]:
    """What another organisation may try with a contract by its uuid."""
    consumer = f"/contracts/{uuid}/contract-consumer"
    connect = {"customerOrganisationId": organisation_id, "customerNumber": THEIRS}
    line = {"orderId": "O-1", "orderLineId": "1", "discount": "5.00", "currency": "NOK"}
    points = f"/contracts/{uuid}/points-transactions"
    return [
        ("GET", f"/contracts/{uuid}", None),
        ("POST", consumer, {**connect, "isContractHolder": False}),
        ("PUT", f"{consumer}/{organisation_id}/{THEIRS}", {"isBlocked": True}),
        ("PUT", f"{consumer}/{owner_id}/{HOLDER}", {"isBlocked": True}),
        ("DELETE", f"{consumer}/{organisation_id}/{THEIRS}", None),
        ("DELETE", f"{consumer}/{owner_id}/{HOLDER}", None),
        ("POST", f"/contracts/{uuid}/order-line-events", line),
        ("POST", points, _transaction("DEPOSIT", "5", "d2")),
        ("POST", points, _transaction("WITHDRAWAL", "5", "w1")),
        ("POST", points, _transaction("REFUND", "5", "r1", refundOf=1)),
        ("GET", points, None),
        ("GET", f"/contracts/{uuid}/points-balance", None),
    ]


async def _send(caller: Org, method: str, path: str, body: Any) -> httpx.Response:
    await caller.refresh()
    return await caller.client.request(
        method, f"/customers/v2/benefits{path}", json=body, headers=caller.headers
    )


async def test_a_contract_closed_to_the_caller_answers_as_an_unknown_one(org, other_org, db):
    contracts = await _contracts(org, other_org)
    before = await _rows(db)
    for uuid in (contracts.closed, contracts.gift_card):
        tried = zip(
            _uses_of(uuid, other_org.tenant_id, org.tenant_id),
            _uses_of(UNKNOWN_UUID, other_org.tenant_id, org.tenant_id),
            strict=True,
        )
        for (method, path, body), (_, unknown_path, unknown_body) in tried:
            foreign = await _send(other_org, method, path, body)
            unknown = await _send(other_org, method, unknown_path, unknown_body)
            assert expect(foreign, 404)["code"] == "CONTRACT_NOT_FOUND", (method, path)
            assert _answer(foreign, uuid) == _answer(unknown, UNKNOWN_UUID), (method, path)
    # Reading, searching and blocking are the owner's, even on a contract open to others.
    consumer = f"/contracts/{contracts.open}/contract-consumer"
    owners_only = [
        ("GET", f"/contracts/{contracts.open}", None),
        ("PUT", f"{consumer}/{other_org.tenant_id}/{THEIRS}", {"isBlocked": True}),
        ("PUT", f"{consumer}/{org.tenant_id}/{HOLDER}", {"isBlocked": True}),
    ]
    for method, path, body in owners_only:
        foreign = await _send(other_org, method, path, body)
        unknown = await _send(other_org, method, path.replace(contracts.open, UNKNOWN_UUID), body)
        assert _answer(foreign, contracts.open) == _answer(unknown, UNKNOWN_UUID), (method, path)
    for uuid in (contracts.closed, contracts.open):
        found = expect(await other_org.get("/contracts", uuid=uuid), 200)
        assert found["totalItems"] == 0
    assert await _rows(db) == before


async def test_validation_knows_no_contract_closed_to_the_caller(org, other_org):
    contracts = await _contracts(org, other_org)

    async def validate(uuid: str) -> httpx.Response:
        pair = {"contractUUID": uuid, "customerNumber": THEIRS}
        return await other_org.post("/contracts/validate-consumptions", {"consumptions": [pair]})

    foreign, unknown = await validate(contracts.closed), await validate(UNKNOWN_UUID)
    assert expect(foreign, 200)["code"] == 3102
    assert _answer(foreign, contracts.closed) == _answer(unknown, UNKNOWN_UUID)
    # Open to the caller: known, but not its customer's.
    assert expect(await validate(contracts.open), 200)["code"] == 3104


async def test_a_consumer_on_a_contract_closed_to_its_organisation_sees_nothing(org, other_org, db):
    """A consumer row connecting another organisation's customer to a closed contract (as
    the owner could write before organisations were enforced) gives that organisation
    nothing: no entitlement, no contract, no validation, no removal."""
    contracts = await _contracts(org, other_org)
    theirs = await other_org.customer(THEIRS + 1, "Stranded")
    number = THEIRS + 1
    async with db.session() as session, session.begin():
        contract_id = await session.scalar(
            select(LoyaltyContract.id).where(LoyaltyContract.uuid == contracts.closed)
        )
        session.add(
            LoyaltyContractConsumer(
                contract_id=contract_id,
                customer_organisation_id=other_org.tenant_id,
                customer_id=theirs["id"],
                is_contract_holder=False,
                is_blocked=False,
                created_at=org.clock.now(),
                created_by="before-the-fix",
                last_changed_at=org.clock.now(),
                last_changed_by="before-the-fix",
            )
        )
    before = await _rows(db)
    assert expect(await other_org.get(f"/entitlements/{number}/by-customer-number"), 200) == []
    listed = expect(await other_org.get(f"/contract-consumers/{number}/contracts"), 200)
    assert listed["totalItems"] == 0
    pair = {"contractUUID": contracts.closed, "customerNumber": number}
    validated = await other_org.post("/contracts/validate-consumptions", {"consumptions": [pair]})
    assert expect(validated, 200)["code"] == 3102
    consumer = f"contract-consumer/{other_org.tenant_id}/{number}"
    removed = await other_org.delete(f"/contracts/{contracts.closed}/{consumer}")
    unknown = await other_org.delete(f"/contracts/{UNKNOWN_UUID}/{consumer}")
    assert _answer(removed, contracts.closed) == _answer(unknown, UNKNOWN_UUID)
    assert await _rows(db) == before
    # The owner administers its contract and still sees and removes the row.
    shown = expect(await org.get(f"/contracts/{contracts.closed}", includeConsumers="all"), 200)
    assert [c["customerNumber"] for c in shown["contractConsumers"]] == [HOLDER, number]
    assert (await org.delete(f"/contracts/{contracts.closed}/{consumer}")).status_code == 204


async def test_a_contract_open_to_the_caller_is_used_as_the_owners(org, other_org):
    """The other side of the rule: on an open contract the other organisation connects,
    validates, sees and removes its own customer."""
    contracts = await _contracts(org, other_org)
    expect(await other_org.connect(contracts.open, THEIRS), 201)
    pair = {"contractUUID": contracts.open, "customerNumber": THEIRS}
    validated = await other_org.post("/contracts/validate-consumptions", {"consumptions": [pair]})
    assert expect(validated, 200)["code"] == 3101
    entitlements = await other_org.get(f"/entitlements/{THEIRS}/by-customer-number")
    assert [e["contractUUID"] for e in expect(entitlements, 200)] == [contracts.open]
    consumer = f"/contracts/{contracts.open}/contract-consumer/{other_org.tenant_id}/{THEIRS}"
    assert (await other_org.delete(consumer)).status_code == 204
    assert expect(await other_org.get(f"/entitlements/{THEIRS}/by-customer-number"), 200) == []
