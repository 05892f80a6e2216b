"""Admin API for rates and main contracts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from openbenefits.contracts import schemas, service
from openbenefits.contracts.models import Rate, RatePaymentFrequency
from openbenefits.contracts.views import payment_frequency, render_contract
from openbenefits.kit.pagination import Page, PageParams, page_params
from openbenefits.kit.periods import local_date
from openbenefits.kit.routing import ClockDep, SessionDep, TransactionalRoute
from openbenefits.kit.schemas import problem_responses
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.auth import Admin, AdminTenant

router = APIRouter(
    prefix="/admin/v1/tenants/{tenantId}",
    tags=["admin: contracts"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
ContractId = Annotated[int, Path(alias="contractId")]
Paging = Annotated[PageParams, Depends(page_params)]


def _rate(rate: Rate, frequencies: list[RatePaymentFrequency]) -> schemas.RateOut:
    def term(value: int, unit: object) -> schemas.Term:
        return schemas.Term.model_validate({"value": value, "unit": unit})

    return schemas.RateOut(
        id=rate.id,
        name=rate.name,
        term=term(rate.term_value, rate.term_unit),
        extension_term=term(rate.extension_term_value, rate.extension_term_unit),
        cancellation_period=term(rate.cancellation_period_value, rate.cancellation_period_unit),
        payment_frequencies=[payment_frequency(f) for f in frequencies],
    )


@router.post("/rates", status_code=status.HTTP_201_CREATED, response_model=schemas.RateOut)
async def create_rate(
    admin: Admin, tenant: AdminTenant, session: SessionDep, body: schemas.RateCreate
) -> schemas.RateOut:
    rate, frequencies = await service.create_rate(session, admin, tenant.id, body)
    return _rate(rate, frequencies)


@router.get("/rates", response_model=Page[schemas.RateOut])
async def list_rates(
    tenant: AdminTenant, session: SessionDep, paging: Paging
) -> Page[schemas.RateOut]:
    rates, total = await service.list_rates(session, tenant.id, paging)
    frequencies = await service.payment_frequencies(session, [r.id for r in rates])
    return Page[schemas.RateOut](
        items=[_rate(r, frequencies[r.id]) for r in rates],
        page=paging.page,
        perPage=paging.per_page,
        totalItems=total,
    )


@router.get("/rates/{rateId}", response_model=schemas.RateOut)
async def get_rate(
    tenant: AdminTenant, session: SessionDep, rate_id: Annotated[int, Path(alias="rateId")]
) -> schemas.RateOut:
    rate = await service.get_rate(session, tenant.id, rate_id)
    return _rate(rate, (await service.payment_frequencies(session, [rate.id]))[rate.id])


async def _contract_out(
    session: SessionDep, clock: ClockDep, contract_id: int, tenant_id: int
) -> schemas.Contract:
    contract = await service.get_contract(session, tenant_id, contract_id)
    frequency = await session.get_one(RatePaymentFrequency, contract.payment_frequency_id)
    zone = await tenancy_service.studio_zone(session, contract.studio_id)
    return render_contract(contract, frequency, local_date(clock.now(), zone))


@router.post("/contracts", status_code=status.HTTP_201_CREATED, response_model=schemas.Contract)
async def create_contract(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    body: schemas.ContractCreate,
) -> schemas.Contract:
    contract = await service.create_contract(session, admin, tenant.id, body, clock.now())
    return await _contract_out(session, clock, contract.id, tenant.id)


@router.get("/contracts/{contractId}", response_model=schemas.Contract)
async def get_contract(
    tenant: AdminTenant, session: SessionDep, clock: ClockDep, contract_id: ContractId
) -> schemas.Contract:
    return await _contract_out(session, clock, contract_id, tenant.id)


@router.post("/contracts/{contractId}/cancel", response_model=schemas.Contract)
async def cancel_contract(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    contract_id: ContractId,
    body: schemas.ContractCancel,
) -> schemas.Contract:
    """Cancel at the earliest end the notice period allows (an ordinary cancellation)."""
    contract = await service.get_contract(session, tenant.id, contract_id)
    await service.cancel_contract(session, admin, contract, body, clock.now())
    return await _contract_out(session, clock, contract_id, tenant.id)
