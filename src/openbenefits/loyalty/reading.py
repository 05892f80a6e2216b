"""Reading loyalty contracts: the owner's search, a customer's contracts, and the answers and
event payloads they are rendered into (each contract with its consumers, in one query per
kind of row, never one per contract)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.customers.models import Customer
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.loyalty import schemas
from openbenefits.loyalty.contracts import find_customer, open_to, owned_by
from openbenefits.loyalty.models import (
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyContractPolicy,
    LoyaltyOrderLineEvent,
    LoyaltyProgram,
    ProgramType,
)
from openbenefits.tenancy.principals import LoyaltyCaller


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
    principal: LoyaltyCaller,
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
    principal: LoyaltyCaller,
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


async def coupon_children(
    session: AsyncSession, contract: LoyaltyContract
) -> list[LoyaltyContract]:
    """The TIMED contracts a coupons contract's used coupons became, newest first."""
    rows = await session.scalars(
        select(LoyaltyContract)
        .where(LoyaltyContract.parent_id == contract.id)
        .order_by(LoyaltyContract.consumable_from.desc(), LoyaltyContract.id.desc())
    )
    return list(rows)


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
