"""Additional modules: configuration, visibility, validation, purchase, and the cancelation of
module contracts (directly or by an amendment an operator approves)."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.contracts import schemas
from openbenefits.contracts.models import (
    AdditionalModule,
    CancelationReason,
    CancelationStatus,
    ExtensionType,
    MainContract,
    ModuleContract,
    ModulePaymentFrequency,
    ModuleRate,
)
from openbenefits.contracts.service import check_frequency, get_rate, price_table
from openbenefits.contracts.terms import Period
from openbenefits.contracts.views import can_be_withdrawn, contract_state, module_contract_state
from openbenefits.customers.models import Customer
from openbenefits.kit import outbox
from openbenefits.kit.audit import Actor, record_change
from openbenefits.kit.errors import Conflict, InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams
from openbenefits.webhooks.schemas import EventType

PURCHASABLE = "ADDITIONAL_MODULE_PURCHASABLE"


async def _changed(
    session: AsyncSession, main: MainContract, contract: ModuleContract, kind: EventType
) -> None:
    """A module contract changed: its own event, and CONTRACT_UPDATED for the main contract (the
    event partners follow, per seed 002), both in order with the main contract's other events."""
    for event_type, content in (
        (kind, {"contractId": main.id, "moduleContractId": contract.id}),
        (EventType.CONTRACT_UPDATED, {"contractId": main.id, "customerId": main.customer_id}),
    ):
        await outbox.emit(
            session,
            tenant_id=main.tenant_id,
            event_type=event_type,
            entity_id=main.id,
            content=content,
            studio_id=main.studio_id,
        )


# Configuration


def _period(value: int | None, unit: object) -> Period | None:
    return Period(value, unit) if value is not None and unit is not None else None  # type: ignore[arg-type]


async def create_module(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.ModuleCreate
) -> AdditionalModule:
    for index, frequency in enumerate(data.payment_frequencies):
        check_frequency(index, frequency)
    extension = data.extension
    if (
        extension
        and extension.extension_type is ExtensionType.TERM_EXTENSION
        and not extension.term_extension
    ):
        raise InvalidRequest(
            "A TERM_EXTENSION needs its termExtension.",
            code="EXTENSION_TERM_REQUIRED",
            reference="extension.termExtension",
        )
    module = AdditionalModule(
        tenant_id=tenant_id,
        name=data.name,
        description=data.description,
        image_url=data.image_url,
        active=data.active,
        online_bookable=data.online_bookable,
        term_value=data.term.value if data.term else None,
        term_unit=data.term.unit if data.term else None,
        extension_type=extension.extension_type if extension else None,
        extension_term_value=extension.term_extension.value
        if extension and extension.term_extension
        else None,
        extension_term_unit=extension.term_extension.unit
        if extension and extension.term_extension
        else None,
        extension_cancelation_period_value=extension.extension_cancelation_period.value
        if extension and extension.extension_cancelation_period
        else None,
        extension_cancelation_period_unit=extension.extension_cancelation_period.unit
        if extension and extension.extension_cancelation_period
        else None,
        cancelation_period_value=data.cancelation_period.value if data.cancelation_period else None,
        cancelation_period_unit=data.cancelation_period.unit if data.cancelation_period else None,
        trial_term_value=data.trial_period.value if data.trial_period else None,
        trial_term_unit=data.trial_period.unit if data.trial_period else None,
    )
    session.add(module)
    await session.flush()
    session.add_all(
        ModulePaymentFrequency(
            tenant_id=tenant_id,
            module_id=module.id,
            type=f.type,
            term_value=f.term.value if f.term else None,
            term_unit=f.term.unit if f.term else None,
            price=f.price,
            currency=f.currency,
            price_table=price_table(f),
        )
        for f in data.payment_frequencies
    )
    for rate_id in sorted(set(data.rate_ids)):
        await get_rate(session, tenant_id, rate_id)
        session.add(ModuleRate(module_id=module.id, rate_id=rate_id))
    await session.flush()
    record_change(session, actor, "additional_module.created", module, name=module.name)
    return module


async def get_module(session: AsyncSession, tenant_id: int, module_id: int) -> AdditionalModule:
    module = await session.scalar(
        select(AdditionalModule).where(
            AdditionalModule.id == module_id, AdditionalModule.tenant_id == tenant_id
        )
    )
    if module is None:
        raise NotFound(
            f"Additional module {module_id} not found.", code="ADDITIONAL_MODULE_NOT_FOUND"
        )
    return module


@dataclass(frozen=True)
class ModuleOffer:
    """A module with what decides its visibility and purchase: frequencies and allowed rates."""

    module: AdditionalModule
    frequencies: list[ModulePaymentFrequency]
    rate_ids: frozenset[int]

    @property
    def hidden_because(self) -> list[str]:
        """Why the Open API does not show the module (nothing when it does)."""
        module = self.module
        reasons = {
            "inactive": not module.active,
            "not online-bookable": not module.online_bookable,
            "no term": module.term_value is None,
            "no payment frequency": not self.frequencies,
        }
        return [reason for reason, applies in reasons.items() if applies]

    @property
    def visible(self) -> bool:
        return not self.hidden_because


async def module_offers(
    session: AsyncSession, tenant_id: int, module_ids: list[int] | None = None
) -> list[ModuleOffer]:
    """The tenant's modules (or the given ones) with their frequencies and rates, in 3 queries."""
    statement = select(AdditionalModule).where(AdditionalModule.tenant_id == tenant_id)
    if module_ids is not None:
        statement = statement.where(AdditionalModule.id.in_(module_ids))
    modules = list(await session.scalars(statement.order_by(AdditionalModule.id)))
    ids = [m.id for m in modules]
    frequencies: dict[int, list[ModulePaymentFrequency]] = {i: [] for i in ids}
    for f in await session.scalars(
        select(ModulePaymentFrequency)
        .where(ModulePaymentFrequency.module_id.in_(ids))
        .order_by(ModulePaymentFrequency.id)
    ):
        frequencies[f.module_id].append(f)
    rates: dict[int, set[int]] = {i: set() for i in ids}
    for link in await session.scalars(select(ModuleRate).where(ModuleRate.module_id.in_(ids))):
        rates[link.module_id].add(link.rate_id)
    return [ModuleOffer(m, frequencies[m.id], frozenset(rates[m.id])) for m in modules]


async def update_module(
    session: AsyncSession, actor: Actor, module: AdditionalModule, data: schemas.ModuleUpdate
) -> AdditionalModule:
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(module, field, value)
    record_change(session, actor, "additional_module.updated", module, **changes)
    return module


# Cancelation reasons


async def create_reason(
    session: AsyncSession, actor: Actor, tenant_id: int, name: str
) -> CancelationReason:
    reason = CancelationReason(tenant_id=tenant_id, name=name)
    session.add(reason)
    await session.flush()
    record_change(session, actor, "cancelation_reason.created", reason)
    return reason


async def reasons(session: AsyncSession, tenant_id: int) -> list[CancelationReason]:
    return list(
        await session.scalars(
            select(CancelationReason)
            .where(CancelationReason.tenant_id == tenant_id)
            .order_by(CancelationReason.id)
        )
    )


# Validation and purchase


async def _running_module(
    session: AsyncSession, main: MainContract, module_id: int, today: date
) -> bool:
    for booked in await session.scalars(
        select(ModuleContract).where(
            ModuleContract.main_contract_id == main.id, ModuleContract.module_id == module_id
        )
    ):
        if module_contract_state(booked, today).running:
            return True
    return False


async def validate(
    session: AsyncSession,
    main: MainContract,
    request: schemas.AdditionalModuleContractRequest,
    today: date,
) -> str:
    """One of the reference's six validation statuses for booking ``request`` onto ``main``."""
    offers = await module_offers(session, main.tenant_id, [request.additional_module_id])
    if not offers or request.payment_frequency_id not in {f.id for f in offers[0].frequencies}:
        return "ADDITIONAL_MODULE_NOT_FOUND"
    offer = offers[0]
    if not contract_state(main, today).active or main.cancellation_date is not None:
        return "ADDITIONAL_MODULE_CONTRACT_INVALID_STATUS"
    if not offer.visible or main.rate_id not in offer.rate_ids:
        return "ADDITIONAL_MODULE_NOT_ONLINE_PURCHASABLE"
    if await _running_module(session, main, offer.module.id, today):
        return "ADDITIONAL_MODULE_CONTRACT_ALREADY_PURCHASED"
    if request.book_trial_period and offer.module.trial_term_value is None:
        return "ADDITIONAL_MODULE_TRIAL_PERIOD_NOT_BOOKABLE"
    return PURCHASABLE


async def purchase(
    session: AsyncSession,
    actor: Actor,
    main: MainContract,
    request: schemas.AdditionalModuleContractRequest,
    today: date,
) -> ModuleContract:
    """Book the module onto ``main``. The main contract's row is locked first, so concurrent
    purchases of one module queue and the second sees the first (one contract, not two)."""
    await session.refresh(main, with_for_update=True)
    status = await validate(session, main, request, today)
    if status != PURCHASABLE:
        raise InvalidRequest(f"The module cannot be purchased: {status}.", code=status)
    (offer,) = await module_offers(session, main.tenant_id, [request.additional_module_id])
    module = offer.module
    frequency = next(f for f in offer.frequencies if f.id == request.payment_frequency_id)
    assert module.term_value is not None
    assert module.term_unit is not None
    start = max(today, main.start_date)
    trial = (
        _period(module.trial_term_value, module.trial_term_unit)
        if request.book_trial_period
        else None
    )
    extension = (
        _period(module.extension_term_value, module.extension_term_unit)
        if module.extension_type is ExtensionType.TERM_EXTENSION
        else Period(module.term_value, module.term_unit)
        if module.extension_type is ExtensionType.NEW
        else None
    )
    notice = _period(module.cancelation_period_value, module.cancelation_period_unit) or Period(
        0, module.term_unit
    )
    contract = ModuleContract(
        tenant_id=main.tenant_id,
        main_contract_id=main.id,
        module_id=module.id,
        name=module.name,
        payment_frequency_id=frequency.id,
        price=frequency.price,
        currency=frequency.currency,
        created_date=today,
        trial_start_date=start if trial else None,
        trial_term_value=trial.value if trial else None,
        trial_term_unit=trial.unit if trial else None,
        start_date=start,
        term_value=module.term_value,
        term_unit=module.term_unit,
        extension_term_value=extension.value if extension else None,
        extension_term_unit=extension.unit if extension else None,
        cancelation_period_value=notice.value,
        cancelation_period_unit=notice.unit,
    )
    session.add(contract)
    await session.flush()
    record_change(
        session, actor, "module_contract.created", contract, contractId=main.id, moduleId=module.id
    )
    await _changed(session, main, contract, EventType.CONTRACT_ADDITIONAL_MODULE_CREATED)
    return contract


async def module_contracts_of(
    session: AsyncSession, main_ids: list[int]
) -> dict[int, list[ModuleContract]]:
    found: dict[int, list[ModuleContract]] = {i: [] for i in main_ids}
    for contract in await session.scalars(
        select(ModuleContract)
        .where(ModuleContract.main_contract_id.in_(main_ids))
        .order_by(ModuleContract.id)
    ):
        found[contract.main_contract_id].append(contract)
    return found


async def payment_frequencies_by_id(
    session: AsyncSession, ids: list[int]
) -> dict[int, ModulePaymentFrequency]:
    return {
        f.id: f
        for f in await session.scalars(
            select(ModulePaymentFrequency).where(ModulePaymentFrequency.id.in_(ids))
        )
    }


async def get_module_contract(
    session: AsyncSession, main: MainContract, module_contract_id: int
) -> ModuleContract:
    contract = await session.scalar(
        select(ModuleContract).where(
            ModuleContract.id == module_contract_id, ModuleContract.main_contract_id == main.id
        )
    )
    if contract is None:
        raise NotFound(
            f"Additional module contract {module_contract_id} not found.",
            code="ADDITIONAL_MODULE_CONTRACT_NOT_FOUND",
        )
    return contract


# Cancelation and withdrawal


async def cancel(
    session: AsyncSession,
    actor: Actor,
    contract: ModuleContract,
    request: schemas.AdditionalModuleContractCancelation,
    today: date,
    *,
    direct: bool,
) -> ModuleContract:
    """An ordinary cancelation on one of the offered dates: in effect at once when ``direct``,
    otherwise an amendment waiting for an operator (PENDING_VERIFICATION)."""
    if contract.cancelation_status is not None:
        raise Conflict("The module contract is already cancelled.", code="ALREADY_CANCELED")
    state = module_contract_state(contract, today)
    if request.cancelation_date not in state.available_cancelation_dates:
        raise InvalidRequest(
            "cancelationDate is not one of the available cancelation dates.",
            code="CANCELATION_DATE_NOT_AVAILABLE",
            reference="cancelationDate",
        )
    reason = await session.scalar(
        select(CancelationReason.id).where(
            CancelationReason.id == request.cancelation_reason_id,
            CancelationReason.tenant_id == contract.tenant_id,
        )
    )
    if reason is None:
        raise InvalidRequest(
            "The cancelation reason does not exist.",
            code="CANCELATION_REASON_NOT_FOUND",
            reference="cancelationReasonId",
        )
    contract.cancelation_date = request.cancelation_date
    contract.cancelation_receipt_date = today
    contract.cancelation_reason_id = reason
    contract.cancelation_status = (
        CancelationStatus.CANCELED if direct else CancelationStatus.PENDING_VERIFICATION
    )
    record_change(session, actor, "module_contract.cancelation_requested", contract, direct=direct)
    await _emit_state(session, contract)
    return contract


async def _emit_state(session: AsyncSession, contract: ModuleContract) -> None:
    main = await session.get_one(MainContract, contract.main_contract_id)
    kind = (
        EventType.CONTRACT_ADDITIONAL_MODULE_CANCELLED
        if contract.cancelation_status is CancelationStatus.CANCELED
        else EventType.CONTRACT_ADDITIONAL_MODULE_UPDATED
    )
    await _changed(session, main, contract, kind)


def _clear_cancelation(contract: ModuleContract) -> None:
    contract.cancelation_status = None
    contract.cancelation_date = None
    contract.cancelation_receipt_date = None
    contract.cancelation_reason_id = None


async def withdraw(
    session: AsyncSession, actor: Actor, contract: ModuleContract, today: date, *, direct: bool
) -> ModuleContract:
    """Withdraw a cancelation: an unapproved one simply goes; an approved one goes at once when
    ``direct``, otherwise by an amendment (PENDING_WITHDRAWAL_VERIFICATION)."""
    if not can_be_withdrawn(contract, today):
        raise InvalidRequest(
            "There is no cancelation that can be withdrawn.", code="CANCELATION_NOT_WITHDRAWABLE"
        )
    if direct or contract.cancelation_status is CancelationStatus.PENDING_VERIFICATION:
        _clear_cancelation(contract)
    else:
        contract.cancelation_status = CancelationStatus.PENDING_WITHDRAWAL_VERIFICATION
    record_change(session, actor, "module_contract.withdrawal_requested", contract, direct=direct)
    await _emit_state(session, contract)
    return contract


async def decide_amendment(
    session: AsyncSession, actor: Actor, contract: ModuleContract, approve: bool
) -> ModuleContract:
    """An operator's verdict on a pending cancelation or withdrawal."""
    status = contract.cancelation_status
    if status is CancelationStatus.PENDING_VERIFICATION:
        if approve:
            contract.cancelation_status = CancelationStatus.CANCELED
        else:
            _clear_cancelation(contract)
    elif status is CancelationStatus.PENDING_WITHDRAWAL_VERIFICATION:
        if approve:
            _clear_cancelation(contract)
        else:
            contract.cancelation_status = CancelationStatus.CANCELED
    else:
        raise Conflict("Nothing is waiting for approval.", code="NO_PENDING_AMENDMENT")
    record_change(session, actor, "module_contract.amendment_decided", contract, approve=approve)
    await _emit_state(session, contract)
    return contract


PENDING = (
    CancelationStatus.PENDING_VERIFICATION,
    CancelationStatus.PENDING_WITHDRAWAL_VERIFICATION,
)


@dataclass(frozen=True)
class Amendment:
    """A cancelation or withdrawal waiting for an operator, with whose contract it is."""

    contract: ModuleContract
    main: MainContract
    customer: Customer


async def pending_amendments(
    session: AsyncSession,
    tenant_id: int,
    studio_ids: Collection[int] | None,
    params: PageParams,
) -> tuple[list[Amendment], int]:
    """A page of the tenant's pending amendments, oldest first (of customers whose home studio
    is in ``studio_ids``, when given)."""
    statement = (
        select(ModuleContract, MainContract, Customer)
        .join(MainContract, MainContract.id == ModuleContract.main_contract_id)
        .join(Customer, Customer.id == MainContract.customer_id)
        .where(
            ModuleContract.tenant_id == tenant_id, ModuleContract.cancelation_status.in_(PENDING)
        )
    )
    if studio_ids is not None:
        statement = statement.where(Customer.studio_id.in_(sorted(studio_ids)))
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.execute(
        statement.order_by(ModuleContract.id).limit(params.per_page).offset(params.offset)
    )
    return [Amendment(*row) for row in rows], total or 0


async def get_tenant_module_contract(
    session: AsyncSession, tenant_id: int, module_contract_id: int
) -> ModuleContract:
    contract = await session.scalar(
        select(ModuleContract).where(
            ModuleContract.id == module_contract_id, ModuleContract.tenant_id == tenant_id
        )
    )
    if contract is None:
        raise NotFound(
            f"Additional module contract {module_contract_id} not found.",
            code="ADDITIONAL_MODULE_CONTRACT_NOT_FOUND",
        )
    return contract
