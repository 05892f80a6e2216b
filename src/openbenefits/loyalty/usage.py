"""Using contracts: validate-consumptions (the seed's codes 3101-3106) and order-line events,
which on a COUPONS contract spend coupons.

A travel date is an instant or a day. A day is read in the calling organisation's time zone and
a contract is available on it when its validity overlaps the day at all; an instant must lie in
the validity (``consumableFrom <= t < expirationDate``).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import IntEnum
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    and_,
    bindparam,
    exists,
    func,
    join,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from openbenefits.customers.models import Customer
from openbenefits.kit.db import UTCDateTime
from openbenefits.kit.driver import Fetch
from openbenefits.kit.errors import Conflict, InvalidRequest
from openbenefits.kit.value_lists import InJsonArray, json_array
from openbenefits.loyalty import schemas
from openbenefits.loyalty.contracts import (
    emit_contract_event,
    find_contract,
    open_to,
    stamp_change,
)
from openbenefits.loyalty.models import (
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyOrderLineEvent,
    LoyaltyProgram,
    LoyaltyProgramVersion,
    ProgramType,
)
from openbenefits.loyalty.reading import as_dict, render_event
from openbenefits.tenancy.models import Tenant
from openbenefits.tenancy.principals import LoyaltyCaller
from openbenefits.webhooks.schemas import EventType

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Window:
    """The span a contract must overlap: one instant (``first == last``) or a local day."""

    first: datetime
    last: datetime


_ZONE = select(Tenant.time_zone).where(Tenant.id == bindparam("organisation_id"))


async def organisation_zone(fetch: Fetch, organisation_id: int) -> ZoneInfo:
    rows = await fetch(_ZONE, {"organisation_id": organisation_id})
    return zone_named(rows[0]["time_zone"] if rows else None)


def zone_named(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def is_day(travel: datetime | date | None) -> bool:
    """A travel date given as a day, read in the organisation's time zone."""
    return isinstance(travel, date) and not isinstance(travel, datetime)


def travel_window(travel: datetime | date | None, now: datetime, zone: ZoneInfo) -> Window:
    if travel is None:
        return Window(now, now)
    if isinstance(travel, datetime):
        return Window(travel, travel)
    start = datetime.combine(travel, time(), zone)
    end = datetime.combine(travel + timedelta(days=1), time(), zone)
    return Window(start, end - timedelta(microseconds=1))


def valid_in(contract: Any, first: Any, last: Any) -> ColumnElement[bool]:
    """``contract`` (LoyaltyContract or an alias of it) is valid at some moment from ``first``
    to ``last`` (values, or bound parameters of a statement built once)."""
    return and_(
        contract.consumable_from <= last,
        or_(contract.expiration_date.is_(None), contract.expiration_date > first),
    )


class Code(IntEnum):
    """The seed's response codes, in the order a pair is checked: the first failing check is
    the pair's code, and the overall code is the pairs' code earliest in this order."""

    OK = 3101
    UNKNOWN = 3102
    NOT_FOR_CUSTOMER = 3104
    BLOCKED = 3105
    UNAVAILABLE_ON_DATE = 3103
    OUT_OF_COUPONS = 3106


MESSAGES = {
    Code.OK: "Ok. All are valid.",
    Code.UNKNOWN: "Some of the passed contracts are unknown.",
    Code.UNAVAILABLE_ON_DATE: "Some of the passed contracts are unavailable on the date of travel.",
    Code.NOT_FOR_CUSTOMER: "Some of the passed contracts are not available for the customer.",
    Code.BLOCKED: "Some of the passed contracts are blocked for the customer.",
    Code.OUT_OF_COUPONS: "Some of the passed contracts are out of coupons and no non-coupon "
    "contract was found on this date.",
}
_PRECEDENCE = list(Code)


def _validation_statement() -> Executable:
    """Every named contract open to the caller's organisation, once with each of the named
    customers (of that organisation) who consume it, or once with NULLs when none does. A
    contract not open to the caller has no row: it is unknown (3102), as one that does not
    exist."""
    first = bindparam("first", type_=UTCDateTime())
    last = bindparam("last", type_=UTCDateTime())
    now = bindparam("now", type_=UTCDateTime())
    organisation_id = bindparam("organisation_id", type_=Integer())
    child = aliased(LoyaltyContract, name="child")
    valid_child = exists().where(
        child.parent_id == LoyaltyContract.id, valid_in(child, first, last)
    )
    root_id = func.coalesce(LoyaltyContract.parent_id, LoyaltyContract.id)
    named_consumers = join(
        LoyaltyContractConsumer,
        Customer,
        and_(
            Customer.id == LoyaltyContractConsumer.customer_id,
            Customer.tenant_id == organisation_id,
            InJsonArray(Customer.customer_number, "numbers"),
        ),
    )
    return (
        select(
            LoyaltyContract.uuid,
            valid_in(LoyaltyContract, first, last).label("in_window"),
            or_(LoyaltyProgram.ends_at.is_(None), LoyaltyProgram.ends_at > first).label(
                "program_in_window"
            ),
            and_(
                LoyaltyContract.coupons_limit.is_not(None),
                LoyaltyContract.coupons_used >= LoyaltyContract.coupons_limit,
                ~valid_child,
            ).label("out_of_coupons"),
            Customer.customer_number,
            LoyaltyContractConsumer.is_blocked,
        )
        .join(LoyaltyProgram, LoyaltyProgram.id == LoyaltyContract.program_id)
        .outerjoin(named_consumers, LoyaltyContractConsumer.contract_id == root_id)
        .where(InJsonArray(LoyaltyContract.uuid, "uuids"), open_to(organisation_id, now))
    )


_VALIDATION = _validation_statement()


async def validate_consumptions(
    fetch: Fetch,
    principal: LoyaltyCaller,
    data: schemas.ValidateConsumptions,
    now: datetime,
) -> schemas.ValidationResult:
    """Each (contract, customer of the caller's organisation) pair checked in one statement
    whatever the number of pairs (two when the travel date is a day: the zone comes first)."""
    travel = data.travel_date
    zone = await organisation_zone(fetch, principal.tenant_id) if is_day(travel) else UTC_ZONE
    window = travel_window(travel, now, zone)
    rows = await fetch(
        _VALIDATION,
        {
            "first": window.first,
            "last": window.last,
            "now": now,
            "organisation_id": principal.tenant_id,
            "uuids": json_array(c.contract_uuid for c in data.consumptions),
            "numbers": json_array(c.customer_number for c in data.consumptions),
        },
    )
    contracts = {row["uuid"]: row for row in rows}
    # (contract, customer number) -> whether that consumer is blocked
    consumers = {
        (row["uuid"], int(row["customer_number"])): row["is_blocked"]
        for row in rows
        if row["customer_number"] is not None
    }
    results = []
    for pair in data.consumptions:
        contract = contracts.get(pair.contract_uuid)
        if contract is None:
            code = Code.UNKNOWN
        else:
            blocked = consumers.get((pair.contract_uuid, pair.customer_number))
            if blocked is None:
                code = Code.NOT_FOR_CUSTOMER
            elif blocked:
                code = Code.BLOCKED
            elif not (contract["in_window"] and contract["program_in_window"]):
                code = Code.UNAVAILABLE_ON_DATE
            elif contract["out_of_coupons"]:
                code = Code.OUT_OF_COUPONS
            else:
                code = Code.OK
        results.append(
            schemas.ConsumptionResult(
                contract_uuid=pair.contract_uuid,
                customer_number=pair.customer_number,
                code=code,
                message=MESSAGES[code],
            )
        )
    failing = [Code(r.code) for r in results if r.code != Code.OK]
    overall = min(failing, key=_PRECEDENCE.index) if failing else Code.OK
    return schemas.ValidationResult(code=overall, message=MESSAGES[overall], consumptions=results)


def _unavailable(uuid: str) -> Conflict:
    return Conflict(
        f"Contract {uuid} is not valid at that instant.",
        code="CONTRACT_UNAVAILABLE",
        extra={"responseCode": int(Code.UNAVAILABLE_ON_DATE)},
    )


async def record_order_line_event(
    session: AsyncSession,
    principal: LoyaltyCaller,
    uuid: str,
    data: schemas.OrderLineEventCreate,
    now: datetime,
) -> tuple[schemas.OrderLineEventOut | schemas.CouponUseOut, bool]:
    """The event and whether it is new. TIMED: recorded on the contract. COUPONS: recorded on
    the child valid at the instant, or a coupon is spent and a child created for the period a
    coupon grants. An order line already recorded returns its first event (a retry spends
    nothing). The contract row is locked first, so concurrent uses queue and never spend more
    coupons than the limit (a check constraint backs that)."""
    found = await find_contract(session, principal, uuid, now, lock=True)
    contract, program = found.contract, found.program
    at = data.occurred_at or now
    if program.program_type == ProgramType.POINTS:
        raise InvalidRequest(
            "POINTS contracts have points transactions, not order-line events.",
            code="WRONG_PROGRAM_TYPE",
        )
    coupons = program.program_type == ProgramType.COUPONS and contract.parent_id is None
    earlier = await session.scalar(
        select(LoyaltyOrderLineEvent).where(
            (
                LoyaltyOrderLineEvent.coupons_contract_id
                if coupons
                else LoyaltyOrderLineEvent.contract_id
            )
            == contract.id,
            LoyaltyOrderLineEvent.order_id == data.order_id,
            LoyaltyOrderLineEvent.order_line_id == data.order_line_id,
        )
    )
    if earlier is not None:
        return await _render_use(session, earlier), False
    in_window = (
        contract.consumable_from <= at
        and (contract.expiration_date is None or at < contract.expiration_date)
        and (program.ends_at is None or at < program.ends_at)
    )
    if not in_window:
        raise _unavailable(uuid)
    target, spent = contract, False
    if coupons:
        child = await session.scalar(
            select(LoyaltyContract)
            .where(LoyaltyContract.parent_id == contract.id, valid_in(LoyaltyContract, at, at))
            .order_by(LoyaltyContract.consumable_from.desc())
            .limit(1)
        )
        if child is None:
            child = await _spend_coupon(session, principal, contract, at, now)
            spent = True
        target = child
    event = LoyaltyOrderLineEvent(
        contract_id=target.id,
        coupons_contract_id=contract.id if coupons else None,
        spent_coupon=spent,
        order_id=data.order_id,
        order_line_id=data.order_line_id,
        discount=data.discount,
        currency=data.currency,
        occurred_at=at,
        created_at=now,
        created_by=principal.client_id,
    )
    session.add(event)
    await session.flush()
    if spent:
        await emit_contract_event(
            session,
            EventType.LOYALTY_COUPON_USED,
            contract,
            now,
            couponContractUUID=target.uuid,
            remainingCoupons=(contract.coupons_limit or 0) - contract.coupons_used,
        )
    return await _render_use(session, event), True


async def _spend_coupon(
    session: AsyncSession,
    principal: LoyaltyCaller,
    contract: LoyaltyContract,
    at: datetime,
    now: datetime,
) -> LoyaltyContract:
    if contract.coupons_limit is None or contract.coupons_used >= contract.coupons_limit:
        raise Conflict(
            f"Contract {contract.uuid} is out of coupons and no used coupon covers that instant.",
            code="OUT_OF_COUPONS",
            extra={"responseCode": int(Code.OUT_OF_COUPONS)},
        )
    # The period a coupon grants is the contract's version's: what the customer bought.
    seconds = await session.scalar(
        select(LoyaltyProgramVersion.coupon_validity_seconds).where(
            LoyaltyProgramVersion.id == contract.program_version_id
        )
    )
    contract.coupons_used += 1
    stamp_change(contract, principal, now)
    child = LoyaltyContract(
        uuid=str(uuid4()),
        tenant_id=contract.tenant_id,
        program_id=contract.program_id,
        program_version_id=contract.program_version_id,
        parent_id=contract.id,
        consumable_from=at,
        expiration_date=at + timedelta(seconds=seconds or 86_400),
        external_ref=contract.external_ref,
        coupons_used=0,
        created_at=now,
        created_by=principal.client_id,
        last_changed_at=now,
        last_changed_by=principal.client_id,
    )
    session.add(child)
    await session.flush()
    return child


async def _render_use(
    session: AsyncSession,
    event: LoyaltyOrderLineEvent,
) -> schemas.OrderLineEventOut | schemas.CouponUseOut:
    uuids = await as_dict(
        session,
        select(LoyaltyContract.id, LoyaltyContract.uuid).where(
            LoyaltyContract.id.in_({event.contract_id, event.coupons_contract_id or 0})
        ),
    )
    rendered = render_event(
        event, uuids[event.contract_id], uuids.get(event.coupons_contract_id or 0)
    )
    if event.coupons_contract_id is None:
        return rendered
    limit_used = await session.execute(
        select(LoyaltyContract.coupons_limit, LoyaltyContract.coupons_used).where(
            LoyaltyContract.id == event.coupons_contract_id
        )
    )
    limit, used = limit_used.one()
    return schemas.CouponUseOut(
        **rendered.model_dump(),
        coupon_spent=event.spent_coupon,
        remaining_coupons=(limit or 0) - used,
    )
