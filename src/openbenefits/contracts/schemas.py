"""Wire shapes for contracts: the reference's Contract and its parts, and the admin API's."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self, get_args

from pydantic import Field, PlainSerializer, StringConstraints, model_validator

from openbenefits.contracts.models import CancelationStatus, ExtensionType, PaymentFrequencyType
from openbenefits.contracts.terms import TermUnit
from openbenefits.kit.schemas import (
    Id,
    PatchModel,
    ReferenceId,
    RequestModel,
    ResponseModel,
    StudioRequestModel,
)

# Amounts are exact decimals inside and JSON numbers on the wire, as the reference has them.
Amount = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
ContractStatus = Literal["ACTIVE", "INACTIVE"]


class Money(ResponseModel):
    amount: Amount
    currency: str


class Term(ResponseModel):
    value: int
    unit: TermUnit


class TimePeriod(ResponseModel):
    period_value: int
    period_unit: TermUnit


Month = Literal[
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
]
MONTHS: tuple[str, ...] = get_args(Month)


class MonthDay(ResponseModel):
    month: Month | None = None
    month_value: int | None = None
    day_of_month: int | None = None


class ContractMonthDayToPrice(ResponseModel):
    month_day: MonthDay
    price: Money


class ContractTermToPrice(ResponseModel):
    term: Term
    price: Money


class ContractPaymentFrequency(ResponseModel):
    id: int | None = None
    type: PaymentFrequencyType
    term: Term | None = None
    price: Money | None = None
    month_days_to_prices: list[ContractMonthDayToPrice] | None = None
    terms_to_prices: list[ContractTermToPrice] | None = None


class PriceDetails(ResponseModel):
    base_price: Money
    current_price: Money
    payment_frequency: ContractPaymentFrequency


class SubContract(ResponseModel):
    id: int
    rate_name: str
    start_date: date
    end_date: date | None = None
    payment_frequency: PaymentFrequencyType
    price: Amount = Field(deprecated=True)
    price_details: PriceDetails
    cancelled: bool
    cancellation_date: date | None = None
    cancellation_receipt_date: date | None = None
    contract_status: ContractStatus


class Contract(ResponseModel):
    id: int
    created_date: date
    start_date: date
    end_date: date
    rate_name: str
    contract_status: ContractStatus
    cancellation_period: TimePeriod | None = None
    cancelled: bool
    cancellation_date: date | None = None
    cancellation_receipt_date: date | None = None
    cancellation_reason: str | None = None
    price: Amount = Field(deprecated=True)
    price_details: PriceDetails
    last_possible_cancellation_date: date
    term: TimePeriod
    extension_term: TimePeriod
    flat_fee_contracts: list[SubContract] | None = None
    module_contracts: list[SubContract] | None = None
    signed_document_url: str | None = None
    third_party_id: str | None = None


# Admin API

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


# A term, extension or notice period lasts a century at most (1200 months, 100 years), so that
# the term arithmetic on the latest day the service takes stays within the calendar.
MAX_YEARS = 100


class _Span(RequestModel):
    value: int
    unit: TermUnit

    @model_validator(mode="after")
    def _at_most_a_century(self) -> Self:
        if self.unit is TermUnit.YEAR and self.value > MAX_YEARS:
            raise ValueError(f"a period lasts {MAX_YEARS} years at most")
        return self


class PeriodIn(_Span):
    value: Annotated[int, Field(ge=1, le=1200)]


class NoticeIn(_Span):
    value: Annotated[int, Field(ge=0, le=1200)]


Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class TermPriceIn(RequestModel):
    term: PeriodIn
    price: Price


class MonthDayPriceIn(RequestModel):
    month: Annotated[int, Field(ge=1, le=12)]
    day_of_month: Annotated[int, Field(ge=1, le=31)]
    price: Price


class PaymentFrequencyIn(RequestModel):
    type: PaymentFrequencyType
    term: PeriodIn | None = Field(default=None, description="The interval of RECURRING payments.")
    price: Price
    currency: Currency
    terms_to_prices: list[TermPriceIn] | None = Field(
        default=None, description="TERM_BASED only: the price for each term length."
    )
    month_days_to_prices: list[MonthDayPriceIn] | None = Field(
        default=None, description="MONTH_DAY only: the price due on each day of the year."
    )


class RateCreate(RequestModel):
    name: Name
    term: PeriodIn
    extension_term: PeriodIn
    cancellation_period: NoticeIn
    payment_frequencies: Annotated[list[PaymentFrequencyIn], Field(min_length=1, max_length=20)]


class PaymentFrequencyOut(ContractPaymentFrequency):
    id: int
    price: Money


class RateOut(ResponseModel):
    id: int
    name: str
    term: Term
    extension_term: Term
    cancellation_period: Term
    payment_frequencies: list[PaymentFrequencyOut]


class ContractCreate(RequestModel):
    customer_id: Id
    rate_id: Id
    payment_frequency_id: Id
    start_date: date
    studio_id: Id | None = Field(default=None, description="Defaults to the customer's studio.")
    third_party_id: Annotated[str, StringConstraints(max_length=100)] | None = None


class ContractCancel(RequestModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    receipt_date: date | None = Field(default=None, description="Defaults to today.")


# Additional modules (the studio Open API's memberships operations)


class TermInformationExtension(ResponseModel):
    extension_type: ExtensionType
    term_extension: Term | None = None
    extension_cancelation_period: Term | None = None


class TermInformation(ResponseModel):
    term: Term
    extension: TermInformationExtension | None = None
    cancelation_period: Term | None = None


class TrialPeriodConfig(ResponseModel):
    term: Term
    description: str | None = None


class AdditionalModule(ResponseModel):
    id: int
    name: str
    description: str | None = None
    image_url: str
    payment_frequencies: list[ContractPaymentFrequency]
    term_information: TermInformation
    trial_period_config: TrialPeriodConfig | None = None


class AdditionalModuleContractRequest(StudioRequestModel):
    additional_module_id: ReferenceId
    payment_frequency_id: ReferenceId
    book_trial_period: bool


ValidationStatus = Literal[
    "ADDITIONAL_MODULE_CONTRACT_ALREADY_PURCHASED",
    "ADDITIONAL_MODULE_CONTRACT_INVALID_STATUS",
    "ADDITIONAL_MODULE_NOT_FOUND",
    "ADDITIONAL_MODULE_NOT_ONLINE_PURCHASABLE",
    "ADDITIONAL_MODULE_TRIAL_PERIOD_NOT_BOOKABLE",
    "ADDITIONAL_MODULE_PURCHASABLE",
]


class AdditionalModuleContractValidationStatus(ResponseModel):
    validation_status: ValidationStatus


class AdditionalModuleContract(ResponseModel):
    id: int | None = None


class AdditionalModuleContractTrialPeriod(ResponseModel):
    term: Term | None = None
    start_date: date | None = None


class AdditionalModuleContractExtended(ResponseModel):
    name: str
    price: Money
    start_date: date
    end_date: date | None = None
    cancelation_date: date | None = None
    last_possible_cancelation_date: date | None = None
    cancelation_reason: str | None = None
    contract_cancelation_status: CancelationStatus | None = None
    contract_cancelation_can_be_withdrawn: bool
    trial_period: AdditionalModuleContractTrialPeriod | None = None
    available_cancelation_dates: list[date] | None = None


class AdditionalModuleContractCancelation(StudioRequestModel):
    cancelation_date: date
    cancelation_reason_id: ReferenceId


class VoidResult(ResponseModel):
    success: str | None = None


class ContractCancelationReason(ResponseModel):
    cancelation_reason_id: int
    cancelation_reason_name: str


# Admin API for modules


class ModuleExtensionIn(RequestModel):
    extension_type: ExtensionType
    term_extension: PeriodIn | None = None
    extension_cancelation_period: NoticeIn | None = None


class ModuleCreate(RequestModel):
    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    image_url: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=1000)] | None
    ) = None
    active: bool = True
    online_bookable: bool = True
    term: PeriodIn | None = None
    extension: ModuleExtensionIn | None = None
    cancelation_period: NoticeIn | None = None
    trial_period: PeriodIn | None = None
    payment_frequencies: Annotated[list[PaymentFrequencyIn], Field(max_length=20)] = []
    rate_ids: Annotated[list[Id], Field(max_length=200)] = Field(
        default=[], description="The rates whose contracts may book the module."
    )


class ModuleUpdate(PatchModel):
    active: bool | None = None
    online_bookable: bool | None = None


class ModuleOut(ResponseModel):
    id: int
    name: str
    description: str | None
    image_url: str | None
    active: bool
    online_bookable: bool
    visible: bool
    rate_ids: list[int]
    module: AdditionalModule | None = Field(
        default=None, description="How the Open API shows the module (when visible)."
    )


class CancelationReasonCreate(RequestModel):
    name: Name


class AmendmentDecision(RequestModel):
    approve: bool
