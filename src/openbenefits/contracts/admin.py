"""Admin API for rates and main contracts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from openbenefits.contracts import modules, schemas, service
from openbenefits.contracts.models import CancelationReason, Rate, RatePaymentFrequency
from openbenefits.contracts.views import (
    payment_frequency,
    render_contract,
    render_module,
    render_module_contract,
)
from openbenefits.kit.pagination import Page, PageParams, page_params
from openbenefits.kit.periods import local_date
from openbenefits.kit.routing import ClockDep, SessionDep, TransactionalRoute
from openbenefits.kit.schemas import Id, problem_responses
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.auth import Admin, AdminTenant

router = APIRouter(
    prefix="/admin/v1/tenants/{tenantId}",
    tags=["admin: contracts"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
ContractId = Annotated[Id, Path(alias="contractId")]
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
    tenant: AdminTenant, session: SessionDep, rate_id: Annotated[Id, Path(alias="rateId")]
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


# Additional modules, cancelation reasons, amendments


def _module_out(offer: modules.ModuleOffer) -> schemas.ModuleOut:
    module = offer.module
    return schemas.ModuleOut(
        id=module.id,
        name=module.name,
        description=module.description,
        image_url=module.image_url,
        active=module.active,
        online_bookable=module.online_bookable,
        visible=offer.visible,
        rate_ids=sorted(offer.rate_ids),
        module=render_module(module, offer.frequencies) if offer.visible else None,
    )


async def _offer(session: SessionDep, tenant_id: int, module_id: int) -> modules.ModuleOffer:
    await modules.get_module(session, tenant_id, module_id)
    (offer,) = await modules.module_offers(session, tenant_id, [module_id])
    return offer


ModuleId = Annotated[Id, Path(alias="moduleId")]


@router.post(
    "/additional-modules", status_code=status.HTTP_201_CREATED, response_model=schemas.ModuleOut
)
async def create_module(
    admin: Admin, tenant: AdminTenant, session: SessionDep, body: schemas.ModuleCreate
) -> schemas.ModuleOut:
    module = await modules.create_module(session, admin, tenant.id, body)
    return _module_out(await _offer(session, tenant.id, module.id))


@router.get("/additional-modules", response_model=list[schemas.ModuleOut])
async def list_modules(tenant: AdminTenant, session: SessionDep) -> list[schemas.ModuleOut]:
    return [_module_out(offer) for offer in await modules.module_offers(session, tenant.id)]


@router.get("/additional-modules/{moduleId}", response_model=schemas.ModuleOut)
async def get_module(
    tenant: AdminTenant, session: SessionDep, module_id: ModuleId
) -> schemas.ModuleOut:
    return _module_out(await _offer(session, tenant.id, module_id))


@router.patch("/additional-modules/{moduleId}", response_model=schemas.ModuleOut)
async def update_module(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    module_id: ModuleId,
    body: schemas.ModuleUpdate,
) -> schemas.ModuleOut:
    module = await modules.get_module(session, tenant.id, module_id)
    await modules.update_module(session, admin, module, body)
    return _module_out(await _offer(session, tenant.id, module_id))


@router.post(
    "/cancelation-reasons",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ContractCancelationReason,
)
async def create_cancelation_reason(
    admin: Admin, tenant: AdminTenant, session: SessionDep, body: schemas.CancelationReasonCreate
) -> schemas.ContractCancelationReason:
    reason = await modules.create_reason(session, admin, tenant.id, body.name)
    return schemas.ContractCancelationReason(
        cancelation_reason_id=reason.id, cancelation_reason_name=reason.name
    )


ModuleContractId = Annotated[Id, Path(alias="moduleContractId")]


@router.get(
    "/module-contracts/{moduleContractId}",
    response_model=schemas.AdditionalModuleContractExtended,
)
async def get_module_contract(
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    module_contract_id: ModuleContractId,
) -> schemas.AdditionalModuleContractExtended:
    contract = await modules.get_tenant_module_contract(session, tenant.id, module_contract_id)
    main = await service.get_contract(session, tenant.id, contract.main_contract_id)
    zone = await tenancy_service.studio_zone(session, main.studio_id)
    reason = (
        await session.get(CancelationReason, contract.cancelation_reason_id)
        if contract.cancelation_reason_id
        else None
    )
    return render_module_contract(
        contract, reason.name if reason else None, local_date(clock.now(), zone)
    )


@router.post(
    "/module-contracts/{moduleContractId}/amendment",
    response_model=schemas.AdditionalModuleContractExtended,
)
async def decide_amendment(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    module_contract_id: ModuleContractId,
    body: schemas.AmendmentDecision,
) -> schemas.AdditionalModuleContractExtended:
    """Approve or reject a pending cancelation (PENDING_VERIFICATION) or withdrawal
    (PENDING_WITHDRAWAL_VERIFICATION)."""
    contract = await modules.get_tenant_module_contract(session, tenant.id, module_contract_id)
    await modules.decide_amendment(session, admin, contract, body.approve)
    return await get_module_contract(tenant, session, clock, module_contract_id)
