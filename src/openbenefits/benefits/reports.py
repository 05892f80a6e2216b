"""What the benefits ledger says about a tenant, for its operators: uses per studio and partner
since an instant, uses per hour (which the console turns into the studio's days), and the
contingents exhausted now — the upsell leads of seed 000. Each is one indexed query.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from openbenefits.benefits.models import Benefit, BenefitCounter, BenefitGrant, BenefitUsage
from openbenefits.customers.models import Customer

# The leads a page shows at most.
LEADS = 50


def _in_studios(
    column: InstrumentedAttribute[int], studio_ids: Collection[int] | None
) -> ColumnElement[bool]:
    """All of the tenant's studios (None), or these."""
    return true() if studio_ids is None else column.in_(sorted(studio_ids))


@dataclass(frozen=True)
class UseCount:
    studio_id: int
    partner_id: int
    uses: int


async def uses_since(
    session: AsyncSession, tenant_id: int, studio_ids: Collection[int] | None, since: datetime
) -> list[UseCount]:
    """Uses made since ``since``, per studio where they were made and per partner."""
    rows = await session.execute(
        select(BenefitUsage.studio_id, Benefit.partner_id, func.count())
        .join(Benefit, Benefit.id == BenefitUsage.benefit_id)
        .where(
            BenefitUsage.tenant_id == tenant_id,
            BenefitUsage.used_at >= since,
            _in_studios(BenefitUsage.studio_id, studio_ids),
        )
        .group_by(BenefitUsage.studio_id, Benefit.partner_id)
    )
    return [UseCount(studio, partner, uses) for studio, partner, uses in rows]


async def uses_per_hour(
    session: AsyncSession, tenant_id: int, studio_ids: Collection[int] | None, since: datetime
) -> dict[datetime, int]:
    """Uses since ``since`` per hour (UTC): whole hours map onto any studio's local days."""
    if session.get_bind().dialect.name == "sqlite":
        hour: ColumnElement[object] = func.strftime("%Y-%m-%d %H:00:00", BenefitUsage.used_at)
    else:
        hour = func.date_trunc("hour", BenefitUsage.used_at)
    rows = await session.execute(
        select(hour, func.count())
        .where(
            BenefitUsage.tenant_id == tenant_id,
            BenefitUsage.used_at >= since,
            _in_studios(BenefitUsage.studio_id, studio_ids),
        )
        .group_by(hour)
    )
    return {_instant(started): uses for started, uses in rows}


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Lead:
    """A customer who has used up a contingent in its current period."""

    customer: Customer
    benefit_key: str
    uses_limit: int
    period_end: datetime


async def exhausted_contingents(
    session: AsyncSession, tenant_id: int, studio_ids: Collection[int] | None, now: datetime
) -> list[Lead]:
    """Contingents used up in the period running now, soonest renewed last (a lead is worth
    most when the wait is long), with their customers (home studio in ``studio_ids``)."""
    rows = await session.execute(
        select(Customer, Benefit.key, BenefitCounter.uses_limit, BenefitCounter.period_end)
        .select_from(BenefitCounter)
        .join(BenefitGrant, BenefitGrant.id == BenefitCounter.grant_id)
        .join(Benefit, Benefit.id == BenefitGrant.benefit_id)
        .join(
            Customer,
            and_(Customer.id == BenefitCounter.customer_id, Customer.tenant_id == tenant_id),
        )
        .where(
            BenefitCounter.tenant_id == tenant_id,
            BenefitCounter.period_end > now,
            BenefitCounter.period_start <= now,
            BenefitCounter.used >= BenefitCounter.uses_limit,
            _in_studios(Customer.studio_id, studio_ids),
        )
        .order_by(BenefitCounter.period_end.desc(), BenefitCounter.id)
        .limit(LEADS)
    )
    return [Lead(customer, key, limit, end) for customer, key, limit, end in rows]
