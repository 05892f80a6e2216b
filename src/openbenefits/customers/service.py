"""Business rules for customers. Every lookup is scoped to a tenant and, for the studio Open API,
to the calling studio: a customer of another studio does not exist for that key (404)."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from openbenefits.customers import additional_information, schemas
from openbenefits.customers.card_numbers import CardNumberFormat, to_decimal
from openbenefits.customers.models import (
    AccessMedium,
    AccessMediumType,
    AccessRestriction,
    Customer,
    CustomerStatus,
    IdlePeriod,
    StudioSwitch,
)
from openbenefits.customers.views import CustomerView
from openbenefits.kit import audit, outbox
from openbenefits.kit.audit import Actor
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.models import Studio, Tenant
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.webhooks.schemas import EventType

# Search answers at most this many customers; narrow the criteria to see others.
SEARCH_LIMIT = 500
PIN_DIGITS = (4, 12)


@dataclass(frozen=True)
class StudioScope:
    """Whose customers a studio Open API call may see: one studio of one tenant."""

    tenant_id: int
    studio_id: int

    @classmethod
    def of(cls, principal: StudioPrincipal) -> "StudioScope":
        return cls(tenant_id=principal.tenant_id, studio_id=principal.studio_id)


def search_key(text: str) -> str:
    return text.strip().casefold()


def customer_not_found(customer_id: object = None) -> NotFound:
    detail = f"Customer {customer_id} not found." if customer_id is not None else None
    return NotFound(detail or "No customer matches.", code="CUSTOMER_NOT_FOUND")


# Reading


def _in_studio(scope: StudioScope) -> Select[Customer]:
    return select(Customer).where(
        Customer.tenant_id == scope.tenant_id, Customer.studio_id == scope.studio_id
    )


async def get_customer(session: AsyncSession, scope: StudioScope, customer_id: int) -> Customer:
    customer = await session.scalar(_in_studio(scope).where(Customer.id == customer_id))
    if customer is None:
        raise customer_not_found(customer_id)
    return customer


async def list_customers(
    session: AsyncSession,
    scope: StudioScope,
    status: CustomerStatus,
    after_id: int | None,
    size: int,
) -> list[Customer]:
    """Up to ``size + 1`` customers after ``after_id`` in id order (keyset, no OFFSET scan)."""
    statement = _in_studio(scope).where(Customer.status == status)
    if after_id is not None:
        statement = statement.where(Customer.id > after_id)
    return list(await session.scalars(statement.order_by(Customer.id).limit(size + 1)))


IDENTIFIER_PARAMETERS = ("cardNumber", "debtorId", "qrCodeUuid", "barcode", "customerNumber")


@dataclass(frozen=True)
class Identifier:
    """The identifiers a lookup was given; ``accepted`` names the query parameters its endpoint
    takes (some take fewer than ``GET /v1/customers/by``), so a refusal names only those."""

    card_number: str | None = None
    card_number_format: CardNumberFormat = CardNumberFormat.DECIMAL
    debtor_id: str | None = None
    qr_code_uuid: str | None = None
    barcode: str | None = None
    customer_number: str | None = None
    accepted: tuple[str, ...] = IDENTIFIER_PARAMETERS


async def find_customer_by(
    session: AsyncSession, scope: StudioScope, identifier: Identifier
) -> Customer:
    given = [
        value
        for value in (
            identifier.card_number,
            identifier.debtor_id,
            identifier.qr_code_uuid,
            identifier.barcode,
            identifier.customer_number,
        )
        if value
    ]
    if len(given) != 1:
        raise InvalidRequest(
            f"Give exactly one of {', '.join(identifier.accepted)}.",
            code="EXACTLY_ONE_IDENTIFIER_REQUIRED",
        )
    statement = _in_studio(scope)
    if identifier.card_number:
        statement = _by_medium(
            statement,
            AccessMediumType.CARD_NUMBER,
            card_number(identifier.card_number, identifier.card_number_format),
        )
    elif identifier.barcode:
        statement = _by_medium(statement, AccessMediumType.BARCODE, identifier.barcode)
    elif identifier.debtor_id:
        statement = statement.where(Customer.debtor_id == identifier.debtor_id)
    elif identifier.qr_code_uuid:
        statement = statement.where(Customer.uuid == identifier.qr_code_uuid.lower())
    else:
        statement = statement.where(Customer.customer_number == identifier.customer_number)
    customer = await session.scalar(statement)
    if customer is None:
        raise customer_not_found()
    return customer


def card_number(value: str, fmt: CardNumberFormat) -> str:
    try:
        return to_decimal(value, fmt)
    except ValueError as error:
        raise InvalidRequest(
            f"cardNumber is not a {fmt} card number: {error}.",
            code="INVALID_CARD_NUMBER",
            reference="cardNumber",
        ) from error


def _by_medium(statement: Select[Customer], kind: AccessMediumType, value: str) -> Select[Customer]:
    return statement.join(
        AccessMedium,
        and_(
            AccessMedium.customer_id == Customer.id,
            AccessMedium.tenant_id == Customer.tenant_id,
            AccessMedium.type == kind,
            AccessMedium.value == value,
        ),
    )


def _starts_with(column: InstrumentedAttribute[str], text: str) -> ColumnElement[bool]:
    """A name key by prefix, as an index range: key >= prefix and key < prefix + the highest
    code point."""
    prefix = search_key(text)
    return and_(column >= prefix, column < prefix + "\U0010ffff")


async def search_customers(
    session: AsyncSession, scope: StudioScope, criteria: schemas.CustomerSearchRequest
) -> list[Customer]:
    """Names match by prefix (case-insensitive); e-mail and date of birth match exactly."""
    statement = _in_studio(scope)
    given = False
    for column, text in (
        (Customer.first_name_key, criteria.first_name),
        (Customer.last_name_key, criteria.last_name),
    ):
        if text:
            statement = statement.where(_starts_with(column, text))
            given = True
    if criteria.email:
        statement = statement.where(Customer.email_key == search_key(criteria.email))
        given = True
    if criteria.date_of_birth:
        statement = statement.where(Customer.date_of_birth == criteria.date_of_birth)
        given = True
    if not given:
        raise InvalidRequest(
            "Give at least one of firstName, lastName, email, dateOfBirth.",
            code="EMPTY_SEARCH",
        )
    return list(await session.scalars(statement.order_by(Customer.id).limit(SEARCH_LIMIT)))


async def customer_views(session: AsyncSession, customers: list[Customer]) -> list[CustomerView]:
    """Load what the wire shape shows for all ``customers`` at once: no query per customer."""
    if not customers:
        return []
    ids = [c.id for c in customers]
    mediums: dict[int, list[AccessMedium]] = {i: [] for i in ids}
    for medium in await session.scalars(
        select(AccessMedium).where(AccessMedium.customer_id.in_(ids)).order_by(AccessMedium.id)
    ):
        mediums[medium.customer_id].append(medium)
    idle: dict[int, list[IdlePeriod]] = {i: [] for i in ids}
    for period in await session.scalars(
        select(IdlePeriod).where(IdlePeriod.customer_id.in_(ids)).order_by(IdlePeriod.start_date)
    ):
        idle[period.customer_id].append(period)
    assignments = await additional_information.assignments_of(session, ids)
    restrictions = {
        r.customer_id: r
        for r in await session.scalars(
            select(AccessRestriction).where(AccessRestriction.customer_id.in_(ids))
        )
    }
    zones = {
        studio_id: ZoneInfo(zone)
        for studio_id, zone in await session.execute(
            select(Studio.id, Studio.time_zone).where(
                Studio.id.in_({c.studio_id for c in customers})
            )
        )
    }
    return [
        CustomerView(
            c,
            mediums[c.id],
            restrictions.get(c.id),
            idle[c.id],
            assignments[c.id],
            zones[c.studio_id],
        )
        for c in customers
    ]


# Writing


async def next_customer_number(session: AsyncSession, tenant_id: int) -> str:
    """Take the tenant's next customer number; skips numbers an operator already gave out."""
    while True:
        number = await session.scalar(
            update(Tenant)
            .where(Tenant.id == tenant_id)
            .values(next_customer_number=Tenant.next_customer_number + 1)
            .returning(Tenant.next_customer_number - 1)
        )
        assert number is not None
        taken = await session.scalar(
            select(Customer.id).where(
                Customer.tenant_id == tenant_id, Customer.customer_number == str(number)
            )
        )
        if taken is None:
            return str(number)


async def _emit(
    session: AsyncSession, event_type: EventType, customer: Customer, **content: object
) -> None:
    """A webhook event of the customer, routed to the integrations of the customer's studio."""
    await outbox.emit(
        session,
        tenant_id=customer.tenant_id,
        event_type=event_type,
        entity_id=customer.id,
        content={"customerId": customer.id, **content},
        studio_id=customer.studio_id,
    )


def _audit(
    session: AsyncSession, actor: Actor, action: str, customer: Customer, **details: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"customer.{action}",
        entity_type="customer",
        entity_id=customer.id,
        tenant_id=customer.tenant_id,
        details=details or None,
    )


async def create_prospect(
    session: AsyncSession,
    actor: Actor,
    scope: StudioScope,
    data: schemas.MembershipSignupCustomer,
) -> Customer:
    values = await additional_information.checked_values(
        session,
        scope.tenant_id,
        data.additional_information_field_assignments or [],
        at="additionalInformationFieldAssignments",
    )
    customer = Customer(
        tenant_id=scope.tenant_id,
        studio_id=scope.studio_id,
        customer_number=await next_customer_number(session, scope.tenant_id),
        uuid=str(uuid.uuid4()),
        status=CustomerStatus.PROSPECT,
        first_name=data.first_name,
        last_name=data.last_name,
        first_name_key=search_key(data.first_name),
        last_name_key=search_key(data.last_name),
        date_of_birth=data.date_of_birth,
        email=data.email,
        email_key=search_key(data.email),
        gender=data.gender,
        street=data.street,
        house_number=data.house_number,
        zip_code=data.zip_code,
        city=data.city,
        country=data.country_code,
        phone_private=data.phone_number_private,
        phone_private_mobile=data.phone_number_mobile,
        language_code=data.language.language_code,
        language_country_code=data.language.country_code,
        third_party_id=data.third_party_id,
        signup_details=data.signup_details() or None,
    )
    session.add(customer)
    await session.flush()
    _audit(session, actor, "created", customer, status=customer.status)
    await _emit(session, EventType.CUSTOMER_CREATED, customer)
    if values:
        await additional_information.replace_assignments(session, actor, customer, values)
    return customer


async def create_customer(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.CustomerAdminCreate
) -> Customer:
    """An operator's customer: any status, in any studio of the tenant."""
    await tenancy_service.get_studio(session, tenant_id, data.studio_id)
    fields = data.model_dump(exclude={"language", "customer_number"})
    customer = Customer(
        **fields,
        tenant_id=tenant_id,
        customer_number=data.customer_number or await next_customer_number(session, tenant_id),
        uuid=str(uuid.uuid4()),
        first_name_key=search_key(data.first_name),
        last_name_key=search_key(data.last_name),
        email_key=search_key(data.email) if data.email else None,
        language_code=data.language.language_code if data.language else None,
        language_country_code=data.language.country_code if data.language else None,
    )
    session.add(customer)
    await flush_or_conflict(
        session,
        f"Customer number {customer.customer_number} is taken.",
        code="CUSTOMER_NUMBER_EXISTS",
    )
    _audit(session, actor, "created", customer, status=customer.status)
    await _emit(session, EventType.CUSTOMER_CREATED, customer)
    return customer


async def get_tenant_customer(session: AsyncSession, tenant_id: int, customer_id: int) -> Customer:
    customer = await session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    )
    if customer is None:
        raise customer_not_found(customer_id)
    return customer


async def list_tenant_customers(
    session: AsyncSession, tenant_id: int, params: PageParams, studio_id: int | None = None
) -> tuple[list[Customer], int]:
    statement = select(Customer).where(Customer.tenant_id == tenant_id).order_by(Customer.id)
    if studio_id is not None:
        statement = statement.where(Customer.studio_id == studio_id)
    return await fetch_page(session, statement, params)


async def find_tenant_customers(
    session: AsyncSession,
    tenant_id: int,
    text: str,
    studio_ids: Collection[int] | None,
    params: PageParams,
) -> tuple[list[Customer], int]:
    """The operator's search: a customer number or a card number exactly, or a first or last
    name by prefix (case-insensitive); of the studios ``studio_ids`` when given. An empty text
    finds every customer."""
    statement = select(Customer).where(Customer.tenant_id == tenant_id).order_by(Customer.id)
    if studio_ids is not None:
        statement = statement.where(Customer.studio_id.in_(sorted(studio_ids)))
    if text := text.strip():
        carded = select(AccessMedium.customer_id).where(
            AccessMedium.tenant_id == tenant_id, AccessMedium.value == text
        )
        statement = statement.where(
            or_(
                Customer.customer_number == text,
                Customer.id.in_(carded),
                _starts_with(Customer.last_name_key, text),
                _starts_with(Customer.first_name_key, text),
            )
        )
    return await fetch_page(session, statement, params)


async def add_idle_period(
    session: AsyncSession, actor: Actor, customer: Customer, data: schemas.IdlePeriodCreate
) -> IdlePeriod:
    if data.end_date < data.start_date:
        raise InvalidRequest(
            "endDate is before startDate.", code="IDLE_PERIOD_DATES_REVERSED", reference="endDate"
        )
    period = IdlePeriod(tenant_id=customer.tenant_id, customer_id=customer.id, **data.model_dump())
    session.add(period)
    await session.flush()
    _audit(session, actor, "idle_period.added", customer, idlePeriodId=period.id)
    return period


async def delete_idle_period(
    session: AsyncSession, actor: Actor, customer: Customer, period_id: int
) -> None:
    period = await session.scalar(
        select(IdlePeriod).where(IdlePeriod.id == period_id, IdlePeriod.customer_id == customer.id)
    )
    if period is None:
        raise NotFound(f"Idle period {period_id} not found.", code="IDLE_PERIOD_NOT_FOUND")
    await session.delete(period)
    _audit(session, actor, "idle_period.deleted", customer, idlePeriodId=period_id)


async def switch_studio(
    session: AsyncSession,
    actor: Actor,
    customer: Customer,
    request: schemas.OpenApiV1CustomerStudioSwitchRequestDto,
    today: date,
) -> StudioSwitch:
    """Move the customer's home studio within the tenant; the switch history keeps where they
    were."""
    target_studio_id, switch_date = request.target_studio_id, request.switch_date
    if switch_date > today:
        raise InvalidRequest(
            "switchDate must be today or in the past.",
            code="SWITCH_DATE_IN_FUTURE",
            reference="switchDate",
        )
    if target_studio_id == customer.studio_id:
        raise InvalidRequest(
            "The customer is already in that studio.",
            code="SAME_STUDIO",
            reference="targetStudioId",
        )
    target = await session.scalar(
        select(Studio.id).where(
            Studio.id == target_studio_id, Studio.tenant_id == customer.tenant_id
        )
    )
    if target is None:
        raise InvalidRequest(
            f"Studio {target_studio_id} is not a studio of this organisation.",
            code="TARGET_STUDIO_NOT_FOUND",
            reference="targetStudioId",
        )
    switch = StudioSwitch(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        from_studio_id=customer.studio_id,
        to_studio_id=target_studio_id,
        switch_date=switch_date,
        description=request.description,
    )
    session.add(switch)
    customer.studio_id = target_studio_id
    await session.flush()
    _audit(
        session,
        actor,
        "studio_switched",
        customer,
        fromStudioId=switch.from_studio_id,
        toStudioId=target_studio_id,
        switchDate=switch_date.isoformat(),
    )
    await _emit(session, EventType.CUSTOMER_HOME_STUDIO_UPDATED, customer)
    return switch


def _medium_value(kind: AccessMediumType, value: str | None) -> str:
    if not value:
        raise InvalidRequest(
            "value is required.", code="ACCESS_MEDIUM_VALUE_REQUIRED", reference="value"
        )
    if kind is AccessMediumType.CARD_NUMBER:
        return card_number(value, CardNumberFormat.DECIMAL)
    if kind is AccessMediumType.PIN and not (
        value.isdigit() and PIN_DIGITS[0] <= len(value) <= PIN_DIGITS[1]
    ):
        raise InvalidRequest(
            f"A PIN has {PIN_DIGITS[0]} to {PIN_DIGITS[1]} digits.",
            code="INVALID_PIN",
            reference="value",
        )
    if not value.isprintable():
        raise InvalidRequest(
            "value must be printable.", code="INVALID_ACCESS_MEDIUM", reference="value"
        )
    return value


async def _flush_medium(session: AsyncSession, medium: AccessMedium) -> None:
    await flush_or_conflict(
        session,
        f"This {medium.type} is already given to a customer.",
        code="ACCESS_MEDIUM_EXISTS",
    )


async def add_access_medium(
    session: AsyncSession,
    actor: Actor,
    customer: Customer,
    kind: AccessMediumType | None,
    value: str | None,
) -> AccessMedium:
    if kind is None:
        raise InvalidRequest(
            "type is required.", code="ACCESS_MEDIUM_TYPE_REQUIRED", reference="type"
        )
    medium = AccessMedium(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        type=kind,
        value=_medium_value(kind, value),
    )
    session.add(medium)
    await _flush_medium(session, medium)
    _audit(session, actor, "access_medium.added", customer, accessMediumId=medium.id, type=kind)
    await _emit(
        session, EventType.CUSTOMER_ACCESS_MEDIUM_CREATED, customer, accessMediumId=medium.id
    )
    return medium


async def _medium_of(session: AsyncSession, customer: Customer, medium_id: int) -> AccessMedium:
    medium = await session.scalar(
        select(AccessMedium).where(
            AccessMedium.id == medium_id, AccessMedium.customer_id == customer.id
        )
    )
    if medium is None:
        raise NotFound(f"Access medium {medium_id} not found.", code="ACCESS_MEDIUM_NOT_FOUND")
    return medium


async def update_access_medium(
    session: AsyncSession, actor: Actor, customer: Customer, medium_id: int, value: str | None
) -> AccessMedium:
    medium = await _medium_of(session, customer, medium_id)
    medium.value = _medium_value(medium.type, value)
    await _flush_medium(session, medium)
    _audit(session, actor, "access_medium.updated", customer, accessMediumId=medium.id)
    await _emit(
        session, EventType.CUSTOMER_ACCESS_MEDIUM_UPDATED, customer, accessMediumId=medium.id
    )
    return medium


async def delete_access_medium(
    session: AsyncSession, actor: Actor, customer: Customer, medium_id: int
) -> None:
    medium = await _medium_of(session, customer, medium_id)
    await session.delete(medium)
    _audit(session, actor, "access_medium.deleted", customer, accessMediumId=medium_id)
    await _emit(
        session, EventType.CUSTOMER_ACCESS_MEDIUM_DELETED, customer, accessMediumId=medium_id
    )


async def set_access_restriction(
    session: AsyncSession, actor: Actor, customer: Customer, data: schemas.AccessRestrictionIn
) -> AccessRestriction:
    """Create the customer's one restriction, or replace it."""
    if (data.start_date is None) != (data.end_date is None):
        raise InvalidRequest(
            "Give both startDate and endDate, or neither.",
            code="ACCESS_RESTRICTION_DATES_INCOMPLETE",
            reference="endDate" if data.end_date is None else "startDate",
        )
    if data.start_date and data.end_date and data.end_date < data.start_date:
        raise InvalidRequest(
            "endDate is before startDate.",
            code="ACCESS_RESTRICTION_DATES_REVERSED",
            reference="endDate",
        )
    restriction = await session.get(AccessRestriction, customer.id)
    event = EventType.CUSTOMER_ACCESS_RESTRICTION_UPDATED
    if restriction is None:
        event = EventType.CUSTOMER_ACCESS_RESTRICTION_CREATED
        restriction = AccessRestriction(customer_id=customer.id, tenant_id=customer.tenant_id)
        session.add(restriction)
    restriction.reason = data.reason
    restriction.start_date = data.start_date
    restriction.end_date = data.end_date
    await flush_or_conflict(
        session, "The restriction was changed concurrently.", code="CONCURRENT_MODIFICATION"
    )
    _audit(session, actor, "access_restriction.set", customer, reason=data.reason)
    await _emit(session, event, customer)
    return restriction


async def delete_access_restriction(
    session: AsyncSession, actor: Actor, customer: Customer
) -> None:
    restriction = await session.get(AccessRestriction, customer.id)
    if restriction is None:
        raise NotFound(
            "The customer has no access restriction.", code="ACCESS_RESTRICTION_NOT_FOUND"
        )
    await session.delete(restriction)
    _audit(session, actor, "access_restriction.deleted", customer)
    await _emit(session, EventType.CUSTOMER_ACCESS_RESTRICTION_DELETED, customer)
