"""Loyalty contracts, their policies and consumers (seed 003, "Contracts and their customers").

Who sees what: a contract belongs to the organisation that owns its program, which alone reads,
searches and administers it (``owned_by``). Every organisation, the owner included, connects
only customers of its own. Another organisation may connect its customers to a contract, by
uuid, when the program allows other organisations, and then validates and uses it and sees it
among its customers' contracts and entitlements (``open_to``). A contract is inaccessible once
every version of its program is DEPRECATED or its holder was removed: it is then found by
nobody. A contract the caller may not see answers exactly as one that does not exist
(``contract_not_found``), and naming another organisation's customer is refused whether or not
that customer exists (``foreign_customer``).
"""

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.customers.models import Customer
from openbenefits.kit import audit, outbox
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from openbenefits.kit.security import derive_key
from openbenefits.loyalty import programs, schemas
from openbenefits.loyalty.models import (
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyContractPolicy,
    LoyaltyProgram,
    LoyaltyProgramVersion,
    ProgramType,
)
from openbenefits.loyalty.versions import VersionDates, current_version_number
from openbenefits.tenancy.principals import LoyaltyCaller
from openbenefits.webhooks.schemas import EventType


def policy_hash(master: bytes, key: str, value: str) -> str:
    """Policy values are kept only as this keyed hash (the key is bound in, so equal values
    under different keys do not hash alike)."""
    return hmac.new(
        derive_key(master, "loyalty-policy"), f"{key}\x00{value}".encode(), "sha256"
    ).hexdigest()


def _accessible(contract: Any, at: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """The contract's program still has a version not DEPRECATED at ``at``, and its holder was
    not removed."""
    return and_(
        contract.holder_removed_at.is_(None),
        or_(LoyaltyProgram.ends_at.is_(None), LoyaltyProgram.ends_at > at),
    )


def owned_by(
    organisation_id: int | ColumnElement[int],
    at: datetime | ColumnElement[datetime],
    contract: Any = LoyaltyContract,
) -> ColumnElement[bool]:
    """The contracts an organisation reads, searches and administers: its own accessible ones
    (``contract``, LoyaltyContract or an alias of it, joined with its LoyaltyProgram)."""
    return and_(contract.tenant_id == organisation_id, _accessible(contract, at))


def open_to(
    organisation_id: int | ColumnElement[int],
    at: datetime | ColumnElement[datetime],
    contract: Any = LoyaltyContract,
) -> ColumnElement[bool]:
    """The contracts an organisation may connect its customers to, validate and use, and see
    among its customers' contracts and entitlements: its own accessible ones, and every other
    organisation's whose program allows other organisations (``contract`` joined with its
    LoyaltyProgram). Every path that uses a contract filters by this, so a contract closed to
    the caller is never read at all."""
    return and_(
        or_(contract.tenant_id == organisation_id, LoyaltyProgram.allow_other_organisations),
        _accessible(contract, at),
    )


async def find_customer(session: AsyncSession, organisation_id: int, number: int) -> Customer:
    customer = await session.scalar(
        select(Customer).where(
            Customer.tenant_id == organisation_id, Customer.customer_number == str(number)
        )
    )
    if customer is None:
        raise customer_not_found(organisation_id, number)
    return customer


def customer_not_found(organisation_id: int, number: int) -> NotFound:
    return NotFound(
        f"Customer {number} of organisation {organisation_id} not found.",
        code="CUSTOMER_NOT_FOUND",
    )


def contract_not_found(uuid: str) -> NotFound:
    """The answer for a contract that does not exist and for one the caller may not see."""
    return NotFound(f"Contract {uuid} not found.", code="CONTRACT_NOT_FOUND")


def foreign_customer() -> Forbidden:
    """The answer for naming another organisation's customer, raised before any lookup: it
    says nothing about whether that customer exists."""
    return Forbidden(
        "You may connect and remove customers of your own organisation only.",
        code="FOREIGN_CUSTOMER",
    )


@dataclass(frozen=True)
class FoundContract:
    contract: LoyaltyContract
    program: LoyaltyProgram


async def find_contract(
    session: AsyncSession,
    principal: LoyaltyCaller,
    uuid: str,
    now: datetime,
    *,
    lock: bool = False,
) -> FoundContract:
    """A contract open to the caller, by uuid; any other is not found."""
    return await _find(session, uuid, open_to(principal.tenant_id, now), lock=lock)


async def owned_contract(
    session: AsyncSession,
    principal: LoyaltyCaller,
    uuid: str,
    now: datetime,
    *,
    lock: bool = False,
) -> FoundContract:
    """One of the caller's own contracts, by uuid; any other is not found."""
    return await _find(session, uuid, owned_by(principal.tenant_id, now), lock=lock)


async def _find(
    session: AsyncSession, uuid: str, visible: ColumnElement[bool], *, lock: bool
) -> FoundContract:
    statement = (
        select(LoyaltyContract, LoyaltyProgram)
        .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyContract.program_id)
        .where(LoyaltyContract.uuid == uuid, visible)
    )
    if lock:
        statement = statement.with_for_update(of=LoyaltyContract)
    row = (await session.execute(statement)).first()
    if row is None:
        raise contract_not_found(uuid)
    return FoundContract(*row)


def stamp_change(
    row: LoyaltyContract | LoyaltyContractConsumer, principal: LoyaltyCaller, now: datetime
) -> None:
    """Who changed the contract or consumer last, and when."""
    row.last_changed_at = now
    row.last_changed_by = principal.client_id


async def emit_contract_event(
    session: AsyncSession,
    event_type: EventType,
    contract: LoyaltyContract,
    now: datetime,
    **content: object,
) -> None:
    # Every loyalty event is about a contract: its id orders deliveries per contract.
    await outbox.emit(
        session,
        tenant_id=contract.tenant_id,
        event_type=event_type,
        entity_id=contract.id,
        content={"contractUUID": contract.uuid, **content},
        at=now,
    )


async def create_contract(
    session: AsyncSession,
    principal: LoyaltyCaller,
    master: bytes,
    program_id: int,
    data: schemas.ContractCreate,
    now: datetime,
    *,
    redeemed_by: Customer | None = None,
) -> LoyaltyContract:
    """Only while the program has a CURRENT version; the expiration defaults to
    ``consumableFrom`` plus the version's usage validity period (none: open-ended)."""
    program, versions = await programs.program_with_versions(
        session, principal.tenant_id, program_id
    )
    version = _current(versions, now)
    coupons = program.program_type == ProgramType.COUPONS
    if data.coupons_limit is not None and not coupons:
        raise InvalidRequest("Only COUPONS contracts have coupons.", code="NOT_A_COUPONS_PROGRAM")
    holder = redeemed_by
    if holder is None and data.customer_number is not None:
        holder = await find_customer(session, principal.tenant_id, data.customer_number)
    validity = version.usage_validity_seconds
    expiration = data.expiration_date or (
        data.consumable_from + timedelta(seconds=validity) if validity else None
    )
    contract = LoyaltyContract(
        uuid=str(uuid4()),
        tenant_id=program.tenant_id,
        program_id=program.id,
        program_version_id=version.id,
        consumable_from=data.consumable_from,
        expiration_date=expiration,
        external_ref=data.external_ref,
        coupons_limit=(
            data.coupons_limit if data.coupons_limit is not None else version.default_coupons_limit
        )
        if coupons
        else None,
        coupons_used=0,
        redeemed_by_customer_id=redeemed_by.id if redeemed_by else None,
        created_at=now,
        created_by=principal.client_id,
        last_changed_at=now,
        last_changed_by=principal.client_id,
    )
    session.add(contract)
    await flush_or_conflict(
        session,
        "The customer has already redeemed this loyalty program.",
        code="LOYALTY_PROGRAM_ALREADY_REDEEMED",
    )
    session.add_all(
        LoyaltyContractPolicy(
            contract_id=contract.id, key=p.key, value_hash=policy_hash(master, p.key, p.value)
        )
        for p in data.policies
    )
    if holder is not None:
        session.add(
            new_consumer(contract, holder, data.customer_ref, is_holder=True, by=principal, now=now)
        )
    await session.flush()
    audit.record_change(session, principal, "loyalty_contract.created", contract)
    await emit_contract_event(session, EventType.LOYALTY_CONTRACT_CREATED, contract, now)
    return contract


def _current(versions: list[LoyaltyProgramVersion], now: datetime) -> LoyaltyProgramVersion:
    number = current_version_number(
        (VersionDates(v.version_number, v.start_date, v.end_date) for v in versions), now
    )
    if number is None:
        raise Conflict(
            "The loyalty program has no CURRENT version: contracts cannot be created on it.",
            code="LOYALTY_PROGRAM_NOT_CURRENT",
        )
    return next(v for v in versions if v.version_number == number)


def new_consumer(
    contract: LoyaltyContract,
    customer: Customer,
    customer_ref: str | None,
    *,
    is_holder: bool,
    by: LoyaltyCaller,
    now: datetime,
) -> LoyaltyContractConsumer:
    return LoyaltyContractConsumer(
        contract_id=contract.id,
        customer_organisation_id=customer.tenant_id,
        customer_id=customer.id,
        customer_ref=customer_ref,
        is_contract_holder=is_holder,
        is_blocked=False,
        created_at=now,
        created_by=by.client_id,
        last_changed_at=now,
        last_changed_by=by.client_id,
    )


async def claim_personnel_ticket(
    session: AsyncSession,
    principal: LoyaltyCaller,
    data: schemas.ClaimPersonnelTicket,
    now: datetime,
) -> list[str]:
    """Connects the caller's customer, as a consumer, to every accessible contract with that
    external reference that has a holder and is the caller's or open to other organisations
    (personnel tickets belong to the personnel ticket system's organisation). The reference is
    the proof, so policies are not asked for. Contracts already connected are skipped; 409 when
    there is nothing left to connect, 404 when there is nothing at all."""
    customer = await find_customer(session, principal.tenant_id, data.customer_number)
    holders = select(LoyaltyContractConsumer.contract_id).where(
        LoyaltyContractConsumer.is_contract_holder
    )
    rows = await session.scalars(
        select(LoyaltyContract)
        .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyContract.program_id)
        .where(
            LoyaltyContract.external_ref == data.external_reference,
            LoyaltyContract.parent_id.is_(None),
            LoyaltyContract.id.in_(holders),
            open_to(principal.tenant_id, now),
        )
        .order_by(LoyaltyContract.id)
        .with_for_update(of=LoyaltyContract)
    )
    contracts = list(rows)
    if not contracts:
        raise NotFound(
            f"No contract has the external reference {data.external_reference!r}.",
            code="CONTRACT_NOT_FOUND",
        )
    connected = set(
        await session.scalars(
            select(LoyaltyContractConsumer.contract_id).where(
                LoyaltyContractConsumer.customer_id == customer.id,
                LoyaltyContractConsumer.contract_id.in_([c.id for c in contracts]),
            )
        )
    )
    claimed = [c for c in contracts if c.id not in connected]
    if not claimed:
        raise Conflict("The customer has already claimed these contracts.", code="ALREADY_CLAIMED")
    for contract in claimed:
        session.add(new_consumer(contract, customer, None, is_holder=False, by=principal, now=now))
    await flush_or_conflict(
        session, "The customer has already claimed these contracts.", code="ALREADY_CLAIMED"
    )
    for contract in claimed:
        await emit_contract_event(
            session,
            EventType.LOYALTY_CONSUMER_ADDED,
            contract,
            now,
            customerOrganisationId=principal.tenant_id,
            customerNumber=data.customer_number,
            isContractHolder=False,
        )
    return [c.uuid for c in claimed]


async def redeem_code(
    session: AsyncSession,
    principal: LoyaltyCaller,
    master: bytes,
    data: schemas.Redemption,
    now: datetime,
) -> LoyaltyContract:
    """A contract on the program with that code, consumable now, the customer its holder."""
    program_id = await session.scalar(
        select(LoyaltyProgram.id).where(
            LoyaltyProgram.tenant_id == principal.tenant_id,
            LoyaltyProgram.code == data.loyalty_program_code,
        )
    )
    if program_id is None:
        raise NotFound(
            f"No loyalty program has the code {data.loyalty_program_code!r}.",
            code="LOYALTY_PROGRAM_CODE_NOT_FOUND",
        )
    customer = await find_customer(session, principal.tenant_id, data.customer_number)
    try:
        return await create_contract(
            session,
            principal,
            master,
            program_id,
            schemas.ContractCreate(
                consumable_from=now,
                customer_number=data.customer_number,
                customer_ref=data.customer_ref,
            ),
            now,
            redeemed_by=customer,
        )
    except Conflict as refused:
        if refused.code != "LOYALTY_PROGRAM_NOT_CURRENT":
            raise
        raise InvalidRequest(
            f"The loyalty program code {data.loyalty_program_code!r} is not valid now.",
            code="LOYALTY_PROGRAM_CODE_EXPIRED",
        ) from refused
