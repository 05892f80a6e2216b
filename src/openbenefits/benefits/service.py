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
5. the customer's membership does not rest: no idle period covers the day, in the home studio's
   zone (``BENEFIT_CONTRACT_IDLE``; an idle period rests every contract of the customer's);
6. one of those grants is open now: it has no time windows, or one contains the local time in the
   calling studio's zone (``BENEFIT_OUTSIDE_TIME_WINDOW``);
7. one of the open grants has a use left in every one of its limits
   (``BENEFIT_CONTINGENT_EXHAUSTED``, naming the limit that is full).

Refusals 4, 6 and 7 carry a ``Link`` to the offers that would make the benefit valid.

Periods are calendar periods in the home studio's zone (or the granting contract's current term),
so a use in studio B draws down the contingent held in studio A. Each grant, contract and limit
count their uses per period in a ``benefit_counters`` row whose check constraint keeps ``used``
within the limit; a use adds one to the counter of each of the grant's limits in one statement
(PostgreSQL) or savepoint (SQLite), which the database serialises: a contingent of N admits
exactly N uses, and a use that one limit refuses takes nothing from the others.
"""

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    BindParameter,
    Insert,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
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
    Window,
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
    *,
    as_of: bool = False,
) -> tuple[Standing, Offer]:
    found = await standing(
        await driver.on_session(session), principal, customer, [key], now, as_of=as_of
    )
    offer = found.offer(key)
    if offer is None:
        raise _not_found(key)
    return found, offer


def _not_found(key: str) -> InvalidRequest:
    return refusal("BENEFIT_NOT_FOUND", f"The partner has no benefit {key!r}.")


# Checking


def _availability_refusal(holder: Holder, benefit: Offer, principal: Viewpoint) -> AppError | None:
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


def offers_link(customer_id: int, key: str) -> dict[str, str]:
    """Where a refused use points the partner: the modules that would grant the benefit (a
    header, so the reference's error body keeps its shape)."""
    return {"Link": f'</v1/customers/{customer_id}/benefits/{key}/offers>; rel="offers"'}


def _upsell(code: str, message: str, holder: Holder, benefit: Offer) -> InvalidRequest:
    return InvalidRequest(message, code=code, headers=offers_link(holder.customer_id, benefit.key))


@dataclass(frozen=True)
class Verdict:
    """Whether a benefit can be used, decided by the first rule that fails (the module
    docstring's order), and the rights a use would draw on, in drawing order."""

    refusal: AppError | None
    rights: list[Right]


def _verdict(found: Standing, benefit: Offer, principal: Viewpoint, now: datetime) -> Verdict:
    holder = found.holder
    refused = _availability_refusal(holder, benefit, principal)
    if refused is not None:
        return Verdict(refused, [])
    if restriction_in_force(holder.restriction, local_date(now, holder.zone)):
        return Verdict(
            refusal("CUSTOMER_ACCESS_RESTRICTED", "The customer's access is restricted."), []
        )
    mine = [right for right in found.rights if right.benefit_id == benefit.id]
    if not mine:
        message = f"No running contract grants the benefit {benefit.key!r}."
        return Verdict(_upsell("BENEFIT_NOT_GRANTED", message, holder, benefit), [])
    if holder.rest is not None:
        message = (
            f"The customer's membership rests from {holder.rest.start_date} to "
            f"{holder.rest.end_date}: no contract grants {benefit.key!r} meanwhile."
        )
        return Verdict(refusal("BENEFIT_CONTRACT_IDLE", message), [])
    open_now = [
        right for right in mine if right.hours is None or right.hours.open_at(now, holder.zone_here)
    ]
    if not open_now:
        hours = "; ".join(right.hours.describe() for right in mine if right.hours is not None)
        message = f"{benefit.key!r} can be used only {hours} (the studio's local time)."
        return Verdict(_upsell("BENEFIT_OUTSIDE_TIME_WINDOW", message, holder, benefit), [])
    usable_rights = [right for right in open_now if right.remaining != 0]
    if not usable_rights:
        return Verdict(_exhausted(holder, benefit, open_now[0].full()), [])
    return Verdict(None, usable_rights)


def _exhausted(holder: Holder, benefit: Offer, window: Window | None) -> InvalidRequest:
    ran_out = (
        f"its limit of {window.describe()} is reached until "
        f"{window.period.ends_at.astimezone(holder.zone).isoformat()}"
        if window is not None
        else "it is used up for the current period"
    )
    return _upsell(
        "BENEFIT_CONTINGENT_EXHAUSTED",
        f"The contingent of {benefit.key!r} is exhausted: {ran_out}.",
        holder,
        benefit,
    )


async def validate(
    fetch: Fetch,
    principal: StudioPrincipal,
    customer: int | CardRef,
    keys: Sequence[str],
    now: datetime,
    *,
    as_of: bool = False,
) -> list[tuple[str, bool]]:
    """For each of the partner's benefits (or each of ``keys``, in that order; a key the partner
    does not have is not valid): whether the customer can use it at ``now`` (as it stood or
    will stand then, with ``as_of``), in the calling studio."""
    found = await standing(fetch, principal, customer, keys, now, as_of=as_of)
    valid = {b.key: _verdict(found, b, principal, now).refusal is None for b in found.offers}
    if not keys:
        return list(valid.items())
    return [(key, valid.get(key, False)) for key in dict.fromkeys(keys)]


async def check(
    fetch: Fetch,
    principal: StudioPrincipal,
    customer: int | CardRef,
    key: str,
    now: datetime,
    *,
    as_of: bool = False,
) -> AppError | None:
    """A dry run of a use at ``now``: the refusal a use would meet, or None; nothing is used."""
    found = await standing(fetch, principal, customer, [key], now, as_of=as_of)
    benefit = found.offer(key)
    if benefit is None:
        return _not_found(key)
    return _verdict(found, benefit, principal, now).refusal


# Using


def usable(found: Standing, key: str, principal: StudioPrincipal, now: datetime) -> Verdict:
    """The rights a use of ``key`` may draw on now; else the refusal (400)."""
    benefit = found.offer(key)
    if benefit is None:
        raise _not_found(key)
    verdict = _verdict(found, benefit, principal, now)
    if verdict.refusal is not None:
        raise verdict.refusal
    return verdict


# Columns of a counter the same for each limit of a right, and those of one limit (their
# parameters carry the limit's index: one statement takes from several counters).
_COUNTER_COLUMNS = ("tenant_id", "grant_id", "contract_id", "customer_id")
_LIMIT_COLUMNS = ("period", "period_start", "period_end", "uses_limit")
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


def _counter_param(column: str, name: str) -> BindParameter[Any]:
    return bindparam(name, type_=BenefitCounter.__table__.c[column].type)


_RECORD_USAGE = (
    insert(BenefitUsage)
    .values({column: _usage_param(column) for column in _USAGE_COLUMNS})
    .returning(BenefitUsage.id)
)


def _take_one(dialect_name: str, index: int, after: CTE | None = None) -> Insert:
    """One use from a limit's counter: create the period's row at 1, or add 1. When the limit
    is full the check constraint fails the statement (``_LIMIT_FULL``), so a use that takes
    from several limits in one statement takes from none when any is full. ``after`` chains
    the takes of one statement: each runs once the previous one has its row, so concurrent
    uses lock a grant's counters in the same order."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    values: dict[str, Any] = {column: _counter_param(column, column) for column in _COUNTER_COLUMNS}
    values |= {column: _counter_param(column, f"{column}_{index}") for column in _LIMIT_COLUMNS}
    statement = dialect.insert(BenefitCounter)
    if after is None:
        statement = statement.values({**values, "used": 1})
    else:
        statement = statement.from_select(
            [*values, "used"], select(*values.values(), literal(1)).select_from(after)
        )
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=["grant_id", "contract_id", "period", "period_start"],
        set_={"used": BenefitCounter.used + 1},
    ).returning(BenefitCounter.used, BenefitCounter.uses_limit)
    return upsert


_LIMIT_FULL = "within_limit"


def _limit_full(error: IntegrityError) -> bool:
    return _LIMIT_FULL in str(error.orig)


@cache
def _take_on_sqlite_statement(index: int) -> Insert:
    return _take_one("sqlite", index)


@cache
def _use_statement(limits: int) -> Executable:
    """PostgreSQL: a whole use in one statement, atomic even in autocommit: take one from each
    limit's counter, write the ledger row, its event and, for each limit the use fills, a
    ``BENEFIT_CONTINGENT_EXHAUSTED`` event. Answers the ledger row's id; fails on a full
    limit."""
    takes: list[CTE] = []
    for index in range(limits):
        takes.append(
            _take_one("postgresql", index, takes[-1] if takes else None).cte(f"taken_{index}")
        )
    values = [_usage_param(column) for column in _USAGE_COLUMNS]
    source = select(*values).select_from(takes[-1]) if takes else select(*values)
    recorded = (
        insert(BenefitUsage)
        .from_select(list(_USAGE_COLUMNS), source)
        .returning(BenefitUsage.id)
        .cte("recorded")
    )
    statement = outbox.insert_event_from(recorded, recorded.c.id)
    for index, taken in enumerate(takes):
        filled = outbox.insert_event_from(
            recorded.join(taken, true()),
            recorded.c.id,
            where=taken.c.used == taken.c.uses_limit,
            name=f"exhausted_{index}",
        ).cte(f"exhausted_{index}")
        statement = statement.add_cte(filled)
    return statement.returning(outbox.OutboxEvent.entity_id)


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
    shortest = right.windows[0].period if right.windows else None
    params: dict[str, Any] = {
        "tenant_id": holder.tenant_id,
        "customer_id": holder.customer_id,
        "benefit_id": benefit.id,
        "benefit_key": benefit.key,
        "grant_id": right.grant_id,
        "contract_id": right.contract_id,
        "period_start": shortest.starts_at if shortest else None,
        "period_end": shortest.ends_at if shortest else None,
        "studio_id": principal.studio_id,
        "api_key_id": principal.api_key_id,
        "channel": channel.value,
        "used_at": now,
        "idempotency_key": idempotency_key,
    }
    for index, window in enumerate(right.windows):
        params |= {
            f"period_{index}": window.unit.value,
            f"period_start_{index}": window.period.starts_at,
            f"period_end_{index}": window.period.ends_at,
            f"uses_limit_{index}": window.limit,
        }
    return params


def _use_event(
    found: Standing,
    benefit: Offer,
    principal: StudioPrincipal,
    now: datetime,
    filled: Window | None = None,
) -> dict[str, Any]:
    """The event of a use (``BENEFIT_USED``), or of the limit it ``filled``
    (``BENEFIT_CONTINGENT_EXHAUSTED``): routed to the customer's home studio, where the
    contingent is held."""
    content = _event_content(found.holder, benefit.key, principal.studio_id)
    if filled is not None:
        content |= {
            "period": filled.unit.value,
            "limit": filled.limit,
            "periodStart": filled.period.starts_at.isoformat(),
            "periodEnd": filled.period.ends_at.isoformat(),
        }
    return {
        "tenant_id": found.holder.tenant_id,
        "event_type": EventType.BENEFIT_USED
        if filled is None
        else EventType.BENEFIT_CONTINGENT_EXHAUSTED,
        "content": content,
        "at": now,
        "studio_id": found.holder.home_studio_id,
    }


async def _take_on_postgresql(
    work: Work,
    found: Standing,
    benefit: Offer,
    right: Right,
    params: dict[str, Any],
    principal: StudioPrincipal,
    now: datetime,
) -> int:
    """One statement; in the request's transaction (a weighing, a claimed request) under a
    savepoint, so that a full limit leaves the transaction usable."""
    params = {**params, **outbox.event_params(**_use_event(found, benefit, principal, now))}
    for index, window in enumerate(right.windows):
        params |= outbox.event_params(
            **_use_event(found, benefit, principal, now, window), name=f"exhausted_{index}"
        )
    statement = _use_statement(len(right.windows))
    if work.bare:
        rows = await (await work.fetch())(statement, params)
    else:
        session = await work.session()
        async with session.begin_nested():
            rows = await (await driver.on_session(session))(statement, params)
    usage_id: int = rows[0]["entity_id"]
    return usage_id


async def _take_on_sqlite(
    session: AsyncSession,
    found: Standing,
    benefit: Offer,
    right: Right,
    params: dict[str, Any],
    principal: StudioPrincipal,
    now: datetime,
) -> int:
    """SQLite (no data-modifying CTEs): the writes of ``_use_statement`` one by one, in the
    request's write transaction; under a savepoint when there are several limits, so that a
    full one gives back what the others took (a failed statement undoes only itself)."""
    async with session.begin_nested() if len(right.windows) > 1 else nullcontext():
        connection = await session.connection()
        filled: list[Window] = []
        for index, window in enumerate(right.windows):
            counted = (await connection.execute(_take_on_sqlite_statement(index), params)).one()
            if counted.used == counted.uses_limit:
                filled.append(window)
        usage_id: int = (await connection.execute(_RECORD_USAGE, params)).scalar_one()
    for event in (None, *filled):
        await outbox.emit(
            session, entity_id=usage_id, **_use_event(found, benefit, principal, now, event)
        )
    return usage_id


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
    ledger, in the unit of work; the ledger entry's id. Two round trips on PostgreSQL: the
    standing, then one statement per right tried (rights are in drawing order), each atomic
    without a transaction, so the unit may run bare, in autocommit."""
    found = await standing(await work.fetch(), principal, customer, [key], now)
    verdict = usable(found, key, principal, now)
    benefit = found.offer(key)
    assert benefit is not None
    for right in verdict.rights:
        params = _use_params(found, benefit, right, principal, channel, now, idempotency_key)
        try:
            if work.on_postgresql:
                return await _take_on_postgresql(
                    work, found, benefit, right, params, principal, now
                )
            return await _take_on_sqlite(
                await work.session(), found, benefit, right, params, principal, now
            )
        except IntegrityError as error:
            if not _limit_full(error):
                raise Conflict(
                    "This Idempotency-Key was used for another use.",
                    code="IDEMPOTENCY_KEY_REUSED",
                ) from error
    # Other requests took the last uses between our read and our writes: the refusal as the
    # ledger stands now, naming the limit that is full.
    found = await standing(await work.fetch(), principal, customer, [key], now)
    refused = _verdict(found, benefit, principal, now).refusal
    raise refused or _exhausted(found.holder, benefit, None)


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
    # Given back to the counter of every limit of its grant the use was counted in.
    await session.execute(
        update(BenefitCounter)
        .where(
            BenefitCounter.grant_id == usage.grant_id,
            BenefitCounter.contract_id == usage.contract_id,
            BenefitCounter.period_start <= usage.used_at,
            BenefitCounter.period_end > usage.used_at,
            BenefitCounter.used > 0,
        )
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
    session: AsyncSession,
    principal: StudioPrincipal,
    customer_id: int,
    key: str,
    now: datetime,
    *,
    as_of: bool = False,
) -> schemas.ContingentView:
    """The customer's grants of ``key`` running at ``now``, each with its limits' counts in the
    periods running then (as they stood or will stand then, with ``as_of``), and their sum."""
    found, _ = await _standing_for(session, principal, customer_id, key, now, as_of=as_of)
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
        grant.module_id: schemas.GrantTerms(
            key=key,
            limits=[
                schemas.LimitTerms(limit=limit.uses, period=limit.period)
                for limit in definitions.limits_of(grant)
            ],
            time_windows=definitions.time_windows_of(grant),
        )
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


def _limit_view(window: Window) -> schemas.LimitContingent:
    return schemas.LimitContingent(
        period=window.unit,
        limit=window.limit,
        used=window.used,
        remaining=window.remaining,
        period_start=window.period.starts_at,
        period_end=window.period.ends_at,
    )


def _grant_view(right: Right) -> schemas.GrantContingent:
    # The grant's headline figures are its binding limit's: what is left is what fits them all.
    binding = right.binding()
    return schemas.GrantContingent(
        grant_id=right.grant_id,
        source=right.source,
        contract_id=right.contract_id,
        limit=binding.limit if binding else None,
        period=binding.unit if binding else None,
        used=binding.used if binding else 0,
        remaining=right.remaining,
        period_start=binding.period.starts_at if binding else None,
        period_end=binding.period.ends_at if binding else None,
        limits=[_limit_view(window) for window in right.windows],
        time_windows=right.hours.describe() if right.hours else None,
    )


def _contingent_view(key: str, held: list[Right]) -> schemas.ContingentView:
    grants = [_grant_view(right) for right in held]
    unlimited = any(grant.limit is None for grant in grants)
    starts = [grant.period_start for grant in grants if grant.period_start is not None]
    ends = [grant.period_end for grant in grants if grant.period_end is not None]
    return schemas.ContingentView(
        key=key,
        limit=None if unlimited else sum(grant.limit or 0 for grant in grants),
        used=sum(grant.used for grant in grants),
        remaining=None if unlimited else sum(grant.remaining or 0 for grant in grants),
        period_start=max(starts, default=None),
        period_end=min(ends, default=None),
        grants=grants,
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
