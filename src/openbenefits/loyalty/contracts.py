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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.customers.models import Customer
from openbenefits.kit import audit, outbox
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthorized
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.kit.security import derive_key
from openbenefits.loyalty import programs, schemas
from openbenefits.loyalty.models import (
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyContractPolicy,
    LoyaltyOrderLineEvent,
    LoyaltyProgram,
    LoyaltyProgramVersion,
    ProgramType,
)
from openbenefits.loyalty.versions import VersionDates, current_version_number
from openbenefits.tenancy.principals import LoyaltyPrincipal
from openbenefits.webhooks.schemas import EventType

POLICY_MISMATCH = (
    "Add contract consumer for contract {uuid} failed. "
    "The contract policies didn't match the policies provided in the request."
)


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
    principal: LoyaltyPrincipal,
    uuid: str,
    now: datetime,
    *,
    lock: bool = False,
) -> FoundContract:
    """A contract open to the caller, by uuid; any other is not found."""
    return await _find(session, uuid, open_to(principal.tenant_id, now), lock=lock)


async def owned_contract(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
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
    row: LoyaltyContract | LoyaltyContractConsumer, principal: LoyaltyPrincipal, now: datetime
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
    principal: LoyaltyPrincipal,
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
            _consumer(contract, holder, data.customer_ref, is_holder=True, by=principal, now=now)
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


def _consumer(
    contract: LoyaltyContract,
    customer: Customer,
    customer_ref: str | None,
    *,
    is_holder: bool,
    by: LoyaltyPrincipal,
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


async def _policies_match(
    session: AsyncSession, master: bytes, contract_id: int, given: dict[str, str]
) -> bool:
    policies = await session.scalars(
        select(LoyaltyContractPolicy).where(LoyaltyContractPolicy.contract_id == contract_id)
    )
    return all(
        p.key in given
        and hmac.compare_digest(p.value_hash, policy_hash(master, p.key, given[p.key]))
        for p in policies
    )


async def add_consumer(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    master: bytes,
    uuid: str,
    data: schemas.ConsumerCreate,
    now: datetime,
) -> tuple[LoyaltyContractConsumer, Customer]:
    """The seed's rules, checked in this order: the caller's own customer (403), a contract
    open to the caller (404), the holder rules (400 / 409), the customer (404), the policies
    (401), a consumer already there (409). The contract row is locked, so concurrent additions
    cannot both become the holder or slip in before one."""
    if data.customer_organisation_id != principal.tenant_id:
        raise foreign_customer()
    contract = (await find_contract(session, principal, uuid, now, lock=True)).contract
    if contract.parent_id is not None:
        raise InvalidRequest(
            "A used coupon's contract takes the consumers of its parent.",
            code="CONTRACT_IS_A_COUPON",
        )
    holder = await session.scalar(
        select(LoyaltyContractConsumer.id).where(
            LoyaltyContractConsumer.contract_id == contract.id,
            LoyaltyContractConsumer.is_contract_holder,
        )
    )
    if data.is_contract_holder:
        if contract.tenant_id != principal.tenant_id:
            raise InvalidRequest(
                "The contract holder must be a customer of the organisation owning the contract.",
                code="HOLDER_OF_OTHER_ORGANISATION",
            )
        if holder is not None:
            raise Conflict("The contract already has a holder.", code="CONTRACT_HOLDER_EXISTS")
    elif holder is None:
        raise Conflict(
            "The contract has no holder yet: connect the holder first.",
            code="CONTRACT_HOLDER_MISSING",
        )
    customer = await find_customer(session, principal.tenant_id, data.customer_number)
    if not await _policies_match(session, master, contract.id, data.policy_validation_properties):
        raise Unauthorized(POLICY_MISMATCH.format(uuid=uuid), code="POLICY_MISMATCH")
    consumer = _consumer(
        contract,
        customer,
        data.customer_ref,
        is_holder=data.is_contract_holder,
        by=principal,
        now=now,
    )
    session.add(consumer)
    await flush_or_conflict(
        session,
        "The customer is already a consumer of this contract.",
        code="CONSUMER_EXISTS",
    )
    audit.record_change(
        session, principal, "loyalty_contract.consumer_added", contract, customerId=customer.id
    )
    await emit_contract_event(
        session,
        EventType.LOYALTY_CONSUMER_ADDED,
        contract,
        now,
        customerOrganisationId=principal.tenant_id,
        customerNumber=data.customer_number,
        isContractHolder=data.is_contract_holder,
    )
    return consumer, customer


async def _consumer_of(
    session: AsyncSession, contract: LoyaltyContract, organisation_id: int, number: int
) -> tuple[LoyaltyContractConsumer, Customer]:
    row = (
        await session.execute(
            select(LoyaltyContractConsumer, Customer)
            .join(Customer, Customer.id == LoyaltyContractConsumer.customer_id)
            .where(
                LoyaltyContractConsumer.contract_id == contract.id,
                Customer.tenant_id == organisation_id,
                Customer.customer_number == str(number),
            )
        )
    ).first()
    if row is None:
        raise NotFound(
            f"Customer {number} is not a consumer of contract {contract.uuid}.",
            code="CONSUMER_NOT_FOUND",
        )
    return row[0], row[1]


async def set_blocked(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    uuid: str,
    organisation_id: int,
    number: int,
    blocked: bool,
    now: datetime,
) -> tuple[LoyaltyContractConsumer, Customer]:
    """Only the owning organisation blocks; a blocked consumer keeps its row, so the customer
    can neither see nor connect to the contract again until unblocked."""
    found = await owned_contract(session, principal, uuid, now)
    consumer, customer = await _consumer_of(session, found.contract, organisation_id, number)
    if consumer.is_blocked != blocked:
        consumer.is_blocked = blocked
        stamp_change(consumer, principal, now)
        await session.flush()
        audit.record_change(
            session,
            principal,
            "loyalty_contract.consumer_blocked"
            if blocked
            else "loyalty_contract.consumer_unblocked",
            found.contract,
            customerId=customer.id,
        )
        await emit_contract_event(
            session,
            EventType.LOYALTY_CONSUMER_BLOCKED if blocked else EventType.LOYALTY_CONSUMER_UNBLOCKED,
            found.contract,
            now,
            customerOrganisationId=organisation_id,
            customerNumber=number,
        )
    return consumer, customer


async def remove_consumer(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    uuid: str,
    organisation_id: int,
    number: int,
    now: datetime,
) -> None:
    """By the owning organisation, or by the consumer's own when the contract is open to it.
    Removing the holder makes the contract inaccessible (seed: "If the owner is removed from
    the contract, it will no longer be accessible")."""
    found = await find_contract(session, principal, uuid, now, lock=True)
    contract = found.contract
    if principal.tenant_id not in (contract.tenant_id, organisation_id):
        raise foreign_customer()
    consumer, customer = await _consumer_of(session, contract, organisation_id, number)
    if consumer.is_contract_holder:
        contract.holder_removed_at = now
        stamp_change(contract, principal, now)
    await session.delete(consumer)
    await session.flush()
    audit.record_change(
        session, principal, "loyalty_contract.consumer_removed", contract, customerId=customer.id
    )
    await emit_contract_event(
        session,
        EventType.LOYALTY_CONSUMER_REMOVED,
        contract,
        now,
        customerOrganisationId=organisation_id,
        customerNumber=number,
        isContractHolder=consumer.is_contract_holder,
    )


async def claim_personnel_ticket(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
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
        session.add(_consumer(contract, customer, None, is_holder=False, by=principal, now=now))
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
    principal: LoyaltyPrincipal,
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


# Reading contracts -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractFilters:
    uuid: str | None = None
    customer_number: int | None = None
    customer_ref: str | None = None
    loyalty_program_id: int | None = None
    contract_holder: bool | None = None
    consumable_after: datetime | None = None
    consumable_before: datetime | None = None
    expiration_date_after: datetime | None = None
    expiration_date_before: datetime | None = None
    external_ref: str | None = None


_SORT_COLUMNS = {
    schemas.ContractSort.CONSUMABLE_FROM: LoyaltyContract.consumable_from,
    schemas.ContractSort.EXPIRATION_DATE: LoyaltyContract.expiration_date,
    schemas.ContractSort.CREATED_AT: LoyaltyContract.created_at,
}


def _search_statement(
    tenant_id: int,
    filters: ContractFilters,
    sort: schemas.ContractSort,
    order: schemas.SortOrder,
    now: datetime,
) -> Select[LoyaltyContract]:
    statement = (
        select(LoyaltyContract)
        .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyContract.program_id)
        .where(owned_by(tenant_id, now))
    )
    comparisons = [
        (filters.uuid, LoyaltyContract.uuid.__eq__),
        (filters.loyalty_program_id, LoyaltyContract.program_id.__eq__),
        (filters.external_ref, LoyaltyContract.external_ref.__eq__),
        (filters.consumable_after, LoyaltyContract.consumable_from.__ge__),
        (filters.consumable_before, LoyaltyContract.consumable_from.__le__),
        (filters.expiration_date_after, LoyaltyContract.expiration_date.__ge__),
        (filters.expiration_date_before, LoyaltyContract.expiration_date.__le__),
    ]
    for value, compare in comparisons:
        if value is not None:
            statement = statement.where(compare(value))
    consumer_conditions: list[ColumnElement[bool]] = []
    if filters.customer_number is not None:
        # The customer's contracts, as consumer or holder; blocked ones are not the customer's.
        customers = select(Customer.id).where(
            Customer.tenant_id == tenant_id,
            Customer.customer_number == str(filters.customer_number),
        )
        consumer_conditions += [
            LoyaltyContractConsumer.customer_id.in_(customers),
            LoyaltyContractConsumer.is_blocked.is_(False),
        ]
    if filters.customer_ref is not None:
        consumer_conditions.append(LoyaltyContractConsumer.customer_ref == filters.customer_ref)
    if filters.contract_holder is not None and consumer_conditions:
        consumer_conditions.append(
            LoyaltyContractConsumer.is_contract_holder.is_(filters.contract_holder)
        )
    if consumer_conditions:
        statement = statement.where(
            LoyaltyContract.id.in_(
                select(LoyaltyContractConsumer.contract_id).where(*consumer_conditions)
            )
        )
    elif filters.contract_holder is not None:
        has_holder = LoyaltyContract.id.in_(
            select(LoyaltyContractConsumer.contract_id).where(
                LoyaltyContractConsumer.is_contract_holder
            )
        )
        statement = statement.where(has_holder if filters.contract_holder else ~has_holder)
    column = _SORT_COLUMNS[sort]
    ordered = column.asc() if order == schemas.SortOrder.ASC else column.desc()
    return statement.order_by(ordered, LoyaltyContract.id)


async def search_contracts(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    filters: ContractFilters,
    sort: schemas.ContractSort,
    order: schemas.SortOrder,
    params: PageParams,
    now: datetime,
) -> tuple[list[LoyaltyContract], int]:
    statement = _search_statement(principal.tenant_id, filters, sort, order, now)
    return await fetch_page(session, statement, params)


async def consumer_contracts(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    number: int,
    params: PageParams,
    now: datetime,
) -> tuple[list[LoyaltyContract], int]:
    """The contracts open to the caller that its customer consumes (not blocked), the parents
    first in creation order."""
    customer = await find_customer(session, principal.tenant_id, number)
    statement = (
        select(LoyaltyContract)
        .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyContract.program_id)
        .join(LoyaltyContractConsumer, LoyaltyContractConsumer.contract_id == LoyaltyContract.id)
        .where(
            LoyaltyContractConsumer.customer_id == customer.id,
            LoyaltyContractConsumer.is_blocked.is_(False),
            open_to(principal.tenant_id, now),
        )
        .order_by(LoyaltyContract.id)
    )
    return await fetch_page(session, statement, params)


async def as_dict(session: AsyncSession, statement: Select[Any, Any]) -> dict[Any, Any]:
    """The rows of a two-column statement as a mapping of the first column to the second."""
    return {key: value for key, value in await session.execute(statement)}


async def render_contracts(
    session: AsyncSession,
    contracts: Sequence[LoyaltyContract],
    *,
    include_consumers: schemas.IncludeConsumers = schemas.IncludeConsumers.CONTRACT_HOLDER,
    include_order_line_events: bool = False,
) -> list[schemas.ContractOut]:
    """The wire shape of many contracts in a fixed number of queries."""
    if not contracts:
        return []
    ids = [c.id for c in contracts]
    types = await as_dict(
        session,
        select(LoyaltyProgram.id, LoyaltyProgram.program_type).where(
            LoyaltyProgram.id.in_({c.program_id for c in contracts})
        ),
    )
    parents = await as_dict(
        session,
        select(LoyaltyContract.id, LoyaltyContract.uuid).where(
            LoyaltyContract.id.in_({c.parent_id for c in contracts if c.parent_id is not None})
        ),
    )
    policies = list(
        await session.scalars(
            select(LoyaltyContractPolicy)
            .where(LoyaltyContractPolicy.contract_id.in_(ids))
            .order_by(LoyaltyContractPolicy.id)
        )
    )
    consumers: dict[int, list[schemas.ConsumerOut]] = {}
    if include_consumers != schemas.IncludeConsumers.NONE:
        wanted = (
            LoyaltyContractConsumer.is_contract_holder
            if include_consumers == schemas.IncludeConsumers.CONTRACT_HOLDER
            else true()
        )
        rows = await session.execute(
            select(LoyaltyContractConsumer, Customer.customer_number)
            .join(Customer, Customer.id == LoyaltyContractConsumer.customer_id)
            .where(LoyaltyContractConsumer.contract_id.in_(ids), wanted)
            .order_by(LoyaltyContractConsumer.id)
        )
        for consumer, number in rows:
            consumers.setdefault(consumer.contract_id, []).append(render_consumer(consumer, number))
    events: dict[int, list[schemas.OrderLineEventOut]] = {}
    if include_order_line_events:
        uuids = {c.id: c.uuid for c in contracts}
        for event in await session.scalars(
            select(LoyaltyOrderLineEvent)
            .where(LoyaltyOrderLineEvent.contract_id.in_(ids))
            .order_by(LoyaltyOrderLineEvent.id)
        ):
            events.setdefault(event.contract_id, []).append(
                render_event(
                    event, uuids[event.contract_id], parents.get(event.coupons_contract_id or 0)
                )
            )
    return [
        _render_contract(
            c,
            types[c.program_id],
            parents.get(c.parent_id) if c.parent_id else None,
            [schemas.PolicyOut(id=p.id, key=p.key) for p in policies if p.contract_id == c.id],
            consumers.get(c.id) or None
            if include_consumers != schemas.IncludeConsumers.NONE
            else None,
            events.get(c.id, []) if include_order_line_events else None,
        )
        for c in contracts
    ]


def _render_contract(
    contract: LoyaltyContract,
    program_type: ProgramType,
    parent_uuid: str | None,
    policies: list[schemas.PolicyOut],
    consumers: list[schemas.ConsumerOut] | None,
    events: list[schemas.OrderLineEventOut] | None,
) -> schemas.ContractOut:
    points = program_type == ProgramType.POINTS and contract.parent_id is None
    return schemas.ContractOut(
        uuid=contract.uuid,
        loyalty_program_id=contract.program_id,
        # A used coupon's contract is TIMED, whatever its parent's program is.
        loyalty_program_type=ProgramType.TIMED if contract.parent_id else program_type,
        organisation_id=contract.tenant_id,
        consumable_from=contract.consumable_from,
        expiration_date=contract.expiration_date,
        external_ref=contract.external_ref,
        policies=policies,
        coupons_limit=contract.coupons_limit,
        remaining_coupons=(
            contract.coupons_limit - contract.coupons_used
            if contract.coupons_limit is not None
            else None
        ),
        contract_parent=parent_uuid,
        points_type=contract.points_type if points else None,
        points_balance=contract.points_balance if points else None,
        contract_consumers=consumers,
        order_line_events=events,
        created_at=contract.created_at,
        created_by=contract.created_by,
        last_changed_at=contract.last_changed_at,
        last_changed_by=contract.last_changed_by,
    )


def render_consumer(consumer: LoyaltyContractConsumer, customer_number: str) -> schemas.ConsumerOut:
    return schemas.ConsumerOut(
        customer_organisation_id=consumer.customer_organisation_id,
        customer_number=int(customer_number),
        customer_ref=consumer.customer_ref,
        is_blocked=consumer.is_blocked,
        is_contract_holder=consumer.is_contract_holder,
        created_at=consumer.created_at,
        created_by=consumer.created_by,
        last_changed_at=consumer.last_changed_at,
        last_changed_by=consumer.last_changed_by,
    )


def render_event(
    event: LoyaltyOrderLineEvent, contract_uuid: str, coupons_contract_uuid: str | None
) -> schemas.OrderLineEventOut:
    return schemas.OrderLineEventOut(
        id=event.id,
        contract_uuid=contract_uuid,
        coupons_contract_uuid=coupons_contract_uuid,
        order_id=event.order_id,
        order_line_id=event.order_line_id,
        discount=event.discount,
        currency=event.currency,
        occurred_at=event.occurred_at,
        created_at=event.created_at,
        created_by=event.created_by,
    )
