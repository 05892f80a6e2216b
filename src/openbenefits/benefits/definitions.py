"""Benefit definitions and grants, as operators configure them (admin API)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.benefits import schemas
from openbenefits.benefits.models import PERIOD_ORDER, Benefit, BenefitGrant, BenefitGrantLimit
from openbenefits.benefits.rights import Hours
from openbenefits.contracts import modules
from openbenefits.contracts import service as contracts_service
from openbenefits.kit import audit
from openbenefits.kit.audit import Actor
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import NotFound
from openbenefits.tenancy import service as tenancy_service


async def create_benefit(
    session: AsyncSession,
    actor: Actor,
    tenant_id: int,
    partner_id: int,
    data: schemas.BenefitCreate,
) -> Benefit:
    await tenancy_service.get_partner(session, tenant_id, partner_id)
    benefit = Benefit(
        tenant_id=tenant_id,
        partner_id=partner_id,
        key=data.key,
        name=data.name,
        cross_facility=data.cross_facility,
    )
    session.add(benefit)
    await flush_or_conflict(
        session, f"The partner already has a benefit {data.key!r}.", code="BENEFIT_KEY_TAKEN"
    )
    audit.record_change(session, actor, "benefit.created", benefit, key=data.key)
    return benefit


async def get_benefit(session: AsyncSession, tenant_id: int, benefit_id: int) -> Benefit:
    benefit = await session.scalar(
        select(Benefit).where(Benefit.tenant_id == tenant_id, Benefit.id == benefit_id)
    )
    if benefit is None:
        raise NotFound(f"Benefit {benefit_id} not found.", code="BENEFIT_NOT_FOUND")
    return benefit


async def partner_benefits(session: AsyncSession, tenant_id: int, partner_id: int) -> list[Benefit]:
    await tenancy_service.get_partner(session, tenant_id, partner_id)
    rows = await session.scalars(
        select(Benefit)
        .where(Benefit.tenant_id == tenant_id, Benefit.partner_id == partner_id)
        .order_by(Benefit.key)
    )
    return list(rows)


async def update_benefit(
    session: AsyncSession, actor: Actor, benefit: Benefit, data: schemas.BenefitUpdate
) -> None:
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(benefit, name, value)
    await session.flush()
    audit.record_change(session, actor, "benefit.updated", benefit, **changes)


async def standing_grants(session: AsyncSession, benefit_ids: list[int]) -> list[BenefitGrant]:
    rows = await session.scalars(
        select(BenefitGrant)
        .where(BenefitGrant.benefit_id.in_(benefit_ids), BenefitGrant.removed_at.is_(None))
        .order_by(BenefitGrant.id)
    )
    return list(rows)


async def tenant_grants(
    session: AsyncSession, tenant_id: int
) -> list[tuple[BenefitGrant, Benefit]]:
    """Every standing grant of the tenant with its benefit: what each rate and module grants."""
    rows = await session.execute(
        select(BenefitGrant, Benefit)
        .join(Benefit, Benefit.id == BenefitGrant.benefit_id)
        .where(BenefitGrant.tenant_id == tenant_id, BenefitGrant.removed_at.is_(None))
        .order_by(Benefit.key, BenefitGrant.id)
    )
    return [(grant, benefit) for grant, benefit in rows]


async def create_grant(
    session: AsyncSession,
    actor: Actor,
    benefit: Benefit,
    data: schemas.GrantCreate,
    now: datetime,
) -> BenefitGrant:
    """A grant from ``now`` on (its start on the clock the rules read, so that answers as of
    an earlier instant do not see it)."""
    if data.rate_id is not None:
        await contracts_service.get_rate(session, benefit.tenant_id, data.rate_id)
    if data.additional_module_id is not None:
        await modules.get_module(session, benefit.tenant_id, data.additional_module_id)
    grant = BenefitGrant(
        tenant_id=benefit.tenant_id,
        benefit_id=benefit.id,
        rate_id=data.rate_id,
        module_id=data.additional_module_id,
        limits=[BenefitGrantLimit(period=limit.period, uses=limit.uses) for limit in data.limits()],
        time_windows=[window.stored() for window in data.time_windows]
        if data.time_windows
        else None,
        created_at=now,
    )
    session.add(grant)
    await flush_or_conflict(
        session,
        "That rate or module already grants this benefit; remove that grant first.",
        code="GRANT_EXISTS",
    )
    audit.record_change(session, actor, "benefit_grant.created", grant, benefitId=benefit.id)
    return grant


async def remove_grant(
    session: AsyncSession, actor: Actor, benefit: Benefit, grant_id: int, at: datetime
) -> None:
    """From ``at`` the grant grants nothing; uses already made keep pointing at it."""
    grant = await session.scalar(
        select(BenefitGrant).where(
            BenefitGrant.benefit_id == benefit.id,
            BenefitGrant.id == grant_id,
            BenefitGrant.removed_at.is_(None),
        )
    )
    if grant is None:
        raise NotFound(f"Grant {grant_id} not found.", code="GRANT_NOT_FOUND")
    grant.removed_at = at
    await session.flush()
    audit.record_change(session, actor, "benefit_grant.removed", grant, benefitId=benefit.id)


def limits_of(grant: BenefitGrant) -> list[BenefitGrantLimit]:
    """The grant's limits, shortest period first."""
    return sorted(grant.limits, key=lambda limit: PERIOD_ORDER[limit.period])


def time_windows_of(grant: BenefitGrant) -> str | None:
    """When a grant may be used, in words (``MONDAY, TUESDAY 10:00-16:00``); None: any time."""
    hours = Hours.parse(grant.time_windows)
    return hours.describe() if hours else None


def describe(grant: BenefitGrant) -> str:
    """What a grant allows, in words: ``1 per DAY, 8 per MONTH; MONDAY 10:00-16:00``."""
    limits = ", ".join(f"{limit.uses} per {limit.period.value}" for limit in limits_of(grant))
    hours = time_windows_of(grant)
    return f"{limits or 'unlimited'}; {hours}" if hours else limits or "unlimited"


def render_grant(grant: BenefitGrant) -> schemas.GrantOut:
    return schemas.GrantOut(
        id=grant.id,
        benefit_id=grant.benefit_id,
        rate_id=grant.rate_id,
        additional_module_id=grant.module_id,
        contingents=[
            schemas.ContingentOut(uses=limit.uses, period=limit.period)
            for limit in limits_of(grant)
        ],
        time_windows=[schemas.TimeWindowOut.model_validate(w) for w in grant.time_windows]
        if grant.time_windows
        else None,
        created_at=grant.created_at,
        removed_at=grant.removed_at,
    )


def render_benefit(benefit: Benefit, grants: list[BenefitGrant]) -> schemas.BenefitOut:
    return schemas.BenefitOut(
        id=benefit.id,
        partner_id=benefit.partner_id,
        key=benefit.key,
        name=benefit.name,
        cross_facility=benefit.cross_facility,
        grants=[render_grant(g) for g in grants if g.benefit_id == benefit.id],
    )
