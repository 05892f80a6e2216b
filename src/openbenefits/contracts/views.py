"""A main contract as the studio Open API shows it, at a given day."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openbenefits.contracts import schemas
from openbenefits.contracts.models import MainContract, PaymentFrequencyType, RatePaymentFrequency
from openbenefits.contracts.terms import Period, current_term_end, earliest_end, notice_deadline


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


def _period(period: Period) -> schemas.TimePeriod:
    return schemas.TimePeriod(period_value=period.value, period_unit=period.unit)


def payment_frequency(frequency: RatePaymentFrequency) -> schemas.PaymentFrequencyOut:
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


def render_contract(
    contract: MainContract, frequency: RatePaymentFrequency, today: date
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
        module_contracts=[],
        third_party_id=contract.third_party_id,
    )
