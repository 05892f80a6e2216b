"""Points transactions of POINTS contracts (gift cards): an append-only ledger beside the
contract's balance.

The contract row is locked before anything is read, so the transactions of one contract run one
after another: the replay check, the type check and the balance check all see the previous
transaction's outcome. A check constraint (balance >= 0) backs the lock. The ledger is never
updated: a refund is a transaction of its own naming the withdrawal it gives back.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit.errors import Conflict, InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.loyalty import schemas
from openbenefits.loyalty.contracts import FoundContract, emit_contract_event
from openbenefits.loyalty.models import (
    LoyaltyContract,
    LoyaltyPointsTransaction,
    PointsTransactionType,
    ProgramType,
)
from openbenefits.loyalty.usage import usable_contract
from openbenefits.tenancy.principals import LoyaltyPrincipal
from openbenefits.webhooks.schemas import EventType


def _points_contract(found: FoundContract) -> LoyaltyContract:
    if found.program.program_type != ProgramType.POINTS or found.contract.parent_id is not None:
        raise InvalidRequest(
            "Only POINTS contracts have points transactions.", code="WRONG_PROGRAM_TYPE"
        )
    return found.contract


def _same_request(row: LoyaltyPointsTransaction, data: schemas.PointsTransactionCreate) -> bool:
    return (
        row.transaction_type == data.transaction_type
        and row.points_type == data.points_type
        and row.amount == data.amount
        and row.refund_of_id == data.refund_of
    )


async def record_transaction(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    uuid: str,
    data: schemas.PointsTransactionCreate,
    now: datetime,
) -> tuple[LoyaltyPointsTransaction, bool]:
    """The transaction and whether it is new (a retry with the same external reference gets
    the first one back; the same reference with different content is refused)."""
    contract = _points_contract(await usable_contract(session, principal, uuid, now))
    earlier = await session.scalar(
        select(LoyaltyPointsTransaction).where(
            LoyaltyPointsTransaction.contract_id == contract.id,
            LoyaltyPointsTransaction.external_ref == data.external_ref,
        )
    )
    if earlier is not None:
        if not _same_request(earlier, data):
            raise Conflict(
                f"The external reference {data.external_ref!r} was used for another transaction.",
                code="EXTERNAL_REF_REUSED",
            )
        return earlier, False
    if contract.points_type is None and data.transaction_type != PointsTransactionType.DEPOSIT:
        raise Conflict(
            "The first transaction of a contract is a deposit.", code="NO_INITIAL_DEPOSIT"
        )
    if contract.points_type is not None and contract.points_type != data.points_type:
        raise Conflict(
            f"The contract holds {contract.points_type} points; points types cannot be mixed.",
            code="POINTS_TYPE_MISMATCH",
        )
    if data.transaction_type == PointsTransactionType.WITHDRAWAL:
        if contract.points_balance < data.amount:
            raise Conflict(
                f"The balance is {contract.points_balance}; {data.amount} cannot be withdrawn.",
                code="INSUFFICIENT_POINTS",
            )
        balance = contract.points_balance - data.amount
    else:
        if data.refund_of is not None:
            await _check_refund(session, contract, data.refund_of, data.amount)
        balance = contract.points_balance + data.amount
    contract.points_type = data.points_type
    contract.points_balance = balance
    contract.last_changed_at = now
    contract.last_changed_by = principal.client_id
    transaction = LoyaltyPointsTransaction(
        contract_id=contract.id,
        transaction_type=data.transaction_type,
        points_type=data.points_type,
        amount=data.amount,
        balance_after=balance,
        external_ref=data.external_ref,
        refund_of_id=data.refund_of,
        created_at=now,
        created_by=principal.client_id,
    )
    session.add(transaction)
    await session.flush()
    await emit_contract_event(
        session,
        EventType.LOYALTY_POINTS_TRANSACTION_RECORDED,
        contract,
        now,
        transactionId=transaction.id,
        transactionType=data.transaction_type,
        amount=str(data.amount),
        balance=str(balance),
    )
    return transaction, True


async def _check_refund(
    session: AsyncSession, contract: LoyaltyContract, withdrawal_id: int, amount: Decimal
) -> None:
    withdrawn = await session.scalar(
        select(LoyaltyPointsTransaction.amount).where(
            LoyaltyPointsTransaction.id == withdrawal_id,
            LoyaltyPointsTransaction.contract_id == contract.id,
            LoyaltyPointsTransaction.transaction_type == PointsTransactionType.WITHDRAWAL,
        )
    )
    if withdrawn is None:
        raise NotFound(
            f"Withdrawal {withdrawal_id} of this contract not found.", code="WITHDRAWAL_NOT_FOUND"
        )
    refunded = await session.scalar(
        select(func.coalesce(func.sum(LoyaltyPointsTransaction.amount), 0)).where(
            LoyaltyPointsTransaction.refund_of_id == withdrawal_id
        )
    )
    if Decimal(refunded or 0) + amount > withdrawn:
        raise Conflict(
            f"Withdrawal {withdrawal_id} took {withdrawn}, of which {refunded} was refunded.",
            code="REFUND_EXCEEDS_WITHDRAWAL",
        )


async def transactions(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    uuid: str,
    params: PageParams,
    now: datetime,
) -> tuple[LoyaltyContract, list[LoyaltyPointsTransaction], int]:
    """The ledger, newest first."""
    contract = _points_contract(await usable_contract(session, principal, uuid, now, lock=False))
    statement = (
        select(LoyaltyPointsTransaction)
        .where(LoyaltyPointsTransaction.contract_id == contract.id)
        .order_by(LoyaltyPointsTransaction.id.desc())
    )
    rows, total = await fetch_page(session, statement, params)
    return contract, rows, total


async def balance(
    session: AsyncSession, principal: LoyaltyPrincipal, uuid: str, now: datetime
) -> schemas.PointsBalance:
    contract = _points_contract(await usable_contract(session, principal, uuid, now, lock=False))
    return schemas.PointsBalance(
        contract_uuid=contract.uuid,
        points_type=contract.points_type,
        balance=contract.points_balance,
    )


def render_transaction(
    transaction: LoyaltyPointsTransaction, contract_uuid: str
) -> schemas.PointsTransactionOut:
    return schemas.PointsTransactionOut(
        id=transaction.id,
        contract_uuid=contract_uuid,
        transaction_type=transaction.transaction_type,
        points_type=transaction.points_type,
        amount=transaction.amount,
        balance_after=transaction.balance_after,
        external_ref=transaction.external_ref,
        refund_of=transaction.refund_of_id,
        created_at=transaction.created_at,
        created_by=transaction.created_by,
    )
