"""What a customer holds, read in one query: the customer as the calling partner sees them, the
partner's benefits, and the grants the customer holds through running contracts, each with the
uses counted in its current period. One round trip whatever the size of the usage history:
counters are per period, so only the current one is read."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
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

from openbenefits.benefits.models import Benefit, BenefitCounter, BenefitGrant, ContingentPeriod
from openbenefits.contracts.models import CancelationStatus, MainContract, ModuleContract
from openbenefits.contracts.terms import Period as Term
from openbenefits.contracts.terms import TermUnit, current_term, runs_on
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import (
    AccessMedium,
    AccessMediumType,
    AccessRestriction,
    Customer,
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
class Holder:
    """The customer as the benefit rules see them, from the calling partner's point of view."""

    customer_id: int
    tenant_id: int
    home_studio_id: int
    zone: ZoneInfo
    restriction: Restriction | None
    active_in_calling_studio: bool
    active_in_home_studio: bool


@dataclass(frozen=True)
class Offer:
    """One of the calling partner's benefits."""

    id: int
    key: str
    cross_facility: bool


@dataclass(frozen=True)
class Right:
    """One grant held through one running contract, with its current period's count."""

    grant_id: int
    benefit_id: int
    source: Literal["RATE", "ADDITIONAL_MODULE"]
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
        BenefitCounter.period_start <= NOW,
        BenefitCounter.period_end > NOW,
    )


def _typed_null(column: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    # The union's column types come from its first branch: a bare NULL there would leave the
    # other branch's dates and enums unconverted.
    return type_coerce(null(), column.type)


def _held_grants(customer_id: ColumnElement[int]) -> Any:
    """The customer's standing grants with the contract each is held through (a main contract
    for a rate's grant, a module contract on its main contract for a module's), in the same
    columns, with the count of the period running at ``now``."""
    held_by_customer = and_(
        BenefitGrant.removed_at.is_(None), MainContract.customer_id == customer_id
    )
    by_rate = (
        select(
            BenefitGrant.id.label("grant_id"),
            BenefitGrant.benefit_id,
            BenefitGrant.uses,
            BenefitGrant.period,
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
            BenefitCounter.used,
            BenefitCounter.period_start.label("counted_from"),
        )
        .join(MainContract, MainContract.rate_id == BenefitGrant.rate_id)
        .outerjoin(BenefitCounter, _counted(BenefitGrant.id, MainContract.id))
        .where(held_by_customer)
    )
    by_module = (
        select(
            BenefitGrant.id,
            BenefitGrant.benefit_id,
            BenefitGrant.uses,
            BenefitGrant.period,
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
            BenefitCounter.used,
            BenefitCounter.period_start,
        )
        .join(ModuleContract, ModuleContract.module_id == BenefitGrant.module_id)
        .join(MainContract, MainContract.id == ModuleContract.main_contract_id)
        .outerjoin(BenefitCounter, _counted(BenefitGrant.id, ModuleContract.id))
        .where(held_by_customer)
    )
    return union_all(by_rate, by_module).subquery("held")


@cache
def _standing_statement(by_card: bool) -> Select[*tuple[Any, ...]]:
    """The one query behind ``standing``. The customer is named by id, or by a card number
    resolved inside the statement, so each union branch can seek the customer's contracts."""
    tenant_id = bindparam("tenant_id", type_=BigInteger)
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
        Customer.studio_id == bindparam("studio_id", type_=BigInteger),
        exists().where(
            PartnerIntegration.partner_id == PARTNER_ID,
            PartnerIntegration.studio_id == Customer.studio_id,
        ),
    )
    # All the partner's benefits (a handful); a key filter would make the statement's text vary.
    offered = and_(Benefit.tenant_id == tenant_id, Benefit.partner_id == PARTNER_ID)
    held = _held_grants(customer_id)
    return (
        select(
            Customer.id,
            Customer.studio_id,
            Studio.time_zone,
            AccessRestriction.customer_id.label("restricted"),
            AccessRestriction.start_date.label("restricted_from"),
            AccessRestriction.end_date.label("restricted_until"),
            _integration_active(bindparam("studio_id", type_=BigInteger)).label("active_here"),
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


def _right(row: Row, zone: ZoneInfo, now: datetime, today: date) -> Right | None:
    """The right a row describes, if its contract (and a module's main contract) runs today."""
    if not _running(row, "", today):
        return None
    if row["main_start_date"] is not None and not _running(row, "main_", today):
        return None
    contingent_period = None if row["period"] is None else ContingentPeriod(row["period"])
    period: Period | None = None
    if contingent_period is ContingentPeriod.TERM:
        term = _term(row["term_value"], row["term_unit"])
        assert term is not None
        extension = _term(row["extension_term_value"], row["extension_term_unit"])
        first, last = current_term(row["start_date"], term, extension, today)
        period = Period(first, last + timedelta(days=1), zone)
    elif contingent_period is not None:
        period = calendar_period(PeriodUnit(contingent_period), now, zone)
    counted = period is not None and row["counted_from"] == period.starts_at
    return Right(
        grant_id=row["grant_id"],
        benefit_id=row["benefit_id"],
        source=row["source"],
        contract_id=row["contract_id"],
        limit=row["uses"],
        contingent_period=contingent_period,
        period=period,
        used=(row["used"] or 0) if counted else 0,
    )


async def standing(
    fetch: Fetch,
    principal: Viewpoint,
    customer: int | CardRef,
    keys: Sequence[str],
    now: datetime,
) -> Standing:
    """The customer (looked up across the tenant's studios where the partner is integrated:
    cross-facility use needs that; any other customer is 404), the partner's benefits (only
    ``keys``, if given) and the rights held in them now."""
    params: dict[str, object] = {
        "tenant_id": principal.tenant_id,
        "studio_id": principal.studio_id,
        "partner_id": principal.partner_id,
        "now": now,
    }
    if isinstance(customer, CardRef):
        params["card"] = card_number(customer.number, customer.format)
    else:
        params["customer_id"] = customer
    rows = await fetch(_standing_statement(isinstance(customer, CardRef)), params)
    if not rows:
        raise customer_not_found(customer if isinstance(customer, int) else None)
    first = rows[0]
    zone = ZoneInfo(first["time_zone"])
    holder = Holder(
        customer_id=first["id"],
        tenant_id=principal.tenant_id,
        home_studio_id=first["studio_id"],
        zone=zone,
        restriction=Restriction(first["restricted_from"], first["restricted_until"])
        if first["restricted"] is not None
        else None,
        active_in_calling_studio=bool(first["active_here"]),
        active_in_home_studio=bool(first["active_at_home"]),
    )
    today = local_date(now, zone)
    offers: dict[int, Offer] = {}
    rights: list[Right] = []
    wanted = set(keys)
    for row in rows:
        if row["offer_id"] is None or (wanted and row["key"] not in wanted):
            continue
        offers.setdefault(
            row["offer_id"], Offer(row["offer_id"], row["key"], row["cross_facility"])
        )
        if row["grant_id"] is not None and (right := _right(row, zone, now, today)) is not None:
            rights.append(right)
    return Standing(holder, list(offers.values()), sorted(rights, key=Right.order))
