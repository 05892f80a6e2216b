"""Gift cards: the points ledger of POINTS contracts."""

import asyncio
from decimal import Decimal

from sqlalchemy import case, func, select

from openbenefits.kit.outbox import OutboxEvent
from openbenefits.loyalty.models import LoyaltyPointsTransaction
from tests.helpers import expect
from tests.loyalty.test_usage import on_postgresql

GIFT_CARD = {"loyaltyProgramType": "POINTS", "productId": "ENT:PointsBasedProduct:GiftCard"}


async def _card(org):
    program = await org.program(**GIFT_CARD)
    return (await org.contract(program["id"]))["uuid"]


def _transaction(kind, amount, ref, points_type="NOK", **extra):
    return {
        "transactionType": kind,
        "pointsType": points_type,
        "amount": amount,
        "externalRef": ref,
        **extra,
    }


async def test_deposit_withdraw_refund_and_the_ledger(org):
    uuid = await _card(org)
    path = f"/contracts/{uuid}/points-transactions"
    early = await org.post(path, _transaction("WITHDRAWAL", "10", "w0"))
    assert expect(early, 409)["code"] == "NO_INITIAL_DEPOSIT"
    deposit = expect(await org.post(path, _transaction("DEPOSIT", "500.00", "d1")), 201)
    assert (deposit["balanceAfter"], deposit["pointsType"]) == ("500.00", "NOK")
    mixed = await org.post(path, _transaction("DEPOSIT", "5", "d2", points_type="POINTS"))
    assert expect(mixed, 409)["code"] == "POINTS_TYPE_MISMATCH"
    withdrawal = expect(await org.post(path, _transaction("WITHDRAWAL", "120.50", "w1")), 201)
    assert withdrawal["balanceAfter"] == "379.50"
    too_much = await org.post(path, _transaction("WITHDRAWAL", "379.51", "w2"))
    assert expect(too_much, 409)["code"] == "INSUFFICIENT_POINTS"
    refund = await org.post(path, _transaction("REFUND", "20.50", "r1", refundOf=withdrawal["id"]))
    assert expect(refund, 201)["balanceAfter"] == "400.00"
    over = await org.post(path, _transaction("REFUND", "100.01", "r2", refundOf=withdrawal["id"]))
    assert expect(over, 409)["code"] == "REFUND_EXCEEDS_WITHDRAWAL"
    not_a_withdrawal = await org.post(
        path, _transaction("REFUND", "1", "r3", refundOf=deposit["id"])
    )
    assert expect(not_a_withdrawal, 404)["code"] == "WITHDRAWAL_NOT_FOUND"
    balance = expect(await org.get(f"/contracts/{uuid}/points-balance"), 200)
    assert balance == {"contractUUID": uuid, "pointsType": "NOK", "balance": "400.00"}
    ledger = expect(await org.get(path), 200)
    assert [t["externalRef"] for t in ledger["items"]] == ["r1", "w1", "d1"]
    contract = expect(await org.get(f"/contracts/{uuid}"), 200)
    assert (contract["pointsType"], contract["pointsBalance"]) == ("NOK", "400.00")


async def test_a_transaction_is_idempotent_by_its_external_reference(org):
    uuid = await _card(org)
    path = f"/contracts/{uuid}/points-transactions"
    first = expect(await org.post(path, _transaction("DEPOSIT", "50", "gift-1")), 201)
    again = await org.post(path, _transaction("DEPOSIT", "50", "gift-1"))
    assert expect(again, 200) == first
    assert expect(await org.get(f"/contracts/{uuid}/points-balance"), 200)["balance"] == "50.00"
    different = await org.post(path, _transaction("DEPOSIT", "60", "gift-1"))
    assert expect(different, 409)["code"] == "EXTERNAL_REF_REUSED"


async def test_only_points_contracts_have_transactions(org):
    program = await org.program()
    uuid = (await org.contract(program["id"]))["uuid"]
    refused = await org.post(
        f"/contracts/{uuid}/points-transactions", _transaction("DEPOSIT", "1", "x")
    )
    assert expect(refused, 400)["code"] == "WRONG_PROGRAM_TYPE"


async def test_amounts_are_positive_with_two_decimals(org):
    uuid = await _card(org)
    path = f"/contracts/{uuid}/points-transactions"
    for amount in ("0", "-5", "1.001"):
        assert (await org.post(path, _transaction("DEPOSIT", amount, "x"))).status_code == 422
    refund_without_withdrawal = await org.post(path, _transaction("REFUND", "1", "y"))
    assert refund_without_withdrawal.status_code == 422


@on_postgresql
async def test_fifty_concurrent_withdrawals_never_overdraw(org, db):
    uuid = await _card(org)
    path = f"/contracts/{uuid}/points-transactions"
    expect(await org.post(path, _transaction("DEPOSIT", "100", "load")), 201)
    responses = await asyncio.gather(
        *(org.post(path, _transaction("WITHDRAWAL", "7", f"w{n}")) for n in range(50))
    )
    assert sorted(r.status_code for r in responses) == [201] * 14 + [409] * 36
    balance = Decimal(expect(await org.get(f"/contracts/{uuid}/points-balance"), 200)["balance"])
    assert balance == Decimal("2.00")
    async with db.session() as session:
        withdrawal = LoyaltyPointsTransaction.transaction_type == "WITHDRAWAL"
        amount = LoyaltyPointsTransaction.amount
        signed = func.sum(case((withdrawal, -amount), else_=amount))
        assert await session.scalar(select(signed)) == balance


async def test_each_transaction_emits_an_event(org, db):
    uuid = await _card(org)
    path = f"/contracts/{uuid}/points-transactions"
    deposit = expect(await org.post(path, _transaction("DEPOSIT", "80", "d1")), 201)
    withdrawal = expect(await org.post(path, _transaction("WITHDRAWAL", "30.5", "w1")), 201)
    refund = await org.post(path, _transaction("REFUND", "10", "r1", refundOf=withdrawal["id"]))
    refund = expect(refund, 201)
    expect(await org.post(path, _transaction("WITHDRAWAL", "30.5", "w1")), 200)  # no new event
    async with db.session() as session:
        events = (
            await session.execute(
                select(OutboxEvent.tenant_id, OutboxEvent.content)
                .where(OutboxEvent.event_type == "LOYALTY_POINTS_TRANSACTION_RECORDED")
                .order_by(OutboxEvent.id)
            )
        ).all()
    assert [tenant for tenant, _ in events] == [org.tenant_id] * 3
    assert [content for _, content in events] == [
        {
            "contractUUID": uuid,
            "transactionId": transaction["id"],
            "transactionType": transaction["transactionType"],
            "amount": transaction["amount"],
            "balance": transaction["balanceAfter"],
        }
        for transaction in (deposit, withdrawal, refund)
    ]
