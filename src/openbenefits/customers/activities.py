"""Check-ins, weighings and measurements: what customers do in a studio."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.contracts import service as contracts_service
from openbenefits.customers import schemas
from openbenefits.customers.models import AccessRestriction, CheckIn, Customer, Weighing
from openbenefits.customers.views import restriction_in_force
from openbenefits.kit import audit, outbox
from openbenefits.kit.audit import Actor
from openbenefits.kit.errors import Conflict, InvalidRequest, NotFound
from openbenefits.kit.periods import add_months, local_date, local_midnight_utc
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.models import Studio
from openbenefits.webhooks.schemas import EventType

MAX_HISTORY_DAYS = 365


async def check_in(
    session: AsyncSession, actor: Actor, customer: Customer, studio: Studio, at: datetime
) -> CheckIn:
    """Let the customer in, as a door system would: only with a contract running today and no
    access restriction in force."""
    today = local_date(at, ZoneInfo(studio.time_zone))
    restriction = await session.get(AccessRestriction, customer.id)
    if restriction is not None and restriction_in_force(restriction, today):
        raise Conflict(
            f"Access is restricted: {restriction.reason}", code="CHECKIN_ACCESS_RESTRICTED"
        )
    if not await contracts_service.has_active_contract(session, customer, today):
        raise Conflict("The customer has no active contract.", code="CHECKIN_NO_ACTIVE_CONTRACT")
    visit = CheckIn(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        studio_id=studio.id,
        checked_in_at=at,
    )
    session.add(visit)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.checked_in",
        entity_type="customer",
        entity_id=customer.id,
        tenant_id=customer.tenant_id,
        details={"checkInId": visit.id, "studioId": studio.id},
    )
    await outbox.emit(
        session,
        tenant_id=customer.tenant_id,
        event_type=EventType.CUSTOMER_CHECKIN,
        entity_id=customer.id,
        content={"customerId": customer.id, "checkInId": visit.id, "studioId": studio.id},
        at=at,
        studio_id=customer.studio_id,
    )
    return visit


async def check_out(
    session: AsyncSession, actor: Actor, tenant_id: int, check_in_id: int, at: datetime
) -> CheckIn:
    visit = await session.scalar(
        select(CheckIn).where(CheckIn.id == check_in_id, CheckIn.tenant_id == tenant_id)
    )
    if visit is None:
        raise NotFound(f"Check-in {check_in_id} not found.", code="CHECKIN_NOT_FOUND")
    if visit.checked_out_at is not None:
        raise Conflict("The customer has already checked out.", code="ALREADY_CHECKED_OUT")
    if at < visit.checked_in_at:
        raise InvalidRequest(
            "A check-out cannot precede its check-in.", code="CHECKOUT_BEFORE_CHECKIN"
        )
    visit.checked_out_at = at
    audit.record(
        session,
        actor=actor,
        action="customer.checked_out",
        entity_type="customer",
        entity_id=visit.customer_id,
        tenant_id=tenant_id,
        details={"checkInId": visit.id},
    )
    return visit


async def access_refused(session: AsyncSession, customer: Customer, today: date) -> bool:
    """Whether an access restriction is in force for the customer on ``today``."""
    return restriction_in_force(await session.get(AccessRestriction, customer.id), today)


def history_range(from_date: date | None, to_date: date | None, today: date) -> tuple[date, date]:
    """The reference's rules: at most 365 days, by default the month up to today."""
    end = to_date or today
    start = from_date or add_months(end, -1)
    if start > end:
        raise InvalidRequest(
            "fromDate is after toDate.", code="INVALID_DATE_RANGE", reference="fromDate"
        )
    if (end - start).days > MAX_HISTORY_DAYS:
        raise InvalidRequest(
            f"The range spans more than {MAX_HISTORY_DAYS} days.",
            code="DATE_RANGE_TOO_LONG",
            reference="toDate",
        )
    return start, end


async def check_in_history(
    session: AsyncSession,
    customer: Customer,
    zone: ZoneInfo,
    start: date,
    end: date,
    after_id: int,
    size: int,
) -> list[tuple[CheckIn, str]]:
    """Up to ``size + 1`` of the customer's check-ins between the local days ``start`` and
    ``end`` (inclusive), after ``after_id``, with their studio's name."""
    rows = await session.execute(
        select(CheckIn, Studio.name)
        .join(Studio, Studio.id == CheckIn.studio_id)
        .where(
            CheckIn.customer_id == customer.id,
            CheckIn.id > after_id,
            CheckIn.checked_in_at >= local_midnight_utc(start, zone),
            CheckIn.checked_in_at < local_midnight_utc(end + timedelta(days=1), zone),
        )
        .order_by(CheckIn.id)
        .limit(size + 1)
    )
    return [(visit, name) for visit, name in rows]


async def record_weighing(
    session: AsyncSession,
    actor: Actor,
    customer: Customer,
    studio_id: int,
    data: schemas.CustomerWeighings,
    at: datetime,
) -> Weighing:
    weighing = Weighing(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        studio_id=studio_id,
        measured_at=at,
        results=data.measured_values(),
        height=data.height,
        raw_results=data.raw_results,
    )
    session.add(weighing)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.weighed",
        entity_type="customer",
        entity_id=customer.id,
        tenant_id=customer.tenant_id,
        details={"weighingId": weighing.id},
    )
    return weighing


async def latest_height(session: AsyncSession, customer: Customer) -> float | None:
    """The most recent height a weighing measured (0: the scale did not)."""
    return await session.scalar(
        select(Weighing.height)
        .where(Weighing.customer_id == customer.id, Weighing.height > 0)
        .order_by(Weighing.id.desc())
        .limit(1)
    )


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


async def studio_today(session: AsyncSession, studio_id: int, now: datetime) -> date:
    return local_date(now, await tenancy_service.studio_zone(session, studio_id))
