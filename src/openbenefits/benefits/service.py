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
from typing import Any

from sqlalchemy import BindParameter, Insert, bindparam, func, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from openbenefits.benefits import definitions, schemas
from openbenefits.benefits.models import (
    Benefit,
    BenefitCounter,
    BenefitUsage,
    BenefitUsageReversal,
    UsageChannel,
)
from openbenefits.benefits.rights import (
    CardRef,
    Holder,
    Offer,
    PartnerView,
    Right,
    Standing,
    Viewpoint,
    standing,
)
from openbenefits.contracts import modules
from openbenefits.contracts import schemas as contract_schemas
from openbenefits.contracts import service as contracts_service
from openbenefits.contracts.views import render_module
from openbenefits.customers import service as customers_service
from openbenefits.customers.views import restriction_in_force
from openbenefits.kit import audit, driver, outbox
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.driver import Fetch
from openbenefits.kit.errors import AppError, Conflict, InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams
from openbenefits.kit.periods import local_date
from openbenefits.kit.work import Work
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.webhooks.schemas import EventType


def refusal(code: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, code=code)


async def _standing_for(
    session: AsyncSession,
    principal: Viewpoint,
    customer: int | CardRef,
    key: str,
    now: datetime,
) -> tuple[Standing, Offer]:
    found = await standing(await driver.on_session(session), principal, customer, [key], now)
    offer = found.offer(key)
    if offer is None:
        raise _not_found(key)
    return found, offer


def _not_found(key: str) -> InvalidRequest:
    return refusal("BENEFIT_NOT_FOUND", f"The partner has no benefit {key!r}.")


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
    fetch: Fetch,
    principal: StudioPrincipal,
    customer: int | CardRef,
    keys: Sequence[str],
    now: datetime,
) -> list[tuple[str, bool]]:
    """For each of the partner's benefits (or each of ``keys``, in that order; a key the partner
    does not have is not valid): whether the customer can use it now, in the calling studio."""
    found = await standing(fetch, principal, customer, keys, now)
    valid = {b.key: _refusal(found, b, principal, now) is None for b in found.offers}
    if not keys:
        return list(valid.items())
    return [(key, valid.get(key, False)) for key in dict.fromkeys(keys)]


# Using


def usable(found: Standing, key: str, principal: StudioPrincipal, now: datetime) -> Offer:
    """The benefit ``key``, if the customer may use it now; else the refusal (400)."""
    benefit = found.offer(key)
    if benefit is None:
        raise _not_found(key)
    refused = _refusal(found, benefit, principal, now)
    if refused is not None:
        raise refused
    return benefit


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
    "period_start",
    "period_end",
    "studio_id",
    "api_key_id",
    "channel",
    "used_at",
    "idempotency_key",
)


def _usage_param(column: str) -> BindParameter[Any]:
    return bindparam(column, type_=BenefitUsage.__table__.c[column].type)


_RECORD_USAGE = (
    insert(BenefitUsage)
    .values({column: _usage_param(column) for column in (*_USAGE_COLUMNS, "counter_id")})
    .returning(BenefitUsage.id)
)


@cache
def _take_one_statement(dialect_name: str) -> Insert:
    """One use from a counter: create the period's row at 1, or add 1 while below the limit;
    answers the counter's id, or nothing when the contingent is exhausted. Built once per
    dialect (the upsert is spelled alike on both, but each has its own construct)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(BenefitCounter).values(
        {**{column: bindparam(column) for column in _COUNTER_COLUMNS}, "used": 1}
    )
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=["grant_id", "contract_id", "period_start"],
        set_={"used": BenefitCounter.used + 1, "uses_limit": statement.excluded.uses_limit},
        where=BenefitCounter.used < statement.excluded.uses_limit,
    ).returning(BenefitCounter.id)
    return upsert


@cache
def _use_statement(counted: bool) -> Executable:
    """PostgreSQL: a whole use in one statement, atomic even in autocommit: take one from the
    period's counter (when the grant is counted), write the ledger row, write its event. Answers
    the ledger row's id, or nothing when the counter is exhausted."""
    values = [_usage_param(column) for column in _USAGE_COLUMNS]
    if counted:
        taken = _take_one_statement("postgresql").cte("taken")
        source = select(*values, taken.c.id).select_from(taken)
    else:
        source = select(*values, null())
    recorded = (
        insert(BenefitUsage)
        .from_select([*_USAGE_COLUMNS, "counter_id"], source)
        .returning(BenefitUsage.id)
        .cte("recorded")
    )
    return outbox.insert_event_from(recorded, recorded.c.id).returning(outbox.OutboxEvent.entity_id)


def _use_params(
    found: Standing,
    benefit: Offer,
    right: Right,
    principal: StudioPrincipal,
    channel: UsageChannel,
    now: datetime,
    idempotency_key: str | None,
) -> dict[str, Any]:
    holder = found.holder
    return {
        "tenant_id": holder.tenant_id,
        "customer_id": holder.customer_id,
        "benefit_id": benefit.id,
        "benefit_key": benefit.key,
        "grant_id": right.grant_id,
        "contract_id": right.contract_id,
        "period_start": right.period.starts_at if right.period else None,
        "period_end": right.period.ends_at if right.period else None,
        "uses_limit": right.limit,
        "studio_id": principal.studio_id,
        "api_key_id": principal.api_key_id,
        "channel": channel.value,
        "used_at": now,
        "idempotency_key": idempotency_key,
    }


async def _use_on_postgresql(
    fetch: Fetch,
    principal: StudioPrincipal,
    customer: int | CardRef,
    key: str,
    now: datetime,
    *,
    channel: UsageChannel = UsageChannel.USE,
    idempotency_key: str | None = None,
) -> int:
    """``use`` in two round trips: the standing, then one statement per attempt that takes a
    use from the first right with one left (rights are in drawing order), records it and
    writes its event. Atomic without a transaction, so ``fetch`` may run in autocommit."""
    found = await standing(fetch, principal, customer, [key], now)
    benefit = usable(found, key, principal, now)
    event = outbox.event_params(
        tenant_id=found.holder.tenant_id,
        event_type=EventType.BENEFIT_USED,
        content=_event_content(found.holder, benefit.key, principal.studio_id),
        at=now,
        studio_id=found.holder.home_studio_id,
    )
    for right in found.rights:
        params = _use_params(found, benefit, right, principal, channel, now, idempotency_key)
        rows = await fetch(_use_statement(right.limit is not None), {**params, **event})
        if rows:
            usage_id: int = rows[0]["entity_id"]
            return usage_id
    # Another request took the last use between our read and our write.
    raise _exhausted(benefit)


async def _record_use_in_transaction(
    session: AsyncSession,
    found: Standing,
    benefit: Offer,
    principal: StudioPrincipal,
    now: datetime,
    channel: UsageChannel,
    idempotency_key: str | None,
) -> int:
    """SQLite (no data-modifying CTEs): the writes of ``_use_on_postgresql`` as three statements,
    in the request's write transaction."""
    connection = await session.connection()
    for right in found.rights:
        params = _use_params(found, benefit, right, principal, channel, now, idempotency_key)
        counter_id: int | None = None
        if right.limit is not None:
            counter_id = await connection.scalar(_take_one_statement("sqlite"), params)
            if counter_id is None:
                continue
        recorded = await connection.execute(_RECORD_USAGE, {**params, "counter_id": counter_id})
        usage_id: int = recorded.scalar_one()
        await _emit(
            session,
            EventType.BENEFIT_USED,
            usage_id,
            found.holder,
            benefit.key,
            principal.studio_id,
            now,
        )
        return usage_id
    raise _exhausted(benefit)


async def use(
    work: Work,
    principal: StudioPrincipal,
    customer: int | CardRef,
    key: str,
    now: datetime,
    *,
    channel: UsageChannel = UsageChannel.USE,
    idempotency_key: str | None = None,
) -> int:
    """Consume one use of ``key`` (400 with the reason when refused) and record it in the
    ledger, in the unit of work; the ledger entry's id."""
    try:
        if work.on_postgresql:
            return await _use_on_postgresql(
                await work.fetch(),
                principal,
                customer,
                key,
                now,
                channel=channel,
                idempotency_key=idempotency_key,
            )
        session = await work.session()
        found = await standing(await work.fetch(), principal, customer, [key], now)
        benefit = usable(found, key, principal, now)
        return await _record_use_in_transaction(
            session, found, benefit, principal, now, channel, idempotency_key
        )
    except IntegrityError as error:
        raise Conflict(
            "This Idempotency-Key was used for another use.", code="IDEMPOTENCY_KEY_REUSED"
        ) from error


def _event_content(holder: Holder, benefit_key: str, used_in_studio_id: int) -> dict[str, Any]:
    return {
        "customerId": holder.customer_id,
        "benefitKey": benefit_key,
        "studioId": used_in_studio_id,
    }


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
        content=_event_content(holder, benefit_key, used_in_studio_id),
        at=now,
        studio_id=holder.home_studio_id,
    )


# Reversal, contingent and history (beyond the reference)


async def _usage_of(
    session: AsyncSession, viewpoint: Viewpoint, holder: Holder, usage_id: int
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
                Benefit.partner_id == viewpoint.partner_id,
            )
        )
    ).first()
    if row is None:
        raise _usage_not_found(usage_id)
    return row[0], row[1]


def _usage_not_found(usage_id: int) -> NotFound:
    return NotFound(f"Benefit usage {usage_id} not found.", code="BENEFIT_USAGE_NOT_FOUND")


async def reverse(
    session: AsyncSession,
    viewpoint: Viewpoint,
    actor: audit.Actor,
    customer_id: int,
    usage_id: int,
    reason: str,
    now: datetime,
) -> tuple[BenefitUsage, BenefitUsageReversal]:
    """Undo a use of the viewpoint's partner's benefits: recorded beside it (the ledger is
    never edited) and given back to its counter. A use is reversed at most once (409 after
    that)."""
    holder = (
        await standing(await driver.on_session(session), viewpoint, customer_id, [], now)
    ).holder
    usage, reversed_before = await _usage_of(session, viewpoint, holder, usage_id)
    if reversed_before is not None:
        raise Conflict("This use was already reversed.", code="BENEFIT_USAGE_ALREADY_REVERSED")
    reversal = BenefitUsageReversal(
        usage_id=usage.id,
        tenant_id=usage.tenant_id,
        reason=reason,
        reversed_by=actor.audit_ref,
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
    audit.record_change(session, actor, "benefit_usage.reversed", usage, reason=reason)
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
    return _contingent_view(key, found.rights)


async def offers(
    session: AsyncSession, principal: StudioPrincipal, customer_id: int, key: str, now: datetime
) -> list[schemas.BenefitOffer]:
    """The additional modules granting ``key`` that one of the customer's contracts could book
    now (seed 002's purchasability: visible, allowed for the contract's rate, not running on
    it, the contract active and not cancelled), each with its price and term and what it would
    grant: where a partner sends a customer whose use was refused."""
    found, offer = await _standing_for(session, principal, customer_id, key, now)
    terms = {
        grant.module_id: schemas.GrantTerms(key=key, limit=grant.uses, period=grant.period)
        for grant in await definitions.standing_grants(session, [offer.id])
        if grant.module_id is not None
    }
    if not terms:
        return []
    customer = await customers_service.get_tenant_customer(
        session, principal.tenant_id, found.holder.customer_id
    )
    today = local_date(now, found.holder.zone)
    available = [
        module
        for module in await modules.module_offers(session, principal.tenant_id, list(terms))
        if module.visible
    ]
    answer = []
    for main, _ in await contracts_service.customer_contracts(session, customer):
        for module in available:
            booking = contract_schemas.AdditionalModuleContractRequest(
                additional_module_id=module.module.id,
                payment_frequency_id=module.frequencies[0].id,
                book_trial_period=False,
            )
            if await modules.validate(session, main, booking, today) == modules.PURCHASABLE:
                answer.append(
                    schemas.BenefitOffer(
                        contract_id=main.id,
                        additional_module=render_module(module.module, module.frequencies),
                        grants=[terms[module.module.id]],
                    )
                )
    return answer


async def held_contingents(
    session: AsyncSession, viewpoint: Viewpoint, customer_id: int, now: datetime
) -> list[schemas.ContingentView]:
    """The contingent now of every benefit of the viewpoint's partner the customer holds."""
    found = await standing(await driver.on_session(session), viewpoint, customer_id, [], now)
    return [
        _contingent_view(offer.key, held)
        for offer in found.offers
        if (held := [right for right in found.rights if right.benefit_id == offer.id])
    ]


def _contingent_view(key: str, held: list[Right]) -> schemas.ContingentView:
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
    found = await standing(
        await driver.on_session(session), principal, customer_id, [key] if key else [], now
    )
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


async def customer_usages(
    session: AsyncSession, tenant_id: int, customer_id: int, params: PageParams
) -> tuple[list[tuple[BenefitUsage, BenefitUsageReversal | None]], int]:
    """A page of the customer's uses of every partner's benefits, newest first, each with its
    reversal (the operator's ledger)."""
    where = (BenefitUsage.tenant_id == tenant_id, BenefitUsage.customer_id == customer_id)
    total = await session.scalar(select(func.count()).select_from(BenefitUsage).where(*where))
    rows = await session.execute(
        select(BenefitUsage, BenefitUsageReversal)
        .outerjoin(BenefitUsageReversal, BenefitUsageReversal.usage_id == BenefitUsage.id)
        .where(*where)
        .order_by(BenefitUsage.id.desc())
        .limit(params.per_page)
        .offset(params.offset)
    )
    return [(usage, reversal) for usage, reversal in rows], total or 0


async def usage_viewpoint(
    session: AsyncSession, tenant_id: int, customer_id: int, usage_id: int
) -> PartnerView:
    """Where a use of the customer's was made, as its partner saw it: the viewpoint from which
    an operator reverses it."""
    found = (
        await session.execute(
            select(Benefit.partner_id, BenefitUsage.studio_id)
            .join(Benefit, Benefit.id == BenefitUsage.benefit_id)
            .where(
                BenefitUsage.id == usage_id,
                BenefitUsage.tenant_id == tenant_id,
                BenefitUsage.customer_id == customer_id,
            )
        )
    ).first()
    if found is None:
        raise _usage_not_found(usage_id)
    partner_id, studio_id = found
    return PartnerView(tenant_id=tenant_id, studio_id=studio_id, partner_id=partner_id)
