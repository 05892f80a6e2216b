"""Studio Open API: additional modules and module contracts (seed 002), at /v1/memberships."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.contracts import modules, schemas
from openbenefits.contracts.models import CancelationReason, MainContract
from openbenefits.contracts.views import render_module, render_module_contract
from openbenefits.kit.errors import NotFound
from openbenefits.kit.periods import local_date
from openbenefits.kit.routing import ClockDep, SessionDep, StudioRoute
from openbenefits.kit.schemas import ReferenceId, studio_error_responses
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.auth import studio_principal
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.tenancy.scopes import StudioScope as Scope

router = APIRouter(
    prefix="/v1/memberships",
    tags=["studio: additional modules"],
    route_class=StudioRoute,
    responses=studio_error_responses(400, 401, 403, 404, 409),
)
SelfServiceReader = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.MEMBERSHIP_SELF_SERVICE_READ))
]
ModuleReader = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_READ))
]
ModuleContractReader = Annotated[
    StudioPrincipal,
    Depends(studio_principal(Scope.MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_READ)),
]
ModuleContractWriter = Annotated[
    StudioPrincipal,
    Depends(studio_principal(Scope.MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_WRITE)),
]
ContractId = Annotated[ReferenceId, Path(alias="contractId")]
ModuleContractId = Annotated[ReferenceId, Path(alias="additionalModuleContractId")]


async def _main_contract(
    session: AsyncSession, principal: StudioPrincipal, contract_id: int
) -> MainContract:
    """The main contract, if it was signed in the calling studio (else it does not exist here)."""
    contract = await session.get(MainContract, contract_id)
    if contract is None or (contract.tenant_id, contract.studio_id) != (
        principal.tenant_id,
        principal.studio_id,
    ):
        raise NotFound(f"Contract {contract_id} not found.", code="CONTRACT_NOT_FOUND")
    return contract


async def _today(session: AsyncSession, clock: ClockDep, studio_id: int) -> date:
    return local_date(clock.now(), await tenancy_service.studio_zone(session, studio_id))


async def _visible_modules(session: AsyncSession, tenant_id: int) -> list[modules.ModuleOffer]:
    return [offer for offer in await modules.module_offers(session, tenant_id) if offer.visible]


@router.get(
    "/self-service/contract-cancelation-reasons",
    operation_id="getContractCancelationReasonData",
    response_model=list[schemas.ContractCancelationReason],
)
async def get_contract_cancelation_reasons(
    session: SessionDep, principal: SelfServiceReader
) -> list[schemas.ContractCancelationReason]:
    return [
        schemas.ContractCancelationReason(
            cancelation_reason_id=reason.id, cancelation_reason_name=reason.name
        )
        for reason in await modules.reasons(session, principal.tenant_id)
    ]


@router.get(
    "/self-service/additional-modules",
    operation_id="getAdditionalModules",
    response_model=list[schemas.AdditionalModule],
)
async def get_additional_modules(
    session: SessionDep, principal: ModuleReader
) -> list[schemas.AdditionalModule]:
    """Modules bookable online: active, online-bookable, with a term and a payment frequency."""
    return [
        render_module(offer.module, offer.frequencies)
        for offer in await _visible_modules(session, principal.tenant_id)
    ]


@router.get(
    "/{contractId}/self-service/additional-modules/purchasable",
    operation_id="getPurchasableAdditionalModules",
    response_model=list[schemas.AdditionalModule],
)
async def get_purchasable_additional_modules(
    session: SessionDep, clock: ClockDep, principal: ModuleReader, contract_id: ContractId
) -> list[schemas.AdditionalModule]:
    """Visible modules the contract's rate allows that it has not booked and running."""
    main = await _main_contract(session, principal, contract_id)
    today = await _today(session, clock, main.studio_id)
    offers = []
    for offer in await _visible_modules(session, principal.tenant_id):
        request = schemas.AdditionalModuleContractRequest(
            additional_module_id=offer.module.id,
            payment_frequency_id=offer.frequencies[0].id,
            book_trial_period=False,
        )
        if await modules.validate(session, main, request, today) == modules.PURCHASABLE:
            offers.append(render_module(offer.module, offer.frequencies))
    return offers


@router.post(
    "/{contractId}/self-service/additional-modules/validate",
    operation_id="validateAdditionalModuleContractRequest",
    response_model=schemas.AdditionalModuleContractValidationStatus,
)
async def validate_additional_module_contract_request(
    session: SessionDep,
    clock: ClockDep,
    principal: ModuleReader,
    contract_id: ContractId,
    body: schemas.AdditionalModuleContractRequest,
) -> schemas.AdditionalModuleContractValidationStatus:
    main = await _main_contract(session, principal, contract_id)
    status = await modules.validate(
        session, main, body, await _today(session, clock, main.studio_id)
    )
    return schemas.AdditionalModuleContractValidationStatus(validation_status=status)


@router.post(
    "/{contractId}/self-service/additional-modules/purchase",
    operation_id="purchaseAdditionalModuleContract",
    response_model=schemas.AdditionalModuleContract,
)
async def purchase_additional_module_contract(
    session: SessionDep,
    clock: ClockDep,
    principal: ModuleContractWriter,
    contract_id: ContractId,
    body: schemas.AdditionalModuleContractRequest,
) -> schemas.AdditionalModuleContract:
    """Book the module: 400 with the validation status as errorCode when it cannot be booked."""
    main = await _main_contract(session, principal, contract_id)
    contract = await modules.purchase(
        session, principal, main, body, await _today(session, clock, main.studio_id)
    )
    return schemas.AdditionalModuleContract(id=contract.id)


@router.get(
    "/{contractId}/self-service/additional-module-contracts/{additionalModuleContractId}",
    operation_id="getAdditionalModuleContract",
    response_model=schemas.AdditionalModuleContractExtended,
)
async def get_additional_module_contract(
    session: SessionDep,
    clock: ClockDep,
    principal: ModuleContractReader,
    contract_id: ContractId,
    module_contract_id: ModuleContractId,
) -> schemas.AdditionalModuleContractExtended:
    main = await _main_contract(session, principal, contract_id)
    contract = await modules.get_module_contract(session, main, module_contract_id)
    reason = (
        await session.get(CancelationReason, contract.cancelation_reason_id)
        if contract.cancelation_reason_id
        else None
    )
    return render_module_contract(
        contract, reason.name if reason else None, await _today(session, clock, main.studio_id)
    )


async def _direct(session: AsyncSession, principal: StudioPrincipal) -> tuple[bool, bool]:
    """Whether cancelation and withdrawal take effect at once: per the partner integration's
    configuration; the studio's own keys (no integration) act directly."""
    if principal.partner_integration_id is None:
        return True, True
    integration = await tenancy_service.get_integration(
        session, principal.tenant_id, principal.partner_integration_id
    )
    return integration.direct_cancelation, integration.direct_withdrawal


@router.post(
    "/{contractId}/self-service/additional-module-contracts/{additionalModuleContractId}"
    "/ordinary-cancelation",
    operation_id="createModuleContractCancelationAmendment",
    response_model=schemas.VoidResult,
)
async def create_module_contract_cancelation_amendment(
    session: SessionDep,
    clock: ClockDep,
    principal: ModuleContractWriter,
    contract_id: ContractId,
    module_contract_id: ModuleContractId,
    body: schemas.AdditionalModuleContractCancelation,
) -> schemas.VoidResult:
    """Cancel on one of the available dates, directly or as an amendment awaiting approval."""
    main = await _main_contract(session, principal, contract_id)
    contract = await modules.get_module_contract(session, main, module_contract_id)
    direct, _ = await _direct(session, principal)
    await modules.cancel(
        session,
        principal,
        contract,
        body,
        await _today(session, clock, main.studio_id),
        direct=direct,
    )
    return schemas.VoidResult(success="true")


@router.post(
    "/{contractId}/self-service/additional-module-contracts/{additionalModuleContractId}"
    "/withdraw-cancelation",
    operation_id="withdrawAdditionalModuleContractCancelation",
    response_model=schemas.VoidResult,
)
async def withdraw_additional_module_contract_cancelation(
    session: SessionDep,
    clock: ClockDep,
    principal: ModuleContractWriter,
    contract_id: ContractId,
    module_contract_id: ModuleContractId,
) -> schemas.VoidResult:
    main = await _main_contract(session, principal, contract_id)
    contract = await modules.get_module_contract(session, main, module_contract_id)
    _, direct = await _direct(session, principal)
    await modules.withdraw(
        session, principal, contract, await _today(session, clock, main.studio_id), direct=direct
    )
    return schemas.VoidResult(success="true")
