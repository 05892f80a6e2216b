"""Points transactions of POINTS contracts (gift cards): an append-only ledger beside the
contract's balance.

Deposits and withdrawals on PostgreSQL are one statement (``_WRITE``): it locks the contract row,
checks the points type and the balance against the locked row, appends the ledger row (nothing
if the external reference is already there), sets the balance and writes the event. The row is
locked only while that statement runs, so one hot gift card serves withdrawals one after
another without holding its lock across round trips; the statement is atomic even in
autocommit, so it runs on a bare connection too (kit/work.py). A check constraint
(balance >= 0) backs it.

Refunds, and everything on SQLite (no data-modifying CTEs), take the contract row's lock first
and run as several statements in the request's transaction: a refund must see every earlier
refund of its withdrawal, which a statement's snapshot would not. The ledger is never updated:
a refund is a transaction of its own naming the withdrawal it gives back.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Executable,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from openbenefits.kit import outbox
from openbenefits.kit.db import UTCDateTime
from openbenefits.kit.driver import Fetch
from openbenefits.kit.errors import Conflict, InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.kit.work import Work
from openbenefits.loyalty import schemas
from openbenefits.loyalty.contracts import (
    FoundContract,
    contract_not_found,
    emit_contract_event,
    find_contract,
    open_to,
    stamp_change,
)
from openbenefits.loyalty.models import (
    Amount,
    LoyaltyContract,
    LoyaltyPointsTransaction,
    LoyaltyProgram,
    PointsTransactionType,
    ProgramType,
)
from openbenefits.tenancy.principals import LoyaltyCaller
from openbenefits.webhooks.schemas import EventType

_LEDGER_COLUMNS = (
    "id",
    "transaction_type",
    "points_type",
    "amount",
    "balance_after",
    "external_ref",
    "refund_of_id",
    "created_at",
    "created_by",
)


def _wrong_program_type() -> InvalidRequest:
    return InvalidRequest(
        "Only POINTS contracts have points transactions.", code="WRONG_PROGRAM_TYPE"
    )


def _points_contract(found: FoundContract) -> LoyaltyContract:
    if found.program.program_type != ProgramType.POINTS or found.contract.parent_id is not None:
        raise _wrong_program_type()
    return found.contract


def _replayed(earlier: Mapping[str, Any], data: schemas.PointsTransactionCreate) -> None:
    """A transaction with the same external reference exists: it must be this request's."""
    if not (
        earlier["transaction_type"] == data.transaction_type
        and earlier["points_type"] == data.points_type
        and earlier["amount"] == data.amount
        and earlier["refund_of_id"] == data.refund_of
    ):
        raise Conflict(
            f"The external reference {data.external_ref!r} was used for another transaction.",
            code="EXTERNAL_REF_REUSED",
        )


def _check_allowed(
    points_type: str | None, balance: Decimal, data: schemas.PointsTransactionCreate
) -> None:
    """The refusals a contract's points type and balance decide."""
    if points_type is None and data.transaction_type != PointsTransactionType.DEPOSIT:
        raise Conflict(
            "The first transaction of a contract is a deposit.", code="NO_INITIAL_DEPOSIT"
        )
    if points_type is not None and points_type != data.points_type:
        raise Conflict(
            f"The contract holds {points_type} points; points types cannot be mixed.",
            code="POINTS_TYPE_MISMATCH",
        )
    if data.transaction_type == PointsTransactionType.WITHDRAWAL and balance < data.amount:
        raise Conflict(
            f"The balance is {balance}; {data.amount} cannot be withdrawn.",
            code="INSUFFICIENT_POINTS",
        )
    if (
        data.transaction_type != PointsTransactionType.WITHDRAWAL
        and balance + data.amount > schemas.MAX_POINTS
    ):
        raise Conflict(
            f"The balance is {balance}; with {data.amount} more it would exceed "
            f"{schemas.MAX_POINTS}.",
            code="POINTS_BALANCE_LIMIT",
        )


def _rendered(row: Mapping[str, Any], contract_uuid: str) -> schemas.PointsTransactionOut:
    return schemas.PointsTransactionOut(
        id=row["id"],
        contract_uuid=contract_uuid,
        transaction_type=row["transaction_type"],
        points_type=row["points_type"],
        amount=row["amount"],
        balance_after=row["balance_after"],
        external_ref=row["external_ref"],
        refund_of=row["refund_of_id"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


def _ledger_row(transaction: LoyaltyPointsTransaction) -> dict[str, Any]:
    return {column: getattr(transaction, column) for column in _LEDGER_COLUMNS}


def render_transaction(
    transaction: LoyaltyPointsTransaction, contract_uuid: str
) -> schemas.PointsTransactionOut:
    return _rendered(_ledger_row(transaction), contract_uuid)


async def record_transaction(
    work: Work,
    principal: LoyaltyCaller,
    uuid: str,
    data: schemas.PointsTransactionCreate,
    now: datetime,
) -> tuple[schemas.PointsTransactionOut, bool]:
    """The transaction and whether it is new (a retry with the same external reference gets
    the first one back; the same reference with different content is refused)."""
    if work.on_postgresql and data.transaction_type != PointsTransactionType.REFUND:
        return await record_in_one_statement(await work.fetch(), principal, uuid, data, now)
    return await _record_under_lock(await work.session(), principal, uuid, data, now)


# A deposit or withdrawal on PostgreSQL ------------------------------------------------------

_earlier = aliased(LoyaltyPointsTransaction, name="earlier")
# The contract if it is open to the caller, and the transaction its external reference names.
_LOOKUP = (
    select(
        LoyaltyContract.id.label("contract_id"),
        LoyaltyContract.tenant_id,
        LoyaltyContract.parent_id,
        LoyaltyContract.points_type.label("contract_points_type"),
        LoyaltyContract.points_balance,
        LoyaltyProgram.program_type,
        *(getattr(_earlier, column).label(column) for column in _LEDGER_COLUMNS),
    )
    .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyContract.program_id)
    .outerjoin(
        _earlier,
        and_(
            _earlier.contract_id == LoyaltyContract.id,
            _earlier.external_ref == bindparam("external_ref"),
        ),
    )
    .where(
        LoyaltyContract.uuid == bindparam("uuid"),
        open_to(
            bindparam("organisation_id", type_=Integer()),
            bindparam("now", type_=UTCDateTime()),
        ),
    )
)


def _write_statement() -> Executable:
    """Lock the contract if the transaction is allowed on it, append the ledger row (unless
    the external reference is already there), set the balance, write the event; answers the
    ledger row, or nothing. No parameter is named like a column: run through a session, an
    UPDATE would take such a parameter for a value to set."""
    delta = bindparam("delta", type_=Amount)
    points_type = bindparam("new_points_type", type_=String())
    now = bindparam("at", type_=UTCDateTime())
    by = bindparam("changed_by", type_=String())
    locked = (
        select(
            LoyaltyContract.id.label("contract_id"),
            (LoyaltyContract.points_balance + delta).label("balance_after"),
        )
        .where(
            LoyaltyContract.id == bindparam("target_contract_id"),
            or_(
                LoyaltyContract.points_type == points_type,
                and_(
                    LoyaltyContract.points_type.is_(None),
                    bindparam("sets_type", type_=Boolean()),
                ),
            ),
            LoyaltyContract.points_balance + delta >= 0,
            LoyaltyContract.points_balance + delta <= schemas.MAX_POINTS,
        )
        .with_for_update()
        .cte("locked")
    )
    recorded = (
        postgresql_insert(LoyaltyPointsTransaction)
        .from_select(
            [column for column in _LEDGER_COLUMNS if column != "id"] + ["contract_id"],
            select(
                bindparam("new_transaction_type", type_=String()),
                points_type,
                bindparam("new_amount", type_=Amount),
                locked.c.balance_after,
                bindparam("new_external_ref", type_=String()),
                null(),
                now,
                by,
                locked.c.contract_id,
            ),
        )
        .on_conflict_do_nothing(index_elements=["contract_id", "external_ref"])
        .returning(
            LoyaltyPointsTransaction.contract_id,
            *(getattr(LoyaltyPointsTransaction, column) for column in _LEDGER_COLUMNS),
        )
        .cte("recorded")
    )
    balanced = (
        update(LoyaltyContract)
        .where(LoyaltyContract.id == recorded.c.contract_id)
        .values(
            points_balance=recorded.c.balance_after,
            points_type=recorded.c.points_type,
            last_changed_at=now,
            last_changed_by=by,
        )
        .cte("balanced")
    )
    content = func.json_build_object(
        literal("contractUUID", Text),
        cast(bindparam("contract_uuid", type_=String()), Text),
        literal("transactionId", Text),
        recorded.c.id,
        literal("transactionType", Text),
        recorded.c.transaction_type,
        literal("amount", Text),
        cast(recorded.c.amount, Text),
        literal("balance", Text),
        cast(recorded.c.balance_after, Text),
    )
    event = outbox.insert_event_from(recorded, recorded.c.contract_id, content=content).cte("event")
    return (
        select(*(recorded.c[column] for column in _LEDGER_COLUMNS))
        .select_from(recorded)
        .add_cte(balanced, event)
    )


_WRITE = _write_statement()


# Rounds of read-then-write before giving up, when each write finds the contract changed since
# its read (other transactions keep turning a refusal into an allowance and back).
_ATTEMPTS = 5


async def record_in_one_statement(
    fetch: Fetch,
    principal: LoyaltyCaller,
    uuid: str,
    data: schemas.PointsTransactionCreate,
    now: datetime,
) -> tuple[schemas.PointsTransactionOut, bool]:
    """A deposit or withdrawal on PostgreSQL in two round trips: the contract and any
    transaction with the same external reference, then ``_WRITE``. When the write answers
    nothing, the contract changed since the read (a concurrent request with the same reference
    won, or the balance moved): read and decide again."""
    if data.transaction_type == PointsTransactionType.REFUND:
        raise ValueError("a refund runs under the contract's lock (record_transaction)")
    lookup = {
        "uuid": uuid,
        "external_ref": data.external_ref,
        "now": now,
        "organisation_id": principal.tenant_id,
    }
    for _ in range(_ATTEMPTS):
        found = await _points_contract_open_to_caller(fetch, lookup)
        if found["id"] is not None:
            _replayed(found, data)
            return _rendered(found, uuid), False
        _check_allowed(found["contract_points_type"], found["points_balance"], data)
        written = await fetch(_WRITE, _write_params(found, principal, uuid, data, now))
        if written:
            return _rendered(written[0], uuid), True
    raise Conflict(
        f"Contract {uuid} kept changing while this transaction was recorded; retry it.",
        code="CONCURRENT_CHANGE",
    )


def _write_params(
    found: Mapping[str, Any],
    principal: LoyaltyCaller,
    uuid: str,
    data: schemas.PointsTransactionCreate,
    now: datetime,
) -> dict[str, Any]:
    deposit = data.transaction_type == PointsTransactionType.DEPOSIT
    return {
        "target_contract_id": found["contract_id"],
        "delta": data.amount if deposit else -data.amount,
        "sets_type": deposit,
        "new_transaction_type": data.transaction_type.value,
        "new_points_type": data.points_type,
        "new_amount": data.amount,
        "new_external_ref": data.external_ref,
        "at": now,
        "changed_by": principal.client_id,
        "contract_uuid": uuid,
        # The event's content is built in the statement, from the ledger row it writes.
        **outbox.event_params(
            tenant_id=found["tenant_id"],
            event_type=EventType.LOYALTY_POINTS_TRANSACTION_RECORDED,
            content={},
            at=now,
        ),
    }


async def _points_contract_open_to_caller(
    fetch: Fetch, lookup: dict[str, Any]
) -> Mapping[str, Any]:
    rows = await fetch(_LOOKUP, lookup)
    if not rows:
        raise contract_not_found(lookup["uuid"])
    found = rows[0]
    if found["program_type"] != ProgramType.POINTS or found["parent_id"] is not None:
        raise _wrong_program_type()
    return found


# Under the contract's lock ------------------------------------------------------------------


async def _record_under_lock(
    session: AsyncSession,
    principal: LoyaltyCaller,
    uuid: str,
    data: schemas.PointsTransactionCreate,
    now: datetime,
) -> tuple[schemas.PointsTransactionOut, bool]:
    contract = _points_contract(await find_contract(session, principal, uuid, now, lock=True))
    earlier = await session.scalar(
        select(LoyaltyPointsTransaction).where(
            LoyaltyPointsTransaction.contract_id == contract.id,
            LoyaltyPointsTransaction.external_ref == data.external_ref,
        )
    )
    if earlier is not None:
        _replayed(_ledger_row(earlier), data)
        return render_transaction(earlier, uuid), False
    _check_allowed(contract.points_type, contract.points_balance, data)
    if data.transaction_type == PointsTransactionType.WITHDRAWAL:
        balance = contract.points_balance - data.amount
    else:
        if data.refund_of is not None:
            await _check_refund(session, contract, data.refund_of, data.amount)
        balance = contract.points_balance + data.amount
    contract.points_type = data.points_type
    contract.points_balance = balance
    stamp_change(contract, principal, now)
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
    return render_transaction(transaction, uuid), True


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
    principal: LoyaltyCaller,
    uuid: str,
    params: PageParams,
    now: datetime,
) -> tuple[LoyaltyContract, list[LoyaltyPointsTransaction], int]:
    """The ledger, newest first."""
    contract = _points_contract(await find_contract(session, principal, uuid, now))
    statement = (
        select(LoyaltyPointsTransaction)
        .where(LoyaltyPointsTransaction.contract_id == contract.id)
        .order_by(LoyaltyPointsTransaction.id.desc())
    )
    rows, total = await fetch_page(session, statement, params)
    return contract, rows, total


async def balance(
    session: AsyncSession, principal: LoyaltyCaller, uuid: str, now: datetime
) -> schemas.PointsBalance:
    contract = _points_contract(await find_contract(session, principal, uuid, now))
    return schemas.PointsBalance(
        contract_uuid=contract.uuid,
        points_type=contract.points_type,
        balance=contract.points_balance,
    )
