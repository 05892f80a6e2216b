"""Admin API: a partner's benefits and the rates and modules that grant them."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from openbenefits.benefits import definitions, schemas
from openbenefits.kit.routing import ClockDep, SessionDep, TransactionalRoute
from openbenefits.kit.schemas import Id, problem_responses
from openbenefits.tenancy.auth import Admin, AdminTenant

router = APIRouter(
    prefix="/admin/v1/tenants/{tenantId}",
    tags=["admin: benefits"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
PartnerId = Annotated[Id, Path(alias="partnerId")]
BenefitId = Annotated[Id, Path(alias="benefitId")]
GrantId = Annotated[Id, Path(alias="grantId")]


@router.post(
    "/partners/{partnerId}/benefits",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.BenefitOut,
)
async def create_benefit(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    partner_id: PartnerId,
    body: schemas.BenefitCreate,
) -> schemas.BenefitOut:
    """A benefit of the partner, the same in every studio where the partner is active."""
    benefit = await definitions.create_benefit(session, admin, tenant.id, partner_id, body)
    return definitions.render_benefit(benefit, [])


@router.get("/partners/{partnerId}/benefits", response_model=list[schemas.BenefitOut])
async def list_benefits(
    tenant: AdminTenant, session: SessionDep, partner_id: PartnerId
) -> list[schemas.BenefitOut]:
    benefits = await definitions.partner_benefits(session, tenant.id, partner_id)
    grants = await definitions.standing_grants(session, [b.id for b in benefits])
    return [definitions.render_benefit(b, grants) for b in benefits]


@router.get("/benefits/{benefitId}", response_model=schemas.BenefitOut)
async def get_benefit(
    tenant: AdminTenant, session: SessionDep, benefit_id: BenefitId
) -> schemas.BenefitOut:
    benefit = await definitions.get_benefit(session, tenant.id, benefit_id)
    return definitions.render_benefit(
        benefit, await definitions.standing_grants(session, [benefit.id])
    )


@router.patch("/benefits/{benefitId}", response_model=schemas.BenefitOut)
async def update_benefit(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    benefit_id: BenefitId,
    body: schemas.BenefitUpdate,
) -> schemas.BenefitOut:
    benefit = await definitions.get_benefit(session, tenant.id, benefit_id)
    await definitions.update_benefit(session, admin, benefit, body)
    return definitions.render_benefit(
        benefit, await definitions.standing_grants(session, [benefit.id])
    )


@router.post(
    "/benefits/{benefitId}/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.GrantOut,
)
async def create_grant(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    benefit_id: BenefitId,
    body: schemas.GrantCreate,
) -> schemas.GrantOut:
    """A rate or module grants the benefit: unlimited, or within each of its contingents (``1
    per DAY`` and ``8 per MONTH``: a use must fit both), at any time or within its time windows
    (weekdays and local hours of the studio of use). Grants of one benefit to one customer add
    up. A grant is not edited: to change one, remove it and create its successor (answers as of
    an earlier instant still read the old one)."""
    benefit = await definitions.get_benefit(session, tenant.id, benefit_id)
    grant = await definitions.create_grant(session, admin, benefit, body, clock.now())
    return definitions.render_grant(grant)


@router.delete("/benefits/{benefitId}/grants/{grantId}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_grant(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    benefit_id: BenefitId,
    grant_id: GrantId,
) -> None:
    benefit = await definitions.get_benefit(session, tenant.id, benefit_id)
    await definitions.remove_grant(session, admin, benefit, grant_id, clock.now())
