"""Loyalty programs and their versions (seed 003, "Loyalty program versions")."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit import audit
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.loyalty import schemas
from openbenefits.loyalty.models import LoyaltyProgram, LoyaltyProgramVersion, ProgramType
from openbenefits.loyalty.versions import (
    VersionDates,
    VersionStatus,
    latest_end,
    version_statuses,
)
from openbenefits.tenancy.principals import LoyaltyCaller


def _seconds(duration: timedelta | None) -> int | None:
    return None if duration is None else int(duration.total_seconds())


def _duration(seconds: int | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _dates(version: LoyaltyProgramVersion) -> VersionDates:
    return VersionDates(version.version_number, version.start_date, version.end_date)


def _descriptions(
    given: list[schemas.Description],
    previous: list[dict[str, Any]],
    by: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """Stored descriptions: a language already described keeps its creation stamp."""
    created = {d["languageCode"]: d for d in previous}
    stored = []
    for description in given:
        earlier = created.get(description.language_code)
        stored.append(
            {
                "languageCode": description.language_code,
                "description": description.description,
                "displayName": description.display_name,
                "createdAt": earlier["createdAt"] if earlier else now.isoformat(),
                "createdBy": earlier["createdBy"] if earlier else by,
                "lastChangedAt": now.isoformat(),
                "lastChangedBy": by,
            }
        )
    return stored


async def create_program(
    session: AsyncSession,
    principal: LoyaltyCaller,
    data: schemas.ProgramCreate,
    now: datetime,
) -> tuple[LoyaltyProgram, list[LoyaltyProgramVersion]]:
    program = LoyaltyProgram(
        tenant_id=principal.tenant_id,
        program_type=data.loyalty_program_type,
        product_id=data.product_id,
        internal_description=data.internal_description,
        code=data.loyalty_program_code,
        allow_other_organisations=data.allow_other_organisations,
        ends_at=data.end_date,
        created_at=now,
        created_by=principal.client_id,
    )
    session.add(program)
    await flush_or_conflict(
        session,
        f"The loyalty program code {data.loyalty_program_code!r} is taken.",
        code="LOYALTY_PROGRAM_CODE_TAKEN",
    )
    version = LoyaltyProgramVersion(
        tenant_id=principal.tenant_id,
        program_id=program.id,
        version_number=1,
        product_version=data.product_version,
        start_date=data.start_date,
        end_date=data.end_date,
        usage_validity_seconds=_seconds(data.usage_validity_period),
        default_coupons_limit=data.default_coupons_limit,
        coupon_validity_seconds=_seconds(
            data.coupon_validity_period
            or (timedelta(days=1) if data.loyalty_program_type == ProgramType.COUPONS else None)
        ),
        descriptions=_descriptions(data.descriptions or [], [], principal.client_id, now),
        created_at=now,
        created_by=principal.client_id,
    )
    session.add(version)
    await session.flush()
    audit.record_change(
        session, principal, "loyalty_program.created", program, type=program.program_type
    )
    return program, [version]


async def get_program(
    session: AsyncSession, tenant_id: int, program_id: int, *, lock: bool = False
) -> LoyaltyProgram:
    statement = select(LoyaltyProgram).where(
        LoyaltyProgram.tenant_id == tenant_id, LoyaltyProgram.id == program_id
    )
    program = await session.scalar(statement.with_for_update() if lock else statement)
    if program is None:
        raise NotFound(f"Loyalty program {program_id} not found.", code="LOYALTY_PROGRAM_NOT_FOUND")
    return program


async def program_with_versions(
    session: AsyncSession, tenant_id: int, program_id: int
) -> tuple[LoyaltyProgram, list[LoyaltyProgramVersion]]:
    program = await get_program(session, tenant_id, program_id)
    return program, await program_versions(session, [program.id])


async def program_versions(
    session: AsyncSession, program_ids: list[int]
) -> list[LoyaltyProgramVersion]:
    rows = await session.scalars(
        select(LoyaltyProgramVersion)
        .where(LoyaltyProgramVersion.program_id.in_(program_ids))
        .order_by(LoyaltyProgramVersion.program_id, LoyaltyProgramVersion.version_number)
    )
    return list(rows)


async def list_programs(
    session: AsyncSession, tenant_id: int, params: PageParams
) -> tuple[list[tuple[LoyaltyProgram, list[LoyaltyProgramVersion]]], int]:
    """One page of the organisation's programs with their versions, in three queries."""
    statement = (
        select(LoyaltyProgram)
        .where(LoyaltyProgram.tenant_id == tenant_id)
        .order_by(LoyaltyProgram.id)
    )
    programs, total = await fetch_page(session, statement, params)
    versions = await program_versions(session, [p.id for p in programs])
    return [(p, [v for v in versions if v.program_id == p.id]) for p in programs], total


async def create_version(
    session: AsyncSession,
    principal: LoyaltyCaller,
    program_id: int,
    data: schemas.VersionFields,
    now: datetime,
) -> tuple[LoyaltyProgram, list[LoyaltyProgramVersion], LoyaltyProgramVersion]:
    """A new version, or the DRAFT overwritten; omitted fields are copied from the latest
    version. The program row is locked, so concurrent creations queue and numbers stay dense."""
    program = await get_program(session, principal.tenant_id, program_id, lock=True)
    versions = await program_versions(session, [program.id])
    latest = versions[-1]
    statuses = version_statuses(map(_dates, versions), now)
    draft = next(
        (v for v in reversed(versions) if statuses[v.version_number] == VersionStatus.DRAFT), None
    )
    given = data.model_fields_set
    coupons = program.program_type == ProgramType.COUPONS
    if not coupons and ({"default_coupons_limit", "coupon_validity_period"} & given):
        raise InvalidRequest("Only COUPONS programs have coupons.", code="NOT_A_COUPONS_PROGRAM")

    def pick(field: str, previous: object) -> Any:
        return getattr(data, field) if field in given else previous

    start = pick("start_date", latest.start_date)
    end = pick("end_date", latest.end_date)
    if end is not None and end < start:
        raise InvalidRequest("endDate must not be before startDate.", code="INVALID_DATES")
    target = draft or LoyaltyProgramVersion(
        tenant_id=program.tenant_id,
        program_id=program.id,
        version_number=latest.version_number + 1,
        created_at=now,
        created_by=principal.client_id,
    )
    target.product_version = pick("product_version", latest.product_version)
    target.start_date = start
    target.end_date = end
    target.usage_validity_seconds = _seconds(
        pick("usage_validity_period", _duration(latest.usage_validity_seconds))
    )
    target.default_coupons_limit = pick("default_coupons_limit", latest.default_coupons_limit)
    target.coupon_validity_seconds = _seconds(
        pick("coupon_validity_period", _duration(latest.coupon_validity_seconds))
    )
    target.descriptions = (
        _descriptions(data.descriptions, latest.descriptions, principal.client_id, now)
        if data.descriptions is not None
        else list(latest.descriptions)
    )
    if draft is None:
        session.add(target)
        versions.append(target)
    program.ends_at = latest_end(map(_dates, versions))
    await session.flush()
    audit.record_change(
        session,
        principal,
        "loyalty_program_version.overwritten" if draft else "loyalty_program_version.created",
        target,
        programId=program.id,
        versionNumber=target.version_number,
    )
    return program, versions, target


def _version_fields(
    program: LoyaltyProgram, version: LoyaltyProgramVersion, status: VersionStatus
) -> dict[str, Any]:
    return {
        "organisation_id": program.tenant_id,
        "loyalty_program_id": program.id,
        "internal_description": program.internal_description,
        "product_id": program.product_id,
        "product_version": version.product_version,
        "start_date": version.start_date,
        "end_date": version.end_date,
        "usage_validity_period": _duration(version.usage_validity_seconds),
        "default_coupons_limit": version.default_coupons_limit,
        "coupon_validity_period": _duration(version.coupon_validity_seconds),
        "version_number": version.version_number,
        "status": status,
        "descriptions": [schemas.DescriptionOut.model_validate(d) for d in version.descriptions],
    }


def render_versions(
    program: LoyaltyProgram, versions: list[LoyaltyProgramVersion], now: datetime
) -> list[schemas.VersionOut]:
    statuses = version_statuses(map(_dates, versions), now)
    return [
        schemas.VersionOut(id=v.id, **_version_fields(program, v, statuses[v.version_number]))
        for v in versions
    ]


def effective_version(
    versions: list[LoyaltyProgramVersion], now: datetime
) -> tuple[LoyaltyProgramVersion, VersionStatus]:
    """The CURRENT version, else the DRAFT, else the latest; and its status."""
    statuses = version_statuses(map(_dates, versions), now)
    for wanted in (VersionStatus.CURRENT, VersionStatus.DRAFT):
        for version in reversed(versions):
            if statuses[version.version_number] == wanted:
                return version, wanted
    return versions[-1], VersionStatus.DEPRECATED


def render_program(
    program: LoyaltyProgram, versions: list[LoyaltyProgramVersion], now: datetime
) -> schemas.ProgramOut:
    version, status = effective_version(versions, now)
    return schemas.ProgramOut(
        **_version_fields(program, version, status),
        id=program.id,
        version_id=version.id,
        loyalty_program_type=program.program_type,
        loyalty_program_code=program.code,
        allow_other_organisations=program.allow_other_organisations,
        created_at=program.created_at,
        created_by=program.created_by,
    )
