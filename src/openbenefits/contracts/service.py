"""Business rules for rates and main contracts."""

import calendar
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.contracts import schemas
from openbenefits.contracts.models import (
    MainContract,
    PaymentFrequencyType,
    Rate,
    RatePaymentFrequency,
)
from openbenefits.contracts.terms import earliest_end
from openbenefits.contracts.views import contract_state
from openbenefits.customers.models import Customer, CustomerStatus
from openbenefits.kit import outbox
from openbenefits.kit.audit import Actor, record_change
from openbenefits.kit.errors import Conflict, InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.kit.periods import local_date
from openbenefits.tenancy import service as tenancy_service
from openbenefits.webhooks.schemas import EventType


async def _emit(
    session: AsyncSession, event_type: EventType, contract: MainContract, at: datetime
) -> None:
    """A webhook event of the contract, routed to the integrations of the contract's studio."""
    await outbox.emit(
        session,
        tenant_id=contract.tenant_id,
        event_type=event_type,
        entity_id=contract.id,
        content={"contractId": contract.id, "customerId": contract.customer_id},
        at=at,
        studio_id=contract.studio_id,
    )


# Rates


def check_frequency(index: int, frequency: schemas.PaymentFrequencyIn) -> None:
    where = f"paymentFrequencies.{index}"
    if frequency.type is PaymentFrequencyType.RECURRING and frequency.term is None:
        raise InvalidRequest(
            "A RECURRING payment needs its interval (term).",
            code="PAYMENT_TERM_REQUIRED",
            reference=f"{where}.term",
        )
    if frequency.type is PaymentFrequencyType.FREE and frequency.price != 0:
        raise InvalidRequest(
            "A FREE payment costs nothing.", code="FREE_WITH_PRICE", reference=f"{where}.price"
        )
    tables = {
        PaymentFrequencyType.TERM_BASED: ("termsToPrices", frequency.terms_to_prices),
        PaymentFrequencyType.MONTH_DAY: ("monthDaysToPrices", frequency.month_days_to_prices),
    }
    for kind, (name, table) in tables.items():
        if (frequency.type is kind) != bool(table):
            raise InvalidRequest(
                f"{name} is required for {kind} payments and allowed for no other.",
                code="PRICE_TABLE_MISMATCH",
                reference=f"{where}.{name}",
            )
    for position, entry in enumerate(frequency.month_days_to_prices or []):
        if entry.day_of_month > calendar.monthrange(2024, entry.month)[1]:  # a leap year
            raise InvalidRequest(
                "That month has no such day.",
                code="INVALID_MONTH_DAY",
                reference=f"{where}.monthDaysToPrices.{position}.dayOfMonth",
            )


def price_table(frequency: schemas.PaymentFrequencyIn) -> list[dict[str, Any]] | None:
    if frequency.terms_to_prices:
        return [
            {"termValue": t.term.value, "termUnit": t.term.unit, "price": str(t.price)}
            for t in frequency.terms_to_prices
        ]
    if frequency.month_days_to_prices:
        return [
            {"month": m.month, "day": m.day_of_month, "price": str(m.price)}
            for m in frequency.month_days_to_prices
        ]
    return None


async def create_rate(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.RateCreate
) -> tuple[Rate, list[RatePaymentFrequency]]:
    for index, frequency in enumerate(data.payment_frequencies):
        check_frequency(index, frequency)
    rate = Rate(
        tenant_id=tenant_id,
        name=data.name,
        term_value=data.term.value,
        term_unit=data.term.unit,
        extension_term_value=data.extension_term.value,
        extension_term_unit=data.extension_term.unit,
        cancellation_period_value=data.cancellation_period.value,
        cancellation_period_unit=data.cancellation_period.unit,
    )
    session.add(rate)
    await session.flush()
    frequencies = [
        RatePaymentFrequency(
            tenant_id=tenant_id,
            rate_id=rate.id,
            type=f.type,
            term_value=f.term.value if f.term else None,
            term_unit=f.term.unit if f.term else None,
            price=f.price,
            currency=f.currency,
            price_table=price_table(f),
        )
        for f in data.payment_frequencies
    ]
    session.add_all(frequencies)
    await session.flush()
    record_change(session, actor, "rate.created", rate, name=rate.name)
    return rate, frequencies


async def get_rate(session: AsyncSession, tenant_id: int, rate_id: int) -> Rate:
    rate = await session.scalar(select(Rate).where(Rate.id == rate_id, Rate.tenant_id == tenant_id))
    if rate is None:
        raise NotFound(f"Rate {rate_id} not found.", code="RATE_NOT_FOUND")
    return rate


async def list_rates(
    session: AsyncSession, tenant_id: int, params: PageParams
) -> tuple[list[Rate], int]:
    statement = select(Rate).where(Rate.tenant_id == tenant_id).order_by(Rate.id)
    return await fetch_page(session, statement, params)


async def payment_frequencies(
    session: AsyncSession, rate_ids: list[int]
) -> dict[int, list[RatePaymentFrequency]]:
    """The payment frequencies of several rates in one query."""
    found: dict[int, list[RatePaymentFrequency]] = {rate_id: [] for rate_id in rate_ids}
    for frequency in await session.scalars(
        select(RatePaymentFrequency)
        .where(RatePaymentFrequency.rate_id.in_(rate_ids))
        .order_by(RatePaymentFrequency.id)
    ):
        found[frequency.rate_id].append(frequency)
    return found


# Main contracts


async def create_contract(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.ContractCreate, now: datetime
) -> MainContract:
    customer = await session.scalar(
        select(Customer).where(Customer.id == data.customer_id, Customer.tenant_id == tenant_id)
    )
    if customer is None:
        raise NotFound(f"Customer {data.customer_id} not found.", code="CUSTOMER_NOT_FOUND")
    rate = await get_rate(session, tenant_id, data.rate_id)
    frequency = await session.scalar(
        select(RatePaymentFrequency).where(
            RatePaymentFrequency.id == data.payment_frequency_id,
            RatePaymentFrequency.rate_id == rate.id,
        )
    )
    if frequency is None:
        raise InvalidRequest(
            "The payment frequency is not one of the rate's.",
            code="PAYMENT_FREQUENCY_NOT_FOUND",
            reference="paymentFrequencyId",
        )
    studio = await tenancy_service.get_studio(
        session, tenant_id, data.studio_id or customer.studio_id
    )
    today = local_date(now, ZoneInfo(studio.time_zone))
    contract = MainContract(
        tenant_id=tenant_id,
        customer_id=customer.id,
        studio_id=studio.id,
        rate_id=rate.id,
        rate_name=rate.name,
        payment_frequency_id=frequency.id,
        created_date=today,
        start_date=data.start_date,
        term_value=rate.term_value,
        term_unit=rate.term_unit,
        extension_term_value=rate.extension_term_value,
        extension_term_unit=rate.extension_term_unit,
        cancellation_period_value=rate.cancellation_period_value,
        cancellation_period_unit=rate.cancellation_period_unit,
        base_price=frequency.price,
        current_price=frequency.price,
        currency=frequency.currency,
        third_party_id=data.third_party_id,
    )
    session.add(contract)
    # Signing a membership makes the customer a member.
    customer.status = CustomerStatus.MEMBER
    await session.flush()
    record_change(
        session, actor, "contract.created", contract, customerId=customer.id, rateId=rate.id
    )
    await _emit(session, EventType.CONTRACT_CREATED, contract, now)
    return contract


async def get_contract(session: AsyncSession, tenant_id: int, contract_id: int) -> MainContract:
    contract = await session.scalar(
        select(MainContract).where(
            MainContract.id == contract_id, MainContract.tenant_id == tenant_id
        )
    )
    if contract is None:
        raise NotFound(f"Contract {contract_id} not found.", code="CONTRACT_NOT_FOUND")
    return contract


async def customer_contracts(
    session: AsyncSession, customer: Customer
) -> list[tuple[MainContract, RatePaymentFrequency]]:
    """A customer's main contracts with their payment frequencies, oldest first."""
    rows = await session.execute(
        select(MainContract, RatePaymentFrequency)
        .join(RatePaymentFrequency, RatePaymentFrequency.id == MainContract.payment_frequency_id)
        .where(MainContract.customer_id == customer.id)
        .order_by(MainContract.id)
    )
    return [(contract, frequency) for contract, frequency in rows]


async def has_active_contract(session: AsyncSession, customer: Customer, today: date) -> bool:
    return any(
        contract_state(contract, today).active
        for contract in await session.scalars(
            select(MainContract).where(MainContract.customer_id == customer.id)
        )
    )


async def cancel_contract(
    session: AsyncSession,
    actor: Actor,
    contract: MainContract,
    data: schemas.ContractCancel,
    now: datetime,
) -> MainContract:
    """Cancel at the earliest end the notice period allows for a cancellation received then."""
    if contract.cancellation_date is not None:
        raise Conflict("The contract is already cancelled.", code="CONTRACT_ALREADY_CANCELLED")
    zone = await tenancy_service.studio_zone(session, contract.studio_id)
    received = data.receipt_date or local_date(now, zone)
    contract.cancellation_receipt_date = received
    contract.cancellation_reason = data.reason
    contract.cancellation_date = earliest_end(
        contract.start_date,
        contract.term,
        contract.extension_term,
        contract.cancellation_period,
        received,
    )
    await session.flush()
    record_change(
        session,
        actor,
        "contract.cancelled",
        contract,
        cancellationDate=contract.cancellation_date.isoformat(),
    )
    await _emit(session, EventType.CONTRACT_CANCELLED, contract, now)
    return contract
