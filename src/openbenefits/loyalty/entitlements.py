"""Entitlements: what a customer may use on a travel date (seed 003, "Fetching entitlements"),
and the organisation's age bands that name the contract owner's passenger category.

One statement, built once, answers the whole list: the context (the customer, the organisation's
zone and age bands) beside the customer's unblocked consumers' accessible contracts valid on the
date and (unless excluded) the used coupons' child contracts valid on it, each with its program,
the product version in force and the contract's holder.
"""

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, Select, Text, and_, bindparam, case, cast, null, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from openbenefits.customers.models import Customer
from openbenefits.kit import audit
from openbenefits.kit.audit import Actor
from openbenefits.kit.db import UTCDateTime
from openbenefits.kit.driver import Fetch
from openbenefits.loyalty import schemas
from openbenefits.loyalty.contracts import customer_not_found, open_to
from openbenefits.loyalty.models import (
    LoyaltyAgeBands,
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyProgram,
    LoyaltyProgramVersion,
)
from openbenefits.loyalty.usage import (
    UTC_ZONE,
    is_day,
    organisation_zone,
    travel_window,
    valid_in,
    zone_named,
)
from openbenefits.tenancy.models import Tenant
from openbenefits.tenancy.principals import LoyaltyCaller

# Norwegian public transport's traveller categories; senior fares from 67.
DEFAULT_AGE_BANDS = schemas.AgeBands(
    bands=[
        schemas.AgeBand(passenger_category="INFANT", from_age=0),
        schemas.AgeBand(passenger_category="CHILD", from_age=6),
        schemas.AgeBand(passenger_category="ADULT", from_age=18),
        schemas.AgeBand(passenger_category="SENIOR", from_age=67),
    ],
    senior_citizen_from_age=67,
)


def _age_bands(bands: list[dict[str, Any]], senior_citizen_from_age: int) -> schemas.AgeBands:
    return schemas.AgeBands(
        bands=[schemas.AgeBand.model_validate(band) for band in bands],
        senior_citizen_from_age=senior_citizen_from_age,
    )


async def age_bands(session: AsyncSession, organisation_id: int) -> schemas.AgeBands:
    row = await session.get(LoyaltyAgeBands, organisation_id)
    if row is None:
        return DEFAULT_AGE_BANDS
    return _age_bands(row.bands, row.senior_citizen_from_age)


async def set_age_bands(
    session: AsyncSession, actor: Actor, organisation_id: int, data: schemas.AgeBands
) -> schemas.AgeBands:
    row = await session.get(LoyaltyAgeBands, organisation_id, with_for_update=True)
    bands = [band.model_dump(by_alias=True) for band in data.bands]
    if row is None:
        session.add(
            LoyaltyAgeBands(
                tenant_id=organisation_id,
                bands=bands,
                senior_citizen_from_age=data.senior_citizen_from_age,
            )
        )
    else:
        row.bands = bands
        row.senior_citizen_from_age = data.senior_citizen_from_age
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="loyalty_age_bands.updated",
        entity_type="loyalty_age_bands",
        entity_id=organisation_id,
        tenant_id=organisation_id,
    )
    return data


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def passenger_category(bands: schemas.AgeBands, age: int) -> str:
    return [band for band in bands.bands if band.from_age <= age][-1].passenger_category


def _statement(children: bool) -> Select[Any]:
    """The customer's entitlements from their unblocked consumers: the root contracts open to
    the calling organisation and (``children``) the child contracts of those roots, valid in
    the window. A root and its children are one join (the root itself, or a contract whose
    parent it is), so the consumer, program and holder are read once for both."""
    first = bindparam("first", type_=UTCDateTime())
    last = bindparam("last", type_=UTCDateTime())
    open_after = bindparam("open_after", type_=UTCDateTime())
    organisation_id = bindparam("organisation_id", type_=Integer())
    root = aliased(LoyaltyContract, name="root")
    holder = aliased(LoyaltyContractConsumer, name="holder")
    owner = aliased(Customer, name="owner")
    contract = aliased(LoyaltyContract, name="entitled") if children else root
    now = bindparam("now", type_=UTCDateTime())
    # The program's CURRENT version (loyalty/versions.py): the highest-numbered in force now.
    product_version = (
        select(LoyaltyProgramVersion.product_version)
        .where(
            LoyaltyProgramVersion.program_id == root.program_id,
            LoyaltyProgramVersion.start_date <= now,
            or_(LoyaltyProgramVersion.end_date.is_(None), LoyaltyProgramVersion.end_date > now),
        )
        .order_by(LoyaltyProgramVersion.version_number.desc())
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        select(
            LoyaltyProgram.product_id,
            product_version.label("product_version"),
            contract.uuid,
            contract.external_ref,
            contract.consumable_from,
            contract.expiration_date,
            contract.coupons_limit,
            contract.coupons_used,
            (case((contract.id == root.id, null()), else_=root.uuid) if children else null()).label(
                "parent_uuid"
            ),
            owner.customer_number.label("owner_number"),
            owner.first_name.label("owner_name"),
            owner.date_of_birth.label("owner_birth_date"),
            root.id.label("root_id"),
        )
        .select_from(LoyaltyContractConsumer)
        .join(root, root.id == LoyaltyContractConsumer.contract_id)
        .join(LoyaltyProgram, LoyaltyProgram.id == root.program_id)
        .join(holder, and_(holder.contract_id == root.id, holder.is_contract_holder))
        .join(owner, owner.id == holder.customer_id)
    )
    if children:
        statement = statement.join(
            contract, or_(contract.id == root.id, contract.parent_id == root.id)
        )
    return statement.where(
        LoyaltyContractConsumer.customer_id
        == select(Customer.id)
        .where(
            Customer.tenant_id == organisation_id,
            Customer.customer_number == bindparam("number"),
        )
        .scalar_subquery(),
        LoyaltyContractConsumer.is_blocked.is_(False),
        open_to(organisation_id, open_after, root),
        valid_in(contract, first, last),
    )


# The organisation's zone and age bands, and the customer's id (NULL: no such customer).
_CONTEXT = (
    select(
        Tenant.time_zone,
        Customer.id.label("customer_id"),
        cast(LoyaltyAgeBands.bands, Text).label("bands"),
        LoyaltyAgeBands.senior_citizen_from_age,
    )
    .select_from(Tenant)
    .outerjoin(
        Customer,
        and_(Customer.tenant_id == Tenant.id, Customer.customer_number == bindparam("number")),
    )
    .outerjoin(LoyaltyAgeBands, LoyaltyAgeBands.tenant_id == Tenant.id)
    .where(Tenant.id == bindparam("organisation_id"))
    .subquery("context")
)


def _with_context(entitlements: Select[Any]) -> Select[Any]:
    """The context row beside each entitlement, in order; one row of NULL entitlement columns
    when there is none, so that an unknown customer and a customer without entitlements are
    told apart in the same round trip."""
    entitled = entitlements.subquery("entitlements")
    return (
        select(_CONTEXT, entitled)
        .select_from(_CONTEXT.outerjoin(entitled, true()))
        .order_by(entitled.c.root_id, entitled.c.consumable_from)
    )


# By excludeSubContracts.
_ENTITLEMENTS = {
    True: _with_context(_statement(children=False)),
    False: _with_context(_statement(children=True)),
}


async def entitlements(
    fetch: Fetch,
    principal: LoyaltyCaller,
    customer_number: int,
    travel: datetime | date | None,
    exclude_sub_contracts: bool,
    now: datetime,
) -> list[schemas.Entitlement]:
    """One statement (two when the travel date is a day: the zone comes first)."""
    organisation_id = principal.tenant_id
    zone = await organisation_zone(fetch, organisation_id) if is_day(travel) else UTC_ZONE
    window = travel_window(travel, now, zone)
    rows = await fetch(
        _ENTITLEMENTS[exclude_sub_contracts],
        {
            "organisation_id": organisation_id,
            "number": str(customer_number),
            "first": window.first,
            "last": window.last,
            "open_after": max(now, window.first),
            "now": now,
        },
    )
    if not rows or rows[0]["customer_id"] is None:
        raise customer_not_found(organisation_id, customer_number)
    context = rows[0]
    # The owner's age is counted on the travel day in the organisation's zone.
    travel_day = window.first.astimezone(zone_named(context["time_zone"])).date()
    bands = (
        DEFAULT_AGE_BANDS
        if context["bands"] is None
        else _age_bands(json.loads(context["bands"]), context["senior_citizen_from_age"])
    )
    entitlements = []
    for row in rows:
        if row["uuid"] is None:
            continue
        birth: date | None = row["owner_birth_date"]
        age = age_on(birth, travel_day) if birth else None
        limit = row["coupons_limit"]
        entitlements.append(
            schemas.Entitlement(
                product_id=row["product_id"],
                product_version=row["product_version"],
                contract_uuid=row["uuid"],
                contract_external_ref=row["external_ref"],
                contract_owner_customer_number=int(row["owner_number"]),
                contract_owner_display_name=row["owner_name"],
                contract_owner_birth_date=(
                    schemas.BirthDate(year=birth.year, month=birth.month, day=birth.day)
                    if birth
                    else None
                ),
                contract_valid_from=row["consumable_from"],
                contract_valid_to=row["expiration_date"],
                coupons_limit=limit,
                remaining_coupons=limit - row["coupons_used"] if limit is not None else None,
                contract_parent=row["parent_uuid"],
                passenger_category=passenger_category(bands, age) if age is not None else None,
                is_senior_citizen=age >= bands.senior_citizen_from_age if age is not None else None,
            )
        )
    return entitlements
