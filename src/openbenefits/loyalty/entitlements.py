"""Entitlements: what a customer may use on a travel date (seed 003, "Fetching entitlements"),
and the organisation's age bands that name the contract owner's passenger category.

One query answers the whole list: the customer's unblocked consumers, their accessible
contracts valid on the date and (unless excluded) the used coupons' child contracts valid on
it, each with its program, the product version in force and the contract's holder.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from openbenefits.customers.models import Customer
from openbenefits.kit import audit
from openbenefits.kit.audit import Actor
from openbenefits.loyalty import schemas
from openbenefits.loyalty.contracts import find_customer
from openbenefits.loyalty.models import (
    LoyaltyAgeBands,
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyProgram,
    LoyaltyProgramVersion,
)
from openbenefits.loyalty.usage import Window, organisation_zone, travel_window, valid_in
from openbenefits.tenancy.principals import LoyaltyPrincipal

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


async def age_bands(session: AsyncSession, organisation_id: int) -> schemas.AgeBands:
    row = await session.get(LoyaltyAgeBands, organisation_id)
    if row is None:
        return DEFAULT_AGE_BANDS
    return schemas.AgeBands(
        bands=[schemas.AgeBand.model_validate(band) for band in row.bands],
        senior_citizen_from_age=row.senior_citizen_from_age,
    )


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


def _statement(customer_id: int, window: Window, now: datetime, children: bool) -> Select[Any]:
    root = aliased(LoyaltyContract)
    holder = aliased(LoyaltyContractConsumer)
    owner = aliased(Customer)
    contract = aliased(LoyaltyContract) if children else root
    product_version = (
        select(LoyaltyProgramVersion.product_version)
        .where(
            LoyaltyProgramVersion.program_id == root.program_id,
            LoyaltyProgramVersion.start_date <= window.last,
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
            (root.uuid if children else null()).label("parent_uuid"),
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
        statement = statement.join(contract, contract.parent_id == root.id)
    return statement.where(
        LoyaltyContractConsumer.customer_id == customer_id,
        LoyaltyContractConsumer.is_blocked.is_(False),
        root.holder_removed_at.is_(None),
        or_(LoyaltyProgram.ends_at.is_(None), LoyaltyProgram.ends_at > max(now, window.first)),
        valid_in(contract, window),
    )


async def entitlements(
    session: AsyncSession,
    principal: LoyaltyPrincipal,
    customer_number: int,
    travel: datetime | date | None,
    exclude_sub_contracts: bool,
    now: datetime,
) -> list[schemas.Entitlement]:
    customer = await find_customer(session, principal.tenant_id, customer_number)
    # The zone reads a day, and the owner's age is counted on the local travel day.
    zone = await organisation_zone(session, principal.tenant_id)
    window = travel_window(travel, now, zone)
    parts = [_statement(customer.id, window, now, children=False)]
    if not exclude_sub_contracts:
        parts.append(_statement(customer.id, window, now, children=True))
    union = union_all(*parts).subquery()
    rows = await session.execute(select(union).order_by(union.c.root_id, union.c.consumable_from))
    bands = await age_bands(session, principal.tenant_id)
    travel_day = window.first.astimezone(zone).date()
    entitlements = []
    for row in rows:
        birth: date | None = row.owner_birth_date
        age = age_on(birth, travel_day) if birth else None
        entitlements.append(
            schemas.Entitlement(
                product_id=row.product_id,
                product_version=row.product_version,
                contract_uuid=row.uuid,
                contract_external_ref=row.external_ref,
                contract_owner_customer_number=int(row.owner_number),
                contract_owner_display_name=row.owner_name,
                contract_owner_birth_date=(
                    schemas.BirthDate(year=birth.year, month=birth.month, day=birth.day)
                    if birth
                    else None
                ),
                contract_valid_from=row.consumable_from,
                contract_valid_to=row.expiration_date,
                coupons_limit=row.coupons_limit,
                remaining_coupons=(
                    row.coupons_limit - row.coupons_used if row.coupons_limit is not None else None
                ),
                contract_parent=row.parent_uuid,
                passenger_category=passenger_category(bands, age) if age is not None else None,
                is_senior_citizen=age >= bands.senior_citizen_from_age if age is not None else None,
            )
        )
    return entitlements
