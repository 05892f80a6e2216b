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
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from openbenefits.benefits import schemas
from openbenefits.benefits.models import (
    Benefit,
    BenefitCounter,
    BenefitUsage,
    BenefitUsageReversal,
    UsageChannel,
)
from openbenefits.benefits.rights import CardRef, Holder, Offer, Right, Standing, standing
from openbenefits.customers.views import restriction_in_force
from openbenefits.kit import audit, outbox
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import AppError, Conflict, InvalidRequest, NotFound
from openbenefits.kit.periods import local_date
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.webhooks.schemas import EventType


def refusal(code: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, code=code)


async def _standing_for(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer: int | CardRef,
    key: str,
    now: datetime,
) -> tuple[Standing, Offer]:
    found = await standing(session, principal, customer, [key], now)
    offer = found.offer(key)
    if offer is None:
        raise refusal("BENEFIT_NOT_FOUND", f"The partner has no benefit {key!r}.")
    return found, offer


# Checking


def _availability_refusal(
    holder: Holder, benefit: Offer, principal: StudioPrincipal
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
    found: Standing, benefit: Offer, principal: StudioPrincipal, now: datetime
) -> AppError | None:
    """Why ``benefit`` cannot be used now, or None (rules 2-5 of the module docstring)."""
    holder = found.holder
    refused = _availability_refusal(holder, benefit, principal)
    if refused is not None:
        return refused
    if restriction_in_force(holder.restriction, local_date(now, holder.zone)):
        return refusal("CUSTOMER_ACCESS_RESTRICTED", "The customer's access is restricted.")
    mine = [right for right in found.rights if right.benefit_id == benefit.id]
    if not mine:
        return refusal(
            "BENEFIT_NOT_GRANTED", f"No running contract grants the benefit {benefit.key!r}."
        )
    if all(right.remaining == 0 for right in mine):
        return _exhausted(benefit)
    return None


def _exhausted(benefit: Offer) -> InvalidRequest:
    return refusal(
        "BENEFIT_CONTINGENT_EXHAUSTED",
        f"The contingent of {benefit.key!r} is used up for the current period.",
    )


async def validate(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer: int | CardRef,
    keys: Sequence[str],
    now: datetime,
) -> list[tuple[str, bool]]:
    """For each of the partner's benefits (or each of ``keys``, in that order; a key the partner
    does not have is not valid): whether the customer can use it now, in the calling studio."""
    found = await standing(session, principal, customer, keys, now)
    valid = {b.key: _refusal(found, b, principal, now) is None for b in found.offers}
    if not keys:
        return list(valid.items())
    return [(key, valid.get(key, False)) for key in dict.fromkeys(keys)]


# Using


_COUNTER_COLUMNS = (
    "tenant_id",
    "grant_id",
    "contract_id",
    "period_start",
    "period_end",
    "uses_limit",
)
_USAGE_COLUMNS = (
    "tenant_id",
    "customer_id",
    "benefit_id",
    "benefit_key",
    "grant_id",
    "contract_id",
    "counter_id",
    "period_start",
    "period_end",
    "studio_id",
    "api_key_id",
    "channel",
    "used_at",
    "idempotency_key",
)
_RECORD_USAGE = (
    insert(BenefitUsage)
    .values({column: bindparam(column) for column in _USAGE_COLUMNS})
    .returning(BenefitUsage.id)
)


@cache
def _take_one_statement(dialect_name: str) -> Executable:
    """One use from a counter: create the period's row at 1, or add 1 while below the limit;
    answers the counter's id, or nothing when the contingent is exhausted. Built once per
    dialect (the upsert is spelled alike on both, but each has its own construct)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(BenefitCounter).values(
        {**{column: bindparam(column) for column in _COUNTER_COLUMNS}, "used": 1}
    )
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=["grant_id", "contract_id", "period_start"],
        set_={"used": BenefitCounter.used + 1, "uses_limit": statement.excluded.uses_limit},
        where=BenefitCounter.used < statement.excluded.uses_limit,
    ).returning(BenefitCounter.id)
    return upsert


async def _take(
    session: AsyncSession, tenant_id: int, rights: list[Right]
) -> tuple[Right, int | None] | None:
    """Take one use from the first right that has one (``rights`` are in drawing order): the
    right and the counter it was counted on (None for an unlimited grant)."""
    connection = await session.connection()
    take_one = _take_one_statement(connection.dialect.name)
    for right in rights:
        if right.limit is None or right.period is None:
            return right, None
        counter_id: int | None = await connection.scalar(
            take_one,
            {
                "tenant_id": tenant_id,
                "grant_id": right.grant_id,
                "contract_id": right.contract_id,
                "period_start": right.period.starts_at,
                "period_end": right.period.ends_at,
                "uses_limit": right.limit,
            },
        )
        if counter_id is not None:
            return right, counter_id
    return None


async def use(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer: int | CardRef,
    key: str,
    now: datetime,
    *,
    channel: UsageChannel = UsageChannel.USE,
    idempotency_key: str | None = None,
) -> int:
    """Consume one use of ``key`` (400 with the reason when refused) and record it in the
    ledger; the ledger entry's id."""
    found, benefit = await _standing_for(session, principal, customer, key, now)
    holder = found.holder
    refused = _refusal(found, benefit, principal, now)
    if refused is not None:
        raise refused
    taken = await _take(session, holder.tenant_id, found.rights)
    if taken is None:
        # Another request took the last use between our read and our write.
        raise _exhausted(benefit)
    right, counter_id = taken
    try:
        connection = await session.connection()
        recorded = await connection.execute(
            _RECORD_USAGE,
            {
                "tenant_id": holder.tenant_id,
                "customer_id": holder.customer_id,
                "benefit_id": benefit.id,
                "benefit_key": benefit.key,
                "grant_id": right.grant_id,
                "contract_id": right.contract_id,
                "counter_id": counter_id,
                "period_start": right.period.starts_at if right.period else None,
                "period_end": right.period.ends_at if right.period else None,
                "studio_id": principal.studio_id,
                "api_key_id": principal.api_key_id,
                "channel": channel,
                "used_at": now,
                "idempotency_key": idempotency_key,
            },
        )
        usage_id: int = recorded.scalar_one()
    except IntegrityError as error:
        raise Conflict(
            "This Idempotency-Key was used for another use.", code="IDEMPOTENCY_KEY_REUSED"
        ) from error
    await _emit(
        session, EventType.BENEFIT_USED, usage_id, holder, benefit.key, principal.studio_id, now
    )
    return usage_id


async def _emit(
    session: AsyncSession,
    event_type: EventType,
    usage_id: int,
    holder: Holder,
    benefit_key: str,
    used_in_studio_id: int,
    now: datetime,
) -> None:
    # Routed to the customer's home studio, where the contingent is held.
    await outbox.emit(
        session,
        tenant_id=holder.tenant_id,
        event_type=event_type,
        entity_id=usage_id,
        content={
            "customerId": holder.customer_id,
            "benefitKey": benefit_key,
            "studioId": used_in_studio_id,
        },
        at=now,
        studio_id=holder.home_studio_id,
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
    holder = (await standing(session, principal, customer_id, [], now)).holder
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
    await _emit(
        session,
        EventType.BENEFIT_USAGE_REVERSED,
        usage.id,
        holder,
        usage.benefit_key,
        usage.studio_id,
        now,
    )
    return usage, reversal


async def contingent(
    session: AsyncSession, principal: StudioPrincipal, customer_id: int, key: str, now: datetime
) -> schemas.ContingentView:
    """The customer's grants of ``key`` running now, each with its current period's count, and
    their sum (no limit when one of them is unlimited; nothing granted is a limit of 0)."""
    found, _ = await _standing_for(session, principal, customer_id, key, now)
    held = found.rights
    unlimited = any(right.limit is None for right in held)
    periods = [right.period for right in held if right.period is not None]
    return schemas.ContingentView(
        key=key,
        limit=None if unlimited else sum(right.limit or 0 for right in held),
        used=sum(right.used for right in held),
        remaining=None if unlimited else sum(right.remaining or 0 for right in held),
        period_start=max(p.starts_at for p in periods) if periods else None,
        period_end=min(p.ends_at for p in periods) if periods else None,
        grants=[
            schemas.GrantContingent(
                grant_id=right.grant_id,
                source=right.source,
                contract_id=right.contract_id,
                limit=right.limit,
                period=right.contingent_period,
                used=right.used,
                remaining=right.remaining,
                period_start=right.period.starts_at if right.period else None,
                period_end=right.period.ends_at if right.period else None,
            )
            for right in held
        ],
    )


async def history(
    session: AsyncSession,
    principal: StudioPrincipal,
    customer_id: int,
    key: str | None,
    after_id: int,
    size: int,
    now: datetime,
) -> list[tuple[BenefitUsage, BenefitUsageReversal | None]]:
    """Up to ``size + 1`` uses of the partner's benefits (or of ``key``) after ``after_id``,
    oldest first, each with its reversal."""
    found = await standing(session, principal, customer_id, [key] if key else [], now)
    rows = await session.execute(
        select(BenefitUsage, BenefitUsageReversal)
        .outerjoin(BenefitUsageReversal, BenefitUsageReversal.usage_id == BenefitUsage.id)
        .where(
            BenefitUsage.customer_id == found.holder.customer_id,
            BenefitUsage.benefit_id.in_([offer.id for offer in found.offers]),
            BenefitUsage.id > after_id,
        )
        .order_by(BenefitUsage.id)
        .limit(size + 1)
    )
    return [(usage, reversal) for usage, reversal in rows]
