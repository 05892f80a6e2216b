"""A main contract as the studio Open API shows it, at a given day."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from openbenefits.contracts import schemas
from openbenefits.contracts.models import (
    AdditionalModule,
    CancelationStatus,
    MainContract,
    ModuleContract,
    ModulePaymentFrequency,
    PaymentFrequencyType,
    RatePaymentFrequency,
)
from openbenefits.contracts.terms import (
    Period,
    current_term_end,
    earliest_end,
    notice_deadline,
    term_end,
)


@dataclass(frozen=True)
class ContractState:
    """What a contract is on ``today``: its current end, status and cancellation deadline."""

    end_date: date
    active: bool
    last_possible_cancellation_date: date


def contract_state(contract: MainContract, today: date) -> ContractState:
    if contract.cancellation_date is not None:
        end = contract.cancellation_date
        deadline = notice_deadline(end, contract.cancellation_period)
    else:
        end = current_term_end(contract.start_date, contract.term, contract.extension_term, today)
        deadline = notice_deadline(
            earliest_end(
                contract.start_date,
                contract.term,
                contract.extension_term,
                contract.cancellation_period,
                today,
            ),
            contract.cancellation_period,
        )
    return ContractState(end, contract.start_date <= today <= end, deadline)


# How many upcoming term ends a module contract offers as cancelation dates.
OFFERED_CANCELATION_DATES = 6


@dataclass(frozen=True)
class ModuleContractState:
    end_date: date
    running: bool
    available_cancelation_dates: list[date]
    last_possible_cancelation_date: date | None


def module_contract_state(contract: ModuleContract, today: date) -> ModuleContractState:
    """A module contract on ``today``: it runs until its cancelation date once cancelled, else
    term after term; it can be cancelled for any of the next term ends whose notice deadline
    has not passed."""
    notice = contract.cancelation_period
    if contract.cancelation_status is CancelationStatus.CANCELED:
        assert contract.cancelation_date is not None
        return ModuleContractState(
            contract.cancelation_date, today <= contract.cancelation_date, [], None
        )
    end = current_term_end(contract.start_date, contract.term, contract.extension_term, today)
    if contract.extension_term is None and today > end:
        return ModuleContractState(end, False, [], None)
    first = earliest_end(contract.start_date, contract.term, contract.extension_term, notice, today)
    offered = [first]
    while contract.extension_term is not None and len(offered) < OFFERED_CANCELATION_DATES:
        offered.append(term_end(offered[-1] + timedelta(days=1), contract.extension_term))
    return ModuleContractState(end, True, offered, notice_deadline(first, notice))


def can_be_withdrawn(contract: ModuleContract, today: date) -> bool:
    return (
        contract.cancelation_status
        in (CancelationStatus.CANCELED, CancelationStatus.PENDING_VERIFICATION)
        and contract.cancelation_date is not None
        and contract.cancelation_date >= today
    )


def _period(period: Period) -> schemas.TimePeriod:
    return schemas.TimePeriod(period_value=period.value, period_unit=period.unit)


def payment_frequency(
    frequency: RatePaymentFrequency | ModulePaymentFrequency,
) -> schemas.PaymentFrequencyOut:
    def money(amount: object) -> schemas.Money:
        return schemas.Money(amount=Decimal(str(amount)), currency=frequency.currency)

    term = (
        schemas.Term(value=frequency.term_value, unit=frequency.term_unit)
        if frequency.term_value is not None and frequency.term_unit is not None
        else None
    )
    table = frequency.price_table or []
    by_term = [
        schemas.ContractTermToPrice(
            term=schemas.Term(value=row["termValue"], unit=row["termUnit"]),
            price=money(row["price"]),
        )
        for row in table
        if frequency.type is PaymentFrequencyType.TERM_BASED
    ]
    by_day = [
        schemas.ContractMonthDayToPrice(
            month_day=schemas.MonthDay(
                month=schemas.MONTHS[row["month"] - 1],
                month_value=row["month"],
                day_of_month=row["day"],
            ),
            price=money(row["price"]),
        )
        for row in table
        if frequency.type is PaymentFrequencyType.MONTH_DAY
    ]
    return schemas.PaymentFrequencyOut(
        id=frequency.id,
        type=frequency.type,
        term=term,
        price=money(frequency.price),
        terms_to_prices=by_term or None,
        month_days_to_prices=by_day or None,
    )


def _term(value: int | None, unit: object) -> schemas.Term | None:
    return (
        schemas.Term.model_validate({"value": value, "unit": unit}) if value is not None else None
    )


def render_module(
    module: AdditionalModule, frequencies: list[ModulePaymentFrequency]
) -> schemas.AdditionalModule:
    term = _term(module.term_value, module.term_unit)
    assert term is not None
    extension = (
        schemas.TermInformationExtension(
            extension_type=module.extension_type,
            term_extension=_term(module.extension_term_value, module.extension_term_unit),
            extension_cancelation_period=_term(
                module.extension_cancelation_period_value, module.extension_cancelation_period_unit
            ),
        )
        if module.extension_type is not None
        else None
    )
    trial = _term(module.trial_term_value, module.trial_term_unit)
    return schemas.AdditionalModule(
        id=module.id,
        name=module.name,
        description=module.description,
        image_url=module.image_url or "",
        payment_frequencies=[payment_frequency(f) for f in frequencies],
        term_information=schemas.TermInformation(
            term=term,
            extension=extension,
            cancelation_period=_term(
                module.cancelation_period_value, module.cancelation_period_unit
            ),
        ),
        trial_period_config=schemas.TrialPeriodConfig(term=trial) if trial else None,
    )


def render_module_contract(
    contract: ModuleContract, reason: str | None, today: date
) -> schemas.AdditionalModuleContractExtended:
    state = module_contract_state(contract, today)
    trial = _term(contract.trial_term_value, contract.trial_term_unit)
    return schemas.AdditionalModuleContractExtended(
        name=contract.name,
        price=schemas.Money(amount=contract.price, currency=contract.currency),
        start_date=contract.start_date,
        end_date=state.end_date,
        cancelation_date=contract.cancelation_date,
        last_possible_cancelation_date=state.last_possible_cancelation_date,
        cancelation_reason=reason,
        contract_cancelation_status=contract.cancelation_status,
        contract_cancelation_can_be_withdrawn=can_be_withdrawn(contract, today),
        trial_period=schemas.AdditionalModuleContractTrialPeriod(
            term=trial, start_date=contract.trial_start_date
        )
        if trial
        else None,
        available_cancelation_dates=state.available_cancelation_dates,
    )


def render_sub_contract(
    contract: ModuleContract, frequency: ModulePaymentFrequency, today: date
) -> schemas.SubContract:
    state = module_contract_state(contract, today)
    price = schemas.Money(amount=contract.price, currency=contract.currency)
    return schemas.SubContract(
        id=contract.id,
        rate_name=contract.name,
        start_date=contract.start_date,
        end_date=state.end_date,
        payment_frequency=frequency.type,
        price=contract.price,
        price_details=schemas.PriceDetails(
            base_price=price, current_price=price, payment_frequency=payment_frequency(frequency)
        ),
        cancelled=contract.cancelation_status is not None,
        cancellation_date=contract.cancelation_date,
        cancellation_receipt_date=contract.cancelation_receipt_date,
        contract_status="ACTIVE" if state.running and contract.start_date <= today else "INACTIVE",
    )


def render_contract(
    contract: MainContract,
    frequency: RatePaymentFrequency,
    today: date,
    modules: list[schemas.SubContract] | None = None,
) -> schemas.Contract:
    state = contract_state(contract, today)
    return schemas.Contract(
        id=contract.id,
        created_date=contract.created_date,
        start_date=contract.start_date,
        end_date=state.end_date,
        rate_name=contract.rate_name,
        contract_status="ACTIVE" if state.active else "INACTIVE",
        cancellation_period=_period(contract.cancellation_period),
        cancelled=contract.cancellation_date is not None,
        cancellation_date=contract.cancellation_date,
        cancellation_receipt_date=contract.cancellation_receipt_date,
        cancellation_reason=contract.cancellation_reason,
        price=contract.current_price,
        price_details=schemas.PriceDetails(
            base_price=schemas.Money(amount=contract.base_price, currency=contract.currency),
            current_price=schemas.Money(amount=contract.current_price, currency=contract.currency),
            payment_frequency=payment_frequency(frequency),
        ),
        last_possible_cancellation_date=state.last_possible_cancellation_date,
        term=_period(contract.term),
        extension_term=_period(contract.extension_term),
        flat_fee_contracts=[],
        module_contracts=modules or [],
        third_party_id=contract.third_party_id,
    )
