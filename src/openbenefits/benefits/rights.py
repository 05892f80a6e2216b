"""What a customer holds, read in one query: the customer as the calling partner sees them, the
partner's benefits, and the grants the customer holds through running contracts, each limit of
each grant with the uses counted in its current period. One round trip whatever the size of the
usage history: counters are per period, so only the current ones are read.

The same answer as of any instant (``as_of``): the grants standing then (a grant holds from its
``created_at`` to its ``removed_at``) and each limit's uses replayed from the ledger up to then,
reversals made by then taken back."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute

from openbenefits.benefits.models import (
    PERIOD_ORDER,
    Benefit,
    BenefitCounter,
    BenefitGrant,
    BenefitGrantLimit,
    BenefitUsage,
    BenefitUsageReversal,
    ContingentPeriod,
    Weekday,
)
from openbenefits.contracts.models import CancelationStatus, MainContract, ModuleContract
from openbenefits.contracts.terms import Period as Term
from openbenefits.contracts.terms import TermUnit, current_term, runs_on
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import (
    AccessMedium,
    AccessMediumType,
    AccessRestriction,
    Customer,
    IdlePeriod,
)
from openbenefits.customers.service import card_number, customer_not_found
from openbenefits.kit.driver import Fetch
from openbenefits.kit.periods import Period, PeriodUnit, calendar_period, local_date
from openbenefits.tenancy.models import PartnerIntegration, Studio


class Viewpoint(Protocol):
    """From where a customer is seen: a studio of a tenant, through one partner's integration
    there (a partner's API key; an operator looking as that partner would)."""

    @property
    def tenant_id(self) -> int: ...

    @property
    def studio_id(self) -> int: ...

    @property
    def partner_id(self) -> int | None: ...


@dataclass(frozen=True)
class PartnerView:
    """An operator's viewpoint: the customer as a partner sees them from a studio."""

    tenant_id: int
    studio_id: int
    partner_id: int


@dataclass(frozen=True)
class CardRef:
    number: str
    format: CardNumberFormat


@dataclass(frozen=True)
class Restriction:
    start_date: date | None
    end_date: date | None


@dataclass(frozen=True)
class Rest:
    """An idle period (a membership freeze): every contract of the customer rests."""

    start_date: date
    end_date: date


@dataclass(frozen=True)
class Holder:
    """The customer as the benefit rules see them, from the calling partner's point of view."""

    customer_id: int
    tenant_id: int
    home_studio_id: int
    zone: ZoneInfo
    # The calling studio's zone: time windows are its local hours.
    zone_here: ZoneInfo
    restriction: Restriction | None
    rest: Rest | None
    active_in_calling_studio: bool
    active_in_home_studio: bool


@dataclass(frozen=True)
class Offer:
    """One of the calling partner's benefits."""

    id: int
    key: str
    cross_facility: bool


_WEEKDAYS = list(Weekday)


@dataclass(frozen=True)
class TimeRange:
    """Local hours ``[start, end)`` on some weekdays; an ``end`` of 00:00 is the day's end."""

    days: frozenset[int]  # 0 is Monday
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        moment = local.time()
        return (
            local.weekday() in self.days
            and self.start <= moment
            and (self.end == time.min or moment < self.end)
        )

    def describe(self) -> str:
        days = ", ".join(_WEEKDAYS[day].value for day in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Hours:
    """A grant's time windows: usable when any range contains the local time of use."""

    ranges: tuple[TimeRange, ...]

    @classmethod
    def parse(cls, stored: str | list[dict[str, Any]] | None) -> "Hours | None":
        # The bare driver answers JSON as its text: parsed once per distinct value.
        return _parsed_hours(stored) if isinstance(stored, str) else _hours(stored)

    def open_at(self, instant: datetime, zone: ZoneInfo) -> bool:
        local = instant.astimezone(zone)
        return any(window.contains(local) for window in self.ranges)

    def describe(self) -> str:
        return "; ".join(window.describe() for window in self.ranges)


def _hours(stored: list[dict[str, Any]] | None) -> Hours | None:
    if not stored:
        return None
    return Hours(
        tuple(
            TimeRange(
                frozenset(_WEEKDAYS.index(Weekday(day)) for day in window["days"]),
                time.fromisoformat(window["start"]),
                time.fromisoformat(window["end"]),
            )
            for window in stored
        )
    )


@lru_cache(maxsize=1024)
def _parsed_hours(stored: str) -> Hours | None:
    return _hours(json.loads(stored))


@dataclass(frozen=True)
class Window:
    """One limit of a grant in its period running at the instant asked about."""

    unit: ContingentPeriod
    limit: int
    period: Period
    used: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def describe(self) -> str:
        return f"{self.limit} per {self.unit.value}"


@dataclass(frozen=True)
class Right:
    """One grant held through one running contract, with each of its limits' counts."""

    grant_id: int
    benefit_id: int
    source: Literal["RATE", "ADDITIONAL_MODULE"]
    contract_id: int
    windows: tuple[Window, ...]  # shortest period first; none: unlimited
    hours: Hours | None  # None: at any time

    @property
    def limited(self) -> bool:
        return bool(self.windows)

    @property
    def remaining(self) -> int | None:
        """How many more uses fit every limit; None when unlimited."""
        return min((w.remaining for w in self.windows), default=None)

    def binding(self) -> Window | None:
        """The limit that allows the fewest further uses (the shortest on a tie)."""
        return min(self.windows, key=lambda w: w.remaining, default=None)

    def full(self) -> Window | None:
        """The first limit with nothing left, if any."""
        return next((w for w in self.windows if w.remaining == 0), None)

    def order(self) -> tuple[bool, float, int, int]:
        # Unlimited first (nothing to count); then the contingent that lapses soonest.
        ends = min((w.period.ends_at.timestamp() for w in self.windows), default=0.0)
        return (self.limited, ends, self.grant_id, self.contract_id)


@dataclass(frozen=True)
class Standing:
    holder: Holder
    offers: list[Offer]  # by key
    rights: list[Right]  # in the order uses draw on them

    def offer(self, key: str) -> Offer | None:
        return next((offer for offer in self.offers if offer.key == key), None)


# A row of the standing query: SQLAlchemy's row mapping, or the driver's record on the hot path
# (where enum columns arrive as plain strings, hence the conversions in ``_right``).
Row = Mapping[Any, Any]

# The statements are built once, with bound parameters: building and fingerprinting a statement
# of this size costs more than running it.
NOW = bindparam("now", type_=BenefitCounter.period_start.type)
PARTNER_ID = bindparam("partner_id", type_=BigInteger)


def _integration_active(
    studio_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> ScalarSelect[bool]:
    return (
        select(PartnerIntegration.active)
        .where(
            PartnerIntegration.partner_id == PARTNER_ID, PartnerIntegration.studio_id == studio_id
        )
        .scalar_subquery()
    )


def _counted(
    grant_id: InstrumentedAttribute[int], contract_id: InstrumentedAttribute[int]
) -> ColumnElement[bool]:
    return and_(
        BenefitCounter.grant_id == grant_id,
        BenefitCounter.contract_id == contract_id,
        BenefitCounter.period == BenefitGrantLimit.period,
        BenefitCounter.period_start <= NOW,
        BenefitCounter.period_end > NOW,
    )


def _typed_null(column: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    # The union's column types come from its first branch: a bare NULL there would leave the
    # other branch's dates and enums unconverted.
    return type_coerce(null(), column.type)


def _held_grants(customer_id: ColumnElement[int], as_of: bool) -> Any:
    """The customer's grants standing at ``now`` with the contract each is held through (a main
    contract for a rate's grant, a module contract on its main contract for a module's), in the
    same columns: a row per limit of the grant (one with NULL limit columns when unlimited),
    with the count of the limit's period running at ``now`` (read from the ledger instead when
    ``as_of``)."""
    standing_then = (
        and_(
            BenefitGrant.created_at <= NOW,
            or_(BenefitGrant.removed_at.is_(None), BenefitGrant.removed_at > NOW),
        )
        if as_of
        else BenefitGrant.removed_at.is_(None)
    )
    held_by_customer = and_(standing_then, MainContract.customer_id == customer_id)
    limits = BenefitGrantLimit.grant_id == BenefitGrant.id

    counted: tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...] = (
        (_typed_null(BenefitCounter.used), _typed_null(BenefitCounter.period_start))
        if as_of
        else (BenefitCounter.used, BenefitCounter.period_start)
    )

    def count_join(query: Select[Any], contract_id: InstrumentedAttribute[int]) -> Select[Any]:
        query = query.outerjoin(BenefitGrantLimit, limits)
        return (
            query
            if as_of
            else query.outerjoin(BenefitCounter, _counted(BenefitGrant.id, contract_id))
        )

    by_rate = select(
        BenefitGrant.id.label("grant_id"),
        BenefitGrant.benefit_id,
        BenefitGrant.time_windows,
        BenefitGrantLimit.uses,
        BenefitGrantLimit.period,
        literal("RATE", String).label("source"),
        MainContract.id.label("contract_id"),
        MainContract.start_date,
        MainContract.term_value,
        MainContract.term_unit,
        MainContract.extension_term_value,
        MainContract.extension_term_unit,
        MainContract.cancellation_date.label("ends_on"),
        _typed_null(MainContract.start_date).label("main_start_date"),
        _typed_null(MainContract.term_value).label("main_term_value"),
        _typed_null(MainContract.term_unit).label("main_term_unit"),
        _typed_null(MainContract.extension_term_value).label("main_extension_term_value"),
        _typed_null(MainContract.extension_term_unit).label("main_extension_term_unit"),
        _typed_null(MainContract.cancellation_date).label("main_ends_on"),
        *(
            column.label(name)
            for column, name in zip(counted, ("used", "counted_from"), strict=True)
        ),
    ).join(MainContract, MainContract.rate_id == BenefitGrant.rate_id)
    by_rate = count_join(by_rate, MainContract.id).where(held_by_customer)
    by_module = (
        select(
            BenefitGrant.id,
            BenefitGrant.benefit_id,
            BenefitGrant.time_windows,
            BenefitGrantLimit.uses,
            BenefitGrantLimit.period,
            literal("ADDITIONAL_MODULE", String),
            ModuleContract.id,
            ModuleContract.start_date,
            ModuleContract.term_value,
            ModuleContract.term_unit,
            ModuleContract.extension_term_value,
            ModuleContract.extension_term_unit,
            # Only a confirmed cancelation ends a module contract.
            case(
                (
                    ModuleContract.cancelation_status == CancelationStatus.CANCELED,
                    ModuleContract.cancelation_date,
                ),
                else_=null(),
            ),
            MainContract.start_date,
            MainContract.term_value,
            MainContract.term_unit,
            MainContract.extension_term_value,
            MainContract.extension_term_unit,
            MainContract.cancellation_date,
            *counted,
        )
        .join(ModuleContract, ModuleContract.module_id == BenefitGrant.module_id)
        .join(MainContract, MainContract.id == ModuleContract.main_contract_id)
    )
    by_module = count_join(by_module, ModuleContract.id).where(held_by_customer)
    return union_all(by_rate, by_module).subquery("held")


DAY_LOW = bindparam("day_low", type_=IdlePeriod.start_date.type)
DAY_HIGH = bindparam("day_high", type_=IdlePeriod.start_date.type)


@cache
def _standing_statement(by_card: bool, as_of: bool) -> Select[*tuple[Any, ...]]:
    """The one query behind ``standing``. The customer is named by id, or by a card number
    resolved inside the statement, so each union branch can seek the customer's contracts."""
    tenant_id = bindparam("tenant_id", type_=BigInteger)
    studio_id = bindparam("studio_id", type_=BigInteger)
    customer_id: ColumnElement[int] = (
        select(AccessMedium.customer_id)
        .where(
            AccessMedium.tenant_id == tenant_id,
            AccessMedium.type == AccessMediumType.CARD_NUMBER,
            AccessMedium.value == bindparam("card"),
        )
        .scalar_subquery()
        if by_card
        else bindparam("customer_id", type_=BigInteger)
    )
    visible = or_(
        Customer.studio_id == studio_id,
        exists().where(
            PartnerIntegration.partner_id == PARTNER_ID,
            PartnerIntegration.studio_id == Customer.studio_id,
        ),
    )
    # A freeze may cover today wherever on Earth the home studio is: the exact day is decided
    # in Python once the zone is known (``_rest``), only for the rare customer it may concern.
    may_rest = exists().where(
        IdlePeriod.customer_id == Customer.id,
        IdlePeriod.start_date <= DAY_HIGH,
        IdlePeriod.end_date >= DAY_LOW,
    )
    # All the partner's benefits (a handful); a key filter would make the statement's text vary.
    offered = and_(Benefit.tenant_id == tenant_id, Benefit.partner_id == PARTNER_ID)
    held = _held_grants(customer_id, as_of)
    return (
        select(
            Customer.id,
            Customer.studio_id,
            Studio.time_zone,
            select(Studio.time_zone)
            .where(Studio.id == studio_id)
            .scalar_subquery()
            .label("time_zone_here"),
            AccessRestriction.customer_id.label("restricted"),
            AccessRestriction.start_date.label("restricted_from"),
            AccessRestriction.end_date.label("restricted_until"),
            may_rest.label("may_rest"),
            _integration_active(studio_id).label("active_here"),
            _integration_active(Customer.studio_id).label("active_at_home"),
            Benefit.id.label("offer_id"),
            Benefit.key,
            Benefit.cross_facility,
            held,
        )
        .join(Studio, Studio.id == Customer.studio_id)
        .outerjoin(AccessRestriction, AccessRestriction.customer_id == Customer.id)
        .outerjoin(Benefit, offered)
        .outerjoin(held, held.c.benefit_id == Benefit.id)
        .where(Customer.id == customer_id, Customer.tenant_id == tenant_id, visible)
        .order_by(Benefit.key)
    )


_REST_STATEMENT = select(IdlePeriod.start_date, IdlePeriod.end_date).where(
    IdlePeriod.customer_id == bindparam("customer_id", type_=BigInteger),
    IdlePeriod.start_date <= DAY_HIGH,
    IdlePeriod.end_date >= DAY_LOW,
)

# Uses of the customer's since an instant, up to ``now``, not reversed by ``now``: the ledger
# replayed for an answer as of ``now``.
_REPLAY_STATEMENT = select(
    BenefitUsage.grant_id, BenefitUsage.contract_id, BenefitUsage.used_at
).where(
    BenefitUsage.customer_id == bindparam("customer_id", type_=BigInteger),
    BenefitUsage.used_at >= bindparam("since", type_=BenefitUsage.used_at.type),
    BenefitUsage.used_at <= NOW,
    ~exists().where(
        BenefitUsageReversal.usage_id == BenefitUsage.id,
        BenefitUsageReversal.reversed_at <= NOW,
    ),
)


def _term(value: int | None, unit: str | None) -> Term | None:
    return None if value is None or unit is None else Term(value, TermUnit(unit))


# A contract's columns in a standing row: the granting contract's, and a module's main contract's.
_CONTRACT_COLUMNS = {
    prefix: tuple(
        prefix + name
        for name in (
            "start_date",
            "term_value",
            "term_unit",
            "extension_term_value",
            "extension_term_unit",
            "ends_on",
        )
    )
    for prefix in ("", "main_")
}


def _running(row: Row, prefix: str, today: date) -> bool:
    start, value, unit, extension_value, extension_unit, ends_on = (
        row[column] for column in _CONTRACT_COLUMNS[prefix]
    )
    term = _term(value, unit)
    assert term is not None
    return runs_on(start, term, _term(extension_value, extension_unit), ends_on, today)


def _window(row: Row, zone: ZoneInfo, now: datetime, today: date) -> Window:
    unit = ContingentPeriod(row["period"])
    if unit is ContingentPeriod.TERM:
        term = _term(row["term_value"], row["term_unit"])
        assert term is not None
        extension = _term(row["extension_term_value"], row["extension_term_unit"])
        first, last = current_term(row["start_date"], term, extension, today)
        period = Period(first, last + timedelta(days=1), zone)
    else:
        period = calendar_period(PeriodUnit(unit), now, zone)
    counted = row["counted_from"] == period.starts_at
    return Window(unit, row["uses"], period, (row["used"] or 0) if counted else 0)


def _right(rows: list[Row], zone: ZoneInfo, now: datetime, today: date) -> Right | None:
    """The right the rows of one grant and contract describe (a row per limit), if its contract
    (and a module's main contract) runs today."""
    first = rows[0]
    if not _running(first, "", today):
        return None
    if first["main_start_date"] is not None and not _running(first, "main_", today):
        return None
    windows = [_window(row, zone, now, today) for row in rows if row["period"] is not None]
    return Right(
        grant_id=first["grant_id"],
        benefit_id=first["benefit_id"],
        source=first["source"],
        contract_id=first["contract_id"],
        windows=tuple(sorted(windows, key=lambda w: PERIOD_ORDER[w.unit])),
        hours=Hours.parse(first["time_windows"]),
    )


async def _rest(fetch: Fetch, customer_id: int, today: date) -> Rest | None:
    periods = await fetch(
        _REST_STATEMENT, {"customer_id": customer_id, "day_low": today, "day_high": today}
    )
    return next((Rest(p["start_date"], p["end_date"]) for p in periods), None)


async def _replayed(
    fetch: Fetch, customer_id: int, rights: list[Right], now: datetime
) -> list[Right]:
    """``rights`` with each limit's uses counted from the ledger as it stood at ``now``."""
    starts = [w.period.starts_at for right in rights for w in right.windows]
    if not starts:
        return rights
    uses = await fetch(
        _REPLAY_STATEMENT, {"customer_id": customer_id, "since": min(starts), "now": now}
    )

    def used(right: Right, window: Window) -> int:
        return sum(
            1
            for use in uses
            if use["grant_id"] == right.grant_id
            and use["contract_id"] == right.contract_id
            and window.period.contains(use["used_at"])
        )

    return [
        replace(right, windows=tuple(replace(w, used=used(right, w)) for w in right.windows))
        for right in rights
    ]


# The widest a zone's date can differ from UTC's (UTC-12 to UTC+14).
_ZONE_SPREAD = timedelta(hours=14)


async def standing(
    fetch: Fetch,
    principal: Viewpoint,
    customer: int | CardRef,
    keys: Sequence[str],
    now: datetime,
    *,
    as_of: bool = False,
) -> Standing:
    """The customer (looked up across the tenant's studios where the partner is integrated:
    cross-facility use needs that; any other customer is 404), the partner's benefits (only
    ``keys``, if given) and the rights held in them at ``now``: the counters' figures, or with
    ``as_of`` the grants' history and the ledger's (for an instant other than the present)."""
    params: dict[str, object] = {
        "tenant_id": principal.tenant_id,
        "studio_id": principal.studio_id,
        "partner_id": principal.partner_id,
        "now": now,
        "day_low": (now - _ZONE_SPREAD).date(),
        "day_high": (now + _ZONE_SPREAD).date(),
    }
    if isinstance(customer, CardRef):
        params["card"] = card_number(customer.number, customer.format)
    else:
        params["customer_id"] = customer
    rows = await fetch(_standing_statement(isinstance(customer, CardRef), as_of), params)
    if not rows:
        raise customer_not_found(customer if isinstance(customer, int) else None)
    first = rows[0]
    zone = ZoneInfo(first["time_zone"])
    today = local_date(now, zone)
    customer_id: int = first["id"]
    holder = Holder(
        customer_id=customer_id,
        tenant_id=principal.tenant_id,
        home_studio_id=first["studio_id"],
        zone=zone,
        zone_here=ZoneInfo(first["time_zone_here"]),
        restriction=Restriction(first["restricted_from"], first["restricted_until"])
        if first["restricted"] is not None
        else None,
        rest=await _rest(fetch, customer_id, today) if first["may_rest"] else None,
        active_in_calling_studio=bool(first["active_here"]),
        active_in_home_studio=bool(first["active_at_home"]),
    )
    offers: dict[int, Offer] = {}
    held: dict[tuple[int, int], list[Row]] = {}
    wanted = set(keys)
    for row in rows:
        if row["offer_id"] is None or (wanted and row["key"] not in wanted):
            continue
        offers.setdefault(
            row["offer_id"], Offer(row["offer_id"], row["key"], row["cross_facility"])
        )
        if row["grant_id"] is not None:
            held.setdefault((row["grant_id"], row["contract_id"]), []).append(row)
    rights = [
        right
        for grant_rows in held.values()
        if (right := _right(grant_rows, zone, now, today)) is not None
    ]
    if as_of:
        rights = await _replayed(fetch, customer_id, rights, now)
    return Standing(holder, list(offers.values()), sorted(rights, key=Right.order))
