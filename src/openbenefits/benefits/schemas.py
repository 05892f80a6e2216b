"""Wire shapes: the reference's BenefitValidationDto, the extra studio views (contingent, usage
history, reversal) and the admin API's definitions and grants."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from openbenefits.benefits.models import ContingentPeriod, UsageChannel
from openbenefits.contracts.schemas import AdditionalModule
from openbenefits.kit.schemas import (
    Id,
    PatchModel,
    RequestModel,
    ResponseModel,
    StudioRequestModel,
    StudioResponseModel,
)

# Keys travel in URL paths and query strings: keep them to characters that need no escaping.
BenefitKey = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]


class BenefitValidationDto(BaseModel):
    """Whether the customer can use the benefit now, in the calling studio."""

    key: str
    valid: bool


# Admin: definitions and grants


class BenefitCreate(RequestModel):
    key: BenefitKey
    name: Annotated[str, Field(min_length=1, max_length=200)]
    cross_facility: bool = False


class BenefitUpdate(PatchModel):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    cross_facility: bool | None = None


class Contingent(RequestModel):
    uses: Annotated[int, Field(ge=1, le=1_000_000_000)]
    period: ContingentPeriod


class GrantCreate(RequestModel):
    """Exactly one of ``rateId`` and ``additionalModuleId``; without ``contingent``, unlimited."""

    rate_id: Id | None = None
    additional_module_id: Id | None = None
    contingent: Contingent | None = None

    @model_validator(mode="after")
    def one_source(self) -> "GrantCreate":
        if (self.rate_id is None) == (self.additional_module_id is None):
            raise ValueError("Give exactly one of rateId and additionalModuleId.")
        return self


class ContingentOut(ResponseModel):
    uses: int
    period: ContingentPeriod


class GrantOut(ResponseModel):
    id: int
    benefit_id: int
    rate_id: int | None
    additional_module_id: int | None
    contingent: ContingentOut | None  # None: unlimited


class BenefitOut(ResponseModel):
    id: int
    partner_id: int
    key: str
    name: str
    cross_facility: bool
    grants: list[GrantOut]


# Studio extras: contingent, history, reversal, offers


class GrantTerms(StudioResponseModel):
    """What a module would grant of a benefit: ``limit`` uses per ``period``, or unlimited."""

    key: str
    limit: int | None
    period: ContingentPeriod | None


class BenefitOffer(StudioResponseModel):
    """An additional module the customer's contract could book now, and what it would grant."""

    contract_id: int = Field(description="The customer's main contract it would be booked onto.")
    additional_module: AdditionalModule
    grants: list[GrantTerms]


class GrantContingent(StudioResponseModel):
    grant_id: int
    source: Literal["RATE", "ADDITIONAL_MODULE"]
    contract_id: int
    limit: int | None  # None: unlimited
    period: ContingentPeriod | None
    used: int
    remaining: int | None
    period_start: datetime | None
    period_end: datetime | None


class ContingentView(StudioResponseModel):
    """A customer's contingent of one benefit now: the grants' figures added up. ``limit`` and
    ``remaining`` are None when any grant is unlimited; ``periodStart``/``periodEnd`` bound the
    window in which all the figures hold (the latest start, the earliest end)."""

    key: str
    limit: int | None
    used: int
    remaining: int | None
    period_start: datetime | None
    period_end: datetime | None
    grants: list[GrantContingent]


class Reversal(StudioResponseModel):
    reason: str
    reversed_by: str
    reversed_at: datetime


class UsageOut(StudioResponseModel):
    id: int
    customer_id: int
    key: str
    studio_id: int
    channel: UsageChannel
    used_at: datetime
    grant_id: int
    contract_id: int
    period_start: datetime | None
    period_end: datetime | None
    reversal: Reversal | None


class ReversalCreate(StudioRequestModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
