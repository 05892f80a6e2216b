"""Whether a customer may use a partner's benefit, and the use itself.

A benefit is usable by a customer in the calling studio when, in this order (the first rule that
fails names the refusal):

1. the calling partner has a benefit with that key (``BENEFIT_NOT_FOUND``);
2. the partner's integration is active in the calling studio and, when the customer's home studio
   is another one, the benefit is cross-facility and the partner is active in the home studio too
   (``BENEFIT_NOT_AVAILABLE_IN_STUDIO``);
3. no access restriction is in force (``CUSTOMER_ACCESS_RESTRICTED``);
4. a running contract grants it: a main contract of a granting rate, or a running module contract
   of a granting module on a running main contract (``BENEFIT_NOT_GRANTED``);
5. one of those grants has uses left in its current period (``BENEFIT_CONTINGENT_EXHAUSTED``).

Periods are calendar periods in the home studio's zone (or the granting contract's current term),
so a use in studio B draws down the contingent held in studio A. Each grant and contract count
their uses per period in a ``benefit_counters`` row; a use takes one with a single guarded upsert
(``used < limit``), which the database serialises: a contingent of N admits exactly N uses.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, ScalarSelect, and_, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from openbenefits.benefits.models import (
    Benefit,
    BenefitCounter,
    BenefitGrant,
    BenefitUsage,
    BenefitUsageReversal,
    ContingentPeriod,
    UsageChannel,
)
from openbenefits.contracts.models import MainContract, ModuleContract
from openbenefits.contracts.terms import current_term
from openbenefits.contracts.views import contract_state, module_contract_state
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import (
    AccessMedium,
    AccessMediumType,
    AccessRestriction,
    Customer,
)
from openbenefits.customers.service import card_number, customer_not_found
from openbenefits.customers.views import restriction_in_force
from openbenefits.kit import audit, outbox
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import AppError, Conflict, InvalidRequest, NotFound
from openbenefits.kit.periods import Period, PeriodUnit, calendar_period, local_date
from openbenefits.tenancy.models import PartnerIntegration, Studio
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.webhooks.schemas import EventType


def refusal(code: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, code=code)


@dataclass(frozen=True)
class CardRef:
    number: str
    format: CardNumberFormat


@dataclass(frozen=True)
class Holder:
    """The customer as the benefit rules see them, from the calling partner's point of view."""

    customer_id: int
    tenant_id: int
    home_studio_id: int
    zone: ZoneInfo
    restriction: AccessRestriction | None
    active_in_calling_studio: bool
    active_in_home_studio: bool


def _integration_active(
    principal: StudioPrincipal, studio_id: int | InstrumentedAttribute[int]
) -> ScalarSelect[bool]:
    return (
        select(PartnerIntegration.active)
        .where(
            PartnerIntegration.partner_id == principal.partner_id,
            PartnerIntegration.studio_id == studio_id,
        )
        .scalar_subquery()
    )


async def find_holder(
    session: AsyncSession, principal: StudioPrincipal, customer: int | CardRef
) -> Holder:
    """The customer, looked up across the tenant: a partner may serve customers of any studio
    where it is integrated (cross-facility use). Customers of other studios are 404."""
    visible = Customer.studio_id == principal.studio_id
    if principal.partner_id is not None:
        visible = or_(
            visible,
            exists().where(
                PartnerIntegration.partner_id == principal.partner_id,
                PartnerIntegration.studio_id == Customer.studio_id,
            ),
        )
    statement = (
        select(
            Customer.id,
            Customer.studio_id,
            Studio.time_zone,
            AccessRestriction,
            _integration_active(principal, principal.studio_id),
            _integration_active(principal, Customer.studio_id),
        )
        .join(Studio, Studio.id == Customer.studio_id)
        .outerjoin(AccessRestriction, AccessRestriction.customer_id == Customer.id)
        .where(Customer.tenant_id == principal.tenant_id, visible)
    )
    if isinstance(customer, CardRef):
        statement = statement.join(AccessMedium, AccessMedium.customer_id == Customer.id).where(
            AccessMedium.tenant_id == principal.tenant_id,
            AccessMedium.type == AccessMediumType.CARD_NUMBER,
            AccessMedium.value == card_number(customer.number, customer.format),
        )
    else:
        statement = statement.where(Customer.id == customer)
    row = (await session.execute(statement)).first()
    if row is None:
        raise customer_not_found(customer if isinstance(customer, int) else None)
    return Holder(
        customer_id=row[0],
        tenant_id=principal.tenant_id,
        home_studio_id=row[1],
        zone=ZoneInfo(row[2]),
        restriction=row[3],
        active_in_calling_studio=bool(row[4]),
        active_in_home_studio=bool(row[5]),
    )


async def partner_benefits(
    session: AsyncSession, principal: StudioPrincipal, keys: Sequence[str] | None = None
) -> list[Benefit]:
    """The calling partner's benefits (only ``keys``, if given), by key."""
    if principal.partner_id is None:
        return []
    statement = select(Benefit).where(
        Benefit.tenant_id == principal.tenant_id, Benefit.partner_id == principal.partner_id
    )
    if keys:
        statement = statement.where(Benefit.key.in_(keys))
    return list(await session.scalars(statement.order_by(Benefit.key)))


async def benefit_by_key(session: AsyncSession, principal: StudioPrincipal, key: str) -> Benefit:
    found = await partner_benefits(session, principal, [key])
    if not found:
        raise refusal("BENEFIT_NOT_FOUND", f"The partner has no benefit {key!r}.")
    return found[0]


# Rights: what a customer holds today


@dataclass(frozen=True)
class Right:
    """One grant held through one running contract, with its current period's count."""

    grant_id: int
    benefit_id: int
    source: str  # RATE or ADDITIONAL_MODULE
    contract_id: int
    limit: int | None  # None: unlimited
    contingent_period: ContingentPeriod | None
    period: Period | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def order(self) -> tuple[bool, float, int, int]:
        # Unlimited first (nothing to count); then the contingent that lapses soonest. A fixed
        # order also keeps concurrent uses from locking counters in opposite orders.
        ends = self.period.ends_at.timestamp() if self.period else 0.0
        return (self.limit is not None, ends, self.grant_id, self.contract_id)


def _period_of(
    grant: BenefitGrant, contract: MainContract | ModuleContract, holder: Holder, now: datetime
) -> Period | None:
    if grant.period is None:
        return None
    if grant.period is ContingentPeriod.TERM:
        today = local_date(now, holder.zone)
        first, last = current_term(
            contract.start_date, contract.term, contract.extension_term, today
        )
        return Period(first, last + timedelta(days=1), holder.zone)
    return calendar_period(PeriodUnit(grant.period), now, holder.zone)


def _counted(contract_id: InstrumentedAttribute[int], now: datetime) -> ColumnElement[bool]:
    return and_(
        BenefitCounter.grant_id == BenefitGrant.id,
        BenefitCounter.contract_id == contract_id,
        BenefitCounter.period_start <= now,
        BenefitCounter.period_end > now,
    )


async def rights(
    session: AsyncSession, holder: Holder, benefit_ids: Sequence[int], now: datetime
) -> list[Right]:
    """The customer's standing grants of ``benefit_ids`` through contracts running today, each
    with the uses counted in its current period (two queries, whatever the usage history)."""
    if not benefit_ids:
        return []
    today = local_date(now, holder.zone)
    standing = and_(BenefitGrant.benefit_id.in_(benefit_ids), BenefitGrant.removed_at.is_(None))
    by_rate = await session.execute(
        select(BenefitGrant, MainContract, BenefitCounter.used, BenefitCounter.period_start)
        .join(MainContract, MainContract.rate_id == BenefitGrant.rate_id)
        .outerjoin(BenefitCounter, _counted(MainContract.id, now))
        .where(standing, MainContract.customer_id == holder.customer_id)
    )
    by_module = await session.execute(
        select(
            BenefitGrant,
            ModuleContract,
            MainContract,
            BenefitCounter.used,
            BenefitCounter.period_start,
        )
        .join(ModuleContract, ModuleContract.module_id == BenefitGrant.module_id)
        .join(MainContract, MainContract.id == ModuleContract.main_contract_id)
        .outerjoin(BenefitCounter, _counted(ModuleContract.id, now))
        .where(standing, MainContract.customer_id == holder.customer_id)
    )
    held: list[Right] = []

    def add(
        grant: BenefitGrant,
        source: str,
        contract: MainContract | ModuleContract,
        used: int | None,
        counted_from: datetime | None,
    ) -> None:
        period = _period_of(grant, contract, holder, now)
        in_period = period is not None and counted_from == period.starts_at
        held.append(
            Right(
                grant_id=grant.id,
                benefit_id=grant.benefit_id,
                source=source,
                contract_id=contract.id,
                limit=grant.uses,
                contingent_period=grant.period,
                period=period,
                used=(used or 0) if in_period else 0,
            )
        )

    for grant, contract, used, counted_from in by_rate:
        if contract_state(contract, today).active:
            add(grant, "RATE", contract, used, counted_from)
    for grant, module_contract, contract, used, counted_from in by_module:
        if (
            module_contract.start_date <= today
            and module_contract_state(module_contract, today).running
            and contract_state(contract, today).active
        ):
            add(grant, "ADDITIONAL_MODULE", module_contract, used, counted_from)
    return sorted(held, key=Right.order)


# Checking


def _availability_refusal(
    holder: Holder, benefit: Benefit, principal: StudioPrincipal
) -> AppError | None:
    if not holder.active_in_calling_studio:
        return refusal(
            "BENEFIT_NOT_AVAILABLE_IN_STUDIO",
            "The partner integration is not active in this studio.",
        )
    if holder.home_studio_id != principal.studio_id:
        if not benefit.cross_facility:
            return refusal(
                "BENEFIT_NOT_AVAILABLE_IN_STUDIO",
                f"Benefit {benefit.key!r} can only be used in the customer's home studio.",
            )
        if not holder.active_in_home_studio:
            return refusal(
                "BENEFIT_NOT_AVAILABLE_IN_STUDIO",
                "The partner integration is not active in the customer's home studio.",
            )
    return None


def _refusal(
    holder: Holder, benefit: Benefit, principal: StudioPrincipal, held: list[Right], now: datetime
) -> AppError | None:
    """Why ``benefit`` cannot be used now, or None (rules 2-5 of the module docstring)."""
    refused = _availability_refusal(holder, benefit, principal)
    if refused is not None:
        return refused
    if restriction_in_force(holder.restriction, local_date(now, holder.zone)):
        return refusal("CUSTOMER_ACCESS_RESTRICTED", "The customer's access is restricted.")
    mine = [right for right in held if right.benefit_id == benefit.id]
    if not mine:
        return refusal(
            "BENEFIT_NOT_GRANTED", f"No running contract grants the benefit {benefit.key!r}."
        )
    if all(right.remaining == 0 for right in mine):
        return refusal(
            "BENEFIT_CONTINGENT_EXHAUSTED",
            f"The contingent of {benefit.key!r} is used up for the current period.",
        )
    return None


async def validate(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer: int | CardRef,
    keys: Sequence[str],
    now: datetime,
) -> list[tuple[str, bool]]:
    """For each of the partner's benefits (or each of ``keys``, in that order; a key the partner
    does not have is not valid): whether the customer can use it now, in the calling studio."""
    holder = await find_holder(session, principal, customer)
    benefits = await partner_benefits(session, principal, keys)
    held = await rights(session, holder, [b.id for b in benefits], now)
    valid = {b.key: _refusal(holder, b, principal, held, now) is None for b in benefits}
    if not keys:
        return list(valid.items())
    return [(key, valid.get(key, False)) for key in dict.fromkeys(keys)]


# Using


async def _take_one(
    session: AsyncSession, tenant_id: int, right: Right, period: Period, limit: int
) -> int | None:
    """One use from ``right``'s counter: create the period's row at 1, or add 1 while below the
    limit. The counter's id, or None when the contingent is exhausted."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(BenefitCounter).values(
        tenant_id=tenant_id,
        grant_id=right.grant_id,
        contract_id=right.contract_id,
        period_start=period.starts_at,
        period_end=period.ends_at,
        uses_limit=limit,
        used=1,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["grant_id", "contract_id", "period_start"],
        set_={"used": BenefitCounter.used + 1, "uses_limit": statement.excluded.uses_limit},
        where=BenefitCounter.used < statement.excluded.uses_limit,
    ).returning(BenefitCounter.id)
    counter_id: int | None = await session.scalar(upsert)
    return counter_id


async def use(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer: int | CardRef,
    key: str,
    now: datetime,
    *,
    channel: UsageChannel = UsageChannel.USE,
    idempotency_key: str | None = None,
) -> BenefitUsage:
    """Consume one use of ``key`` (400 with the reason when refused) and record it."""
    benefit = await benefit_by_key(session, principal, key)
    holder = await find_holder(session, principal, customer)
    refused = _availability_refusal(holder, benefit, principal)
    if refused is not None:
        raise refused
    held = await rights(session, holder, [benefit.id], now)
    refused = _refusal(holder, benefit, principal, held, now)
    if refused is not None:
        raise refused
    taken: tuple[Right, int | None] | None = None
    for right in held:
        if right.limit is None or right.period is None:
            taken = (right, None)
            break
        counter_id = await _take_one(session, holder.tenant_id, right, right.period, right.limit)
        if counter_id is not None:
            taken = (right, counter_id)
            break
    if taken is None:
        # Another request took the last use between our read and our write.
        raise refusal(
            "BENEFIT_CONTINGENT_EXHAUSTED",
            f"The contingent of {benefit.key!r} is used up for the current period.",
        )
    right, counter_id = taken
    usage = BenefitUsage(
        tenant_id=holder.tenant_id,
        customer_id=holder.customer_id,
        benefit_id=benefit.id,
        benefit_key=benefit.key,
        grant_id=right.grant_id,
        contract_id=right.contract_id,
        counter_id=counter_id,
        period_start=right.period.starts_at if right.period else None,
        period_end=right.period.ends_at if right.period else None,
        studio_id=principal.studio_id,
        api_key_id=principal.api_key_id,
        channel=channel,
        used_at=now,
        idempotency_key=idempotency_key,
    )
    session.add(usage)
    await flush_or_conflict(
        session, "This Idempotency-Key was used for another use.", code="IDEMPOTENCY_KEY_REUSED"
    )
    _emit(session, EventType.BENEFIT_USED, usage, holder.home_studio_id, now)
    return usage


def _emit(
    session: AsyncSession,
    event_type: EventType,
    usage: BenefitUsage,
    home_studio_id: int,
    now: datetime,
) -> None:
    # Routed to the customer's home studio, where the contingent is held.
    outbox.emit(
        session,
        tenant_id=usage.tenant_id,
        event_type=event_type,
        entity_id=usage.id,
        content={
            "customerId": usage.customer_id,
            "benefitKey": usage.benefit_key,
            "studioId": usage.studio_id,
        },
        at=now,
        studio_id=home_studio_id,
    )


# Reversal, contingent and history (beyond the reference)


async def _usage_of(
    session: AsyncSession, principal: StudioPrincipal, holder: Holder, usage_id: int
) -> tuple[BenefitUsage, BenefitUsageReversal | None]:
    row = (
        await session.execute(
            select(BenefitUsage, BenefitUsageReversal)
            .join(Benefit, Benefit.id == BenefitUsage.benefit_id)
            .outerjoin(BenefitUsageReversal, BenefitUsageReversal.usage_id == BenefitUsage.id)
            .where(
                BenefitUsage.id == usage_id,
                BenefitUsage.tenant_id == holder.tenant_id,
                BenefitUsage.customer_id == holder.customer_id,
                Benefit.partner_id == principal.partner_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"Benefit usage {usage_id} not found.", code="BENEFIT_USAGE_NOT_FOUND")
    return row[0], row[1]


async def reverse(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer_id: int,
    usage_id: int,
    reason: str,
    now: datetime,
) -> tuple[BenefitUsage, BenefitUsageReversal]:
    """Undo a use: recorded beside it (the ledger is never edited) and given back to its
    counter. A use is reversed at most once (409 after that)."""
    holder = await find_holder(session, principal, customer_id)
    usage, reversed_before = await _usage_of(session, principal, holder, usage_id)
    if reversed_before is not None:
        raise Conflict("This use was already reversed.", code="BENEFIT_USAGE_ALREADY_REVERSED")
    reversal = BenefitUsageReversal(
        usage_id=usage.id,
        tenant_id=usage.tenant_id,
        reason=reason,
        reversed_by=principal.audit_ref,
        reversed_at=now,
    )
    session.add(reversal)
    await flush_or_conflict(
        session, "This use was already reversed.", code="BENEFIT_USAGE_ALREADY_REVERSED"
    )
    if usage.counter_id is not None:
        await session.execute(
            update(BenefitCounter)
            .where(BenefitCounter.id == usage.counter_id, BenefitCounter.used > 0)
            .values(used=BenefitCounter.used - 1)
        )
    audit.record_change(session, principal, "benefit_usage.reversed", usage, reason=reason)
    _emit(session, EventType.BENEFIT_USAGE_REVERSED, usage, holder.home_studio_id, now)
    return usage, reversal


async def contingent(
    session: AsyncSession, principal: StudioPrincipal, customer_id: int, key: str, now: datetime
) -> list[Right]:
    """The customer's grants of ``key`` running now, with their current periods' counts."""
    benefit = await benefit_by_key(session, principal, key)
    holder = await find_holder(session, principal, customer_id)
    return await rights(session, holder, [benefit.id], now)


async def history(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer_id: int,
    key: str | None,
    after_id: int,
    size: int,
) -> list[tuple[BenefitUsage, BenefitUsageReversal | None]]:
    """Up to ``size + 1`` uses of the partner's benefits (or of ``key``) after ``after_id``,
    oldest first, each with its reversal."""
    holder = await find_holder(session, principal, customer_id)
    benefits = await partner_benefits(session, principal, [key] if key else None)
    rows = await session.execute(
        select(BenefitUsage, BenefitUsageReversal)
        .outerjoin(BenefitUsageReversal, BenefitUsageReversal.usage_id == BenefitUsage.id)
        .where(
            BenefitUsage.customer_id == holder.customer_id,
            BenefitUsage.benefit_id.in_([b.id for b in benefits]),
            BenefitUsage.id > after_id,
        )
        .order_by(BenefitUsage.id)
        .limit(size + 1)
    )
    return [(usage, reversal) for usage, reversal in rows]
