"""Wire shapes of the loyalty programs API (seed 003): camelCase, as in the seed's examples."""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from openbenefits.kit.durations import DayTimeDuration
from openbenefits.kit.schemas import (
    Id,
    Instant,
    InstantOut,
    Omittable,
    RequestModel,
    ResponseModel,
    in_utc,
    within_calendar,
)
from openbenefits.loyalty.models import PointsTransactionType, ProgramType
from openbenefits.loyalty.versions import VersionStatus

# An instant (kept in UTC), or (without a time) a day in the organisation's time zone; checked
# against the calendar once it is one or the other.
TravelDate = Annotated[
    AwareDatetime | date,
    Field(union_mode="left_to_right"),
    AfterValidator(within_calendar),
    AfterValidator(in_utc),
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[ -~]+$")
]
ProgramCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,100}$")
]
LanguageCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2,3}$")
]
MAX_CUSTOMER_NUMBER = 10**15
CustomerNumber = Annotated[int, Field(ge=1, le=MAX_CUSTOMER_NUMBER)]
CouponsLimit = Annotated[int, Field(ge=0, le=100_000)]
# Points and discounts: positive, at most two decimals.
CENT = Decimal("0.01")
# The most a balance may hold: what the ledger's columns hold, 18 digits (2 of them decimals),
# as an amount.
MAX_POINTS = Decimal("9999999999999999.99")
# Kept to the cent, so an answer reads the same whether just written or read back.
PositiveAmount = Annotated[
    Decimal,
    Field(gt=0, max_digits=18, decimal_places=2),
    AfterValidator(lambda d: d.quantize(CENT)),
]
PointsType = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_:-]{1,50}$")
]


class Description(RequestModel):
    language_code: LanguageCode
    description: LongText
    display_name: Text | None = None


class DescriptionOut(ResponseModel):
    language_code: str
    description: str
    display_name: str | None = None
    created_at: InstantOut
    created_by: str
    last_changed_at: InstantOut
    last_changed_by: str


def _unique_languages(descriptions: list[Description] | None) -> list[Description] | None:
    languages = [d.language_code for d in descriptions or []]
    if len(set(languages)) != len(languages):
        raise ValueError("one description per languageCode")
    return descriptions


COUPON_VALIDITY = "COUPONS: how long the contract one used coupon creates lasts."


class VersionFields(RequestModel):
    """What a version may set; in a new version, whatever is omitted is copied from the
    previous one. A version always starts, and a COUPONS version always has coupons: those
    members may be left out, not emptied."""

    product_version: Text | None = None
    start_date: Omittable[Instant] = None
    end_date: Instant | None = None
    usage_validity_period: DayTimeDuration | None = None
    default_coupons_limit: Omittable[CouponsLimit] = None
    coupon_validity_period: Omittable[DayTimeDuration] = Field(
        default=None, description=COUPON_VALIDITY
    )
    descriptions: list[Description] | None = None

    _languages = field_validator("descriptions")(_unique_languages)

    @model_validator(mode="after")
    def _dates_ordered(self) -> Self:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("endDate must not be before startDate")
        return self


class ProgramCreate(VersionFields):
    loyalty_program_type: ProgramType
    product_id: Text
    internal_description: LongText | None = None
    start_date: Instant
    # Only COUPONS programs have coupons: for the others, null is as good as absent.
    default_coupons_limit: CouponsLimit | None = None
    coupon_validity_period: DayTimeDuration | None = Field(
        default=None, description=COUPON_VALIDITY
    )
    loyalty_program_code: ProgramCode | None = None
    allow_other_organisations: bool = Field(
        default=False,
        description="Whether other organisations may connect their customers as consumers.",
    )

    @model_validator(mode="after")
    def _coupons_only_for_coupons(self) -> Self:
        coupons = self.loyalty_program_type == ProgramType.COUPONS
        if coupons and self.default_coupons_limit is None:
            raise ValueError("a COUPONS program needs defaultCouponsLimit")
        if not coupons and (
            self.default_coupons_limit is not None or self.coupon_validity_period is not None
        ):
            raise ValueError("only COUPONS programs have coupons")
        return self


class VersionOut(ResponseModel):
    id: int
    organisation_id: int
    loyalty_program_id: int
    internal_description: str | None
    product_id: str
    product_version: str | None
    start_date: InstantOut
    end_date: InstantOut | None
    usage_validity_period: DayTimeDuration | None
    default_coupons_limit: int | None
    coupon_validity_period: DayTimeDuration | None
    version_number: int
    status: VersionStatus
    descriptions: list[DescriptionOut]


class ProgramOut(VersionOut):
    """The program with its effective version: the CURRENT one, else the DRAFT, else the
    latest; ``status`` is the program's (CURRENT while any version is)."""

    id: int
    loyalty_program_type: ProgramType
    loyalty_program_code: str | None
    allow_other_organisations: bool
    version_id: int
    created_at: InstantOut
    created_by: str


class Policy(RequestModel):
    key: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    ]
    value: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class PolicyOut(ResponseModel):
    id: int
    key: str


class ContractCreate(RequestModel):
    consumable_from: Instant
    expiration_date: Instant | None = Field(
        default=None, description="Default: consumableFrom plus the usage validity period."
    )
    customer_number: CustomerNumber | None = Field(
        default=None, description="Your customer to make the contract holder."
    )
    customer_ref: Reference | None = None
    external_ref: Reference | None = None
    policies: Annotated[list[Policy], Field(max_length=20)] = []
    coupons_limit: CouponsLimit | None = Field(
        default=None, description="COUPONS: default from the program's version."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        keys = [p.key for p in self.policies]
        if len(set(keys)) != len(keys):
            raise ValueError("policy keys must be unique")
        if self.expiration_date and self.expiration_date <= self.consumable_from:
            raise ValueError("expirationDate must be after consumableFrom")
        if self.customer_ref is not None and self.customer_number is None:
            raise ValueError("customerRef needs customerNumber")
        return self


class ConsumerCreate(RequestModel):
    customer_organisation_id: Id
    customer_number: CustomerNumber
    customer_ref: Reference | None = None
    is_contract_holder: bool = False
    policy_validation_properties: dict[str, Annotated[str, StringConstraints(max_length=1000)]] = {}


class ConsumerOut(ResponseModel):
    customer_organisation_id: int
    customer_number: int
    customer_ref: str | None
    is_blocked: bool
    is_contract_holder: bool
    created_at: InstantOut
    created_by: str
    last_changed_at: InstantOut
    last_changed_by: str


class ConsumerBlock(RequestModel):
    is_blocked: bool


class OrderLineEventCreate(RequestModel):
    order_id: Reference
    order_line_id: Reference
    discount: (
        Annotated[
            Decimal,
            Field(ge=0, max_digits=18, decimal_places=2),
            AfterValidator(lambda d: d.quantize(CENT)),
        ]
        | None
    ) = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    occurred_at: Instant | None = Field(default=None, description="Default: now.")

    @model_validator(mode="after")
    def _currency_with_discount(self) -> Self:
        if (self.discount is None) != (self.currency is None):
            raise ValueError("discount and currency go together")
        return self


class OrderLineEventOut(ResponseModel):
    id: int
    contract_uuid: str = Field(serialization_alias="contractUUID")
    coupons_contract_uuid: str | None = Field(serialization_alias="couponsContractUUID")
    order_id: str
    order_line_id: str
    discount: Decimal | None
    currency: str | None
    occurred_at: InstantOut
    created_at: InstantOut
    created_by: str


class CouponUseOut(OrderLineEventOut):
    """An order-line event on a COUPONS contract: where it landed and what it cost."""

    coupon_spent: bool
    remaining_coupons: int


class ContractOut(ResponseModel):
    uuid: str
    loyalty_program_id: int
    loyalty_program_type: ProgramType
    organisation_id: int
    consumable_from: InstantOut
    expiration_date: InstantOut | None
    external_ref: str | None
    policies: list[PolicyOut]
    coupons_limit: int | None
    remaining_coupons: int | None
    contract_parent: str | None
    points_type: str | None
    points_balance: Decimal | None
    contract_consumers: list[ConsumerOut] | None
    order_line_events: list[OrderLineEventOut] | None
    created_at: InstantOut
    created_by: str
    last_changed_at: InstantOut
    last_changed_by: str


class IncludeConsumers(StrEnum):
    ALL = "all"
    NONE = "none"
    CONTRACT_HOLDER = "contract-holder"


class ContractSort(StrEnum):
    CONSUMABLE_FROM = "consumableFrom"
    EXPIRATION_DATE = "expirationDate"
    CREATED_AT = "createdAt"


class SortOrder(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


class Consumption(RequestModel):
    contract_uuid: str = Field(alias="contractUUID", max_length=36)
    customer_number: CustomerNumber


class ValidateConsumptions(RequestModel):
    travel_date: TravelDate | None = Field(
        default=None,
        description="An instant, or a day in the organisation's time zone (valid at any "
        "moment of it). Default: now.",
    )
    consumptions: Annotated[list[Consumption], Field(min_length=1, max_length=100)]


class ConsumptionResult(ResponseModel):
    contract_uuid: str = Field(serialization_alias="contractUUID")
    customer_number: int
    code: int
    message: str


class ValidationResult(ResponseModel):
    code: int
    message: str
    consumptions: list[ConsumptionResult]


class PointsTransactionCreate(RequestModel):
    transaction_type: PointsTransactionType
    points_type: PointsType
    amount: PositiveAmount
    external_ref: Reference = Field(
        description="A retry with the same reference returns the first result."
    )
    refund_of: Id | None = Field(
        default=None, description="REFUND: the id of the withdrawal it gives back (in part)."
    )

    @model_validator(mode="after")
    def _refund_names_withdrawal(self) -> Self:
        if (self.transaction_type == PointsTransactionType.REFUND) != (self.refund_of is not None):
            raise ValueError("refundOf is required for a REFUND and only for one")
        return self


class PointsTransactionOut(ResponseModel):
    id: int
    contract_uuid: str = Field(serialization_alias="contractUUID")
    transaction_type: PointsTransactionType
    points_type: str
    amount: Decimal
    balance_after: Decimal
    external_ref: str
    refund_of: int | None
    created_at: InstantOut
    created_by: str


class PointsBalance(ResponseModel):
    contract_uuid: str = Field(serialization_alias="contractUUID")
    points_type: str | None
    balance: Decimal


class BirthDate(ResponseModel):
    year: int
    month: int
    day: int


class Entitlement(ResponseModel):
    product_id: str
    product_version: str | None
    contract_uuid: str = Field(serialization_alias="contractUUID")
    contract_external_ref: str | None
    contract_owner_customer_number: int | None
    contract_owner_display_name: str | None
    contract_owner_birth_date: BirthDate | None
    contract_valid_from: InstantOut
    contract_valid_to: InstantOut | None
    coupons_limit: int | None
    remaining_coupons: int | None
    contract_parent: str | None
    passenger_category: str | None
    is_senior_citizen: bool | None


class ClaimPersonnelTicket(RequestModel):
    external_reference: Reference
    customer_number: CustomerNumber


class ClaimedContracts(ResponseModel):
    external_reference: str
    customer_number: int
    contract_uuids: list[str] = Field(serialization_alias="contractUUIDs")


class Redemption(RequestModel):
    loyalty_program_code: ProgramCode
    customer_number: CustomerNumber
    customer_ref: Reference | None = None


class AgeBand(RequestModel):
    passenger_category: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,29}$")]
    from_age: Annotated[int, Field(ge=0, le=150)]


class AgeBands(RequestModel):
    bands: Annotated[list[AgeBand], Field(min_length=1, max_length=20)]
    senior_citizen_from_age: Annotated[int, Field(ge=0, le=150)]

    @model_validator(mode="after")
    def _from_zero_ascending(self) -> Self:
        ages = [band.from_age for band in self.bands]
        if ages[0] != 0 or ages != sorted(set(ages)):
            raise ValueError("bands start at age 0 and ascend strictly by fromAge")
        return self


class AgeBandsOut(ResponseModel):
    bands: list[AgeBand]
    senior_citizen_from_age: int
